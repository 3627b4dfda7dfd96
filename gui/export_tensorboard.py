"""File ▸ Export ▸ TensorBoard Log…: the current run (and the Runs dock's runs) as TensorBoard event folders.

The user picks a folder; the export makes a new subfolder in it (``<session>-tensorboard``, ``-2``... when
taken: nothing already there is written into) holding ``current/`` and, with "Include the Runs", one
sibling per kept run (``01-run_1/``...), so ``tensorboard --logdir`` on it compares them. The run is
copied between two steps on the GUI thread (``engine.tensorboard_export.capture_trainer`` under the
controller's snapshot: the training goes on) and the events are written by a plain thread, which only
emits signals; the status bar line comes from this GUI-thread object's slots. A missing ``tensorboard``
extra, an unwritable folder or nothing trained yet is one line in the status bar.
"""
from __future__ import annotations

import os
import threading

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from engine.errors import InvalidInput

MESSAGE_MS = 15000


class _Relay(QObject):
    """What the writing thread holds: two signals and nothing else (never the window: see gc_on_gui_thread)."""

    done = Signal(str, object)  # the folder, [(subfolder, what was written)]
    failed = Signal(str)


class TensorBoardExport(QObject):
    def __init__(self, win, menu):
        super().__init__(win)
        self.win = win
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.last: tuple | None = None  # (folder, [(subfolder, what was written)]) of the last finished export
        self.action = menu.addAction("&TensorBoard Log…")
        self.action.setObjectName("action_export_tensorboard")
        self.action.setStatusTip("The current run (curves, per-step loss, weight and gradient norms, histograms, the "
                                 "graph) as a TensorBoard log in a new folder; view it with tensorboard --logdir")
        self.action.triggered.connect(lambda _=False: self.export())
        self.with_runs = menu.addAction("TensorBoard: Include the &Runs")
        self.with_runs.setObjectName("action_export_tensorboard_runs")
        self.with_runs.setCheckable(True)
        self.with_runs.setChecked(True)
        self.with_runs.setStatusTip("Also write each run of the Runs dock (its per-epoch curves) as a sibling folder, "
                                    "so TensorBoard overlays them")
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)

    # -- dialogs and messages (tests replace ask_folder) ------------------------------------------
    def ask_folder(self) -> str | None:
        doc = self.win.doc
        start = os.path.dirname(doc.path) if doc.path else os.path.expanduser("~")
        return QFileDialog.getExistingDirectory(self.win, "Export a TensorBoard log into a new folder in…", start) or None

    def say(self, text: str):
        self.win.statusBar().showMessage(text, MESSAGE_MS)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # -- the export ------------------------------------------------------------------------------
    def export(self, parent: str | None = None) -> str | None:
        """Start writing the logs into a new subfolder of ``parent`` (asked when None); returns that folder."""
        from engine.tensorboard_export import capture_record, capture_trainer, missing, new_folder, slug

        why = missing()
        if why:
            self.say(why)
            return None
        if self.running:
            self.say("A TensorBoard export is still being written; try again when it is done")
            return None
        include_runs = self.with_runs.isChecked()
        records = list(self.win.runs.records) if include_runs else []
        trainer = self.win.controller.document_trainer()
        if (trainer is None or trainer.step == 0) and not records:
            self.say("Nothing to export yet: a TensorBoard log holds a training's curves; train the network first")
            return None
        parent = parent or self.ask_folder()
        if not parent:
            return None
        try:
            root = new_folder(parent, f"{slug(self.win.doc.display_name)}-tensorboard")
        except InvalidInput as e:
            self.say(f"Cannot export the TensorBoard log: {e}")
            return None
        with self.win.controller.snapshot() as tr:  # between two steps; the training goes on afterwards
            current = capture_trainer(tr) if tr is not None and tr.step > 0 else None
        caps = [(r.name, capture_record(r)) for r in records]
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=_write, args=(root, current, caps, self.stop_event, self._relay),
                                       name="tensorboard-export", daemon=True)
        self.thread.start()
        self.say(f"Writing the TensorBoard log to {root}…")
        return root

    @Slot(str, object)
    def _on_done(self, root, out):
        self.last = (root, out)
        n = len(out)
        self.say(f"Wrote {n} TensorBoard log{'s' * (n != 1)} to {root}; view with: tensorboard --logdir \"{root}\"")

    @Slot(str)
    def _on_failed(self, text):
        self.say(text)

    def shutdown(self, wait: float = 10.0):
        """Stop between two logs and wait for the writer (window close)."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(wait)


def _write(root, current, caps, stop_event, relay):
    """The writing thread: the events, then one signal. Only ``relay`` (two signals) leaves it."""
    from engine.tensorboard_export import export_logs

    try:
        out = export_logs(root, current, caps, stop=stop_event.is_set)
    except InvalidInput as e:
        result = ("failed", f"Cannot export the TensorBoard log: {e}")
    except Exception as e:  # noqa: BLE001 - a full disk, a writer error: one line, never a crash
        result = ("failed", f"Writing the TensorBoard log failed: {type(e).__name__}: {e}")
    else:
        result = ("done", root, out)
    try:
        getattr(relay, result[0]).emit(*result[1:])
    except RuntimeError:  # the window closed while it wrote: nobody is left to tell
        pass
