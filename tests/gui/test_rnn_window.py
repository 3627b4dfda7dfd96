"""Recurrent layers in the window: palette and inspector, the RNN example trained there, Teach ▸ Unroll an RNN."""
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMenu, QMessageBox

from engine.session import load_session

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "rnn_sequence.json"


def test_palette_lists_the_recurrent_group_and_the_inspector_states_formula_and_count(window, qtbot):
    palette = window.palette
    top = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert "Recurrent" in top
    group = palette.tree.topLevelItem(top.index("Recurrent"))
    assert sorted(group.child(i).text(0) for i in range(group.childCount())) == ["LSTM", "SimpleRNN"]
    window.doc.set_session(load_session(EXAMPLE))
    window.doc.set_selection(["rnn"])
    ins = window.inspector
    assert "hₜ = f(W_x xₜ + W_h hₜ₋₁ + b)" in ins.doc_label.text() and "units·(features + units + 1)" in ins.doc_label.text()
    assert ins.shape_label.text() == f"in (20, 1) → out (16,) · {16 * (1 + 16 + 1)} parameters"
    assert set(ins.init_editors) == {"weight", "weight_hh", "bias"}
    assert [ins.init_editors[t].shape for t in ("weight", "weight_hh", "bias")] == [(16, 1), (16, 16), (16,)]
    ins.editors["units"].widget.setValue(4)  # one edit = one command on the document
    assert window.doc.graph.node("rnn").params["units"] == 4
    assert ins.shape_label.text() == f"in (20, 1) → out (4,) · {4 * (1 + 4 + 1)} parameters"
    # a flat (Dense-shaped) input into the RNN: one clear line on the node
    window.doc.set_param("input", "shape", [20])
    assert ins.error_label.isVisible()
    assert ins.error_label.text() == ("✗ SimpleRNN needs a sequence (time, features), got (20,): add a Reshape to "
                                      "(20, 1) to read the 20 values as a sequence")
    assert window.scene.nodes["rnn"].is_invalid


@pytest.fixture
def live(qtbot):
    from gui.main_window import MainWindow

    win = MainWindow()
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    lt = win.build_live_views()
    lt.controller.notify = lambda *a: pytest.fail(f"unexpected note {a}")
    qtbot.addWidget(win)
    win.show()
    yield win
    lt.controller.shutdown()


def numpy_states(x, wx, wh, b):
    h, out = np.zeros(wh.shape[0]), []
    for xt in x:
        h = np.tanh(wx @ xt + wh @ h + b)
        out.append(h)
    return np.array(out)


def test_the_example_trains_in_the_window_and_unroll_shows_the_recurrence(live, qtbot):
    menu = live.findChild(QMenu, "examplesMenu")
    menu.aboutToShow.emit()
    next(a for a in menu.actions() if a.objectName() == "example_rnn_sequence").trigger()
    assert live.doc.session.name == json.loads(EXAMPLE.read_text())["name"] and live.doc.report.ok
    c = live.live.controller
    live.doc.session.training["epochs"] = 4  # the example's 30 take seconds; 4 show the loss falling
    with qtbot.waitSignal(c.finished, timeout=60000) as fin:
        c.train()
    assert fin.args[0].reason == "completed"
    losses = c.trainer.history.epochs["val_loss"]
    var = float(np.var(c.trainer.data.y_val))  # the MSE of always predicting the mean
    assert len(losses) == 4 and losses[-1] < losses[0] and losses[-1] < 0.1 * var
    # the boundary plot says why it draws nothing for sequences
    assert live.live.plots["Boundary"]._message.text() == ("The decision boundary is drawn for 2-D inputs only; this "
                                                           "dataset's samples have shape (20, 1), 20 values each.")
    live.actions_by_name["teach_unroll"].trigger()
    view = live.teaching_views["unroll"]
    assert view.isVisible() and view.node.currentText() == "rnn" and "current run's weights" in view.weights_note
    with qtbot.waitSignal(view.computed) as got:
        view.sample.setValue(5)
    u = got.args[0]
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in c.trainer.model.state_dict().items()}
    x = c.trainer.data.x_test[5].astype(np.float64)  # preprocess none: the sequence as generated
    ref = numpy_states(x, sd["layers.rnn.weight"], sd["layers.rnn.weight_hh"], sd["layers.rnn.bias"])
    assert u.h.shape == (20, 16)
    np.testing.assert_allclose(u.h, ref, atol=1e-6)
    np.testing.assert_allclose(view.image.image, ref.T, atol=1e-6)  # the heatmap: units down, time across
    head = sd["layers.head.weight"] @ ref[-1] + sd["layers.head.bias"]
    np.testing.assert_allclose(u.output, head, atol=1e-5)
    assert "hₜ = tanh(W_x xₜ + W_h hₜ₋₁ + b)" in view.formula.text() and "= 288" in view.formula.text()
    assert "keeps two: 304" in view.formula.text()
    view.close()


def test_unroll_refuses_a_network_without_a_recurrent_layer(window):
    window.actions_by_name["teach_unroll"].trigger()
    assert "unroll" not in getattr(window, "teaching_views", {})
    assert window.statusBar().currentMessage() == ("Cannot open: the network has no SimpleRNN or LSTM layer to unroll: "
                                                   "add one from the palette's Recurrent group")


def test_unroll_view_shows_an_lstms_cell_state_and_switches_layers(qtbot):
    from engine.session import Session
    from gui.teaching.unroll_view import UnrollView

    s = Session.from_dict({
        "seed": 5,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [7, 1]}},
                             {"id": "r", "type": "SimpleRNN", "params": {"units": 3, "return_sequences": True,
                                                                        "activation": "relu"}},
                             {"id": "l", "type": "LSTM", "params": {"units": 2}},
                             {"id": "d", "type": "Dense", "params": {"units": 2, "activation": "softmax"}}]},
        "dataset": {"type": "parity", "params": {"n": 40, "length": 7}}, "loss": "cross_entropy"})
    view = UnrollView(lambda: (s, None))
    qtbot.addWidget(view)
    assert [view.node.itemText(i) for i in range(view.node.count())] == ["r", "l"]
    assert "initial weights" in view.status.text()
    with qtbot.waitSignal(view.computed) as got:
        view.node.setCurrentText("l")
    u = got.args[0]
    assert u.layer_type == "LSTM" and u.c.shape == (7, 2)
    np.testing.assert_allclose(view.image.image, u.h.T)
    view.state.setCurrentIndex(1)
    np.testing.assert_allclose(view.image.image, u.c.T)  # the cell state, not hₜ
    # the LSTM reads the relu RNN's every state: recompute hₜ of r in numpy, then the LSTM gates
    w = {k: v.detach().numpy() for k, v in view.unroller.model.state_dict().items()}
    x = np.asarray(view.unroller.data.x_test[0], np.float64)
    h, hs = np.zeros(3), []
    for xt in x:
        h = np.maximum(w["layers.r.weight"] @ xt + w["layers.r.weight_hh"] @ h + w["layers.r.bias"], 0)
        hs.append(h)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h = c = np.zeros(2)
    for xt in hs:
        z = w["layers.l.weight"] @ xt + w["layers.l.weight_hh"] @ h + w["layers.l.bias"]
        c = sig(z[2:4]) * c + sig(z[:2]) * np.tanh(z[4:6])
        h = sig(z[6:]) * np.tanh(c)
    np.testing.assert_allclose(u.c[-1], c, atol=1e-9)
    np.testing.assert_allclose(u.h[-1], h, atol=1e-9)
    with qtbot.waitSignal(view.computed):
        view.node.setCurrentText("r")
    assert view.state.currentIndex() == 0 and not view.state.model().item(1).isEnabled()
    assert "relu(W_x xₜ + W_h hₜ₋₁ + b)" in view.formula.text() and "3·(1 + 3 + 1) = 15" in view.formula.text()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_the_view_runs_alone_on_the_example(qtbot, monkeypatch):
    import runpy

    from PySide6.QtWidgets import QApplication

    shown = []
    monkeypatch.setattr(QApplication, "exec", lambda self=None: shown.extend(QApplication.topLevelWidgets()) or 0)
    with pytest.raises(SystemExit) as ex:
        runpy.run_module("gui.teaching.unroll_view", run_name="__main__")
    assert ex.value.code == 0
    view = next(w for w in shown if w.windowTitle() == "Unroll an RNN — NN Playground")
    assert view.result is not None and view.result.h.shape == (20, 16)
    view.close()
