"""Multi-label classification (lecture 002: one sigmoid + binary cross-entropy per label), end to end.

The metrics are checked against explicit loops over samples and labels, the AUC against pair counting,
the generator against its rule, the split against the label-combination shares, the pairing warnings
against the notes' table, and training the example against a stated subset accuracy.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import multilabel_metrics as ml
from engine.data import make_dataset, read_csv, split_indices
from engine.data.generators import multi_label_truth
from engine.errors import InvalidInput
from engine.evaluation import evaluate_run, multilabel_at_threshold, multilabel_report
from engine.losses import check_pairing
from engine.metrics import evaluate
from engine.session import Session, load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "multi_label_playground.json"

# 8 samples × 3 labels where micro and macro averages, Hamming and subset accuracy all differ
Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 0]])
P = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1], [1, 1, 0], [1, 0, 0]])


def loop_counts(y, p):
    k = y.shape[1]
    tp, fp, fn = [0] * k, [0] * k, [0] * k
    for i in range(len(y)):
        for j in range(k):
            tp[j] += y[i][j] == 1 and p[i][j] == 1
            fp[j] += y[i][j] == 0 and p[i][j] == 1
            fn[j] += y[i][j] == 1 and p[i][j] == 0
    return tp, fp, fn


def div(a, b):
    return a / b if b else 0.0


# ------------------------------------------------------------------------------ metrics
def test_hamming_loss_and_subset_accuracy_by_loops():
    wrong = sum(Y[i][j] != P[i][j] for i in range(8) for j in range(3))
    exact = sum(all(Y[i][j] == P[i][j] for j in range(3)) for i in range(8))
    assert wrong == 5 and exact == 3  # 5/24 wrong decisions, 3/8 exact rows: no variant gives both
    assert ml.hamming_loss(Y, P) == pytest.approx(wrong / 24)
    assert ml.subset_accuracy(Y, P) == pytest.approx(exact / 8)
    m = evaluate(P.astype(float), Y.astype(np.float32), "multilabel", "bce")
    assert m["accuracy"] == pytest.approx(1 - wrong / 24)  # per-label accuracy: what the curves plot
    assert m["subset_accuracy"] == pytest.approx(3 / 8) and m["hamming_loss"] == pytest.approx(5 / 24)


def test_per_label_micro_and_macro_f1_by_loops():
    tp, fp, fn = loop_counts(Y, P)
    prec = [div(tp[j], tp[j] + fp[j]) for j in range(3)]
    rec = [div(tp[j], tp[j] + fn[j]) for j in range(3)]
    f1 = [div(2 * prec[j] * rec[j], prec[j] + rec[j]) for j in range(3)]
    p, r, f = ml.precision_recall_f1(Y, P, None)
    assert p.tolist() == pytest.approx(prec) and r.tolist() == pytest.approx(rec) and f.tolist() == pytest.approx(f1)
    assert ml.precision_recall_f1(Y, P, "macro")[2] == pytest.approx(sum(f1) / 3)
    mp, mr = div(sum(tp), sum(tp) + sum(fp)), div(sum(tp), sum(tp) + sum(fn))
    micro = ml.precision_recall_f1(Y, P, "micro")
    assert micro == pytest.approx((mp, mr, 2 * mp * mr / (mp + mr)))
    assert abs(micro[2] - sum(f1) / 3) > 0.01  # the example tells micro from macro


def pair_auc(y, s):
    """P(score of a random positive > a random negative), ties count one half."""
    pos, neg = s[y == 1], s[y == 0]
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def test_per_label_auc_by_pair_counting():
    rng = np.random.default_rng(4)
    y = (rng.uniform(size=(40, 3)) < 0.4).astype(int)
    s = np.round(np.clip(y * 0.3 + rng.uniform(size=(40, 3)) * 0.7, 0, 1), 1)  # rounded: ties happen
    aucs = ml.label_aucs(y, s)
    want = [pair_auc(y[:, j], s[:, j]) for j in range(3)]
    assert aucs == pytest.approx(want)
    rep = multilabel_report(y, s, ["a", "b", "c"])
    assert rep["auc"] == pytest.approx(np.mean(want))
    assert [r["auc"] for r in rep["per_label"]] == pytest.approx(want)
    y[:, 1] = 1  # a label always on has no ROC curve: left out of the mean
    assert np.isnan(ml.label_aucs(y, s)[1])
    assert multilabel_report(y, s)["auc"] == pytest.approx(np.mean([want[0], want[2]]))


def test_threshold_applies_to_every_label():
    s = np.array([[0.9, 0.2, 0.6], [0.4, 0.7, 0.3], [0.55, 0.45, 0.8]])
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    lo, hi = multilabel_at_threshold(y, s, 0.4), multilabel_at_threshold(y, s, 0.6)
    assert [r["tp"] + r["fp"] for r in lo["per_label"]] == [3, 2, 2]  # counts of s >= 0.4 per column
    assert [r["tp"] + r["fp"] for r in hi["per_label"]] == [1, 1, 2]
    assert hi["subset_accuracy"] == pytest.approx(2 / 3)  # rows 0 and 1 have every label right at 0.6
    assert lo["subset_accuracy"] == pytest.approx(1 / 3)  # at 0.4 only row 0


def test_logit_outputs_become_label_probabilities():
    z = np.array([[-2.0, 0.0, 3.0]])
    assert ml.label_probabilities(z, "bce_logits")[0] == pytest.approx(1 / (1 + np.exp(-z[0])))
    assert ml.label_probabilities(np.array([[0.2, 0.9]]), "bce")[0] == pytest.approx([0.2, 0.9])


# ------------------------------------------------------------------------------ data
def test_generator_follows_its_rule_and_its_noise():
    d = make_dataset({"type": "multi_label", "params": {"n": 300, "noise": 0.0}}, seed=2)
    for s in ("train", "val", "test"):
        x, y = d.raw_x(s), d.split(s)[1]
        assert y.dtype == np.float32 and y.shape[1] == 3
        r = np.hypot(x[:, 0], x[:, 1])
        assert np.array_equal(y, np.stack([r < 3.5, x[:, 0] > 0, x[:, 1] > x[:, 0]], 1).astype(np.float32))
    assert d.task == "multilabel" and d.n_outputs == 3 and d.class_names[1] == "right half"
    noisy = make_dataset({"type": "multi_label", "params": {"n": 4000, "noise": 0.2}, "split": {"train": 1.0}}, 0)
    flipped = np.mean(noisy.y_train != multi_label_truth(noisy.raw_x("train")))
    assert flipped == pytest.approx(0.2, abs=0.015)
    again = make_dataset({"type": "multi_label", "params": {"n": 300, "noise": 0.0}}, seed=2)
    assert np.array_equal(again.y_test, d.y_test)


def test_split_keeps_every_label_combination_share():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=(403, 3)) < [0.5, 0.2, 0.7]).astype(np.float32)
    tr, va, te = split_indices(y, "multilabel", {"train": 0.7, "val": 0.15, "test": 0.15}, rng)
    assert sorted(np.r_[tr, va, te].tolist()) == list(range(403))
    combos, whole = np.unique(y, axis=0, return_counts=True)
    for c, n in zip(combos, whole):
        in_train = int(np.all(y[tr] == c, axis=1).sum())
        assert abs(in_train - n * len(tr) / 403) <= 1.0, (c, in_train, n)  # stratified: within one sample


def test_inline_multilabel_and_its_bad_inputs():
    base = {"x": [[0, 0], [1, 1], [2, 0]], "task": "multilabel"}
    d = make_dataset({"type": "inline", "params": dict(base, y=[[1, 0], [0, 1], [True, 1]],
                                                       class_names=["red", "round"])}, 0)
    assert d.y_train.tolist() == [[1, 0], [0, 1], [1, 1]] and d.class_counts() == [2, 2]
    for y, names, words in [([[1, 0], [0, 2], [1, 1]], None, "y[1][1] must be 0 or 1"),
                            ([[1, 0], [0], [1, 1]], None, "y[1] has 1 labels but y[0] has 2"),
                            ([[1, 0], 1, [1, 1]], None, "y[1] must be a list of 0/1 labels"),
                            ([[1, 0], [0, 0.5], [1, 1]], None, "y[1][1] must be 0 or 1"),
                            ([[1, 0], [0, 1], [1, 1]], ["a", "b", "c"], "class_names has 3 names but y has 2 labels")]:
        with pytest.raises(InvalidInput, match=None) as e:
            make_dataset({"type": "inline", "params": dict(base, y=y, class_names=names)}, 0)
        assert words in str(e.value) and "\n" not in str(e.value)


CSV3 = "x1,x2,a,b,c\n" + "\n".join(f"{i % 7 - 3},{i % 5 - 2},{int(i % 7 > 3)},{int(i % 5 > 2)},{int(i % 3 == 0)}"
                                   for i in range(60)) + "\n"


def test_csv_with_three_target_columns_round_trips_through_nnp(tmp_path):
    from engine.archive import load_archive
    from engine.data import csv_dataset_params
    from engine.run import Run
    from engine.tabular import session_for_table

    path = tmp_path / "three.csv"
    path.write_text(CSV3)
    table = read_csv(str(path), check=False)
    params = csv_dataset_params(table, ["a", "b", "c"], "multilabel")
    s = session_for_table(table, ["a", "b", "c"], params=params)
    assert s.loss["type"] == "bce_logits" and s.graph.node("out").params["units"] == 3
    s.training = dict(s.training, epochs=2)
    run = Run(s, path="torch")
    run.fit()
    out = run.save(str(tmp_path / "three.nnp"))
    back = Run(load_archive(out), path="torch")
    d0, d1 = run.trainer.data, back._built().data
    assert d1.task == "multilabel" and d1.class_names == ["a", "b", "c"] and d1.feature_names == ["x1", "x2"]
    for split in ("train", "val", "test"):
        assert np.array_equal(d0.split(split)[1], d1.split(split)[1])
    want = np.stack([np.arange(60) % 7 > 3, np.arange(60) % 5 > 2, np.arange(60) % 3 == 0], 1)
    assert np.array_equal(np.concatenate([d1.split(s)[1] for s in ("train", "val", "test")]).sum(0), want.sum(0))
    x = d0.raw_x("test")
    assert np.allclose(back.predict(x), run.predict(x), atol=1e-6)
    with pytest.raises(InvalidInput, match="target cell '-3' is not 0 or 1"):
        csv_dataset_params(table, ["a", "x1"], "multilabel")
    # a .json session writes the embedded (N, 3) targets as lists and reads back the same dataset
    from engine.session import save_session_json

    save_session_json(s, str(tmp_path / "three.json"))
    doc = json.loads((tmp_path / "three.json").read_text())
    assert doc["dataset"]["params"]["y"][:2] == [[0, 0, 1], [0, 0, 0]]
    again = make_dataset(load_session(str(tmp_path / "three.json")).dataset, s.seed)
    for split in ("train", "val", "test"):
        assert np.array_equal(again.split(split)[1], d0.split(split)[1])


def test_csv_by_path_with_a_list_of_targets(tmp_path):
    (tmp_path / "three.csv").write_text(CSV3)
    s = {"type": "csv", "params": {"path": str(tmp_path / "three.csv"), "target": ["c", "a"], "task": "multilabel"}}
    d = make_dataset(s, 0)
    assert d.class_names == ["c", "a"] and d.feature_names == ["x1", "x2", "b"]


# ------------------------------------------------------------------------------ training
def test_pairing_warns_for_softmax_and_cross_entropy_with_the_notes_table():
    for loss, act in (("cross_entropy", "identity"), ("bce", "softmax"), ("mse", "sigmoid")):
        w = check_pairing({"type": loss, "params": {}}, act, 3, "multilabel")
        assert w and any("multi-label" in m and "sigmoid + binary cross-entropy" in m for m in w), (loss, act, w)
    assert check_pairing("bce", "sigmoid", 3, "multilabel") == []
    assert check_pairing("bce_logits", "identity", 3, "multilabel") == []
    # on single-label data bce on 3 units still warns the other way
    assert any("exactly one class" in m for m in check_pairing("bce", "sigmoid", 3, "classification"))


def test_the_example_trains_to_a_good_subset_accuracy():
    from engine.run import Run

    run = Run(load_session(str(EXAMPLE)), path="torch")
    assert run.warnings == []
    run.fit()
    m = run.evaluate("test")
    assert m["subset_accuracy"] >= 0.85 and m["accuracy"] >= 0.95  # measured 0.91 / 0.967 at seed 3
    rep = evaluate_run(run, "test")
    assert rep["task"] == "multilabel" and rep["subset_accuracy"] == pytest.approx(m["subset_accuracy"])
    assert rep["hamming_loss"] == pytest.approx(1 - m["accuracy"])
    # Run.predict: three independent probabilities, not a distribution
    x = np.array([[1.0, 2.0], [4.5, 0.5], [-3.0, 4.0], [-1.5, -2.5]])
    p = run.predict(x)
    assert p.shape == (4, 3) and np.array_equal(np.round(p), multi_label_truth(x))  # [1,1,1] [0,1,0] [0,0,1] [1,0,0]
    assert p[0].sum() > 2.5  # all three labels on at once: no softmax could give that


def test_run_predict_applies_the_sigmoid_for_bce_logits():
    from engine.run import Run

    doc = json.loads(EXAMPLE.read_text())
    doc["graph"]["layers"][2]["params"]["activation"] = "identity"
    doc["loss"] = {"type": "bce_logits", "params": {}}
    doc["training"]["epochs"] = 3
    run = Run(Session.from_dict(doc), path="torch")
    run.fit()
    x = np.array([[1.0, 2.0], [-3.0, 0.5]])
    z = run.predict(x, logits=True)
    assert np.allclose(run.predict(x), 1 / (1 + np.exp(-z)), atol=1e-6)


def test_output_width_must_match_the_labels():
    from engine.preflight import preflight

    doc = json.loads(EXAMPLE.read_text())
    doc["graph"]["layers"][2]["params"]["units"] = 2
    with pytest.raises(InvalidInput, match="the dataset has 3 labels but the output has 2 units"):
        preflight(Session.from_dict(doc))


def test_cli_evaluate_prints_the_multilabel_report(tmp_path, capsys):
    from engine.run import Run
    from main import main

    doc = json.loads(EXAMPLE.read_text())
    doc["training"]["epochs"] = 5
    run = Run(Session.from_dict(doc), path="torch")
    run.fit()
    path = run.save(str(tmp_path / "ml.nnp"))
    assert main(["evaluate", path, "--threshold", "0.3"]) == 0
    out = capsys.readouterr().out
    rep = evaluate_run(Run(__import__("engine.archive", fromlist=["x"]).load_archive(path), path="torch"), "test",
                       threshold=0.3)
    assert f"subset accuracy (all labels right) {rep['subset_accuracy']:.4g}" in out
    assert f"Hamming loss {rep['hamming_loss']:.4g}" in out
    assert "above the diagonal" in out and "micro" in out and "macro" in out


# ------------------------------------------------------------------------------ compiled path
def _multilabel_data(n=60, val=20):
    from engine.data.dataset import Dataset

    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, (n + val, 2)).astype(np.float32)
    y = multi_label_truth(x)
    return Dataset(name="ml", task="multilabel", n_classes=3, input_shape=(2,), feature_names=["x1", "x2"],
                   class_names=["c", "r", "d"], x_train=x[:n], y_train=y[:n], x_val=x[n:], y_val=y[n:],
                   x_test=x[:0], y_test=y[:0])


@pytest.mark.parametrize("dtype,out_act,loss", [("float32", "sigmoid", "bce"), ("float32", "identity", "bce_logits"),
                                                ("float64", "sigmoid", "bce")])
def test_compiled_path_trains_multilabel_bce_as_torch_does(dtype, out_act, loss):
    pytest.importorskip("numba")
    from engine.compiled import supports
    from tests.engine.compiled_helpers import assert_close_run, chain, run_both, session

    s, data = session(chain((6, "tanh"), (3, out_act)), loss=loss, optimizer=("adam", {"lr": 0.01})), _multilabel_data()
    assert supports(s, "cpu", dataset=data) is None  # the kernel's bce already reads (N, k) dense targets
    t, c, te, ce, tr, cr = run_both(s, data, steps=120, dtype=dtype)
    assert len(t[0]) == 120
    assert_close_run(t, c, 1e-5 if dtype == "float32" else 1e-10, f"multilabel {loss}/{dtype}")
    ends_t = [e for e in te if type(e).__name__ == "EpochEnd"]
    ends_c = [e for e in ce if type(e).__name__ == "EpochEnd"]
    assert ends_t and len(ends_t) == len(ends_c)
    full = [(a, b) for a, b in zip(ends_t, ends_c) if b.val_metrics]  # the compiled path's full evaluations
    assert full and full[0][0] is ends_t[0]  # the first epoch always gets one
    for a, b in full:  # the same multi-label metrics
        assert b.val_metrics["subset_accuracy"] == pytest.approx(a.val_metrics["subset_accuracy"], abs=1e-12)
        assert b.val_metrics["hamming_loss"] == pytest.approx(a.val_metrics["hamming_loss"], abs=1e-12)
        assert b.val_metrics["auc"] == pytest.approx(a.val_metrics["auc"], abs=1e-6)


def test_compiled_path_refuses_cross_entropy_on_multilabel_targets():
    pytest.importorskip("numba")
    from engine.compiled import supports
    from tests.engine.compiled_helpers import chain, session

    s = session(chain((6, "tanh"), (3, "identity")), loss="cross_entropy")
    assert supports(s, "cpu", dataset=_multilabel_data()) == "cross_entropy on multi-label 0/1 targets runs on torch"


def test_cli_new_with_several_target_columns_writes_a_multilabel_session(tmp_path):
    from main import main

    (tmp_path / "three.csv").write_text(CSV3)
    out = tmp_path / "three.json"
    assert main(["new", "--csv", str(tmp_path / "three.csv"), "--targets", "a,c", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["dataset"]["params"]["target"] == ["a", "c"] and doc["dataset"]["params"]["task"] == "multilabel"
    assert doc["loss"]["type"] == "bce_logits"
    from engine.run import Run

    data = Run(load_session(str(out)), path="torch")._built().data  # the CSV is read by its relative path
    assert data.task == "multilabel" and data.class_names == ["a", "c"] and data.feature_names == ["x1", "x2", "b"]
    assert main(["new", "--csv", str(tmp_path / "three.csv"), "--targets", "a", "--target", "b",
                 "--out", str(tmp_path / "x.json")]) == 2


def test_loss_at_initialisation_is_compared_with_k_ln_2():
    from engine.sanity_report import _trainer, initial_loss_check

    s = load_session(str(EXAMPLE))
    tr = _trainer(s)
    c = initial_loss_check(s, tr)
    p = tr.predict(tr.data.x_train).astype(np.float64)
    y = tr.data.y_train
    e = float(np.mean(np.sum(-(y * np.log(p) + (1 - y) * np.log1p(-p)), axis=1)))  # summed over labels
    assert c.verdict == "pass" and f"E = {e:.4g} at the initial weights; 3·ln 2 = {3 * np.log(2):.4g}" in c.value
