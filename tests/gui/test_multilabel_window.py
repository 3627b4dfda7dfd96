"""Multi-label classification in the window: the example trains, the boundary shows the chosen label's
P(label) (equal to Run.predict on the grid), Analyze ▸ Evaluation's per-label numbers follow the threshold,
the CSV dialog imports several 0/1 target columns, and the dataset panel counts each label."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from engine.evaluation import evaluate_run, multilabel_at_threshold
from engine.session import load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "multi_label_playground.json"


def grid_points(extent, g):
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, g), np.linspace(y0, y1, g))
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def test_example_trains_in_the_window_and_the_boundary_follows_the_chosen_label(live_windows, qtbot):
    from engine.views import GRID

    win = live_windows(strict=True, size=(1400, 900))
    menu = win.findChild(QMenu, "examplesMenu")
    menu.aboutToShow.emit()
    next(a for a in menu.actions() if a.objectName() == "example_multi_label_playground").trigger()
    assert win.doc.session.name == "Multi-label"
    live = win.live
    win.doc.session.training["epochs"] = 8  # a shorter training: the picture, not the score, is checked here
    c = live.controller
    with qtbot.waitSignal(c.finished, timeout=60000) as fin:
        c.train()
    assert fin.args[0].reason == "completed"
    live.hub.flush()
    bp = live.plots["Boundary"]
    assert bp.label_combo.isVisible() or not bp.isVisible()
    assert [bp.label_combo.itemText(i) for i in range(bp.label_combo.count())] == \
        ["inside the circle", "right half", "above the diagonal"]
    run = c.document_run()
    frame = bp.frame
    assert frame.kind == "multilabel" and frame.values.shape == (GRID, GRID, 3) and frame.step == c.trainer.step
    want = run.predict(grid_points(frame.extent, GRID))  # P(label j) at every grid point, from the engine
    for j in (2, 0, 1):
        bp.label_combo.setCurrentIndex(j)
        bp.redraw()
        np.testing.assert_allclose(bp.shown_values(), want[:, j].reshape(GRID, GRID), atol=1e-5)
        img = bp.image.image  # the drawn image: grid values at every UPSAMPLE-th pixel
        np.testing.assert_allclose(img[::4, ::4], want[:, j].reshape(GRID, GRID), atol=1e-5)
        assert f"P({bp.label_combo.itemText(j)})" in bp.cbar.getAxis("left").labelText
        # training points are coloured by whether they carry label j
        x, y = bp.meta.raw["train"]
        brushes = bp.train_pts.data["brush"]
        on = [b.color().name() for b, v in zip(brushes, y[:, j]) if v == 1]
        off = [b.color().name() for b, v in zip(brushes, y[:, j]) if v == 0]
        assert on and off and set(on).isdisjoint(off)
    # the three maps differ: a label switch really changes the picture
    assert np.abs(want[:, 0] - want[:, 1]).max() > 0.5
    assert "Multi-label data has one yes/no per label" in live.plots["Confusion"].applies(bp.meta)
    # the accuracy curves: per-label accuracy (train, validation) and the validation subset accuracy
    mp = live.plots["Accuracy"]
    h = c.trainer.history
    assert mp.pw.legend_fitter.names() == ["train per-label accuracy", "validation per-label accuracy", "validation subset accuracy"]
    _, sub = mp.curves[2].getData()
    want_sub = [m["subset_accuracy"] for m in h.epoch_metrics]
    np.testing.assert_allclose(sub, want_sub, rtol=1e-9)
    _, val = mp.curves[1].getData()
    np.testing.assert_allclose(val, [1 - m["hamming_loss"] for m in h.epoch_metrics], rtol=1e-9)
    assert np.all(np.asarray(sub) <= np.asarray(val) + 1e-12)  # all labels right is the stricter count


def test_evaluation_view_per_label_numbers_follow_the_threshold(qtbot):
    from engine.run import Run
    from gui.analysis.evaluation_view import EvaluationView

    s = load_session(str(EXAMPLE))
    s.training["epochs"] = 10
    run = Run(s, path="torch")
    run.fit()
    view = EvaluationView(lambda: run)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.computed, timeout=60000):
        assert view.compute()
    rep = evaluate_run(run, "test")
    assert len(view.roc_curves) == 3 and "macro AUC" in view.roc.getPlotItem().titleLabel.text
    assert view.slider.isEnabled()
    headers = [view.table.horizontalHeaderItem(j).text() for j in range(view.table.columnCount())]
    assert headers == ["label", "precision", "recall", "F1", "AUC", "n"]
    for thr in (30, 70):
        view.slider.setValue(thr)
        y, p = run.data.y_test.astype(int), run.predict(run.data.raw_x("test"))
        pred = (p >= thr / 100).astype(int)
        exact = float(np.mean([(pred[i] == y[i]).all() for i in range(len(y))]))
        wrong = float(np.mean(pred != y))
        assert f"subset accuracy (all labels right) {exact:.3f}" in view.summary.text()
        assert f"Hamming loss {wrong:.3f}" in view.summary.text()
        t = multilabel_at_threshold(y, p, thr / 100)
        for j in range(3):
            tp = int(((pred[:, j] == 1) & (y[:, j] == 1)).sum())
            fp = int(((pred[:, j] == 1) & (y[:, j] == 0)).sum())
            prec = tp / (tp + fp) if tp + fp else 0.0
            assert view.table.item(j, 1).text() == f"{prec:.3f}"
            assert t["per_label"][j]["tp"] == tp
            assert view.table.item(j, 4).text() == f"{rep['per_label'][j]['auc']:.3f}"
        assert view.table.item(3, 0).text() == "micro mean" and view.table.item(4, 0).text() == "macro mean"
        assert view.table.item(4, 3).text() == f"{t['macro']['f1']:.3f}"


CSV3 = "x1,x2,a,b,c\n" + "\n".join(f"{i % 7 - 3},{i % 5 - 2},{int(i % 7 > 3)},{int(i % 5 > 2)},{int(i % 3 == 0)}"
                                   for i in range(40)) + "\n"


def test_csv_dialog_takes_several_0_1_target_columns(qtbot, tmp_path):
    from engine.data import make_dataset
    from gui.panels.csv_dialog import CsvImportDialog

    path = tmp_path / "three.csv"
    path.write_text(CSV3)
    dlg = CsvImportDialog(path=str(path))
    qtbot.addWidget(dlg)
    assert not dlg.targets.isVisibleTo(dlg)
    dlg.task.setCurrentIndex(dlg.task.findData("multilabel"))
    assert dlg.targets.isVisibleTo(dlg) and not dlg.target.isEnabled()
    ticked = [dlg.targets.item(i).text() for i in range(dlg.targets.count())
              if dlg.targets.item(i).checkState() == Qt.Checked]
    assert ticked == ["a", "b", "c"]  # the trailing 0/1 columns by default
    assert dlg.ok_button.isEnabled() and "multi-label, 3 labels" in dlg.summary.text()
    spec = dlg.spec()
    assert spec["params"]["task"] == "multilabel" and spec["params"]["class_names"] == ["a", "b", "c"]
    d = make_dataset(spec, 0)
    assert d.task == "multilabel" and d.feature_names == ["x1", "x2"]
    assert sum(d.class_counts(s)[2] for s in ("train", "val", "test")) == sum(i % 3 == 0 for i in range(40))
    s = dlg.suggested_session()
    assert s.loss["type"] == "bce_logits" and s.graph.node("out").params["units"] == 3
    dlg.set_targets(["a", "x1"])  # x1 is not a 0/1 column: the engine's message, OK off
    assert not dlg.ok_button.isEnabled() and "is not 0 or 1" in dlg.error.text()
    dlg.set_targets([])
    assert not dlg.ok_button.isEnabled() and "tick at least one" in dlg.error.text()


def test_dataset_panel_counts_each_label_and_colours_points_by_their_labels(qtbot):
    from engine.data import make_dataset
    from gui.panels.dataset_panel import summary
    from gui.panels.dataset_preview import DatasetPreview, class_color, point_colors

    s = load_session(str(EXAMPLE))
    ds = make_dataset(s.dataset, s.seed)
    counts = [int(v) for v in ds.y_train.sum(axis=0)]
    assert summary(ds).startswith("multi-label, 3 labels (train samples with each: "
                                  f"inside the circle {counts[0]}, right half {counts[1]}, above the diagonal "
                                  f"{counts[2]})")
    preview = DatasetPreview()
    qtbot.addWidget(preview)
    preview.show_dataset(ds)
    assert "multi-label: colour = the labels a point has" in preview.legend.text()
    assert preview.counts() == ds.sizes
    y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0]], np.float32)
    c = point_colors(ds, y)
    assert c[0].getRgb()[:3] == class_color(1).getRgb()[:3] and c[1].getRgb()[:3] == (170, 170, 170)
    mix = [(a + b) // 2 for a, b in zip(class_color(1).getRgb()[:3], class_color(2).getRgb()[:3])]
    assert all(abs(u - v) <= 1 for u, v in zip(c[2].getRgb()[:3], mix))
    preview.set_paintable(False, "x")
    assert not preview.mode_buttons["paint"].isEnabled()


def test_choosing_the_multi_label_generator_in_the_dataset_panel(qtbot):
    from engine.data import make_dataset
    from engine.session import Session
    from gui.document import Document
    from gui.panels.dataset_panel import DatasetPanel

    s = Session()
    s.dataset = {"type": "circle", "params": {"n": 200}}
    doc = Document(s)
    panel = DatasetPanel(doc)
    panel.resize(380, 900)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.update_preview_now()
    form = panel.form
    form.combo.setCurrentIndex(form.combo.findData("multi_label"))
    assert form.combo.currentText() == "Multi-label (3 labels at once)"
    assert doc.session.dataset["type"] == "multi_label" and doc.session.dataset["params"] == {"n": 500, "noise": 0.0}
    form.editors["noise"].slider.setValue(20)  # the slider spans the schema's 0..0.5: 10 % of each label flipped
    assert doc.session.dataset["params"]["noise"] == pytest.approx(0.1)
    assert form.editors["noise"].value_label.text() == "0.1"
    panel.update_preview_now()
    ds = make_dataset(doc.session.dataset, doc.session.seed)
    counts = ds.class_counts("train")
    assert panel.summary.text().startswith(f"multi-label, 3 labels (train samples with each: inside the circle "
                                           f"{counts[0]}, right half {counts[1]}, above the diagonal {counts[2]})")
    assert panel.preview.counts() == {"train": 350, "val": 75, "test": 75}
    assert not panel.preview.mode_buttons["paint"].isEnabled()  # a painted point has one class, not k labels
    assert "multi-label points need every label" in panel.preview.mode_buttons["paint"].toolTip()


def test_training_panel_warns_about_softmax_and_cross_entropy_on_multilabel_data(qtbot):
    from tests.gui.test_training_panel import make_panel

    ml = {"type": "multi_label", "params": {"n": 100}}
    doc, panel = make_panel(qtbot, out_units=3, out_act="softmax", dataset=ml, loss="cross_entropy")
    text = panel.pairing.text()
    assert panel.pairing.isVisibleTo(panel)
    assert "a softmax makes the outputs compete" in text and "cross_entropy assumes exactly one class" in text
    assert "multiclass multi-label → sigmoid + binary cross-entropy" in text  # the notes' table, quoted
    assert panel.pairing_ok.text().endswith("3 output units, multilabel.")
    doc2, ok = make_panel(qtbot, out_units=3, out_act="sigmoid", dataset=ml, loss="bce")
    assert not ok.pairing.isVisibleTo(ok) and ok.pairing_ok.text().startswith("✓ ")
    doc3, narrow = make_panel(qtbot, out_units=2, out_act="sigmoid", dataset=ml, loss="bce")
    assert "The output has 2 units but the dataset has 3 labels" in narrow.pairing.text()
    inline = {"type": "inline", "params": {"x": [[0, 0], [1, 1]], "y": [[1, 0], [0, 1]], "task": "multilabel"}}
    doc4, two = make_panel(qtbot, out_units=2, out_act="identity", dataset=inline, loss="bce_logits")
    assert not two.pairing.isVisibleTo(two)
