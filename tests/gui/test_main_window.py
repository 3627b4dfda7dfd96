"""The main window: palette → canvas, title and dirty flag, files, docks, train actions, settings."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QToolTip

from engine.session import load_session

ROOT = Path(__file__).resolve().parents[2]


def test_double_click_in_palette_adds_a_node_at_the_view_centre(window, qtbot):
    tree = window.palette.tree
    item = window.palette.items()["Dense"]
    tree.scrollToItem(item)
    pos = tree.visualItemRect(item).center()
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=pos)  # a real double-click starts with a click
    qtbot.mouseDClick(tree.viewport(), Qt.LeftButton, pos=pos)
    assert window.doc.graph.ids()[-1] == "dense4"
    node = window.doc.graph.node("dense4")
    assert node.type == "Dense" and node.params == {}
    assert window.doc.selection == ["dense4"] and window.scene.nodes["dense4"].isSelected()
    c = window.scene.snap_point(window.view.visible_center())
    assert node.pos[0] == c.x() and node.pos[1] % 20 == 0  # at the centre, on the 20 px grid
    others = [n.pos for n in window.doc.graph.nodes if n.id != "dense4"]
    assert 0 <= node.pos[1] - c.y() <= 200  # slid down just far enough not to cover dense2
    assert not any(abs(node.pos[0] - x) < 190 and abs(node.pos[1] - y) < 100 for x, y in others)
    assert any(abs(node.pos[0] - x) < 190 and abs(node.pos[1] - 20 - y) < 100 for x, y in others)
    assert "dangling" in window.validity_label.text()
    window.palette.search.setText("conv")
    assert window.palette.visible_names() == ["Conv1d", "Conv2d"]


def test_title_shows_dirty_state_and_save_makes_it_clean(window, tmp_path):
    assert window.windowTitle() == "Playground — NN Playground"
    window.doc.set_param("dense1", "units", 4)
    assert window.windowTitle() == "Playground* — NN Playground"
    path = tmp_path / "spiral net.json"
    assert window.save_to(path)
    assert window.windowTitle() == "spiral net — NN Playground" and not window.doc.dirty
    saved = json.loads(path.read_text())
    assert saved["graph"]["nodes"][1]["params"]["units"] == 4
    assert load_session(path).to_dict() == window.doc.session.to_dict()
    window.doc.undo_stack.undo()
    assert window.windowTitle() == "spiral net* — NN Playground"
    window.doc.undo_stack.redo()
    assert window.windowTitle() == "spiral net — NN Playground"
    assert window.files.recent() == [str(path)]


def test_open_replaces_the_session_and_clears_history(window, tmp_path, session_of):
    from engine.session import save_session_json

    s = session_of([{"id": "input", "type": "Input", "params": {"shape": [3]}},
                    {"id": "d", "type": "Dense", "params": {"units": 2}}, {"id": "output", "type": "Output"}])
    save_session_json(s, tmp_path / "small.json")
    window.doc.set_param("dense1", "units", 4)
    window.files.ask_unsaved = lambda: QMessageBox.Discard
    assert window.files.open(str(tmp_path / "small.json"))
    assert window.doc.graph.ids() == ["input", "d", "output"]
    assert set(window.scene.nodes) == {"input", "d", "output"}
    assert window.doc.undo_stack.count() == 0 and window.windowTitle() == "small — NN Playground"
    assert window.params_label.text() == "8 parameters"  # 3·2 + 2


def test_closing_with_unsaved_changes_asks(window, tmp_path):
    window.doc.set_param("dense1", "units", 4)
    window.files.ask_unsaved = lambda: QMessageBox.Cancel
    assert not window.close()
    assert window.isVisible()
    window.files.ask_unsaved = lambda: QMessageBox.Save
    window.files.ask_save_path = lambda: str(tmp_path / "kept")
    assert window.close()
    assert load_session(tmp_path / "kept.json").graph.node("dense1").params["units"] == 4


def test_settings_go_to_the_isolated_folder(window, isolated_settings):
    window.close()
    ini = isolated_settings / "NNPlayground" / "NN Playground.ini"
    assert ini.exists()
    text = ini.read_text()
    assert "geometry" in text and "state" in text


def test_new_from_template(window):
    window.doc.set_param("dense1", "units", 4)
    window.files.ask_template = lambda: "cnn"
    assert window.files.new()
    assert window.doc.session.name == "CNN on digits"
    assert window.doc.report.shapes["flatten"] == (72,)
    assert window.params_label.text() == "810 parameters"
    assert window.windowTitle() == "CNN on digits — NN Playground"


def test_placeholder_docks_can_be_filled(window):
    for name in ("datasetDock", "trainingDock", "plotsDock", "diagnosticsDock"):
        assert window.docks[name].objectName() == name
    label = QLabel("training settings")
    window.set_dock_widget("training", label)
    assert window.docks["trainingDock"].widget() is label
    plot = QLabel("loss plot")
    assert window.add_plot_tab("Loss", plot) == 0
    assert window.plot_tabs.widget(0) is plot and window.plot_tabs.count() == 3


def test_train_actions_follow_the_controller_state_table(window):
    from gui.training.state import ACTIONS, TRANSITIONS, TrainState

    a, c = window.actions_by_name, window.controller
    calls = []
    c.train = lambda: calls.append("train")  # the action calls the controller's method
    assert c.state == "idle" and a["train"].isEnabled() and a["step"].isEnabled()
    assert not a["pause"].isEnabled() and not a["stop"].isEnabled() and not a["reset_weights"].isEnabled()
    a["train"].trigger()
    assert calls == ["train"]
    for path in (["building", "running"], ["paused"], ["finished"]):
        for st in path:
            c.set_state(st)
        for name, states in ACTIONS.items():
            assert a[name].isEnabled() == (TrainState(path[-1]) in states), (path, name)
    assert a["pause"].isEnabled() is False and a["train"].isEnabled()  # finished: Train continues
    with pytest.raises(RuntimeError, match="finished -> paused"):
        c.set_state("paused")  # not in the table
    assert all(TrainState.IDLE in TRANSITIONS[s] or s == TrainState.IDLE for s in TrainState)
    c.deviceChanged.emit("torch cpu")
    assert window.device_label.text() == "device: torch cpu"


def test_refused_connection_is_shown_in_status_bar_and_tooltip(window):
    screen_pos = window.view.mapToGlobal(window.view.rect().center())
    window.scene.try_connect("dense3", "dense1", "in", screen_pos)
    msg = "Cannot connect dense3 → dense1: this would form a cycle: dense3 → dense1 → dense2 → dense3"
    assert window.statusBar().currentMessage() == msg
    assert QToolTip.text() == msg


def test_validity_and_parameter_count_in_status_bar(window):
    assert window.validity_label.text() == "✓ valid" and window.params_label.text() == "105 parameters"
    window.doc.remove_nodes(["dense2"])
    assert window.validity_label.text().startswith("✗ node 'dense1': this node's output goes nowhere")
    assert window.params_label.text() == "24 parameters"
    assert window.device_label.text() == "device: auto"


def test_gui_start_does_not_import_torch(tmp_path):
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
            "from gui.main_window import MainWindow; w = MainWindow(); w.show(); app.processEvents();"
            "print('torch' in sys.modules, w.windowTitle())")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False Playground — NN Playground"


def test_mouse_drag_connects_ports_and_moves_nodes(window, qtbot):
    from PySide6.QtCore import QPoint

    from engine.spec import Edge

    doc, vp = window.doc, window.view.viewport()
    doc.disconnect_edges([Edge("dense1", "dense2")])
    p1 = window.view.mapFromScene(window.scene.nodes["dense1"].out_port.scenePos())
    p2 = window.view.mapFromScene(window.scene.nodes["dense2"].in_ports["in"].scenePos())
    qtbot.mousePress(vp, Qt.LeftButton, pos=p1)
    for k in range(1, 6):
        qtbot.mouseMove(vp, p1 + (p2 - p1) * (k / 5))
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=p2)
    assert doc.graph.edges[-1] == Edge("dense1", "dense2") and doc.report.ok
    assert window.statusBar().currentMessage() == "Connected dense1 → dense2"
    before = doc.graph.node("dense3").pos
    grip = window.view.mapFromScene(window.scene.nodes["dense3"].mapToScene(90, 12))
    qtbot.mousePress(vp, Qt.LeftButton, pos=grip)
    for k in range(1, 6):
        qtbot.mouseMove(vp, grip + QPoint(10 * k, 8 * k))
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=grip + QPoint(50, 40))
    after = doc.graph.node("dense3").pos
    assert after != before and after[0] % 20 == 0 and after[1] % 20 == 0
    assert doc.undo_stack.undoText() == "Move 1 node"
    assert window.scene.edges[Edge("dense3", "output")].path().pointAtPercent(0) == \
        window.scene.nodes["dense3"].out_port.scenePos()


def test_palette_drag_carries_the_layer_name_and_drops_on_the_canvas(window):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent

    from gui.canvas import LAYER_MIME

    md = window.palette.tree.mimeData([window.palette.items()["Conv2d"]])
    assert bytes(md.data(LAYER_MIME)) == b"Conv2d"
    at = window.view.viewport().rect().center() + QPointF(-200, 150).toPoint()
    ev = QDropEvent(QPointF(at), Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    window.view.dropEvent(ev)
    node = window.doc.graph.node("conv2d1")
    target = window.scene.snap_point(window.view.mapToScene(at) - QPointF(85, 20))  # centred under the cursor
    assert node.pos == (target.x(), target.y())
    assert [str(e) for e in window.doc.report.errors_for("conv2d1")] == [
        "node 'conv2d1': this node's output goes nowhere (dangling); connect it or delete it",
        "node 'conv2d1': input port 'in' is not connected (dangling port)"]
    assert window.scene.nodes["conv2d1"].is_invalid


def test_keyboard_shortcuts_reach_the_canvas(window, qtbot):
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(lambda: window.view.hasFocus())
    window.doc.set_selection(["dense2"])
    qtbot.keyClick(window.view, Qt.Key_D, Qt.ControlModifier)
    assert window.doc.selection == ["dense4"] and window.doc.graph.node("dense4").params["units"] == 8
    qtbot.keyClick(window.view, Qt.Key_Delete)
    assert "dense4" not in window.doc.graph.ids()
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert "dense4" in window.doc.graph.ids()
    z = window.view.zoom()
    qtbot.keyClick(window.view, Qt.Key_Plus, Qt.ControlModifier)
    assert abs(window.view.zoom() - min(z * 1.25, 3.0)) < 1e-9
    qtbot.keyClick(window.view, Qt.Key_A, Qt.ControlModifier)
    assert window.doc.selection == window.doc.graph.ids()


def test_examples_open_untitled_and_revert_reloads(window, tmp_path, monkeypatch, session_of):
    from PySide6.QtWidgets import QMenu

    import gui.file_actions as fa
    from engine.session import save_session_json

    (tmp_path / "examples").mkdir()
    save_session_json(session_of([{"id": "input", "type": "Input", "params": {"shape": [4]}},
                                  {"id": "output", "type": "Output"}], name="Tiny"), tmp_path / "examples" / "tiny_net.json")
    monkeypatch.setattr(fa, "RESOURCES", tmp_path)
    menu = QMenu()
    window.files.fill_examples_menu(menu)
    assert [a.text() for a in menu.actions()] == ["Tiny"]
    menu.actions()[0].trigger()
    assert window.doc.path is None and window.doc.graph.ids() == ["input", "output"]
    assert window.windowTitle() == "Tiny — NN Playground"
    assert window.save_to(tmp_path / "mine.json")
    window.doc.set_param("input", "shape", [5])
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.Discard))
    assert window.files.revert()
    assert window.doc.graph.node("input").params["shape"] == [4] and not window.doc.dirty


def test_session_fields_are_undoable_for_the_settings_panels(window, qtbot):
    doc = window.doc
    with qtbot.waitSignal(doc.sessionChanged) as sig:
        doc.set_session_field("optimizer", {"type": "sgd", "params": {"lr": 0.1}})
    assert sig.args == ["optimizer"] and doc.dirty
    doc.set_session_field("optimizer", {"type": "sgd", "params": {"lr": 0.2}})
    assert doc.undo_stack.count() == 1  # merged
    doc.undo_stack.undo()
    assert doc.session.optimizer == {"type": "adam", "params": {"lr": 0.01}} and not doc.dirty
