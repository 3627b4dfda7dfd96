"""The inspector: schema-generated editors write through undoable commands and never loop."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from gui import templates


def select_by_click(window, qtbot, node_id):
    item = window.scene.nodes[node_id]
    window.view.centerOn(item)
    pos = window.view.mapFromScene(item.mapToScene(item.boundingRect().center()))
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=pos)
    assert window.doc.selection == [node_id]


def test_spin_box_edit_updates_node_shape_and_report(window, qtbot):
    doc, insp = window.doc, window.inspector
    select_by_click(window, qtbot, "dense2")
    spin = insp.editors["units"].widget
    assert isinstance(spin, QSpinBox) and spin.value() == 8 and spin.minimum() == 1
    assert doc.undo_stack.count() == 0  # showing values pushed nothing
    spin.setValue(5)
    assert doc.graph.node("dense2").params["units"] == 5
    assert window.scene.nodes["dense2"].lines == ["units 5 · tanh", "→ (5,)", "45 params"]
    assert doc.report.shapes["dense2"] == (5,)
    assert doc.report.param_counts["dense2"] == 8 * 5 + 5 and doc.report.param_counts["dense3"] == 5 * 1 + 1
    assert doc.report.total_params == 24 + 45 + 6
    assert window.params_label.text() == "75 parameters"
    assert insp.shape_label.text() == "in (8,) → out (5,) · 45 parameters"
    doc.undo_stack.undo()
    assert spin.value() == 8 and doc.report.total_params == 105
    assert doc.undo_stack.count() == 1 and doc.undo_stack.index() == 0  # the refresh did not push an edit


def test_activation_combo_trainable_and_regularizers(window, qtbot):
    doc, insp = window.doc, window.inspector
    doc.set_selection(["dense1"])
    combo = insp.editors["activation"].widget
    assert isinstance(combo, QComboBox) and combo.currentText() == "tanh"
    from engine.activations import ACTIVATIONS

    assert [combo.itemText(i) for i in range(combo.count())] == ACTIVATIONS.names()
    combo.setCurrentIndex(combo.findText("relu"))
    assert doc.graph.node("dense1").params["activation"] == "relu"
    assert window.scene.nodes["dense1"].lines[0] == "units 8 · relu"
    assert isinstance(insp.trainable, QCheckBox) and insp.trainable.isChecked()
    insp.trainable.setChecked(False)
    assert doc.graph.node("dense1").trainable is False
    assert window.scene.nodes["dense1"].lines[2] == "24 params · frozen"
    l2 = insp.reg_editors["l2"].widget
    assert isinstance(l2, QLineEdit) and l2.text() == ""
    l2.setText("1e-3")
    l2.editingFinished.emit()
    assert doc.graph.node("dense1").regularizers == [{"type": "l2", "params": {"lambda": 0.001}}]
    l2.setText("")
    l2.editingFinished.emit()
    assert doc.graph.node("dense1").regularizers == []
    # activation + trainable; setting λ then clearing it merged into a no-op, which the stack drops
    assert doc.undo_stack.count() == 2


def test_float_and_list_editors_parse_text(window, qtbot):
    doc, insp = window.doc, window.inspector
    nid = window.add_layer_at_center("Dropout")
    assert doc.selection == [nid]
    p = insp.editors["p"].widget
    assert isinstance(p, QLineEdit) and p.text() == "0.5"
    p.setText("2.5e-1")
    p.editingFinished.emit()
    assert doc.graph.node(nid).params["p"] == 0.25
    doc.set_selection(["input"])
    shape = insp.editors["shape"].widget
    assert shape.text() == "2"
    shape.setText("2, x")
    shape.editingFinished.emit()
    assert doc.graph.node("input").params["shape"] == [2]  # refused: nothing committed
    assert "border" in shape.styleSheet()
    shape.setText("[3]")
    shape.editingFinished.emit()
    assert doc.graph.node("input").params["shape"] == [3]
    assert doc.report.param_counts["dense1"] == 3 * 8 + 8


def test_explicit_values_table_is_sized_from_the_weight_shape(window, qtbot):
    doc, insp = window.doc, window.inspector
    doc.set_selection(["dense2"])
    ed = insp.init_editors["weight"]
    assert ed.combo.currentText() == "layer default (xavier_uniform)"
    ed.combo.setCurrentIndex(ed.combo.findData("values"))
    assert ed.table.rowCount() == 8 and ed.table.columnCount() == 8
    assert doc.graph.node("dense2").init["weight"]["params"]["values"] == [[0.0] * 8 for _ in range(8)]
    ed.table.item(2, 5).setText("-0.75")
    values = doc.graph.node("dense2").init["weight"]["params"]["values"]
    assert values[2][5] == -0.75 and sum(map(sum, values)) == -0.75
    ed.table.item(0, 0).setText("abc")  # refused and put back
    assert ed.table.item(0, 0).text() == "0.0" and "not a number" in ed.note.text()
    bias = insp.init_editors["bias"]
    bias.combo.setCurrentIndex(bias.combo.findData("values"))
    assert (bias.table.rowCount(), bias.table.columnCount()) == (8, 1)
    bias.combo.setCurrentIndex(bias.combo.findData("normal"))
    assert doc.graph.node("dense2").init["bias"] == {"type": "normal", "params": {}}
    std = next(e for e in bias._param_editors if e.param.name == "std")
    std.widget.setText("0.2")
    std.widget.editingFinished.emit()
    assert doc.graph.node("dense2").init["bias"] == {"type": "normal", "params": {"std": 0.2}}
    bias.combo.setCurrentIndex(0)
    assert "bias" not in doc.graph.node("dense2").init


def test_xor_template_shows_the_lecture_weights(window, qtbot):
    window.doc.set_session(templates.xor_lecture())
    window.doc.set_selection(["hidden"])
    ed = window.inspector.init_editors["weight"]
    assert ed.combo.currentText() == "explicit values…"
    cells = [[ed.table.item(r, c).text() for c in range(2)] for r in range(2)]
    assert cells == [["-0.07", "0.22"], ["0.94", "0.46"]]
    assert ed.table.verticalHeaderItem(1).text() == "unit 2" and ed.table.horizontalHeaderItem(0).text() == "in 1"
    bias = window.inspector.init_editors["bias"]
    assert [bias.table.item(r, 0).text() for r in range(2)] == ["-0.46", "0.1"]


def test_selection_changes_rebuild_without_edits(window):
    doc, insp = window.doc, window.inspector
    for nid in doc.graph.ids():
        doc.set_selection([nid])
        assert insp.title.text().count(nid) == 1
    doc.set_selection(["dense1", "dense2"])
    assert "2 layers selected" in insp.title.text() and insp.editors == {}
    assert doc.undo_stack.count() == 0


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("module", ["gui.panels.inspector", "gui.panels.palette", "gui.panels.stack_builder"])
def test_each_panel_runs_alone(module, run_alone):
    w = run_alone(module)
    assert w.isVisible()
    if module.endswith("inspector"):
        assert w.init_editors["weight"].table.item(1, 0).text() == "0.94"
    elif module.endswith("palette"):
        assert {"Dense", "Conv2d", "Add"} <= set(w.visible_names())
    else:
        assert w.summary() == "2-8-8-1"
