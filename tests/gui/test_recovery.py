"""Autosave into a recovery folder and the offer to restore after a crash (issue #6)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from engine.archive import load_archive
from engine.session import load_session
from gui.recovery import find_recoveries, install_recovery, offer_recovery

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


def files_in(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


@pytest.fixture
def live_window(live_windows):
    """A shown window with live training where any message box fails the test."""
    return lambda session=None: live_windows(session, strict=True)


def test_autosave_only_when_something_is_unsaved_and_a_save_or_quit_clears_it(window, qtbot, tmp_path):
    folder = tmp_path / "recovery"
    rec = install_recovery(window, folder, interval_ms=30)
    qtbot.wait(120)
    assert not rec.tick() and files_in(folder) == []  # a clean document needs no recovery
    window.doc.set_param("dense1", "units", 5)
    qtbot.waitUntil(lambda: rec.archive_path.exists() and rec.marker_path.exists(), timeout=2000)
    assert files_in(folder) == sorted([rec.archive_path.name, rec.marker_path.name])
    marker = json.loads(rec.marker_path.read_text())
    assert marker["original_path"] is None and marker["name"] == "Playground" and marker["pid"] == os.getpid()
    assert load_archive(rec.archive_path).session.graph.node("dense1").params["units"] == 5
    stamp = rec.archive_path.stat().st_mtime_ns
    assert not rec.tick() and rec.archive_path.stat().st_mtime_ns == stamp  # nothing new: not rewritten
    assert window.save_to(tmp_path / "net.json")
    assert files_in(folder) == []  # a save makes the recovery copy obsolete
    window.doc.set_param("dense1", "units", 6)
    assert rec.tick()
    assert json.loads(rec.marker_path.read_text())["original_path"] == str(tmp_path / "net.json")
    window.doc.undo_stack.undo()  # back to what is on disk
    assert not rec.tick() and files_in(folder) == []
    window.doc.set_param("dense1", "units", 7)
    assert rec.tick()
    window.files.ask_unsaved = lambda: QMessageBox.Discard
    assert window.close()
    assert files_in(folder) == []  # a normal quit leaves nothing to recover


def test_autosave_keeps_the_training_even_while_it_runs(live_window, qtbot, tmp_path):
    s = load_session(EXAMPLES / "spiral_playground.json")
    s.training["epochs"] = 10_000
    win = live_window(s)
    rec = install_recovery(win, tmp_path / "recovery", interval_ms=3_600_000)
    c = win.live.controller
    win.actions_by_name["train"].trigger()
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.step >= 40, timeout=10000)
    assert not win.doc.dirty and rec.tick()
    assert c.state == "running"
    saved = load_archive(rec.archive_path)
    assert saved.trained and saved.meta["step"] >= 40 and len(saved.history.step_loss) == saved.meta["step"]
    qtbot.waitUntil(lambda: c.trainer.step > saved.meta["step"] + 20, timeout=5000)
    assert rec.tick() and load_archive(rec.archive_path).meta["step"] > saved.meta["step"]
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()
    assert win.save_to(tmp_path / "spiral.nnp")
    assert not rec.tick() and not rec.archive_path.exists()


def crash_with_unsaved_training(live_window, qtbot, tmp_path):
    """Train, save, edit and train more; autosave; then 'crash' (the files stay, the window never closes cleanly)."""
    s = load_session(EXAMPLES / "gauss_playground.json")
    s.training["epochs"] = 2
    win = live_window(s)
    c = win.live.controller
    with qtbot.waitSignal(c.finished, timeout=10000):
        win.actions_by_name["train"].trigger()
    original = tmp_path / "gauss.nnp"
    assert win.save_to(original)
    win.doc.set_session_field("training", dict(win.doc.session.training, epochs=3))
    with qtbot.waitSignal(c.finished, timeout=10000):
        win.actions_by_name["train"].trigger()
    rec = install_recovery(win, tmp_path / "live", interval_ms=3_600_000)
    assert rec.tick()
    crashed = tmp_path / "crashed"
    shutil.copytree(tmp_path / "live", crashed)  # what a killed process leaves behind
    return win, crashed, rec.stem, original


def test_after_a_crash_yes_restores_the_session_and_its_training(live_window, qtbot, tmp_path):
    import torch

    from gui import app

    old, crashed, stem, original = crash_with_unsaved_training(live_window, qtbot, tmp_path)
    asked = []
    win = app.start([], recovery_folder=crashed, ask_recover=lambda w, item: asked.append(item) or True)
    qtbot.addWidget(win)
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    assert [a["stem"] for a in asked] == [stem] and asked[0]["original_path"] == str(original)
    assert win.doc.path == str(original) and win.doc.dirty and win.windowTitle() == "gauss* — NN Playground"
    assert win.doc.session.training["epochs"] == 3 and win.doc.graph.to_dict() == old.doc.graph.to_dict()
    qtbot.waitUntil(lambda: win.controller.trainer is not None
                    and not win.live.controller.busy, timeout=10000)
    a, b = old.live.controller.trainer, win.live.controller.trainer
    assert (b.epoch, b.step) == (3, a.step) and b.history.n_epochs == 3
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert load_archive(original).meta["epoch"] == 2  # the original file is untouched until Save
    # the timeline and the runs list come back too: the same checkpoints, bit for bit
    before, after = old.controller.recorder.checkpoints, win.controller.recorder.checkpoints
    assert [cp.step for cp in after] == [cp.step for cp in before] and len(after) > 5
    assert all(np.array_equal(x.weights[k], y.weights[k]) for x, y in zip(before, after) for k in x.weights)
    assert len(win.runs.records) == len(old.runs.records) >= 1
    assert win.recovery.stem == stem  # the recovered files are the ones the next autosave replaces
    win.files.save()
    assert load_archive(original).meta["epoch"] == 3 and files_in(crashed) == []
    win.live.controller.shutdown()


def test_after_a_crash_no_deletes_the_recovered_files(live_window, qtbot, tmp_path):
    from gui import app

    _, crashed, _, _ = crash_with_unsaved_training(live_window, qtbot, tmp_path)
    win = app.start([], recovery_folder=crashed, ask_recover=lambda w, item: False)
    qtbot.addWidget(win)
    assert files_in(crashed) == [] and win.doc.path is None and win.doc.session.name == "Playground"
    assert not win.doc.dirty
    qtbot.waitUntil(lambda: win.live is not None, timeout=5000)
    win.live.controller.shutdown()


def test_the_question_is_a_yes_no_box_naming_the_file(window, tmp_path, monkeypatch):
    tmp_path = tmp_path / "rec"
    rec = install_recovery(window, tmp_path, interval_ms=3_600_000)
    window.doc.set_param("dense1", "units", 3)
    assert rec.tick()
    asked = []

    def question(parent, title, text, buttons, default):
        asked.append((title, text, buttons))
        return QMessageBox.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    assert not offer_recovery(window, tmp_path)
    assert asked[0][0] == "Recover unsaved work?" and "Playground" in asked[0][1]
    assert asked[0][2] == QMessageBox.Yes | QMessageBox.No and files_in(tmp_path) == []


def test_files_of_a_running_instance_are_left_alone(tmp_path):
    tmp_path = tmp_path / "rec"
    tmp_path.mkdir()
    from engine.archive import save_archive
    from engine.session import Session

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for stem, pid in (("alive", other.pid), ("mine", os.getpid()), ("gone", 2 ** 22 + 12345)):
            save_archive(tmp_path / f"{stem}.nnp", Session())
            (tmp_path / f"{stem}.json").write_text(json.dumps({"pid": pid, "timestamp": len(stem), "name": stem}))
        (tmp_path / "orphan.json").write_text(json.dumps({"pid": 1}))  # its archive never got written
        found = find_recoveries(tmp_path)
    finally:
        other.kill()
        other.wait()
    # newest first; our own pid at startup is a reused one, so those files are stale too
    assert [d["stem"] for d in found] == ["mine", "gone"]
    assert "orphan.json" not in files_in(tmp_path) and "alive.nnp" in files_in(tmp_path)


def test_a_damaged_recovery_file_is_reported_and_removed(window, tmp_path):
    tmp_path = tmp_path / "rec"
    tmp_path.mkdir()
    (tmp_path / "session-1.nnp").write_bytes(b"PK\x03\x04 broken")
    (tmp_path / "session-1.json").write_text(json.dumps({"pid": -1, "original_path": None}))
    notes = []
    window.files.notify = lambda title, text: notes.append((title, text))
    assert not offer_recovery(window, tmp_path, ask=lambda w, item: True)
    assert notes[0][0] == "Cannot recover" and "not a valid .nnp archive" in notes[0][1]
    assert files_in(tmp_path) == [] and window.doc.session.name == "Playground"
