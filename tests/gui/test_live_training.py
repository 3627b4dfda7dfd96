"""Live training through the window (issue #5): worker thread, controller, plots, diagnostics."""
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QThread, Qt
from PySide6.QtWidgets import QApplication

from engine.session import load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


def example(name, **training):
    s = load_session(EXAMPLES / f"{name}.json")
    s.training.update(training)
    return s


@pytest.fixture
def make_live(live_windows):
    """``make_live(session)``: the LiveTraining of a shown 1400x900 window (see conftest.live_windows)."""
    return lambda session: live_windows(session, size=(1400, 900)).live


def collect(live):
    batches = []
    live.controller.progress.connect(batches.append)
    return batches


def wait_steps(qtbot, live, n, timeout=8000):
    qtbot.waitUntil(lambda: live.controller.trainer is not None and live.controller.trainer.step >= n, timeout=timeout)


def test_training_fills_every_plot_with_every_step(make_live, qtbot):
    live = make_live(example("circle_playground", epochs=3, batch_size=10))
    c, batches = live.controller, collect(live)
    with qtbot.waitSignal(c.finished, timeout=10000) as fin:
        c.train()
    assert fin.args[0].reason == "completed" and c.state == "finished"
    tr = c.trainer
    assert tr.epoch == 3 and tr.step == 3 * tr.steps_per_epoch == 3 * 35  # 350 training points, batch 10
    # coalescing ships every step exactly once, in order, with the trainer's own losses
    steps = np.concatenate([b.steps for b in batches])
    assert np.array_equal(steps, np.arange(1, tr.step + 1))
    hx, hy = tr.history.step_loss.data()
    np.testing.assert_allclose(np.concatenate([b.losses for b in batches]), hy, rtol=1e-6)
    assert len(batches) < tr.step / 3  # coalesced, not one signal per step
    live.hub.flush()
    lp = live.plots["Loss"]
    x, y = lp.smooth.getData()
    assert len(lp.steps) == tr.step and len(x) > 0
    assert np.isclose(lp.steps.col(0)[-1], 3.0)  # x axis in epochs: the last step ends epoch 3
    assert list(lp.epochs.col(0)) == [1, 2, 3]
    np.testing.assert_allclose(lp.epochs.col(1), tr.history.epochs["train_loss"], rtol=1e-6)
    # histograms and the boundary image change between two progress batches
    with_stats = [b for b in batches if b.stats is not None]
    first, last = with_stats[0].stats.layers[0], with_stats[-1].stats.layers[0]
    assert first.hist_counts != last.hist_counts or first.hist_edges != last.hist_edges
    frames = [b.boundary for b in batches if b.boundary is not None]
    assert len(frames) >= 2 and frames[0].values.shape == (60, 60)
    assert np.abs(frames[-1].values - frames[0].values).max() > 0.01
    bp = live.plots["Boundary"]
    img, newest = bp.image.image, frames[-1].values  # the image shows the newest frame (finer, interpolated)
    corners = ([0, 0, -1, -1], [0, -1, 0, -1])
    assert img.shape[0] >= newest.shape[0]
    np.testing.assert_allclose(img[corners], newest[corners], rtol=1e-5)
    wp = live.plots["Weights"]
    assert wp.selector.currentText() == "dense1.weight"
    hx, hy = wp.hist_curve.getData()
    assert hy.sum() == 2 * 4  # every weight of dense1 (2 inputs x 4 units) is counted
    assert wp.image.image.shape[0] == 48 and wp.image.image.max() == pytest.approx(1.0)
    assert set(live.plots["Neurons"].images) == {"dense1"} and len(live.plots["Neurons"].images["dense1"]) == 4
    conf = live.plots["Confusion"].matrix
    assert conf is not None and conf.sum() == len(tr.data.y_val)
    assert live.progress_panel.labels["epoch"].text() == "3 / 3"
    # canvas edges into dense1 are coloured by its weights
    edge = next(e for e in live.win.scene.edges if e.dst == "dense1")
    assert live.win.scene.edges[edge].edge_style.width > 1.0


def test_stop_takes_effect_within_200_ms(make_live, qtbot):
    live = make_live(example("spiral_playground", epochs=10_000))
    c = live.controller
    c.train()
    wait_steps(qtbot, live, 200)
    got = {}
    c.finished.connect(lambda ev: got.setdefault("t", time.perf_counter()))
    with qtbot.waitSignal(c.finished, timeout=2000) as fin:
        t0 = time.perf_counter()
        c.stop()
    assert fin.args[0].reason == "stopped"
    assert got["t"] - t0 < 0.2 and c.last_stop_latency < 0.2
    step = c.trainer.step
    qtbot.wait(100)
    assert c.trainer.step == step and c.state == "finished"


def test_pause_and_resume_continue_the_same_steps(make_live, qtbot):
    live = make_live(example("spiral_playground", epochs=10_000))
    c, batches = live.controller, collect(live)
    c.train()
    wait_steps(qtbot, live, 100)
    c.pause()
    assert c.state == "paused"
    qtbot.wait(150)
    s1 = c.trainer.step
    qtbot.wait(200)
    assert c.trainer.step == s1  # really paused
    with_steps = [b for b in batches if len(b.steps)]  # a batch may carry only statistics
    assert with_steps[-1].steps[-1] == s1  # the buffered steps were flushed when pausing
    n_before = len(batches)
    c.train()  # Train while paused resumes
    assert c.state == "running"
    qtbot.waitUntil(lambda: len(batches) > n_before and batches[-1].step > s1 + 5, timeout=3000)
    assert next(b for b in batches[n_before:] if len(b.steps)).steps[0] == s1 + 1
    steps = np.concatenate([b.steps for b in batches])
    assert np.array_equal(steps, np.arange(1, steps[-1] + 1))  # one unbroken curve
    c.pause()
    qtbot.wait(100)
    s2 = c.trainer.step
    trainer = c.trainer
    with qtbot.waitSignal(c.finished, timeout=3000, check_params_cb=lambda ev: ev.reason == "step"):
        c.step()  # Step while paused: the paused run ends, then exactly one more batch
    assert c.trainer is trainer and trainer.step == s2 + 1 and c.state == "finished"


def test_live_settings_reach_the_running_trainer(make_live, qtbot):
    live = make_live(example("spiral_playground", epochs=10_000))
    c, batches = live.controller, collect(live)
    c.train()
    wait_steps(qtbot, live, 50)
    trainer = c.trainer
    doc = live.win.doc
    opt = doc.session.optimizer  # same optimizer type, new rate: a live change, no rebuild
    doc.set_session_field("optimizer", {"type": opt["type"], "params": dict(opt["params"], lr=0.25)})
    doc.set_session_field("training", dict(doc.session.training, batch_size=20))
    doc.set_session_field("regularizers", [{"type": "l2", "params": {"lambda": 0.001}}])
    n = len(batches)
    qtbot.waitUntil(lambda: any(0.25 in b.lrs for b in batches[n:]) and bool(trainer.session.regularizers), timeout=3000)
    assert c.trainer is trainer and trainer.base_lr == 0.25  # same network, not rebuilt
    assert trainer.batch_size == 20 and trainer.steps_per_epoch == 18
    assert [r["type"] for r in trainer.session.regularizers] == ["l2"]
    live.hub.flush()
    assert live.plots["Learning rate"].buf.col(1)[-1] == 0.25
    doc.set_session_field("regularizers", [{"type": "l2", "params": {"strength": 1}}])
    assert "Regularizer not applied" in live.win.statusBar().currentMessage()  # refused before it reaches the trainer
    with qtbot.waitSignal(c.finished, timeout=2000):
        c.stop()
    assert [r["params"]["lambda"] for r in trainer.session.regularizers] == [0.001]


def test_too_high_learning_rate_diverges_and_the_nan_guard_explains(make_live, qtbot):
    s = example("plane_regression", epochs=50)
    s.optimizer = {"type": "sgd", "params": {"lr": 50.0}}
    live = make_live(s)
    c = live.controller
    with qtbot.waitSignal(c.finished, timeout=10000) as fin:
        c.train()
    ev = fin.args[0]
    assert ev.reason == "diverged" and "NaN" in ev.diagnosis
    assert live.notes and live.notes[0][0] == "Training diverged" and "learning rate" in live.notes[0][1]
    assert "NaN" in live.win.statusBar().currentMessage()
    live.diagnostics.redraw(force=True)
    texts = live.diagnostics.texts()
    assert texts[0].startswith("Training stopped by the NaN guard") and "Lower the learning rate" in texts[0]
    assert live.diagnostics.diagnoses()[0].severity == "error"


def test_worker_output_is_drawn_on_the_gui_thread_only(make_live, qtbot):
    live = make_live(example("circle_playground", epochs=2))
    c = live.controller
    log = live.record_threads()
    emitted_from = []
    with qtbot.waitSignal(c.finished, timeout=10000):
        c.train()  # the worker is building the network: record the thread each progress signal comes from
        c._worker.progress.connect(lambda b: emitted_from.append(QThread.currentThread()), Qt.DirectConnection)
    live.win.plot_tabs.setCurrentWidget(live.plots["Boundary"])
    qtbot.wait(100)
    gui = QApplication.instance().thread()
    assert len(log) > 5 and all(t is gui for t in log)
    assert emitted_from and all(t is not gui for t in emitted_from)


def test_a_structural_edit_while_training_asks_and_never_discards_the_trained_run(make_live, qtbot):
    live = make_live(example("spiral_playground", epochs=10_000))
    c, doc = live.controller, live.win.doc
    c.train()
    wait_steps(qtbot, live, 20)
    asked = []
    c.ask_structural_change = lambda: asked.append(1) or "cancel"
    doc.set_param("dense1", "units", 5)
    qtbot.waitUntil(lambda: bool(asked) and doc.graph.node("dense1").params["units"] == 8, timeout=2000)
    assert c.state == "running"  # Cancel undid the edit and training went on
    doc.move_nodes({"dense1": (900.0, 900.0)})  # moving a node is no change to the network
    qtbot.wait(50)
    assert len(asked) == 1
    # "keep": the edit stays in the document, the old network keeps training, nothing is asked again
    c.ask_structural_change = lambda: asked.append(2) or "keep"
    doc.set_param("dense1", "units", 5)
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=2000)
    step = c.run.step
    wait_steps(qtbot, live, step + 10)
    assert c.state == "running" and c.trainer.model.layers["dense1"].weight.shape[0] == 8
    assert c.document_run() is None  # the document's network is not the one training
    # "new": the old run stops and is kept in past_runs; a new run trains the edited network
    old = c.run
    c.ask_structural_change = lambda: asked.append(3) or "new"
    c._kept_key = None
    doc.set_param("dense1", "units", 6)
    with qtbot.waitSignal(c.ready, timeout=8000, check_params_cb=lambda m: m is not None) as ready:
        pass
    assert asked[-1] == 3 and c.run is not old and old in c.past_runs and old.step > step
    assert ready.args[0].hidden_maps[0] == ("dense1", 6)
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()
    assert c.state == "finished" and c.document_run() is c.run

def test_step_one_batch_then_one_epoch_then_reset(make_live, qtbot):
    live = make_live(example("circle_playground", epochs=5))
    c = live.controller
    with qtbot.waitSignal(c.finished, timeout=10000):
        c.step()
    assert c.trainer.step == 1 and c.trainer.epoch == 0
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.step()
    assert c.trainer.step == 2
    with qtbot.waitSignal(c.finished, timeout=3000):
        live.step_epoch_action.trigger()
    assert c.trainer.epoch == 1 and c.trainer.step == 35 and c.trainer.batch_in_epoch == 0
    live.hub.flush()
    assert len(live.plots["Loss"].steps) == 35
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.reset_weights()  # a snapshot run redraws the boundary of the fresh network
    assert c.trainer.step == 0 and c.trainer.history.n_epochs == 0
    live.hub.flush()
    assert len(live.plots["Loss"].steps) == 0 and live.plots["Boundary"].frame.step == 0


def test_regression_shows_predictions_and_a_surface(make_live, qtbot):
    live = make_live(example("plane_regression", epochs=3))
    c = live.controller
    with qtbot.waitSignal(c.finished, timeout=10000):
        c.train()
    live.hub.flush()
    tabs = live.win.plot_tabs
    visible = {tabs.tabText(i) for i in range(tabs.count()) if tabs.isTabVisible(i)}
    assert "Predictions" in visible and "Confusion" not in visible and "Error" in visible
    rp = live.plots["Predictions"]
    true, pred = rp.pair
    tr = c.trainer
    assert len(true) == len(tr.data.y_val)
    np.testing.assert_allclose(true, tr.data.y_val[:, 0])
    np.testing.assert_allclose(pred, tr.predict(tr.data.x_val)[:, 0], rtol=1e-5, atol=1e-6)
    frame = live.plots["Boundary"].frame
    assert frame.kind == "regression" and live.plots["Boundary"].levels == pytest.approx(live.controller.meta.y_range)
    mp = live.plots["Accuracy"]
    assert mp.title == "Error" and np.allclose(mp.buf.col(2), [h["rmse"] for h in tr.history.epoch_metrics])


def test_a_network_that_does_not_fit_the_data_fails_with_a_message(make_live, qtbot):
    s = example("circle_playground", epochs=2)
    s.graph.node("input").params["shape"] = [3]
    live = make_live(s)
    c = live.controller
    with qtbot.waitSignal(c.failed, timeout=10000) as failed:
        c.train()
    assert "(2,)" in failed.args[0] and "(3,)" in failed.args[0]
    assert live.notes[0][0] == "Training failed" and c.state == "failed" and c.trainer is None
    live.diagnostics.redraw(force=True)
    assert live.diagnostics.texts()[0].startswith("Training could not run:")


def test_closing_the_window_stops_and_waits_for_the_worker(make_live, qtbot):
    live = make_live(example("spiral_playground", epochs=10_000))
    c = live.controller
    c.train()
    wait_steps(qtbot, live, 20)
    threads = [t for t, _ in c._threads]
    assert threads and threads[0].isRunning()
    assert live.win.close()
    assert all(t.isFinished() for t in threads) and c._worker is None


def test_history_export_from_the_file_menu(make_live, qtbot, tmp_path):
    from gui.plots import plot_export

    live = make_live(example("circle_playground", epochs=2))
    with qtbot.waitSignal(live.controller.finished, timeout=10000):
        live.controller.train()
    action = live.win.findChild(type(live.step_epoch_action), "action_export_history")
    assert action is not None and action in live.win.export_menu.actions()
    target = tmp_path / "hist.csv"
    plot_export.DIALOGS.ask_path = lambda *a: str(target)
    try:
        action.trigger()
    finally:
        del plot_export.DIALOGS.ask_path
    rows = target.read_text().splitlines()
    assert rows[0].startswith("epoch,train_loss,val_loss,train_acc,val_acc,lr,seconds")
    assert len(rows) == 3 and rows[1].split(",")[0] == "1"
    tr = live.controller.trainer
    assert float(rows[2].split(",")[1]) == pytest.approx(tr.history.epochs["train_loss"][1])
    for plot in live.plots.values():  # every plot's right-click menu offers the exports too
        for menu in plot.menus():
            assert {"export_png", "export_svg", "export_csv"} <= {a.objectName() for a in menu.actions()}


def test_screenshot_mid_training(make_live, qtbot):
    from gui import templates

    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    s = templates.make("playground")  # the spiral, 2-8-8-1 tanh with Adam: it visibly learns in a few epochs
    s.training["epochs"] = 10_000
    live = make_live(s)
    c = live.controller
    c.train()
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.epoch >= 12, timeout=9000)
    live.win.plot_tabs.setCurrentWidget(live.plots["Boundary"])
    live.hub.flush()
    qtbot.wait(100)
    assert live.win.grab().save(str(out / "live_training_spiral.png"))
    for title in ("Loss", "Weights", "Neurons"):
        live.win.plot_tabs.setCurrentWidget(live.plots[title])
        live.hub.flush()
        qtbot.wait(50)
        assert live.plots[title].grab().save(str(out / f"live_{title.lower()}.png"))
    with qtbot.waitSignal(c.finished, timeout=2000):
        c.stop()
