"""The graph editor: document commands, scene sync, connection rules, clipboard, layout, stack builder."""
import os

import pytest
from PySide6.QtCore import QPointF, Qt

from engine.spec import Edge
from gui.canvas.edge_item import EdgeItem
from gui.canvas.node_item import NodeItem
from gui.panels.stack_builder import StackBuilderPanel


def scene_in_sync(doc, scene):
    assert set(scene.nodes) == set(doc.graph.ids())
    assert set(scene.edges) == set(doc.graph.edges)
    assert sum(isinstance(i, NodeItem) for i in scene.items()) == len(doc.graph.nodes)
    assert sum(isinstance(i, EdgeItem) for i in scene.items()) == len(doc.graph.edges)
    for n in doc.graph.nodes:
        assert (scene.nodes[n.id].x(), scene.nodes[n.id].y()) == tuple(n.pos)


def test_connect_through_the_drag_api(editor):
    doc, scene, _ = editor
    nid = doc.add_node("Dense", (0, 300), {"units": 3})
    assert nid == "dense1" and doc.selection == ["dense1"]
    out_port = scene.nodes["d1"].out_port
    target = scene.nodes["dense1"].port_scene_pos("in")
    scene.begin_connection(out_port)
    scene.drag_connection(target)
    assert scene.nodes["dense1"].in_ports["in"].highlight == "ok"
    scene.end_connection(target)
    assert scene.nodes["dense1"].in_ports["in"].highlight is None
    assert doc.graph.edges[-1] == Edge("d1", "dense1")
    item = scene.edges[Edge("d1", "dense1")]
    path = item.path()
    assert path.pointAtPercent(0) == out_port.scenePos()
    assert path.pointAtPercent(1) == target
    assert doc.report.shapes["dense1"] == (3,)
    assert doc.report.param_counts["dense1"] == 8 * 3 + 3
    assert "dangling" in str(doc.report.errors_for("dense1")[0])
    assert scene.nodes["dense1"].lines == ["units 3 · identity", "→ (3,)", "27 params"]
    assert scene.nodes["dense1"].is_invalid
    scene_in_sync(doc, scene)


def test_dropping_on_a_node_body_uses_its_free_port(editor):
    doc, scene, _ = editor
    doc.add_node("Add", (200, 300))
    body = scene.nodes["add1"].mapToScene(QPointF(90, 40))
    scene.begin_connection(scene.nodes["d1"].out_port)
    scene.end_connection(body)
    assert Edge("d1", "add1") in doc.graph.edges


def test_illegal_connections_are_refused_with_a_reason(editor, qtbot):
    doc, scene, _ = editor
    doc.add_node("Add", (200, 300))
    assert scene.try_connect("d1", "add1") is None
    before = doc.graph.to_dict()
    depth = doc.undo_stack.count()
    cases = {
        ("d2", "d1"): "this would form a cycle: d2 → d1 → d2",
        ("d1", "d1"): "a node cannot feed itself",
        ("input", "d1"): "input is already connected to d1",
        ("input", "d2"): "port 'in' of d2 is already fed by d1; delete that connection first",
        ("d1", "input"): "Input takes no inputs",
        ("output", "add1"): "Output is the end of the network; it has no outgoing connections",
        ("d2", "add1"): "shape mismatch: Add needs inputs of equal shape, got (8,), (4,)",
    }
    for (src, dst), reason in cases.items():
        with qtbot.waitSignal(scene.message) as sig:
            got = scene.try_connect(src, dst)
        assert got == reason
        assert sig.args == [f"Cannot connect {src} → {dst}: {reason}"]
    assert doc.graph.to_dict() == before
    assert doc.undo_stack.count() == depth


def test_undo_redo_restores_the_exact_spec(editor):
    doc, scene, _ = editor
    states = [doc.graph.to_dict()]

    def step(fn, *a):
        fn(*a)
        states.append(doc.graph.to_dict())

    step(doc.add_node, "Dropout", (300, 200))
    step(doc.disconnect_edges, [Edge("d1", "d2")])
    step(doc.connect_ports, "d1", "dropout1")
    step(doc.connect_ports, "dropout1", "d2")
    step(doc.set_param, "d1", "units", 16)
    step(doc.move_nodes, {"d2": (500, 60)})
    step(doc.remove_nodes, ["d1"])
    step(doc.paste_json, doc.copy_json(["dropout1", "d2"]))
    step(doc.set_node_field, "d2", "trainable", False)
    assert doc.undo_stack.count() == len(states) - 1
    assert [n["id"] for n in states[-2]["nodes"]] == ["input", "d2", "output", "dropout1", "dense1", "dropout2"]
    for want in reversed(states[:-1]):
        doc.undo_stack.undo()
        assert doc.graph.to_dict() == want
        scene_in_sync(doc, scene)
    for want in states[1:]:
        doc.undo_stack.redo()
        assert doc.graph.to_dict() == want
        scene_in_sync(doc, scene)


def test_consecutive_edits_of_one_field_and_moves_merge(editor):
    doc, _, _ = editor
    pos = doc.graph.node("d2").pos
    doc.set_param("d1", "units", 16)
    doc.set_param("d1", "units", 32)
    doc.move_nodes({"d2": (100, 100)})
    doc.move_nodes({"d2": (200, 120)})
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert doc.graph.node("d2").pos == pos
    doc.undo_stack.undo()
    assert "units" in doc.graph.node("d1").params and doc.graph.node("d1").params["units"] == 8


def test_dragging_nodes_pushes_one_snapped_move(editor):
    doc, scene, _ = editor
    doc.set_selection(["d1", "d2"])
    old = {i: doc.graph.node(i).pos for i in ("d1", "d2")}
    for i in ("d1", "d2"):
        scene.nodes[i].setPos(scene.nodes[i].pos() + QPointF(47, 13))  # what a mouse drag does
    scene.commit_moves()
    for i in ("d1", "d2"):  # snapped to the 20 px grid: +47 → +40, +13 → +20
        assert doc.graph.node(i).pos == (old[i][0] + 40, old[i][1] + 20)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert (scene.nodes["d1"].x(), scene.nodes["d1"].y()) == old["d1"]


def test_delete_removes_the_node_and_its_edges(editor):
    doc, scene, _ = editor
    before = doc.graph.to_dict()
    doc.set_selection(["d1"])
    assert scene.nodes["d1"].isSelected()
    scene.delete_selection()
    assert doc.graph.ids() == ["input", "d2", "output"]
    assert doc.graph.edges == [Edge("d2", "output")]
    scene_in_sync(doc, scene)
    assert [str(e) for e in doc.report.errors] == [
        "node 'input': this node's output goes nowhere (dangling); connect it or delete it",
        "node 'd2': input port 'in' is not connected (dangling port)",
    ]
    doc.undo_stack.undo()
    assert doc.graph.to_dict() == before
    # An edge alone can be selected and deleted too.
    doc.set_selection([])
    scene.edges[Edge("d1", "d2")].setSelected(True)
    scene.delete_selection()
    assert doc.graph.edges == [Edge("input", "d1"), Edge("d2", "output")]
    assert doc.undo_stack.undoText() == "Disconnect"


def test_copy_paste_gives_fresh_ids_and_keeps_internal_edges(editor, qtbot):
    doc, scene, _ = editor
    doc.set_selection(["d1", "d2"])
    assert scene.copy_selection()
    first = scene.paste()
    assert first == ["dense1", "dense2"]
    assert doc.selection == ["dense1", "dense2"]
    second = scene.paste()
    assert second == ["dense3", "dense4"]
    for new, old, k in (("dense1", "d1", 1), ("dense2", "d2", 1), ("dense3", "d1", 2), ("dense4", "d2", 2)):
        n, o = doc.graph.node(new), doc.graph.node(old)
        assert n.params == o.params
        assert n.pos == (o.pos[0] + 40 * k, o.pos[1] + 40 * k)
    assert Edge("dense1", "dense2") in doc.graph.edges and Edge("dense3", "dense4") in doc.graph.edges
    assert [e for e in doc.graph.edges if e.dst in ("dense1", "dense3")] == []  # only internal edges come along
    dup = scene.duplicate_selection()
    assert dup == ["dense5", "dense6"] and doc.undo_stack.undoText() == "Duplicate"
    scene_in_sync(doc, scene)


def test_auto_layout_orders_x_by_longest_path(qtbot, session_of):
    from gui.canvas import GraphScene
    from gui.document import Document

    doc = Document(session_of(nodes=[
        {"id": "output", "type": "Output", "pos": [0, 0]},
        {"id": "add", "type": "Add", "pos": [0, 0]},
        {"id": "d2", "type": "Dense", "params": {"units": 2}, "pos": [0, 0]},
        {"id": "d1", "type": "Dense", "params": {"units": 8}, "pos": [0, 0]},
        {"id": "input", "type": "Input", "params": {"shape": [2]}, "pos": [0, 0]},
    ], edges=[{"from": "input", "to": "d1"}, {"from": "d1", "to": "d2"}, {"from": "d2", "to": "add"},
              {"from": "input", "to": "add"}, {"from": "add", "to": "output"}]))
    scene = GraphScene(doc)
    assert doc.report.ok
    doc.auto_layout()
    xs = {n.id: n.pos[0] for n in doc.graph.nodes}
    assert xs == {"input": 0.0, "d1": 220.0, "d2": 440.0, "add": 660.0, "output": 880.0}  # depth × 220
    assert scene.nodes["add"].x() == 660.0
    assert doc.undo_stack.undoText() == "Auto layout"
    doc.undo_stack.undo()
    assert all(n.pos == (0.0, 0.0) for n in doc.graph.nodes)


def test_set_edge_weights_styles_incoming_edges(editor):
    doc, scene, _ = editor
    scene.set_edge_weights("d2", 0.5, -1)
    st = scene.edges[Edge("d1", "d2")].edge_style
    assert st.width == 4.0 and st.color.name() == "#f59322"
    assert scene.edges[Edge("input", "d1")].edge_style.color is None  # other edges stay neutral
    scene.clear_edge_styles()
    assert scene.edges[Edge("d1", "d2")].edge_style.width == 2.0


def test_invalid_node_shows_reason_in_tooltip(qtbot, session_of):
    from gui.canvas import GraphScene
    from gui.document import Document

    doc = Document(session_of([{"id": "input", "type": "Input", "params": {"shape": [1, 8, 8]}},
                               {"id": "d1", "type": "Dense", "params": {"units": 4}},
                               {"id": "output", "type": "Output"}]))
    scene = GraphScene(doc)
    item = scene.nodes["d1"]
    assert item.errors == ["Dense needs a flat input (n,), got (1, 8, 8): add a Flatten"]
    assert "Dense needs a flat input" in item.toolTip() and item.lines[1] == "→ ?"
    doc.set_param("input", "shape", [8])
    assert item.errors == [] and item.lines[1] == "→ (4,)"


def test_stack_builder_makes_the_expected_dense_units(editor, qtbot):
    doc, _, _ = editor
    before = doc.graph.to_dict()
    panel = StackBuilderPanel(doc)
    qtbot.addWidget(panel)
    assert panel.hidden == [8] and panel.n_out.value() == 4  # read from the current chain
    qtbot.mouseClick(panel.plus_layer, Qt.LeftButton)
    assert panel.hidden == [8, 8]
    _, _, minus1, _ = panel._rows[0]
    _, count2, _, plus2 = panel._rows[1]
    qtbot.mouseClick(plus2, Qt.LeftButton)
    _, count2, _, plus2 = panel._rows[1]
    qtbot.mouseClick(plus2, Qt.LeftButton)
    qtbot.mouseClick(panel._rows[0][2], Qt.LeftButton)
    assert panel.hidden == [7, 10] and panel._rows[1][1].text() == "10 neurons"
    panel.activation.setCurrentText("relu")
    panel.n_out.setValue(3)
    qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    dense = [n for n in doc.graph.nodes if n.type == "Dense"]
    assert [n.params["units"] for n in dense] == [7, 10, 3]
    assert [n.params["activation"] for n in dense] == ["relu", "relu", "identity"]
    assert doc.report.ok and doc.report.total_params == (2 * 7 + 7) + (7 * 10 + 10) + (10 * 3 + 3)
    assert doc.undo_stack.undoText() == "Dense stack 2-7-10-3"
    doc.undo_stack.undo()
    assert doc.graph.to_dict() == before


@pytest.mark.parametrize("text", ["not json", '{"nnp_clipboard": 2}', '{"nnp_clipboard": 1, "nodes": [{"id": "1x"}]}'])
def test_pasting_foreign_text_adds_nothing(editor, text):
    doc, _, _ = editor
    assert doc.paste_json(text) == []
    assert doc.undo_stack.count() == 0


def test_quitting_after_a_copy_exits_cleanly(tmp_path):
    """The clipboard owns copied layers; quitting must not crash while Python tears down."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = tmp_path / "quit.py"
    script.write_text(textwrap.dedent("""
        import gc, os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"; os.environ["NNP_NO_PRELOAD"] = "1"
        sys.path.insert(0, sys.argv[1])
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from gui.main_window import MainWindow
        w = MainWindow(); w.show()
        def go():
            w.doc.set_selection([w.doc.graph.nodes[1].id])
            assert w.scene.copy_selection() and w.scene.paste()
            w.doc.undo_stack.setClean(); w.close(); app.quit()
        QTimer.singleShot(50, go)
        app.exec()
        del w; gc.collect()
        print("clean exit")
    """))
    root = str(Path(__file__).resolve().parents[2])
    r = subprocess.run([sys.executable, str(script), root], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.strip().endswith("clean exit")
