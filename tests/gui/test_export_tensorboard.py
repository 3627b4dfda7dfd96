"""File ▸ Export ▸ TensorBoard Log…: the events read back equal the run's history; nothing existing is written into."""
import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.session import Session

pytest.importorskip("tensorboard")
ROOT = Path(__file__).resolve().parents[2]


def example(name, **training):
    s = Session.from_dict(json.loads((ROOT / "resources" / "examples" / f"{name}.json").read_text()))
    s.training = dict(s.training, **training)
    return s


def _scalars(folder, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc, [(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


def _finish(qtbot, exp):
    qtbot.waitUntil(lambda: not exp.running and exp.last is not None, timeout=30000)


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in Path(folder).rglob("*"))


def test_the_current_run_and_the_kept_runs_become_sibling_logs(live_windows, qtbot, tmp_path):
    win = live_windows(example("circle_playground", epochs=3, stats_every=5), strict=True)
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=20000):
        c.train()
    exp = win.export.tensorboard
    assert exp.action in win.export_menu.actions() and exp.with_runs.isChecked()
    records = list(win.runs.records)
    assert len(records) >= 1
    exp.ask_folder = lambda: str(tmp_path)
    exp.action.trigger()
    _finish(qtbot, exp)
    root = Path(exp.last[0])
    assert root.parent == tmp_path and root.name.endswith("-tensorboard")
    assert sorted(p.name for p in root.iterdir()) == sorted(["current"] + [f"{i:02d}-run_{i}" for i in
                                                                          range(1, len(records) + 1)])
    h = c.trainer.history
    acc, got = _scalars(root / "current", "epoch/train_loss")
    assert [s for s, _ in got] == list(range(1, h.n_epochs + 1)) and h.n_epochs >= 3
    np.testing.assert_allclose([v for _, v in got], h.epoch_array("train_loss"), rtol=1e-6)
    xs, ys = h.step_loss.data()
    steps = acc.Scalars("step/loss")
    assert len(steps) == len(xs) and [e.step for e in steps] == [int(x) for x in xs]
    np.testing.assert_allclose([e.value for e in steps], ys, rtol=1e-6)
    for i, rec in enumerate(records, start=1):  # each kept run's curves, as the Runs dock holds them
        _, got = _scalars(root / f"{i:02d}-run_{i}", "epoch/val_loss")
        np.testing.assert_allclose([v for _, v in got], rec.curves["val_loss"], rtol=1e-6)
        assert len(got) == rec.epochs
    assert "tensorboard --logdir" in win.statusBar().currentMessage()

    before = _tree(root)  # a second export goes into a new folder; the first is left exactly as it was
    exp.with_runs.setChecked(False)
    exp.last = None
    exp.action.trigger()
    _finish(qtbot, exp)
    assert Path(exp.last[0]) == tmp_path / (root.name + "-2") and _tree(root) == before
    assert [p.name for p in Path(exp.last[0]).iterdir()] == ["current"]


def test_export_while_training_goes_on(live_windows, qtbot, tmp_path):
    win = live_windows(example("spiral_playground", epochs=10_000, batch_size=5), strict=True)
    c = win.controller
    c.train()
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.epoch >= 2, timeout=15000)
    exp = win.export.tensorboard
    exp.with_runs.setChecked(False)
    assert exp.export(str(tmp_path)) is not None
    _finish(qtbot, exp)
    _, got = _scalars(Path(exp.last[0]) / "current", "epoch/train_loss")
    assert c.state == "running" and c.trainer.epoch >= len(got) >= 2
    np.testing.assert_allclose([v for _, v in got], c.trainer.history.epoch_array("train_loss")[:len(got)], rtol=1e-6)
    with qtbot.waitSignal(c.finished, timeout=5000):
        c.stop()


def test_missing_extra_nothing_trained_and_an_unwritable_folder_are_one_line(live_windows, qtbot, tmp_path,
                                                                           monkeypatch):
    import engine.tensorboard_export as tb

    win = live_windows(example("circle_playground", epochs=1), strict=True)
    exp = win.export.tensorboard
    exp.ask_folder = lambda: pytest.fail("asked for a folder with nothing to export")
    exp.action.trigger()
    assert win.statusBar().currentMessage().startswith("Nothing to export yet")
    with qtbot.waitSignal(win.controller.finished, timeout=20000):
        win.controller.train()
    monkeypatch.setattr(tb, "missing", lambda: "TensorBoard export needs the tensorboard package: " + tb.INSTALL)
    exp.action.trigger()
    msg = win.statusBar().currentMessage()
    assert "pip install '.[tensorboard]'" in msg and "\n" not in msg
    monkeypatch.undo()
    real = os.mkdir
    out = tmp_path / "out"
    out.mkdir()

    def refuse(path, *a, **k):
        if str(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", refuse)
    exp.ask_folder = lambda: str(out)
    exp.action.trigger()
    msg = win.statusBar().currentMessage()
    assert msg == f"Cannot export the TensorBoard log: cannot create a folder in {out}: Permission denied"
    assert list(out.iterdir()) == [] and not exp.running
