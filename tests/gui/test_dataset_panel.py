"""The dataset panel: every control writes one undoable session.dataset edit, the preview follows, painting works."""
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.data import make_dataset
from engine.session import Session
from gui.document import Document
from gui.panels.dataset_controls import rebalance
from gui.panels.dataset_panel import DatasetPanel
from gui.panels.painting import to_inline

ROOT = Path(__file__).resolve().parents[2]
SQUARE = {"type": "inline", "params": {"x": [[-2, -2], [2, 2], [-2, 2], [2, -2]], "y": [0, 0, 1, 1]}}


def make_panel(qtbot, dataset, seed=0, layers=None):
    s = Session()
    s.dataset = dataset
    s.seed = seed
    if layers is not None:
        from engine.spec import GraphSpec

        s.graph = GraphSpec.from_dict({"layers": layers})
    doc = Document(s)
    panel = DatasetPanel(doc)
    panel.resize(380, 900)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.update_preview_now()
    return doc, panel


def test_generator_params_and_split_write_the_spec_and_update_the_preview(qtbot):
    doc, panel = make_panel(qtbot, {"type": "spiral", "params": {"n": 300}})
    assert panel.preview.counts() == {"train": 210, "val": 45, "test": 45}
    assert doc.undo_stack.count() == 0  # showing the session pushed nothing
    form = panel.form
    form.combo.setCurrentIndex(form.combo.findData("circle"))
    assert doc.session.dataset == {"type": "circle", "params": {"n": 500, "noise": 0.0},
                                   "split": {"train": 0.7, "val": 0.15, "test": 0.15},
                                   "preprocess": {"scale": "none", "features": None}}
    qtbot.waitUntil(lambda: panel.preview.counts()["train"] == 350, timeout=2000)  # the 100 ms debounce fires
    assert panel.preview.counts() == {"train": 350, "val": 75, "test": 75}
    form.editors["n"].widget.setValue(200)
    assert doc.session.dataset["params"] == {"n": 200, "noise": 0.0}
    form.editors["noise"].slider.setValue(30)
    assert doc.session.dataset["params"] == {"n": 200, "noise": 0.3}
    assert form.editors["noise"].value_label.text() == "30 %"
    panel.split.spins["train"].setValue(80)
    assert doc.session.dataset["split"] == {"train": 0.8, "val": 0.15, "test": 0.05}
    panel.update_preview_now()
    assert panel.preview.counts() == {"train": 160, "val": 30, "test": 10}
    # the preview shows exactly what make_dataset builds from the session
    ds = make_dataset(doc.session.dataset, doc.session.seed)
    np.testing.assert_array_equal(panel.preview.items["train"].data["x"], ds.raw_x("train")[:, 0])
    assert doc.undo_stack.count() == 4  # one undo step per action, never merged
    doc.undo_stack.undo()
    assert doc.session.dataset["split"] == {"train": 0.7, "val": 0.15, "test": 0.15}
    assert [panel.split.spins[s].value() for s in ("train", "val", "test")] == [70, 15, 15]
    panel.update_preview_now()
    assert panel.preview.counts() == {"train": 140, "val": 30, "test": 30}
    doc.undo_stack.undo()
    assert doc.session.dataset["params"]["noise"] == 0.0 and form.editors["noise"].slider.value() == 0
    assert doc.undo_stack.index() == 2  # refreshing after undo pushed nothing new


def test_slider_drag_previews_without_writing(qtbot):
    doc, panel = make_panel(qtbot, {"type": "xor", "params": {"n": 100}})
    ed = panel.form.editors["noise"]
    ed.slider.setSliderDown(True)
    ed.slider.setValue(50)
    panel.update_preview_now()
    assert doc.undo_stack.count() == 0 and "noise" not in doc.session.dataset["params"]
    ed.slider.setSliderDown(False)
    ed.slider.sliderReleased.emit()
    assert doc.session.dataset["params"]["noise"] == 0.5 and doc.undo_stack.count() == 1


def test_split_spin_boxes_always_sum_to_100(qtbot):
    doc, panel = make_panel(qtbot, {"type": "gauss", "params": {"n": 100}})
    spins = panel.split.spins
    for part, value, want in [("train", 95, (95, 5, 0)), ("val", 40, (60, 40, 0)), ("test", 30, (60, 10, 30)),
                              ("train", 40, (40, 10, 50)), ("val", 0, (40, 0, 60)), ("test", 100, (1, 0, 99))]:
        spins[part].setValue(value)
        got = tuple(spins[s].value() for s in ("train", "val", "test"))
        assert got == want and sum(got) == 100
        split = doc.session.dataset["split"]
        assert (split["train"], split["val"], split["test"]) == tuple(v / 100 for v in want)
    assert rebalance({"train": 70, "val": 15, "test": 15}, "train") == {"train": 70, "val": 15, "test": 15}
    assert rebalance({"train": 50, "val": 15, "test": 15}, "train") == {"train": 50, "val": 15, "test": 35}


def _click_at(qtbot, panel, x, y, button=Qt.LeftButton):
    plot = panel.preview.plot
    pos = plot.mapFromScene(panel.preview.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), button, pos=pos)


def test_painting_adds_points_of_the_chosen_class_and_erasing_removes_them(qtbot):
    doc, panel = make_panel(qtbot, SQUARE)
    prev = panel.preview
    assert prev.counts() == {"train": 4, "val": 0, "test": 0}
    qtbot.mouseClick(prev.mode_buttons["paint"], Qt.LeftButton)
    assert prev.mode == "paint"
    prev.class_combo.setCurrentIndex(prev.class_combo.findData(1))
    _click_at(qtbot, panel, 0.5, -1.0)
    p = doc.session.dataset["params"]
    px, py = prev.vb.viewPixelSize()
    assert len(p["x"]) == 5 and p["y"] == [0, 0, 1, 1, 1]
    assert abs(p["x"][-1][0] - 0.5) <= 1.5 * px and abs(p["x"][-1][1] + 1.0) <= 1.5 * py
    panel.update_preview_now()
    assert prev.counts()["train"] == 5
    # a third class that did not exist yet
    prev.class_combo.setCurrentIndex(prev.class_combo.findData(2))
    _click_at(qtbot, panel, -1.0, 1.0)
    p = doc.session.dataset["params"]
    assert p["y"][-1] == 2 and len(p["x"]) == 6
    panel.update_preview_now()
    assert panel.ds.n_classes == 3
    # right-click in paint mode erases; so does a left click in erase mode
    _click_at(qtbot, panel, 2.0, 2.0, Qt.RightButton)
    assert [2, 2] not in doc.session.dataset["params"]["x"] and len(doc.session.dataset["params"]["x"]) == 5
    prev.set_mode("erase")
    _click_at(qtbot, panel, 0.5, -1.0)
    p = doc.session.dataset["params"]
    assert len(p["x"]) == 4 and all(abs(x - 0.5) + abs(y + 1.0) > 0.2 for x, y in p["x"])
    assert doc.undo_stack.count() == 4
    doc.undo_stack.undo()  # the erased point comes back, and the panel shows it
    assert len(doc.session.dataset["params"]["x"]) == 5
    panel.update_preview_now()
    assert prev.counts()["train"] == 5


def test_drag_paints_a_stroke_as_one_undo_step(qtbot):
    doc, panel = make_panel(qtbot, SQUARE)
    panel.preview.set_mode("paint")
    plot, vb = panel.preview.plot, panel.preview.vb
    at = [plot.mapFromScene(vb.mapViewToScene(QPointF(x, 0.0))) for x in np.linspace(-1.5, 1.5, 13)]
    qtbot.mousePress(plot.viewport(), Qt.LeftButton, pos=at[0])
    for p in at[1:]:
        qtbot.wait(15)  # pyqtgraph drops mouse moves faster than 100 per second
        qtbot.mouseMove(plot.viewport(), p)
    qtbot.mouseRelease(plot.viewport(), Qt.LeftButton, pos=at[-1])
    xs = doc.session.dataset["params"]["x"][4:]
    assert len(xs) >= 4 and doc.undo_stack.count() == 1
    assert all(abs(y) < 0.2 for _, y in xs) and min(x for x, _ in xs) < -1.0 and max(x for x, _ in xs) > 1.0


def test_painting_a_generated_dataset_converts_it_to_inline(qtbot):
    doc, panel = make_panel(qtbot, {"type": "xor", "params": {"n": 40}})
    ds = panel.ds
    params = to_inline(ds)
    assert len(params["x"]) == 40 and params["class_names"] == ["negative", "positive"]
    panel.preview.set_mode("paint")
    _click_at(qtbot, panel, 0.0, 0.0)
    spec = doc.session.dataset
    assert spec["type"] == "inline" and len(spec["params"]["x"]) == 41
    assert spec["split"] == {"train": 0.7, "val": 0.15, "test": 0.15}  # the person's split is kept
    assert sorted(map(tuple, spec["params"]["x"][:40])) == sorted(map(tuple, np.round(
        np.concatenate([ds.raw_x(s) for s in ("train", "val", "test")]).astype(float), 4).tolist()))


def test_painting_regression_points_uses_the_value_box(qtbot):
    doc, panel = make_panel(qtbot, {"type": "plane", "params": {"n": 20}})
    prev = panel.preview
    assert prev.value_spin.isVisibleTo(prev) and not prev.class_combo.isVisibleTo(prev)
    prev.value_spin.setValue(0.7)
    prev.set_mode("paint")
    _click_at(qtbot, panel, 1.0, 2.0)
    p = doc.session.dataset["params"]
    assert p["task"] == "regression" and len(p["y"]) == 21 and p["y"][-1] == 0.7
    panel.update_preview_now()
    assert panel.ds.task == "regression" and panel.ds.n_outputs == 1


def test_choosing_painted_points_converts_and_enters_paint_mode_without_moving_the_view(qtbot):
    doc, panel = make_panel(qtbot, {"type": "gauss", "params": {"n": 30}})
    panel.form.combo.setCurrentIndex(panel.form.combo.findData("inline"))
    assert doc.session.dataset["type"] == "inline" and len(doc.session.dataset["params"]["x"]) == 30
    assert panel.preview.mode == "paint" and panel.form.combo.currentData() == "inline"
    panel.update_preview_now()
    (x0, x1), _ = panel.preview.vb.viewRange()
    _click_at(qtbot, panel, x1 - 0.1, 0.0)  # outside the old data bounds: a refit would widen the view
    qtbot.wait(150)  # the debounced refresh after the write has run
    assert len(doc.session.dataset["params"]["x"]) == 31
    assert panel.preview.vb.viewRange()[0] == pytest.approx([x0, x1])


def test_every_dataset_control_has_help(qtbot):
    doc, panel = make_panel(qtbot, {"type": "blobs"})
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QGroupBox, QLineEdit, QSlider

    kinds = (QComboBox, QLineEdit, QAbstractSpinBox, QAbstractButton, QSlider, QGroupBox)
    controls = [w for cls in kinds for w in panel.findChildren(cls) if w.isVisibleTo(panel)
                and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))
                and not (isinstance(w, QGroupBox) and not w.isCheckable())]  # plain frames are not controls
    assert len(controls) > 20
    assert [w.objectName() or type(w).__name__ for w in controls if not w.toolTip()] == []
    assert "stratified" in panel.split.parentWidget().whatsThis()
    assert "x1·x2 solves XOR" in panel.prep.features_box.whatsThis()
    assert "training split only" in panel.prep.scale.toolTip()


def test_feature_expansion_and_input_shape_fix(qtbot):
    doc, panel = make_panel(qtbot, {"type": "circle", "params": {"n": 100}})
    assert panel.input_warning.isHidden()
    panel.prep.features_box.setChecked(True)
    assert doc.session.dataset["preprocess"]["features"] == ["x1", "x2"]
    panel.prep.checks["x1^2"].setChecked(True)
    panel.prep.checks["x2^2"].setChecked(True)
    assert doc.session.dataset["preprocess"]["features"] == ["x1", "x2", "x1^2", "x2^2"]
    panel.update_preview_now()
    assert panel.ds.input_shape == (4,)
    assert not panel.input_warning.isHidden()
    assert "expects (2,) but the dataset gives (4,)" in panel.input_text.text()
    qtbot.mouseClick(panel.fix_input, Qt.LeftButton)
    assert doc.graph.node("input").params["shape"] == [4] and doc.report.ok
    assert panel.input_warning.isHidden()
    doc.undo_stack.undo()
    assert not panel.input_warning.isHidden()
    panel.prep.scale.setCurrentIndex(panel.prep.scale.findData("standardize"))
    assert doc.session.dataset["preprocess"] == {"scale": "standardize", "features": ["x1", "x2", "x1^2", "x2^2"]}


def test_engine_errors_show_inline_and_digits_disable_painting(qtbot):
    doc, panel = make_panel(qtbot, {"type": "blobs", "params": {"n": 30}})
    panel.form.editors["n"].widget.setValue(2)  # 2 points for 3 classes: the generator refuses
    panel.update_preview_now()
    assert doc.session.dataset["params"]["n"] == 2
    assert not panel.error.isHidden() and "needs n >= classes" in panel.error.text()
    assert panel.preview.counts() == {"train": 0, "val": 0, "test": 0}
    panel.form.combo.setCurrentIndex(panel.form.combo.findData("digits"))
    panel.update_preview_now()
    assert panel.error.isHidden() and panel.preview.projected
    assert sum(panel.preview.counts().values()) == 1797
    assert not panel.preview.mode_buttons["paint"].isEnabled() and not panel.prep.features_box.isEnabled()
    assert "expects (2,) but the dataset gives (1, 8, 8)" in panel.input_text.text()


def test_a_broken_session_spec_is_shown_with_its_error_and_can_be_fixed(qtbot):
    doc, panel = make_panel(qtbot, {"type": "blobs", "params": {"n": "abc", "classes": 4}})
    assert panel.form.error.text() == "dataset 'blobs'.n must be an integer, got 'abc'"
    assert panel.error.isHidden()  # said once, next to the fields
    assert panel.form.editors["classes"].widget.value() == 4 and panel.form.editors["n"].widget.value() == 500
    assert panel.preview.counts() == {"train": 0, "val": 0, "test": 0} and doc.undo_stack.count() == 0
    panel.form.editors["n"].widget.setValue(40)
    assert doc.session.dataset["params"] == {"n": 40, "classes": 4, "std": 1.0}
    assert panel.form.error.isHidden()
    panel.update_preview_now()
    assert sum(panel.preview.counts().values()) == 40 and panel.ds.n_classes == 4


def test_session_replaced_and_seed(qtbot):
    doc, panel = make_panel(qtbot, {"type": "spiral"})
    s = Session()
    s.dataset = {"type": "moons", "params": {"n": 60}}
    s.seed = 7
    doc.set_session(s)
    assert panel.form.combo.currentData() == "moons" and panel.seed.value() == 7
    panel.update_preview_now()
    before = panel.preview.items["train"].data["x"].copy()
    panel.seed.setValue(8)
    assert doc.session.seed == 8
    panel.update_preview_now()
    assert not np.array_equal(before, panel.preview.items["train"].data["x"])
    qtbot.mouseClick(panel.reseed, Qt.LeftButton)
    assert doc.session.seed == panel.seed.value()


def test_install_panels_fills_the_docks(window):
    from gui.panels.install import install_panels
    from gui.panels.training_panel import TrainingPanel

    dp, tp = install_panels(window)
    assert window.docks["datasetDock"].widget() is dp and isinstance(dp, DatasetPanel)
    assert window.docks["trainingDock"].widget() is tp and isinstance(tp, TrainingPanel)
    assert window.doc.undo_stack.count() == 0


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_panel_runs_alone(run_alone):
    w = run_alone("gui.panels.dataset_panel")
    w.update_preview_now()
    assert w.preview.counts() == {"train": 210, "val": 45, "test": 45}


def test_dataset_panel_screenshot(qtbot):
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    doc, panel = make_panel(qtbot, {"type": "spiral", "params": {"n": 300, "noise": 0.1}})
    panel.resize(380, 1000)
    panel.update_preview_now()
    qtbot.wait(50)
    path = out / "dataset_panel.png"
    assert panel.grab().save(str(path))
