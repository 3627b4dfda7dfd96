"""Auto Layout on a DAG: a skip connection gets its own row and is drawn beside the layer it skips."""
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QMessageBox

from engine.spec import GraphSpec
from gui.canvas.edge_item import CLEARANCE, bezier, blocked, route
from gui.canvas.layout import COL_W, ROW_H, auto_layout

RESIDUAL = {"nodes": [{"id": i, "type": "Dense"} for i in ("input", "d1", "d2", "add", "output")],
            "edges": [{"from": "input", "to": "d1"}, {"from": "d1", "to": "d2"}, {"from": "d2", "to": "add"},
                      {"from": "input", "to": "add"}, {"from": "add", "to": "output"}]}


def test_a_chain_stays_on_one_row_and_branches_go_beside_it():
    g = GraphSpec.from_dict({"nodes": [{"id": i, "type": "Dense"} for i in ("x", "a", "b", "cat")],
                             "edges": [{"from": "x", "to": "a"}, {"from": "x", "to": "b"},
                                       {"from": "a", "to": "cat"}, {"from": "b", "to": "cat"}]})
    pos = auto_layout(g)
    assert pos["x"] == (0.0, 0.0) and pos["cat"] == (2 * COL_W, 0.0)
    assert {pos["a"], pos["b"]} == {(COL_W, 0.0), (COL_W, ROW_H)}  # two branches never share a slot


def test_a_skip_edge_reserves_a_free_row_in_every_column_it_crosses():
    g = GraphSpec.from_dict({"nodes": RESIDUAL["nodes"] + [{"id": "side", "type": "Dense"}],
                             "edges": RESIDUAL["edges"] + [{"from": "d1", "to": "side"}]})
    pos = auto_layout(g)
    # the main chain on row 0; d1's second child would take row 1 in column 2, but the skip edge
    # input -> add already holds that slot, so it goes one further down
    assert [pos[i][1] for i in ("input", "d1", "d2", "add", "output")] == [0.0] * 5
    assert pos["side"] == (2 * COL_W, 2 * ROW_H)


def test_route_detours_around_a_node_in_the_way_and_keeps_the_curve_otherwise():
    p1, p2 = QPointF(170, 40), QPointF(660, 40)
    node = QRectF(220, 0, 170, 90)
    assert blocked(bezier(p1, p2), [node]) in ([], [node])
    path = route(p1, p2, [node])
    assert blocked(path, [node]) == []
    ys = [path.pointAtPercent(k / 20).y() for k in range(21)]
    assert max(ys) >= node.bottom() + CLEARANCE - 0.5  # it runs below the node it skips, in the free row
    assert route(p1, p2, []) == bezier(p1, p2)  # nothing in the way: the plain curve
    far = QRectF(220, 400, 170, 90)
    assert route(p1, p2, [far]) == bezier(p1, p2)


def test_auto_layout_in_the_window_draws_the_skip_edge_clear_of_the_skipped_layers(qtbot, session_of):
    from gui.main_window import MainWindow

    win = MainWindow(session_of(nodes=[
        {"id": "input", "type": "Input", "params": {"shape": [2]}, "pos": [0, 0]},
        {"id": "d1", "type": "Dense", "params": {"units": 2}, "pos": [3000, 3000]},
        {"id": "d2", "type": "Dense", "params": {"units": 2}, "pos": [-3000, 900]},
        {"id": "add", "type": "Add", "pos": [0, 0]},
        {"id": "output", "type": "Output", "pos": [0, 0]},
    ], edges=[{"from": "input", "to": "d1"}, {"from": "d1", "to": "d2"}, {"from": "d2", "to": "add"},
              {"from": "input", "to": "add"}, {"from": "add", "to": "output"}]))
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    win.resize(1024, 700)
    win.show()
    qtbot.waitExposed(win)
    win.actions_by_name["auto_layout"].trigger()
    sc = win.scene
    skip = next(e for e in sc.edges.values() if (e.edge.src, e.edge.dst) == ("input", "add"))
    skipped = [sc.nodes[i].sceneBoundingRect() for i in ("d1", "d2")]
    assert blocked(skip.path(), skipped) == []
    assert blocked(bezier(skip.path().pointAtPercent(0), skip.path().pointAtPercent(1)), skipped)  # the old curve hid
    # fit to view: every node is inside the viewport after the layout
    shown = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
    for item in sc.nodes.values():
        assert shown.contains(item.sceneBoundingRect()), item.node_id


def test_duplicate_lands_beside_the_original_covering_nothing(qtbot, editor):
    doc, scene, view = editor
    first = doc.graph.nodes[1].id
    doc.set_selection([first])
    orig = scene.nodes[first].sceneBoundingRect()
    before = set(scene.nodes)
    (new,) = scene.duplicate_selection()
    assert new not in before
    rect = scene.nodes[new].sceneBoundingRect()
    assert not rect.intersects(orig) and rect.left() == orig.left()  # straight below, not on top
    assert not any(rect.intersects(it.sceneBoundingRect()) for nid, it in scene.nodes.items() if nid != new)
    doc.set_selection([first])
    (again,) = scene.duplicate_selection()  # the first copy's place is taken: the second goes further down
    r2 = scene.nodes[again].sceneBoundingRect()
    assert r2.top() > rect.top() and not r2.intersects(rect)


def test_file_open_says_opening_before_the_load_holds_the_window(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QApplication

    path = tmp_path / "s.json"
    assert window.save_to(path)
    seen = []
    real = window.open_path

    def spy(p, **kw):
        seen.append((window.statusBar().currentMessage(), QApplication.overrideCursor() is not None))
        return real(p, **kw)

    window.open_path = spy
    assert window.files.open(str(path))
    assert seen == [("Opening s.json…", True)] and QApplication.overrideCursor() is None
    assert window.statusBar().currentMessage().startswith("Opened")
