"""engine.evaluation / engine.explain / engine.sanity_report against independent computations."""
import math

import numpy as np
import pytest

from engine import Run
from engine.errors import InvalidInput
from engine.evaluation import Frozen, at_threshold, classification_report, evaluate_run, learning_curve, subset_sizes
from engine.explain import explain_run, feature_curves, importance_with_intervals, score_function
from tests.engine.analysis_helpers import auc_by_pairs, session


@pytest.fixture(scope="module")
def binary_run():
    r = Run(session(), path="torch")
    r.fit(4)
    return r


@pytest.fixture(scope="module")
def blobs_run():
    r = Run(session("blobs", n=150, loss="cross_entropy", out=3, classes=3), path="torch")
    r.fit(3)
    return r


def test_binary_report_auc_by_pair_counting_and_rates_by_counting(binary_run):
    rep = evaluate_run(binary_run, "test", threshold=0.3)
    y, s = np.array(rep["y"]), np.array(rep["scores"])
    x_raw, y_raw = binary_run.data.raw_x("test"), binary_run.data.y_test
    assert np.allclose(s, binary_run.predict(x_raw)[:, 0], atol=1e-6)  # the frozen copy predicts what the run does
    assert np.array_equal(y, y_raw)
    assert rep["auc"] == pytest.approx(auc_by_pairs(y, s), abs=1e-12)
    t = rep["at_threshold"]
    pred = s >= 0.3
    tp, fp = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0)))
    fn, tn = int(np.sum(~pred & (y == 1))), int(np.sum(~pred & (y == 0)))
    assert (t["tp"], t["fp"], t["fn"], t["tn"]) == (tp, fp, fn, tn)
    assert t["completeness"] == pytest.approx(tp / (tp + fn))
    assert t["contamination"] == pytest.approx(fp / (tp + fp))
    assert t["efficiency"] == pytest.approx(tp / (tp + fp))
    # the threshold moves the confusion matrix: 0.3 calls more positives than 0.5 (when scores lie between)
    if np.any((s >= 0.3) & (s < 0.5)):
        assert evaluate_run(binary_run, "test")["at_threshold"]["tp"] + evaluate_run(binary_run, "test")[
            "at_threshold"]["fp"] < tp + fp
    # every point of the completeness-efficiency curve, by counting at its threshold
    ce = rep["completeness_efficiency"]
    for thr, comp, eff in list(zip(ce["thresholds"], ce["completeness"], ce["efficiency"]))[1:]:
        sel = s >= thr
        assert comp == pytest.approx(np.sum(sel & (y == 1)) / np.sum(y == 1))
        assert eff == pytest.approx(np.sum(sel & (y == 1)) / np.sum(sel))


def test_multiclass_per_class_scores_by_an_explicit_loop(blobs_run):
    rep = evaluate_run(blobs_run, "val")
    s = blobs_run.predict(blobs_run.data.raw_x("val"))
    y = blobs_run.data.y_val
    pred = s.argmax(1)
    for c, row in enumerate(rep["per_class"]):
        tp = sum(1 for a, b in zip(y, pred) if a == c and b == c)
        npred = sum(1 for b in pred if b == c)
        nact = sum(1 for a in y if a == c)
        p = tp / npred if npred else 0.0
        r = tp / nact if nact else 0.0
        assert row["precision"] == pytest.approx(p) and row["recall"] == pytest.approx(r)
        assert row["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
        assert row["support"] == nact
    one_vs_rest = [auc_by_pairs((y == c).astype(int), s[:, c]) for c in range(3)]
    assert rep["auc"] == pytest.approx(np.mean(one_vs_rest), abs=1e-6)
    assert [c["auc"] for c in rep["roc_per_class"]] == pytest.approx(one_vs_rest, abs=1e-6)


def test_regression_report_residuals():
    r = Run(session("plane", n=100, loss="mse"), path="torch")
    r.fit(2)
    rep = evaluate_run(r, "test")
    p = r.predict(r.data.raw_x("test"))
    t = r.data.y_test
    assert np.allclose(np.array(rep["residuals"]), t - p, atol=1e-5)
    assert rep["rmse"] == pytest.approx(float(np.sqrt(np.mean((t - p) ** 2))), rel=1e-5)
    assert rep["r2"] == pytest.approx(1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2), rel=1e-5)


def test_a_frozen_copy_does_not_follow_further_training():
    r = Run(session(), path="torch")
    r.fit(1)
    f = Frozen(r)
    x = r.data.raw_x("test")
    before = f.scores(x).copy()
    r.fit(3)
    assert np.array_equal(f.scores(x), before)
    assert not np.allclose(r.predict(x)[:, 0], before)


def test_bad_inputs_are_one_line_refusals(binary_run):
    with pytest.raises(InvalidInput, match="split must be"):
        evaluate_run(binary_run, "dev")
    with pytest.raises(InvalidInput, match="threshold"):
        at_threshold([0, 1], [0.2, 0.7], float("nan"))
    with pytest.raises(InvalidInput, match="fractions"):
        subset_sizes(100, (0.5, 1.5))


def test_classification_report_on_known_numbers():
    y = np.array([0, 0, 1, 1, 1])
    s = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    rep = classification_report(y, s, 2, threshold=0.5)
    assert rep["auc"] == pytest.approx(5 / 6)  # pairs (pos, neg): 0.4<0.6 loses, the other five win
    assert rep["at_threshold"]["tp"] == 2 and rep["at_threshold"]["fp"] == 1
    assert rep["at_threshold"]["contamination"] == pytest.approx(1 / 3)


# -- explanations ------------------------------------------------------------------------------
def test_importance_intervals_by_an_explicit_loop():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)

    def predict(t):  # depends on column 0 strongly, column 1 a little, column 2 not at all
        return 1 / (1 + np.exp(-(4 * t[:, 0] + 0.3 * t[:, 1])))

    score = score_function("classification")
    got = importance_with_intervals(predict, x, y, score, n_boot=12, level=0.9, seed=7)
    # the same procedure written out, draw by draw
    g = np.random.default_rng(7)
    rounds = []
    for _ in range(12):
        idx = g.integers(0, 40, 40)
        xb, yb = x[idx], y[idx]
        base = np.mean((predict(xb) >= 0.5) == yb)
        row = []
        for j in range(3):
            xp = xb.copy()
            xp[:, j] = xb[g.permutation(40), j]
            row.append(base - np.mean((predict(xp) >= 0.5) == yb))
        rounds.append(row)
    rounds = np.array(rounds)
    assert np.allclose(got["rounds"], rounds)
    assert np.allclose(got["mean"], rounds.mean(0))
    assert np.allclose(got["lower"], np.percentile(rounds, 5, axis=0))
    assert np.allclose(got["upper"], np.percentile(rounds, 95, axis=0))
    assert got["mean"][0] > 0.2 and got["lower"][2] == got["upper"][2] == 0.0


def test_pdp_ice_and_scatter_of_a_run(binary_run):
    f = Frozen(binary_run)
    x = binary_run.data.raw_x("test")
    for at, ref in (("mean", x.mean(0)), ("median", np.median(x, 0))):
        c = feature_curves(f, x, 1, at=at, n_grid=7, max_ice=5)
        rows = np.tile(ref, (7, 1))
        rows[:, 1] = np.linspace(x[:, 1].min(), x[:, 1].max(), 7)
        assert np.allclose(c["grid"], rows[:, 1])
        assert np.allclose(c["pdp"], binary_run.predict(rows)[:, 0], atol=1e-6)
    i = c["ice_rows"][2]
    rows = np.tile(x[i], (7, 1))
    rows[:, 1] = c["grid"]
    assert np.allclose(c["ice"][2], binary_run.predict(rows)[:, 0], atol=1e-6)
    assert np.allclose(c["scatter_y"], binary_run.predict(x)[:, 0], atol=1e-6)
    rep = explain_run(binary_run, "test", n_boot=3, n_grid=5)
    assert [i["feature"] for i in rep["importance"]] == ["x1", "x2"]
    assert set(rep["curves"]) == {"x1", "x2"}


# -- learning curve ----------------------------------------------------------------------------
def test_learning_curve_points_are_runs_on_nested_subsets():
    from dataclasses import replace

    from engine.data import make_dataset

    s = session(n=100)
    assert subset_sizes(60, (0.1, 0.5, 1.0)) == [6, 30, 60]
    seen = []
    lc = learning_curve(s, fractions=(0.25, 1.0), epochs=2, seed=4, on_point=seen.append)
    assert [p["n"] for p in lc["points"]] == [15, 60] and seen == lc["points"]
    data = make_dataset(s.dataset, seed=s.seed)
    idx = np.random.default_rng(4).permutation(60)[:15]
    r = Run(s, dataset=replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx]), path="torch")
    r.fit(2)
    assert lc["points"][0]["val_loss"] == pytest.approx(r.evaluate("val")["loss"], rel=1e-6)
    assert lc["points"][0]["train_loss"] == pytest.approx(r.evaluate("train")["loss"], rel=1e-6)
    stopped = learning_curve(s, fractions=(0.25, 1.0), epochs=1, should_stop=lambda: True)
    assert stopped["points"] == []


# -- sanity checks -----------------------------------------------------------------------------
def test_initial_loss_against_ln_c():
    from engine.sanity_report import _trainer, initial_loss_check

    s = session("blobs", n=90, loss="cross_entropy", out=3, classes=3)
    tr = _trainer(s)
    loss, _, _ = tr.evaluate_split("train")
    c = initial_loss_check(s, tr)
    assert f"ln 3 = {math.log(3):.4g}" in c.value and f"{loss:.4g}" in c.value
    assert c.verdict == ("pass" if 0.5 <= loss / math.log(3) <= 1.5 else "fail")
    big = session("blobs", n=90, loss="cross_entropy", out=3, classes=3)
    for node in big.graph.nodes:
        if node.type == "Dense":
            node.init = {"weight": {"type": "normal", "params": {"std": 30.0}}}
    assert initial_loss_check(big).verdict == "fail"
    assert initial_loss_check(session("plane", n=60, loss="mse")).verdict == "skipped"


def test_gradient_check_passes_and_catches_a_wrong_backward():
    import torch

    from engine.sanity_report import _trainer, gradient_check

    s = session(n=60)
    tr = _trainer(s)
    assert gradient_check(s, tr).verdict == "pass"

    class Wrong(torch.autograd.Function):  # forward is x, backward says 2x's gradient
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    right = tr.loss_fn
    tr.loss_fn = lambda out, y: right(Wrong.apply(out), y)
    bad = gradient_check(s, tr)
    assert bad.verdict == "fail" and "finite difference" in bad.value


def test_overfit_verdict_follows_the_loss():
    from engine.sanity_report import overfit_check

    s = session(n=60)
    s.optimizer = {"type": "sgd", "params": {"lr": 0.0}}
    c = overfit_check(s, epochs=30)
    assert c.verdict == "fail" and "did not fall" in c.advice
    s.optimizer = {"type": "adam", "params": {"lr": 0.05}}
    assert overfit_check(s, epochs=300).verdict == "pass"


def test_a_frozen_copy_of_a_compiled_run_predicts_what_it_does():
    from engine.compiled import supports

    s = session(n=100)
    if supports(s) is not None:
        pytest.skip(f"compiled path unavailable: {supports(s)}")
    r = Run(s, path="compiled")
    r.fit(2)
    x = r.data.raw_x("test")
    f = Frozen(r)
    before = f.scores(x).copy()
    assert np.allclose(before, r.predict(x)[:, 0], atol=1e-5)
    r.fit(4)
    assert np.array_equal(f.scores(x), before) and not np.allclose(r.predict(x)[:, 0], before)
