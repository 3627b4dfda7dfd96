"""The window over engine.Run: saving and autosave never stop a training, Stop during the build, live
changes keep the trained model, and a network that cannot fit is refused before anything is allocated."""
from __future__ import annotations

import json
import time
from pathlib import Path

from engine.archive import load_archive
from engine.session import Session

ROOT = Path(__file__).resolve().parents[2]


def example(name, **training):
    s = Session.from_dict(json.loads((ROOT / "resources" / "examples" / f"{name}.json").read_text()))
    s.training = dict(s.training, **training)
    return s


def wait_steps(qtbot, c, n, timeout=15000):
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.step >= n, timeout=timeout)


def test_saving_while_training_neither_stops_it_nor_loses_a_pause(live_windows, qtbot, tmp_path):
    win = live_windows(example("spiral_playground", epochs=10_000), strict=True)
    c = win.controller
    finished = []
    c.finished.connect(finished.append)
    c.train()
    wait_steps(qtbot, c, 30)
    run = c.run
    path = tmp_path / "while_training.nnp"
    assert win.save_to(str(path))
    assert c.state == "running" and c.run is run and not finished  # never stopped, never restarted
    saved = load_archive(path).meta["step"]
    wait_steps(qtbot, c, saved + 30)  # and it goes on
    # a Pause clicked right after a save is honoured (it used to be lost while the run was restarted)
    assert win.save_to(str(path))
    c.pause()
    assert c.state == "paused"
    qtbot.wait(150)
    step = c.trainer.step
    qtbot.wait(300)
    assert c.trainer.step == step and c.state == "paused"
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()
    assert c.state == "finished" and c.run is run


def test_autosave_while_training_does_not_stop_and_restart_it(live_windows, qtbot, tmp_path):
    from gui.recovery import install_recovery

    win = live_windows(example("spiral_playground", epochs=10_000), strict=True)
    c = win.controller
    rec = install_recovery(win, tmp_path / "recovery", interval_ms=3_600_000)
    finished = []
    c.finished.connect(finished.append)
    c.train()
    wait_steps(qtbot, c, 30)
    run, worker = c.run, c._worker
    assert rec.tick()
    assert c.run is run and c._worker is worker and c.state == "running" and not finished
    assert load_archive(rec.archive_path).meta["step"] >= 30
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()


def test_stop_while_the_network_is_being_built_returns_at_once(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=5), strict=True)
    c = win.controller
    c.train()
    assert c.state == "building"
    t0 = time.perf_counter()
    c.stop()
    assert c.state == "idle" and time.perf_counter() - t0 < 0.2 and c.run is None
    qtbot.wait(1500)  # the abandoned build finishes on its own thread and changes nothing
    assert c.state == "idle" and c.run is None
    with qtbot.waitSignal(c.finished, timeout=15000) as fin:
        c.train()
    assert fin.args[0].reason == "completed" and c.trainer.epoch == 5


def test_a_live_learning_rate_change_keeps_the_weights_and_the_curves(live_windows, qtbot):
    win = live_windows(example("spiral_playground", epochs=10_000), strict=True)
    c, doc = win.controller, win.doc
    c.train()
    wait_steps(qtbot, c, 40)
    run = c.run
    opt = doc.session.optimizer
    doc.set_session_field("optimizer", {"type": opt["type"], "params": dict(opt.get("params") or {}, lr=0.002)})
    assert "Applied at the next step" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: run.trainer._lr == 0.002, timeout=3000)
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()
    epochs, step = run.epoch, run.step
    # Train after Stop continues the same run: no fresh weights, no wiped curves, nothing asked
    c.train()
    qtbot.waitUntil(lambda: run.step > step + 20, timeout=10000)
    assert c.run is run and run.epoch >= epochs and run.history.step_loss.data()[0][0] == 1
    assert run.session.optimizer["params"]["lr"] == 0.002
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()


def test_filling_in_the_optimizer_defaults_is_no_change(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=3), strict=True)
    c, doc = win.controller, win.doc
    with qtbot.waitSignal(c.finished, timeout=15000):
        c.train()
    run = c.run
    from engine.optimizers import OPTIMIZERS

    doc.set_session_field("optimizer", OPTIMIZERS.canonical(doc.session.optimizer))  # what opening the form does
    assert c.document_run() is run
    with qtbot.waitSignal(c.finished, timeout=15000):
        c.train()
    assert c.run is run and run.epoch == 6  # continued: 3 more epochs


def test_a_network_that_cannot_fit_is_refused_before_anything_is_allocated(live_windows, qtbot):
    win = live_windows(example("spiral_playground"), strict=True)
    c, doc = win.controller, win.doc
    doc.set_param("dense1", "units", 1_000_000)
    doc.set_param("dense2", "units", 1_000_000)
    assert win.validity_label.text().startswith("✗ ") and "needs ~" in win.validity_label.toolTip()
    assert "free" in win.validity_label.toolTip()
    c.train()
    assert not c.busy and c.run is None and c.state == "idle"
    assert win.statusBar().currentMessage().startswith("Cannot train: ") and "needs ~" in win.statusBar().currentMessage()


def test_history_export_while_training_reads_a_consistent_copy(live_windows, qtbot, tmp_path):
    import csv

    win = live_windows(example("spiral_playground", epochs=10_000, batch_size=5), strict=True)
    c = win.controller
    c.train()
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.epoch >= 2, timeout=15000)

    class Ask:
        @staticmethod
        def ask_path(*a):
            return str(tmp_path / "history.csv")

    for _ in range(5):  # mid-epoch, while steps are appended: never an IndexError, rows always whole
        assert win.live.export_history(Ask) == str(tmp_path / "history.csv")
        rows = list(csv.reader(open(tmp_path / "history.csv")))
        assert len(rows) >= 3 and len({len(r) for r in rows}) == 1
        assert [int(float(r[0])) for r in rows[1:]] == list(range(1, len(rows)))
        qtbot.wait(30)
    assert c.state == "running"
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()


def test_pause_during_the_build_holds_the_run_as_soon_as_it_is_built(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=50), strict=True)
    c = win.controller
    c.train()
    assert c.state == "building" and win.actions_by_name["pause"].isEnabled()
    win.actions_by_name["pause"].trigger()
    assert c.state == "paused"
    qtbot.waitUntil(lambda: c.meta is not None, timeout=15000)  # built
    qtbot.wait(300)
    assert c.state == "paused" and c.trainer.step == 0  # held before its first step
    win.actions_by_name["train"].trigger()  # Train resumes
    qtbot.waitUntil(lambda: c.trainer.step > 10, timeout=5000)
    assert c.state == "running"
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()


def test_no_stale_boundary_once_the_network_is_edited(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=2), strict=True)
    c, doc, live = win.controller, win.doc, win.live
    with qtbot.waitSignal(c.finished, timeout=15000):
        c.train()
    live.hub.flush()
    assert live.plots["Boundary"].frame is not None
    doc.set_param("dense1", "units", 6)  # the stack builder's Apply, or any edit of the network
    assert live.plots["Boundary"].frame is None
    assert "network changed" in live.progress_panel.state.text()
    doc.undo_stack.undo()  # back to the trained network: Train continues it
    assert c.document_run() is c.run and "Train continues" in live.progress_panel.state.text()


def test_the_window_trains_on_the_compiled_path_with_every_plot(live_windows, qtbot):
    import numpy as np
    import pytest

    from engine.compiled import numba_available

    if not numba_available():
        pytest.skip("numba is not installed")
    win = live_windows(example("spiral_playground", epochs=30), strict=True)
    c, live = win.controller, win.live
    c.engine_path = "compiled"
    batches = []
    c.progress.connect(batches.append)
    with qtbot.waitSignal(c.finished, timeout=60000) as fin:
        c.train()
    assert fin.args[0].reason == "completed" and c.run.engine_path == "compiled"
    assert win.device_label.text() == "device: compiled"
    tr = c.trainer
    steps = np.concatenate([b.steps for b in batches])
    assert len(steps) == tr.step and np.array_equal(steps, np.arange(1, tr.step + 1))  # every step, in order
    live.hub.flush()
    lp = live.plots["Loss"]
    assert len(lp.steps) == tr.step and list(lp.epochs.col(0)) == list(range(1, 31))
    np.testing.assert_allclose(lp.epochs.col(1), tr.history.epochs["train_loss"], rtol=1e-6)
    assert live.plots["Boundary"].frame is not None and live.plots["Weights"].latest
    assert "Train continues" in live.progress_panel.state.text()


def test_a_run_abandoned_while_building_never_trains_in_the_background(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=10_000), strict=True)
    c = win.controller
    c.train()
    run, worker = c.run, c._worker
    thread = next(t for t, w in c._threads if w is worker)
    c.stop()
    assert c.state == "idle" and c.run is None
    def ended():
        try:
            return thread.isFinished()
        except RuntimeError:  # already reaped and deleted: it finished
            return True

    qtbot.waitUntil(ended, timeout=20000)  # the abandoned build ended on its own
    assert run.trainer is None or run.trainer.step == 0  # and no step was ever taken
    assert worker._abandoned.is_set()


def test_replaced_runs_kept_alive_are_bounded(live_windows):
    from types import SimpleNamespace

    win = live_windows(example("circle_playground"), strict=True)
    c = win.controller
    made = []
    for i in range(c.MAX_PAST_RUNS + 3):
        c.run = SimpleNamespace(trainer=object(), step=i + 1)
        made.append(c.run)
        c._retire_run()
    assert c.past_runs == made[-c.MAX_PAST_RUNS:] and c.run is None  # the newest kept, the oldest let go
    c.run = SimpleNamespace(trainer=object(), step=0)  # never trained: nothing to keep
    c._retire_run()
    assert len(c.past_runs) == c.MAX_PAST_RUNS and c.past_runs[-1] is made[-1]
