"""Time travel in the main window: checkpoints of the user's own training, the timeline under the curves moves
the whole window to a checkpoint (numbers checked against independent computations), .nnp keeps them,
Branch from here starts a new run from one."""
from __future__ import annotations

import math
import zipfile

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.session import Session

H = 6


def _session(epochs=12, lr=0.3):
    return Session.from_dict({
        "name": "tt",
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": H, "activation": "tanh"}},
                             {"id": "h2", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 160, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": lr}},
        "training": {"epochs": epochs, "batch_size": 10}})


@pytest.fixture
def trained(live_windows, qtbot, monkeypatch):
    # Epoch-end checkpoints may take 3 % of the training's time (engine/time_travel.py); on a loaded machine
    # that rule skipped one now and then. Here it may take all of it, so which checkpoints are kept depends on
    # the steps alone (tests/engine/test_time_travel.py tests the rule itself with shares 0 and 1).
    from engine.time_travel import Recorder

    monkeypatch.setattr(Recorder, "DEFAULT_MAX_SHARE", 1.0)
    win = live_windows(_session(), strict=True, size=(1400, 900))
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=30000):
        c.train()
    win.live.hub.flush()
    return win


def _show(qtbot, win, index):
    tl = win.live.timeline
    try:
        with qtbot.waitSignal(tl.moment_shown, timeout=10000):
            tl.bar.slider.setValue(index)
    except qtbot.TimeoutError:  # say why: the bar carries the computing thread's error, if there was one
        pytest.fail(f"no moment shown for checkpoint {index} in 10 s; the timeline says {tl.bar.text.text()!r}")
    win.live.hub.flush()
    return tl.shown_checkpoint


def _by_hand(win, cp):
    """The checkpoint's network on the boundary grid, in float64 numpy: two tanh layers, logit, sigmoid."""
    from engine.data.preprocess import apply_preprocess
    from engine.views import GRID

    meta = win.controller.meta
    x0, x1, y0, y1 = meta.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    xs = apply_preprocess(pts, win.controller.trainer.data.preprocess_state).astype(np.float64)
    W = {k: v.astype(np.float64) for k, v in cp.weights.items()}
    a = np.tanh(xs @ W["layers.h.weight"].T + W["layers.h.bias"])
    a2 = np.tanh(a @ W["layers.h2.weight"].T + W["layers.h2.bias"])
    p = 1 / (1 + np.exp(-(a2 @ W["layers.o.weight"].T + W["layers.o.bias"])))
    return p[:, 0].reshape(GRID, GRID), a.T.reshape(H, GRID, GRID)


def test_every_training_keeps_checkpoints_dense_early_sparse_late(trained):
    c = trained.controller
    tr = c.trainer
    spe = tr.steps_per_epoch
    steps = [cp.step for cp in c.recorder.checkpoints]
    assert steps[:20] == list(range(1, 21))  # every early step
    assert {e * spe for e in range(1, 13)} <= set(steps)  # every epoch end
    logs = [s for s in steps[20:] if s % spe]  # between epoch ends: log-spaced, ever wider
    gaps = np.diff([20] + logs)
    assert len(logs) >= 2 and all(g > 1 for g in gaps) and all(np.diff(gaps) >= -1)
    # exactly: steps 1..20, then the first step at or past 20·1.25ᵏ (25, 32, 40, 49, 62, ...), and the 12 epoch ends
    logs = {math.ceil(20 * 1.25 ** k) for k in range(1, 40) if 20 * 1.25 ** k <= tr.step}
    assert steps == sorted(set(range(1, 21)) | logs | {spe * e for e in range(1, 13)})
    assert c.recorder.max_share == 1.0 and c.recorder.skipped_epoch_ends == 0
    assert c.recorder.nbytes <= c.checkpoint_budget
    assert trained.live.timeline.bar.slider.maximum() == len(steps) - 1 and trained.live.timeline.bar.slider.isEnabled()


def test_the_slider_moves_the_whole_window_to_a_checkpoint(trained, qtbot):
    from engine import Run
    import torch

    win, c = trained, trained.controller
    live, tl = win.live, win.live.timeline
    plots = live.plots
    live_frame = plots["Boundary"].frame.values.copy()
    cp = _show(qtbot, win, 6)
    assert cp is c.recorder.checkpoints[6] and cp.step == 7
    p, units = _by_hand(win, cp)
    np.testing.assert_allclose(plots["Boundary"].frame.values, p, atol=1e-5)
    np.testing.assert_allclose(plots["Neurons"].frame.neurons["h"], units, atol=1e-5)
    assert not np.allclose(plots["Boundary"].frame.values, live_frame, atol=1e-3)  # not the present
    np.testing.assert_allclose(plots["Boundary"].image.image[::4, ::4], p, atol=1e-5)  # what is drawn
    # the weight histogram (30 bins over [min, max]) and the canvas's edge width into h
    w = cp.weights["layers.h.weight"].astype(np.float64).ravel()
    plots["Weights"].selector.setCurrentText("h.weight")
    plots["Weights"].redraw()
    edges, counts = plots["Weights"].hist_curve.getData()
    want, want_edges = np.histogram(w, bins=30, range=(w.min(), w.max()))
    np.testing.assert_array_equal(counts, want)
    np.testing.assert_allclose(edges, want_edges, rtol=1e-6)
    rms = float(np.sqrt(w.mean() ** 2 + w.std() ** 2))
    live.edges.redraw()
    (edge,) = [item for e, item in win.scene.edges.items() if e.dst == "h"]
    assert edge.edge_style.width == pytest.approx(1 + 6 * rms / (rms + 0.5), rel=1e-5)
    # the metrics at that checkpoint: an independent run of the session with those weights
    other = Run(c.run.session, path="torch")
    with other.snapshot() as tr:
        tr.model.load_state_dict({k: torch.as_tensor(v) for k, v in cp.weights.items()})
    m = tl.moment.metrics
    assert m["train_loss"] == pytest.approx(other.evaluate("train")["loss"], rel=1e-6)
    assert m["val_acc"] == pytest.approx(other.evaluate("val")["accuracy"])
    text = tl.bar.text.text()
    assert text.startswith(f"Viewing step 7 · epoch {cp.epoch} of 12 — Live returns · train loss {m['train_loss']:.4g}")
    spe = c.trainer.steps_per_epoch
    assert plots["Loss"].marker.value == pytest.approx(7 / spe) and plots["Accuracy"].marker.value == pytest.approx(7 / spe)
    # the progress panel says it is the past, with the checkpoint's epoch and step
    pp = live.progress_panel
    assert pp.state.text() == f"Viewing the past: epoch {cp.epoch} of 12 (Live returns)"
    assert (pp.labels["epoch"].text(), pp.labels["step"].text()) == (f"{cp.epoch} / 12", "7")
    # the live run was not touched, and Live brings the present back
    assert c.run.step == 12 * spe
    qtbot.mouseClick(tl.bar.live, Qt.LeftButton)
    assert pp.state.text().startswith("Idle — 12 epochs") and pp.labels["step"].text() == f"{12 * spe:,}"
    win.live.hub.flush()
    np.testing.assert_array_equal(plots["Boundary"].frame.values, live_frame)
    assert plots["Loss"].marker.value is None and tl.index is None and tl.bar.text.text().startswith("Live")


def test_play_walks_through_the_checkpoints(trained, qtbot):
    tl = trained.live.timeline
    tl.bar.speed.setValue(60)
    n = len(trained.controller.recorder.checkpoints)
    shown = []
    tl.moment_shown.connect(lambda m: shown.append(m.step))
    tl.toggle_play()
    assert tl.bar.play.text() == "Pause"
    qtbot.waitUntil(lambda: not tl.player.isActive(), timeout=20000)
    assert tl.bar.slider.value() == n - 1 and shown[0] == 1 and shown[-1] == trained.controller.run.step
    assert shown == sorted(shown) and tl.bar.play.text() == "Play"


def test_checkpoints_are_saved_in_the_nnp_and_come_back(trained, live_windows, qtbot, tmp_path):
    c = trained.controller
    path = tmp_path / "tt.nnp"
    assert trained.save_to(str(path))
    with zipfile.ZipFile(path) as zf:
        assert "checkpoints/index.json" in zf.namelist()
    other = live_windows(strict=True)
    with qtbot.waitSignal(other.controller.finished, timeout=20000):
        assert other.open_path(str(path))
    a, b = c.recorder.checkpoints, other.controller.recorder.checkpoints
    assert [x.step for x in a] == [x.step for x in b]
    for x, y in zip(a, b):
        assert all(x.weights[k].tobytes() == y.weights[k].tobytes() for k in x.weights)
    other.live.hub.flush()
    cp = _show(qtbot, other, 3)  # and the reopened window scrubs them
    np.testing.assert_allclose(other.live.plots["Boundary"].frame.values, _by_hand(other, cp)[0], atol=1e-5)


def test_a_corrupt_checkpoint_member_opens_the_rest(trained, live_windows, qtbot, tmp_path):
    good, bad = tmp_path / "good.nnp", tmp_path / "bad.nnp"
    assert trained.save_to(str(good))
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, data[:20] if info.filename == "checkpoints/0004-weights.safetensors" else data)
    other = live_windows(strict=True)
    messages = []
    other.controller.message.connect(messages.append)
    with qtbot.waitSignal(other.controller.finished, timeout=20000):
        assert other.open_path(str(bad))
    n = len(trained.controller.recorder.checkpoints)
    assert other.controller.trainer.step == trained.controller.trainer.step  # the session opened whole
    assert len(other.controller.recorder.checkpoints) == n - 1
    note = [m for m in messages if "could not be read" in m]
    assert note and "0004-weights.safetensors" in note[-1] and "\n" not in note[-1]


def test_branch_from_here_starts_a_new_run_at_the_checkpoint(trained, qtbot):
    win, c = trained, trained.controller
    tl = win.live.timeline
    old = c.run
    old_rec = c.recorder
    cp = _show(qtbot, win, len(old_rec.checkpoints) // 2)
    win.doc.set_session_field("optimizer", {"type": "sgd", "params": {"lr": 0.05}})  # a setting, then branch
    with qtbot.waitSignal(c.finished, timeout=20000):
        qtbot.mouseClick(tl.bar.branch, Qt.LeftButton)
    new = c.run
    assert new is not old and old in c.past_runs and c.recorder_of(old) is old_rec
    assert new.branched_from == (cp.step, cp.epoch) and new.step == cp.step
    w = new.weights()
    assert all(np.array_equal(w[k], cp.weights[k]) for k in w)  # the branch starts at the checkpoint
    assert c.recorder.checkpoints[0] is cp
    h = new.history
    assert h.n_epochs == cp.epoch and h.step_loss.data()[0][-1] <= cp.step  # its curves so far are the original's
    with qtbot.waitSignal(c.finished, timeout=30000):
        c.train()
    with new.snapshot() as tr:
        assert tr.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    assert new.step > cp.step and c.recorder.checkpoints[-1].step == new.step
    names = [r.name for r in win.runs.records]
    assert any(f"branched from run 1 at step {cp.step}" in n for n in names), names
    assert names[0] == "run 1"  # the old run keeps its record


def test_a_structural_change_cannot_branch(trained, qtbot):
    win, c = trained, trained.controller
    messages = []
    c.message.connect(messages.append)
    _show(qtbot, win, 3)
    run = c.run
    win.doc.set_param("h", "units", 3)
    assert win.live.timeline.branch_here() is False
    assert c.run is run and messages[-1].startswith("Cannot branch: the network, data or loss changed")


def test_scrubbing_waits_for_a_pause_and_resume_returns_to_live(live_windows, qtbot):
    win = live_windows(_session(epochs=3000), strict=True)
    c, tl = win.controller, win.live.timeline
    c.train()
    qtbot.waitUntil(lambda: c.recorder is not None and len(c.recorder.checkpoints) > 25, timeout=20000)
    assert not tl.bar.slider.isEnabled()  # running: the bar only counts
    tl.bar.slider.setValue(2)
    assert tl.index is None
    c.pause()
    qtbot.waitUntil(lambda: tl.bar.slider.isEnabled(), timeout=5000)
    _show(qtbot, win, 2)
    assert tl.index == 2
    c.resume()
    assert tl.index is None and win.live.plots["Loss"].marker.value is None
    with qtbot.waitSignal(c.finished, timeout=10000):
        c.stop()


def test_teach_time_travel_leads_to_the_timeline(trained):
    from PySide6.QtWidgets import QApplication

    win = trained
    win.docks["plotsDock"].hide()

    def shown():  # other tests' windows may still be on screen: compare before and after
        return {id(w) for w in QApplication.topLevelWidgets() if w.isVisible() and w.isWindow()}

    before = shown()
    win.actions_by_name["teach_time_travel"].trigger()
    assert win.docks["plotsDock"].isVisible() and win.live.timeline.bar.isVisibleTo(win)
    # no second implementation: no other window opened
    assert id(win) in before and shown() == before


def test_a_smaller_budget_thins_the_checkpoints_at_once(trained):
    c, tl = trained.controller, trained.live.timeline
    rec = c.recorder
    before = [cp.step for cp in rec.checkpoints]
    one = rec.checkpoints[0].nbytes
    rec.set_budget(10 * one)  # room for about 10 checkpoints: the older half thins out, first and last stay
    tl.refresh()
    after = [cp.step for cp in rec.checkpoints]
    assert rec.nbytes <= 10 * one and len(after) <= 10 and after[0] == before[0] and after[-1] == before[-1]
    assert tl.bar.slider.maximum() == len(after) - 1
    tl.bar.budget.setValue(3)  # the spin box: 3 MB for this run and the next ones
    assert c.checkpoint_budget == 3 << 20 and rec.budget == 3 << 20
