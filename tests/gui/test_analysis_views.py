"""The Analyze window's views, driven with qtbot; every number against an independent computation."""
from __future__ import annotations

import itertools
import math
import runpy

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from gui.analysis.sample import sample_run, sample_session


def auc_by_pairs(y, s):
    pos, neg = s[y == 1], s[y == 0]
    return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg)) / (len(pos) * len(neg))


@pytest.fixture(scope="module")
def circle():
    return sample_run("circle", epochs=4)


@pytest.fixture(scope="module")
def blobs():
    return sample_run("blobs", epochs=3)


def computed(qtbot, view, timeout=60000):
    with qtbot.waitSignal(view.computed, timeout=timeout) as blocker:
        assert view.compute()
    return blocker.args[0]


def test_evaluation_binary_roc_threshold_and_table(qtbot, circle):
    from gui.analysis.evaluation_view import EvaluationView

    view = EvaluationView(lambda: circle)
    qtbot.addWidget(view)
    view.show()
    computed(qtbot, view)
    x, y = circle.data.raw_x("test"), circle.data.y_test
    s = circle.predict(x)[:, 0]
    auc = auc_by_pairs(y, s)
    assert f"AUC {auc:.3f}" in view.summary.text()
    assert f"AUC {auc:.3f}" in view.roc.getPlotItem().titleLabel.text
    fpr, tpr = view.roc_curves[0].getData()
    assert float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)) == pytest.approx(auc, abs=1e-9)
    view.slider.setValue(30)  # threshold 0.30: counted by hand
    pred = s >= 0.30
    tp, fp = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0)))
    fn, tn = int(np.sum(~pred & (y == 1))), int(np.sum(~pred & (y == 0)))
    text = view.rates.text()
    assert f"TP {tp} · FN {fn} · TN {tn} · FP {fp}" in text
    assert f"completeness {tp / (tp + fn):.3f}" in text and f"contamination {fp / (tp + fp):.3f}" in text
    assert f"efficiency {tp / (tp + fp):.3f}" in text
    mx, my = view.roc_marker.getData()
    assert (mx[0], my[0]) == pytest.approx((fp / (fp + tn), tp / (tp + fn)))
    cx, cy = view.ce_marker.getData()
    assert (cx[0], cy[0]) == pytest.approx((tp / (tp + fn), tp / (tp + fp)))
    # the per-class table (threshold 0.5, from the computation): class 1's precision by counting
    p5 = s >= 0.5
    prec1 = np.sum(p5 & (y == 1)) / np.sum(p5)
    assert view.table.item(1, 1).text() == f"{prec1:.3f}"
    assert view.table.item(1, 4).text() == str(int(np.sum(y == 1)))
    assert view.table.rowCount() == 3  # two classes and the macro mean
    header, cols = view.csv_table()
    assert header == ["threshold", "fpr", "tpr"] and len(cols[1]) == len(fpr)


def test_evaluation_multiclass_one_vs_rest(qtbot, blobs):
    from gui.analysis.evaluation_view import EvaluationView

    view = EvaluationView(lambda: blobs)
    qtbot.addWidget(view)
    view.split.setCurrentText("val")
    rep = computed(qtbot, view)
    x, y = blobs.data.raw_x("val"), blobs.data.y_val
    s = blobs.predict(x)
    mean_auc = np.mean([auc_by_pairs((y == c).astype(int), s[:, c]) for c in range(3)])
    assert rep["auc"] == pytest.approx(mean_auc, abs=1e-6)
    assert len(view.roc_curves) == 3 and not view.slider.isEnabled() and view.ce.isHidden()
    pred = s.argmax(1)
    for c in range(3):
        rec = np.sum((pred == c) & (y == c)) / np.sum(y == c)
        assert view.table.item(c, 2).text() == f"{rec:.3f}"


def test_evaluation_regression_residuals(qtbot):
    from gui.analysis.evaluation_view import EvaluationView

    run = sample_run("plane", epochs=3)
    view = EvaluationView(lambda: run)
    qtbot.addWidget(view)
    computed(qtbot, view)
    assert view.pages.currentIndex() == 1
    t = run.data.y_test[:, 0]
    p = run.predict(run.data.raw_x("test"))[:, 0]
    rx, ry = view.res_pts.getData()
    assert np.allclose(rx, p, atol=1e-5) and np.allclose(ry, t - p, atol=1e-5)
    px, py = view.pvt_pts.getData()
    assert np.allclose(px, t) and np.allclose(py, p, atol=1e-5)
    rmse = float(np.sqrt(np.mean((t - p) ** 2)))
    assert f"RMSE {rmse:.4g}" in view.reg_summary.text()


def test_evaluation_without_a_trained_run_says_so(qtbot):
    from gui.analysis.evaluation_view import EvaluationView

    view = EvaluationView(lambda: None)
    qtbot.addWidget(view)
    assert not view.compute() and "Train the network first" in view.status.text()


def test_explanations_bars_by_an_explicit_loop_and_pdp(qtbot, circle):
    from gui.analysis.explain_view import ExplainView

    view = ExplainView(lambda: circle)
    qtbot.addWidget(view)
    view.boot.setValue(6)
    computed(qtbot, view)
    x, y = circle.data.raw_x("test").astype(np.float64), circle.data.y_test
    n = len(y)

    def acc(xx, yy):
        return np.mean((circle.predict(xx)[:, 0] >= 0.5) == yy)

    rng = np.random.default_rng(0)  # the documented draw order: resample rows, then one shuffle per feature
    rounds = []
    for _ in range(6):
        idx = rng.integers(0, n, n)
        xb, yb = x[idx], y[idx]
        base = acc(xb, yb)
        row = []
        for j in range(2):
            xp = xb.copy()
            xp[:, j] = xb[rng.permutation(n), j]
            row.append(base - acc(xp, yb))
        rounds.append(row)
    rounds = np.array(rounds)
    heights = view.bars.opts["height"]
    assert np.allclose(heights, rounds.mean(0), atol=1e-9)
    assert np.allclose(view.errors.opts["top"], np.percentile(rounds, 97.5, axis=0) - rounds.mean(0), atol=1e-9)
    # PDP of x2 with x1 at its mean
    view.feature.setCurrentIndex(1)
    gx, gy = view.pdp_curve.getData()
    rows = np.column_stack([np.full(len(gx), x[:, 0].mean()), gx])
    assert np.allclose(gx, np.linspace(x[:, 1].min(), x[:, 1].max(), 20))
    assert np.allclose(gy, circle.predict(rows)[:, 0], atol=1e-5)
    sx, sy = view.scatter.getData()
    assert np.allclose(sx, x[:, 1]) and np.allclose(sy, circle.predict(x)[:, 0], atol=1e-5)
    # others at their median: recomputed
    with qtbot.waitSignal(view.computed, timeout=60000):
        view.at.setCurrentIndex(view.at.findData("median"))
    gx, gy = view.pdp_curve.getData()
    rows = np.column_stack([np.full(len(gx), np.median(x[:, 0])), gx])
    assert np.allclose(gy, circle.predict(rows)[:, 0], atol=1e-5)


def test_learning_curve_in_the_background(qtbot):
    from dataclasses import replace

    from engine import Run
    from engine.data import make_dataset
    from gui.analysis.learning_curve_view import FRACTIONS, LearningCurveView

    s = sample_session("circle")
    view = LearningCurveView(session_provider=lambda: s)
    qtbot.addWidget(view)
    view.epochs.setValue(1)
    progress = []
    view.runner.progress.connect(progress.append)
    result = computed(qtbot, view)
    data = make_dataset(s.dataset, seed=s.seed)
    n = len(data.y_train)
    sizes = [int(round(f * n)) for f in FRACTIONS]
    xs, ys = view.val_curve.getData()
    assert list(xs) == sizes and len(progress) == len(FRACTIONS)
    idx = np.random.default_rng(0).permutation(n)[:sizes[1]]
    r = Run(s, dataset=replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx]), path="torch")
    r.fit(1)
    assert ys[1] == pytest.approx(r.evaluate("val")["loss"], rel=1e-6)
    assert result["points"][1]["train_loss"] == pytest.approx(r.evaluate("train")["loss"], rel=1e-6)
    assert "At n = " in view.reading.text()


def test_sanity_checks_table(qtbot):
    from engine.sanity_report import _trainer
    from gui.analysis.sanity_view import SanityView

    s = sample_session("blobs")
    view = SanityView(session_provider=lambda: s)
    qtbot.addWidget(view)
    checks = computed(qtbot, view, timeout=120000)
    assert view.table.rowCount() == 3 and [c.name for c in checks] == [
        "loss at initialisation", "overfit a handful of samples", "gradient check"]
    loss, _, _ = _trainer(s).evaluate_split("train")
    assert f"E = {loss:.4g}" in view.table.item(0, 2).text() and f"ln 3 = {math.log(3):.4g}" in view.table.item(0, 2).text()
    expect = "pass" if 0.5 <= loss / math.log(3) <= 1.5 else "fail"
    assert view.table.item(0, 1).text().endswith(expect)
    assert "pass" in view.table.item(2, 1).text()  # a dense tanh network's backprop is right
    broken = sample_session("blobs")
    broken.optimizer = {"type": "sgd", "params": {"lr": 0.0}}  # cannot learn: the overfit check must fail
    view.session_provider = lambda: broken
    checks = computed(qtbot, view, timeout=120000)
    assert checks[1].verdict == "fail" and "fail" in view.table.item(1, 1).text()
    assert view.status.text().startswith("Failed: ") and "overfit a handful of samples" in view.status.text()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("module", ["gui.analysis.evaluation_view", "gui.analysis.explain_view",
                                    "gui.analysis.learning_curve_view", "gui.analysis.sanity_view",
                                    "gui.analysis.panel", "gui.analysis.transfer"])
def test_each_view_runs_alone(qtbot, monkeypatch, module):
    import gui.analysis.sample as sample

    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr(sample, "SAMPLES", dict(sample.SAMPLES))
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit) as ex:
        runpy.run_module(module, run_name="__main__")
    assert ex.value.code == 0


def test_export_of_a_view(qtbot, circle, tmp_path):
    import csv

    from gui.analysis.evaluation_view import EvaluationView
    from gui.analysis.sanity_view import SanityView

    class Dialogs:
        def __init__(self, path):
            self.path = path

        def ask_path(self, *a):
            return self.path

        def ask_width(self, parent, width):
            return 600

    view = EvaluationView(lambda: circle)
    qtbot.addWidget(view)
    computed(qtbot, view)
    view.export_dialogs = Dialogs(str(tmp_path / "roc.csv"))
    [a for a in view.export_button.menu().actions() if a.objectName() == "export_csv"][0].trigger()
    rows = list(csv.reader(open(tmp_path / "roc.csv")))
    assert rows[0] == ["threshold", "fpr", "tpr"]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(view.result["roc"]["fpr"])
    view.export_dialogs = Dialogs(str(tmp_path / "roc.png"))
    [a for a in view.export_button.menu().actions() if a.objectName() == "export_png"][0].trigger()
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert [a.objectName() for a in SanityView().export_button.menu().actions()] == ["export_csv"]
