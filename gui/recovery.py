"""Autosave and crash recovery: unsaved work survives a crash, a power cut or a killed process.

Every minute (``interval_ms``), if the document has unsaved edits or the
trainer has steps the file on disk does not hold, ``Recovery`` writes the
session as an ``.nnp`` (trained state included, read under the controller's
``snapshot()``) into the recovery folder, atomically, beside a small JSON marker
naming the original file and the time. A save or a normal quit deletes both.
On the next launch ``offer_recovery`` finds what a crashed run left behind and
asks: Yes opens it as unsaved work aimed at its original file, No deletes it.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from engine.errors import InvalidInput

INTERVAL_MS = 60_000
MARKER_VERSION = 1


def default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("NNPlayground")) / "recovery"


def _pid_alive(pid) -> bool:
    """Another running instance still owns these files (POSIX only; elsewhere assume it crashed)."""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid() or os.name != "posix":
        return False  # our own pid at startup can only be a reused one: its files are stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _remove(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
        except OSError:
            pass


class Recovery(QObject):
    """The autosave of one window; its files are ``<stem>.nnp`` and ``<stem>.json`` in ``folder``."""

    def __init__(self, win, folder=None, interval_ms=INTERVAL_MS, parent=None):
        super().__init__(parent or win)
        self.win = win
        self.folder = Path(folder) if folder is not None else default_folder()
        self.stem = f"session-{os.getpid()}-{time.time_ns() % 10**12}"
        self._written = None  # the revision in the recovery file
        self.last_error = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        win.saved.connect(lambda _path: self.discard())

    @property
    def archive_path(self) -> Path:
        return self.folder / f"{self.stem}.nnp"

    @property
    def marker_path(self) -> Path:
        return self.folder / f"{self.stem}.json"

    def adopt(self, stem):
        """Continue in recovered files (so they are replaced by the next autosave, not left beside it)."""
        self.stem = stem
        self._written = None

    def _revision(self):
        doc, tr = self.win.doc, self.win.trained_state()
        return (id(doc.session), doc.undo_stack.index(), doc.path, id(tr) if tr is not None else None,
                tr.step if tr is not None else None)

    def tick(self) -> bool:
        """Autosave if something unsaved changed since the last one; True when a file was written."""
        if not self.win.has_unsaved_changes():
            if self._written is not None:
                self.discard()  # undone back to the saved state: nothing left to recover
            return False
        rev = self._revision()
        if rev == self._written and self.archive_path.exists():
            return False
        try:
            self.write()
        except (InvalidInput, OSError) as e:
            self.last_error = str(e)
            self.win.statusBar().showMessage(f"Autosave failed: {e}", 8000)
            return False
        self._written = self._revision()
        return True

    def write(self):
        from engine.archive import build_archive_bytes
        from engine.session import atomic_write_bytes

        self.folder.mkdir(parents=True, exist_ok=True)
        win = self.win
        with win.controller.snapshot() as trainer:  # between two steps: the training is never stopped for it
            # like Save: the runs list and the time-travel checkpoints come back with the recovered session
            data = build_archive_bytes(win.doc.session, trainer, runs=win.runs.records,
                                       checkpoints=win.controller.recorder if trainer is not None else None)
        atomic_write_bytes(self.archive_path, data)
        marker = {"version": MARKER_VERSION, "original_path": win.doc.path, "name": win.doc.display_name,
                  "time": time.strftime("%Y-%m-%d %H:%M:%S"), "timestamp": time.time(), "pid": os.getpid(),
                  "archive": self.archive_path.name}
        atomic_write_bytes(self.marker_path, json.dumps(marker, indent=1).encode("utf-8"))

    def discard(self):
        _remove(self.archive_path, self.marker_path)
        self._written = None


def install_recovery(win, folder=None, interval_ms=INTERVAL_MS) -> Recovery:
    win.recovery = Recovery(win, folder, interval_ms)
    return win.recovery


# -- the next launch -------------------------------------------------------------------------
def find_recoveries(folder=None) -> list[dict]:
    """Markers left by runs that ended without saving, newest first (each with ``stem`` and ``path``)."""
    folder = Path(folder) if folder is not None else default_folder()
    found = []
    for marker in folder.glob("*.json") if folder.is_dir() else ():
        try:
            d = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            d = None
        archive = folder / f"{marker.stem}.nnp"
        if not isinstance(d, dict) or not archive.exists():
            if not archive.exists():
                _remove(marker)  # half of a pair (a crash between the two writes): useless
            continue
        if _pid_alive(d.get("pid")):
            continue
        d["stem"], d["path"], d["marker"] = marker.stem, str(archive), str(marker)
        found.append(d)
    found.sort(key=lambda d: d.get("timestamp") if isinstance(d.get("timestamp"), (int, float)) else 0, reverse=True)
    return found


def ask_restore(win, item) -> bool:
    where = item.get("original_path") or "an untitled session"
    return QMessageBox.question(
        win, "Recover unsaved work?",
        f"NN Playground did not close normally. Unsaved work on “{item.get('name', 'Untitled')}” "
        f"({where}) was kept from {item.get('time', 'earlier')}.\n\nRestore it? No deletes it.",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes) == QMessageBox.Yes


def offer_recovery(win, folder=None, ask=None) -> bool:
    """At startup: offer the newest recovered session; True when it was opened (marked unsaved)."""
    from engine.archive import load_archive

    items = find_recoveries(folder)
    if not items:
        return False
    item = items[0]
    if not (ask or ask_restore)(win, item):
        for it in items:
            _remove(it["path"], it["marker"])
        return False
    try:
        archive = load_archive(item["path"])
    except InvalidInput as e:
        win.files.notify("Cannot recover", f"The recovered session could not be read: {e}")
        _remove(item["path"], item["marker"])
        return False
    original = item.get("original_path") if isinstance(item.get("original_path"), str) else None
    win.load_session(archive.session, archive, original, dirty=True)
    recovery = getattr(win, "recovery", None)
    if recovery is not None:
        recovery.adopt(item["stem"])
    win.statusBar().showMessage(f"Recovered unsaved work from {item.get('time', 'earlier')}", 8000)
    return True
