"""engine.entropy (lecture 002: S = −Σ p ln p; H(p, q) = H(p) + KL(p‖q)) against hand loops and the runs' own losses.

The values are chosen where a wrong variant differs: log10 or log2 instead of ln, a missing minus sign,
KL(q‖p) instead of KL(p‖q), the mean over labels instead of the sum over classes.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine import Run
from engine.entropy import binary_entropy, cross_entropy, entropy, entropy_report, kl_divergence
from engine.errors import InvalidInput
from engine.evaluation import evaluate_run
from engine.session import Session
from tests.engine.analysis_helpers import session

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "multi_label_playground.json"


def h_loop(p):
    s = 0.0
    for v in p:
        if v > 0:
            s -= v * math.log(v)
    return s


def ce_loop(p, q):
    return -sum(a * math.log(max(b, 1e-12)) for a, b in zip(p, q))


def kl_loop(p, q):
    return sum(a * math.log(a / max(b, 1e-12)) for a, b in zip(p, q) if a > 0)


def test_entropy_in_nats_at_values_where_log_base_and_sign_differ():
    p = [0.7, 0.2, 0.1]
    assert entropy([p])[0] == pytest.approx(0.801819, abs=1e-6)  # log10 would give 0.348, log2 1.157
    assert entropy([p])[0] == pytest.approx(h_loop(p), abs=1e-12)
    assert entropy([[0.5, 0.5]])[0] == pytest.approx(math.log(2))  # one bit = ln 2 nats
    assert entropy([[1.0, 0.0, 0.0]])[0] == 0.0  # 0 · ln 0 = 0, not NaN
    assert binary_entropy([0.9, 0.5, 0.0])[0] == pytest.approx(h_loop([0.9, 0.1]))
    assert binary_entropy([0.9, 0.5, 0.0]).tolist()[1:] == [pytest.approx(math.log(2)), 0.0]


def test_cross_entropy_is_entropy_plus_kl_by_hand():
    p, q = [0.2, 0.5, 0.3], [0.6, 0.3, 0.1]
    ce, kl = cross_entropy([p], [q])[0], kl_divergence([p], [q])[0]
    assert ce == pytest.approx(ce_loop(p, q), abs=1e-12)
    assert kl == pytest.approx(kl_loop(p, q), abs=1e-12)
    assert kl != pytest.approx(kl_loop(q, p), abs=1e-3)  # the direction matters: KL(p‖q) ≠ KL(q‖p) here
    assert ce == pytest.approx(h_loop(p) + kl_loop(p, q), abs=1e-12)
    assert kl > 0 and kl_divergence([p], [p])[0] == pytest.approx(0.0, abs=1e-15)


def test_bad_distributions_are_refused():
    with pytest.raises(InvalidInput, match="non-negative"):
        entropy([[0.5, -0.1]])
    with pytest.raises(InvalidInput, match="same shape"):
        cross_entropy([[0.5, 0.5]], [[1.0, 0.0, 0.0]])
    with pytest.raises(InvalidInput, match="predicts values"):
        entropy_report([0.1], [0.2], "regression")


def test_report_on_known_softmax_predictions():
    q = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    y = np.array([0, 2, 1, 1])
    rep = entropy_report(y, q, "classification", loss_name="cross_entropy", x=np.arange(8.0).reshape(4, 2), top=2)
    hs = [h_loop(r) for r in q]
    assert rep["per_sample"] == pytest.approx(hs, abs=1e-12)
    assert rep["mean_nats"] == pytest.approx(np.mean(hs)) and rep["mean_bits"] == pytest.approx(np.mean(hs) / math.log(2))
    assert rep["max_nats"] == pytest.approx(math.log(3)) and rep["max_bits"] == pytest.approx(math.log2(3))
    assert rep["outcomes"] == 3
    # the uniform row first (ln 3 = 1.099), then H(.7,.2,.1) = 0.802 ahead of H(.1,.1,.8) = 0.639 and H(.05,.9,.05)
    assert [r["index"] for r in rep["most_uncertain"]] == [1, 0]
    assert rep["most_uncertain"][0]["x"] == [2.0, 3.0] and rep["most_uncertain"][1]["predicted"] == 0
    assert rep["most_uncertain"][1]["true"] == 0 and rep["most_uncertain"][1]["probabilities"] == [0.7, 0.2, 0.1]
    ps = rep["identity"]["per_sample"]  # one-hot labels: H(y) = 0 and the loss is the KL
    assert ps["entropy"] == 0.0
    assert ps["cross_entropy"] == pytest.approx(np.mean([-math.log(q[i, y[i]]) for i in range(4)]), abs=1e-12)
    assert ps["kl"] == pytest.approx(ps["cross_entropy"], abs=1e-12)
    m = rep["identity"]["marginal"]
    p_bar, q_bar = [0.25, 0.5, 0.25], q.mean(axis=0)
    assert m["p"] == [pytest.approx(p_bar)] and m["q"] == [pytest.approx(q_bar.tolist())]
    assert m["entropy"] == pytest.approx(h_loop(p_bar)) and m["entropy"] == pytest.approx(1.5 * math.log(2))
    assert m["kl"] == pytest.approx(kl_loop(p_bar, q_bar), abs=1e-12)
    assert m["cross_entropy"] == pytest.approx(ce_loop(p_bar, q_bar), abs=1e-12)
    assert abs(m["gap"]) < 1e-12 and rep["calibrated"]
    assert sum(rep["histogram"]["counts"]) == 4 and rep["histogram"]["edges"][-1] == pytest.approx(math.log(3))
    assert not entropy_report(y, q, "classification", loss_name="multiclass_hinge")["calibrated"]


@pytest.fixture(scope="module")
def binary_run():
    run = Run(session(), path="torch")  # bce_logits, one output
    run.fit(3)
    return run


def test_binary_run_entropy_and_its_loss(binary_run):
    run = binary_run
    rep = evaluate_run(run, "test")
    e = rep["entropy"]
    p = np.array(rep["scores"])
    assert e["per_sample"] == pytest.approx([h_loop([v, 1 - v]) for v in p], abs=1e-9)
    assert e["max_nats"] == pytest.approx(math.log(2)) and e["max_bits"] == pytest.approx(1.0)
    y = np.array(rep["y"])
    bce = np.mean([-math.log(v) if t == 1 else -math.log(1 - v) for v, t in zip(p, y)])
    assert e["identity"]["per_sample"]["cross_entropy"] == pytest.approx(bce, rel=1e-5)
    assert e["identity"]["per_sample"]["cross_entropy"] == pytest.approx(run.evaluate("test")["loss"], rel=1e-4)
    top = e["most_uncertain"][0]
    assert top["entropy_nats"] == pytest.approx(max(e["per_sample"]))
    assert top["x"] == pytest.approx(run.data.raw_x("test")[top["index"]].tolist(), abs=1e-6)
    assert np.allclose(e["points"], run.data.raw_x("test"), atol=1e-6)


def test_multilabel_entropy_is_per_label_and_the_bce_is_its_cross_entropy():
    doc = json.loads(EXAMPLE.read_text())
    doc["training"]["epochs"] = 2
    run = Run(Session.from_dict(doc), path="torch")
    run.fit()
    rep = evaluate_run(run, "test")
    e = rep["entropy"]
    s = np.array(rep["scores"])
    y = np.array(rep["y"])
    per_label = [[h_loop([v, 1 - v]) for v in s[:, j]] for j in range(s.shape[1])]
    assert e["per_sample"] == pytest.approx(np.sum(per_label, axis=0).tolist(), abs=1e-9)  # the joint's entropy
    assert [r["mean_nats"] for r in e["per_label"]] == pytest.approx([np.mean(c) for c in per_label], abs=1e-9)
    assert e["outcomes"] == 8 and e["max_nats"] == pytest.approx(3 * math.log(2)) and e["per_label"][0]["max_nats"] == pytest.approx(math.log(2))
    # the product's bce sums over the labels and averages over the samples (engine.losses._batch_mean)
    bce = np.mean([sum(-math.log(max(v if t else 1 - v, 1e-12)) for v, t in zip(sv, yv)) for sv, yv in zip(s, y)])
    assert e["identity"]["per_sample"]["cross_entropy"] == pytest.approx(bce, rel=1e-6)
    assert e["identity"]["per_sample"]["cross_entropy"] == pytest.approx(run.evaluate("test")["loss"], rel=1e-4)
    frac = y.mean(axis=0)
    qbar = s.mean(axis=0)
    kl = np.sum([kl_loop([1 - a, a], [1 - b, b]) for a, b in zip(frac, qbar)])
    assert e["identity"]["marginal"]["kl"] == pytest.approx(kl, abs=1e-12)
    assert e["identity"]["marginal"]["entropy"] == pytest.approx(np.sum([h_loop([1 - a, a]) for a in frac]))


def test_cli_evaluate_prints_the_entropy_and_the_identity(binary_run, tmp_path, capsys):
    from cli import run_cli

    path = str(tmp_path / "b.nnp")
    binary_run.save(path)
    e = evaluate_run(binary_run, "test")["entropy"]
    assert run_cli(["evaluate", path]) == 0
    out = capsys.readouterr().out
    assert f"mean {e['mean_nats']:.4g} nats = {e['mean_bits']:.4g} bits (largest possible 0.6931 nats = 1 bit)" in out
    i = e["identity"]["marginal"]
    assert f"on the class frequencies: {i['cross_entropy']:.4g} = {i['entropy']:.4g} + {i['kl']:.4g}" in out
    assert f"{e['most_uncertain'][0]['index']}: {e['most_uncertain'][0]['entropy_nats']:.3f}" in out
    assert run_cli(["evaluate", path, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "per_sample" not in doc["entropy"] and "points" not in doc["entropy"] and doc["entropy"]["mean_nats"] == pytest.approx(e["mean_nats"])
