"""The backprop step inspector in the window: values in the table, on the canvas and the notes' verdicts.

Expected numbers come from numpy forward/backward passes written here.
"""
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.session import load_session

EX = Path(__file__).resolve().parents[2] / "resources" / "examples"


def sig(z):
    return 1 / (1 + np.exp(-z))


def _table(view):
    t = view.table
    return {(t.item(r, 0).text(), t.item(r, 1).text()): t.item(r, 3).text() for r in range(t.rowCount())}


@pytest.fixture
def xor_view(qtbot):
    from gui.canvas import GraphScene, GraphView
    from gui.document import Document
    from gui.teaching.backprop_view import BackpropInspectorView

    doc = Document(load_session(EX / "xor_worked_example.json"))
    scene = GraphScene(doc)
    canvas = GraphView(scene)
    qtbot.addWidget(canvas)
    view = BackpropInspectorView(doc.session, scene=scene)
    qtbot.addWidget(view)
    view.show()
    return view, scene


def test_forward_backward_update_numbers(qtbot, xor_view):
    view, scene = xor_view
    z_in = np.array([-0.53, 1.04])
    z = sig(z_in)
    f_in = z @ np.array([-0.22, 0.58]) + 0.78
    f = sig(f_in)
    assert _table(view) == {("z₁", "z"): "−0.5300", ("a₁", "z"): f"{z[0]:.4f}",
                            ("z₂", "z"): "1.0400", ("a₂", "z"): f"{z[1]:.4f}"}
    assert scene.nodes["z"].overlay == ["z −0.5300, 1.0400", f"a {z[0]:.4f}, {z[1]:.4f}"]
    assert scene.nodes["f"].overlay == []  # not reached yet
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)
    assert _table(view)[("z₁", "f")] == f"{f_in:.4f}" == "1.1270"
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # loss
    assert _table(view)[("L", "")] == f"{0.5 * (1 - f) ** 2:.4f}"
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # backward f
    delta = (f - 1) * f * (1 - f)
    rows = _table(view)
    assert rows[("∂L/∂a₁", "f")] == f"{f - 1:.4f}".replace("-", "−")
    assert rows[("δ₁", "f")] == f"{delta:.4f}".replace("-", "−")
    assert f"∂L/∂w₁₁ [f] = δ₁ · a₁ = {delta:.4f} × {z[0]:.4f} = {delta * z[0]:.4f}".replace("-", "−") \
        in view.text.toPlainText()
    assert scene.nodes["f"].overlay[-1].startswith(f"δ {delta:.4f}".replace("-", "−"))
    assert scene.edges[next(e for e in scene.edges if e.dst == "f")].edge_style.width > 2.0
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # backward z
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # update
    g11 = delta * -0.22 * z[0] * (1 - z[0]) * 1.0
    assert f"z.weight[0, 0]: w′ = w − η·g = −0.0700 − 0.5000 × {g11:.4f} = {-0.07 - 0.5 * g11:.4f}".replace("-", "−") \
        in view.text.toPlainText().replace("−0.0700", "−0.0700")
    # precision: full float64 shows 17 significant digits
    view.prec.setCurrentIndex(1)
    assert repr(float(-0.07 - 0.5 * g11)) in view.text.toPlainText()
    view.prec.setCurrentIndex(0)
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # take the update: step 1, forward again
    assert view.inspector.depth == 1 and view.stage == 0
    W = np.array([[-0.07, 0.22], [0.94, 0.46]])
    gz = (delta * np.array([-0.22, 0.58]) * z * (1 - z))
    new_zin = (W - 0.5 * np.outer(gz, [1, 0])) @ [1, 0] + (np.array([-0.46, 0.1]) - 0.5 * gz)
    assert _table(view)[("z₁", "z")] == f"{new_zin[0]:.4f}".replace("-", "−")
    qtbot.mouseClick(view.back_btn, Qt.LeftButton)  # back across the update
    assert view.inspector.depth == 0 and view.stage == len(view.stages()) - 1
    view.close()
    assert scene.nodes["z"].overlay == []


def test_notes_verdicts_listed(qtbot, xor_view):
    view, _ = xor_view
    items = {view.notes.item(i).text().split(":")[0]: view.notes.item(i).data(Qt.UserRole)
             for i in range(1, view.notes.count())}
    assert items["f_in"] == "slip" and items["z₁,out"] == "matches" and items["f_out"] == "inherited"
    exact = sig(-0.53) * -0.22 + sig(1.04) * 0.58 + 0.78
    text = next(view.notes.item(i).text() for i in range(view.notes.count()) if view.notes.item(i).text().startswith("f_in"))
    assert f"exactly {exact:.6f}" in text and "1.1122" in text


def test_three_four_one_steps_reproduce_the_notes_sequence(qtbot):
    from gui.teaching.backprop_view import BackpropInspectorView

    view = BackpropInspectorView(load_session(EX / "three_four_one_worked_example.json"))
    qtbot.addWidget(view)
    n = len(view.stages())
    for _ in range(n):
        qtbot.mouseClick(view.next_btn, Qt.LeftButton)
    statuses = {view.notes.item(i).text().split(":")[0]: view.notes.item(i).data(Qt.UserRole)
                for i in range(1, view.notes.count())}
    assert statuses == {"y₁": "matches"}  # after one update, the notes' y₁ = 0.648
    assert view.inspector.current().output[0, 0] == pytest.approx(0.648, abs=5e-4)


def test_batch_and_bad_sample(qtbot):
    from gui.teaching.backprop_view import BackpropInspectorView
    from engine.session import Session

    s = Session.from_dict({"graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                                                {"id": "h", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
                                                {"id": "o", "type": "Dense", "params": {"units": 1}}]},
                           "dataset": {"type": "inline", "params": {"x": [[1, 2], [0, 1], [3, -1]], "y": [1, 0, 1],
                                                                    "task": "classification"},
                                       "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
                           "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": 0.1}}})
    view = BackpropInspectorView(s)
    qtbot.addWidget(view)
    view.batch.setValue(2)
    assert view.inspector.samples == (0, 1)
    a = _table(view)[("a₁", "h")].split(" | ")
    W, b = view.inspector.current().params["h.weight"], view.inspector.current().params["h.bias"]
    assert a == [f"{np.tanh(W[0] @ x + b[0]):.4f}".replace("-", "−") for x in ([1, 2], [0, 1])]
    assert view.figures is None and not view.notes.isVisibleTo(view)


def test_teach_menu_opens_inspector_on_window(qtbot, window):
    window.doc.set_session(load_session(EX / "xor_worked_example.json"))
    window.actions_by_name["teach_backprop"].trigger()
    view = window.teaching_views["backprop"]
    assert view.isVisible() and view.scene is window.scene
    assert window.scene.nodes["z"].overlay[1].startswith("a 0.3705")
    view.close()


def test_teach_menu_lists_every_view_and_opens_each(qtbot, window):
    names = [a.objectName() for a in window.teach_menu.actions()]
    assert names == ["action_teach_backprop", "action_teach_lr_finder", "action_teach_landscape",
                     "action_teach_time_travel", "action_teach_sandbox", "action_teach_rates",
                     "action_teach_linear_solvers", "action_teach_mistakes", "action_teach_unsupervised",
                     "action_teach_unroll"]
    window.actions_by_name["teach_sandbox"].trigger()
    window.actions_by_name["teach_lr_finder"].trigger()
    views = window.teaching_views
    assert views["sandbox"].isVisible() and views["lr_finder"].isVisible()
    assert views["lr_finder"].document is window.doc
    again = window.actions_by_name["teach_sandbox"].trigger() or window.teaching_views["sandbox"]
    assert again is views["sandbox"]  # one per kind
    for v in list(views.values()):
        v.close()


def test_inspector_refuses_a_network_it_cannot_build(qtbot, window, session_of):
    window.doc.set_session(session_of([{"id": "in", "type": "Input", "params": {"shape": [3]}},
                                       {"id": "d", "type": "Dense", "params": {"units": 1}}]))
    window.actions_by_name["teach_backprop"].trigger()  # the default dataset has 2 features, the Input 3
    assert "backprop" not in getattr(window, "teaching_views", {})
    assert window.statusBar().currentMessage().startswith("Cannot open: ")


def test_conv_layers_show_channels_as_heatmaps(qtbot):
    from engine.session import Session
    from gui.teaching.backprop_view import BackpropInspectorView

    s = Session.from_dict({"graph": {"layers": [
        {"id": "in", "type": "Input", "params": {"shape": [1, 8, 8]}},
        {"id": "c", "type": "Conv2d", "params": {"filters": 3, "kernel_size": 3, "activation": "relu"}},
        {"id": "f", "type": "Flatten"}, {"id": "o", "type": "Dense", "params": {"units": 10}}]},
        "dataset": {"type": "digits", "params": {}}, "loss": "cross_entropy",
        "optimizer": {"type": "sgd", "params": {"lr": 0.1}}})
    view = BackpropInspectorView(s)
    qtbot.addWidget(view)
    view.show()
    p = view.inspector.current()
    x = p.x[0, 0]
    W, b = p.params["c.weight"], p.params["c.bias"]
    z = np.array([[[np.sum(x[i:i + 3, j:j + 3] * W[o, 0]) + b[o] for j in range(6)] for i in range(6)] for o in range(3)])
    a = np.maximum(z, 0)
    assert view.maps.isVisible() and len(view.map_items) == 3
    np.testing.assert_allclose(view.map_items[1].image.T, a[1], atol=1e-12)
    rows = _table(view)
    assert rows[("a ch₂", "c")] == f"max |·| {np.abs(a[1]).max():.4f}, mean {a[1].mean():.4f}".replace("-", "−")
    while view.stages()[view.stage] != ("backward", "c"):
        view.next()
    delta = view.inspector.current().nodes["c"].delta[0]
    gW = np.array([[[np.sum(delta[o] * x[u:u + 6, v:v + 6]) for v in range(3)] for u in range(3)] for o in range(3)])
    assert len(view.map_items) == 6  # δ of each channel, then each filter's kernel gradient
    np.testing.assert_allclose(view.map_items[3].image.T, gW[0], atol=1e-12)
    np.testing.assert_allclose(view.inspector.current().grads["c.weight"][:, 0], gW, atol=1e-12)
    view.next()  # the Flatten-free stages: the maps hide again for a flat node
    assert view.stages()[view.stage][0] == "update" and not view.maps.isVisible()


def test_logistic_derivative_example_marks_the_notes_sign_slip(qtbot):
    """Lecture 001 at X = 3, y = 1, W = 3: ∂L/∂W = −X·e⁻⁹/(1 + e⁻⁹); the notes print it positive."""
    import math

    from gui.teaching.backprop_view import BackpropInspectorView

    view = BackpropInspectorView(load_session(EX / "logistic_derivative_worked_example.json"))
    qtbot.addWidget(view)
    for _ in range(len(view.stages()) - 1):  # to the update: the gradient is on screen
        qtbot.mouseClick(view.next_btn, Qt.LeftButton)
    want = -3 * math.exp(-9) / (1 + math.exp(-9))
    assert view.inspector.current().grads["p.weight"][0, 0] == pytest.approx(want, rel=1e-12)
    notes = {view.notes.item(i).text().split(":")[0]: (view.notes.item(i).data(Qt.UserRole), view.notes.item(i).text())
             for i in range(1, view.notes.count())}
    assert notes["WᵀX = −ξ₁"][0] == "matches"
    status, text = notes["∂L/∂W"]
    assert status == "slip" and "the notes print 0.00037018372" in text and f"exactly {want:.13f}".rstrip("0") in text
    assert "dropping the minus" in text


def test_forward_mode_carries_dw_along_and_equals_backprop(qtbot):
    """Lecture 001's forward-mode table at X = 3, y = 1, W = 3: dz/dW = X, da/dW = σ′(z)·X, dL/dW = −X·e⁻⁹/(1+e⁻⁹)."""
    import math

    from gui.teaching.backprop_view import BackpropInspectorView

    view = BackpropInspectorView(load_session(EX / "logistic_derivative_worked_example.json"))
    qtbot.addWidget(view)
    view.show()
    assert view.forward.isHidden()
    qtbot.mouseClick(view.forward_btn, Qt.LeftButton)
    panel = view.forward
    assert not panel.isHidden() and panel.weight.currentText() == "p.weight[0, 0]"
    rows = {(panel.table.item(r, 0).text(), panel.table.item(r, 1).text()): (panel.table.item(r, 2).text(),
                                                                             panel.table.item(r, 3).text())
            for r in range(panel.table.rowCount())}
    s = 1 / (1 + math.exp(-9))
    assert rows[("z1", "p")] == ("9.0000", "3.0000")
    view.prec.setCurrentIndex(1)  # full float64
    rows = {(panel.table.item(r, 0).text(), panel.table.item(r, 1).text()): panel.table.item(r, 3).text()
            for r in range(panel.table.rowCount())}
    assert float(rows[("a1", "p")]) == pytest.approx(s * (1 - s) * 3, rel=1e-12)
    want = -3 * math.exp(-9) / (1 + math.exp(-9))
    assert float(rows[("L", "")]) == pytest.approx(want, rel=1e-12)
    assert panel.result.reverse == pytest.approx(want, rel=1e-12) and "the same" in panel.summary.text()
    assert "(1 pass for this network)" in panel.summary.text()


def test_forward_mode_on_the_xor_net_matches_every_backprop_gradient(qtbot, xor_view):
    view, _ = xor_view
    view.forward_btn.setChecked(True)
    panel = view.forward
    grads = view.inspector.current().grads
    assert panel.weight.count() == sum(np.asarray(g).size for g in grads.values()) == 9
    for i in range(panel.weight.count()):
        panel.weight.setCurrentIndex(i)
        name, index = panel.weight.currentData()
        assert panel.result.dL_dW == pytest.approx(float(np.asarray(grads[name])[index]), abs=1e-15)
    qtbot.mouseClick(view.next_btn, Qt.LeftButton)  # the panel follows the inspector's stages and weights
    assert "9 passes for this network" in panel.summary.text()
