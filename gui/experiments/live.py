"""The pattern every live experiment view shares: a plain thread drives engine Runs, the GUI drains.

The worker thread never touches a widget: it puts plain tuples on a queue. A ~30 Hz QTimer on the GUI
thread drains the queue into the view's buffers and redraws what changed, so a fast training cannot
flood the event loop and a slow redraw cannot slow the training.
"""
from __future__ import annotations

import queue
import threading
import traceback

from PySide6.QtCore import QTimer

from engine.errors import InvalidInput

FRAME_MS = 33


class LiveJob:
    """``start(fn)`` runs ``fn(put, stopped)`` in a daemon thread; ``drain()`` returns what it put so far."""

    def __init__(self, owner, on_items, frame_ms=FRAME_MS):
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = None
        self.stop_event = threading.Event()
        self.on_items = on_items
        self.timer = QTimer(owner)
        self.timer.setInterval(frame_ms)
        self.timer.timeout.connect(self.drain)
        self.stoppers: list = []  # callables that stop the engine objects (VariantSet.stop, ...)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, fn):
        self.stop()
        self.stop_event = threading.Event()
        self.stoppers = []
        stop = self.stop_event

        def body():
            try:
                fn(self.q.put, stop.is_set)
            except InvalidInput as e:
                self.q.put(("failed", str(e)))
            except Exception as e:  # noqa: BLE001 - a bug reaches the view as text, never kills the app
                traceback.print_exc()
                self.q.put(("failed", f"{type(e).__name__}: {e}"))
            self.q.put(("ended",))

        self.thread = threading.Thread(target=body, name="experiment", daemon=True)
        self.thread.start()
        self.timer.start()

    def stop(self, wait: float = 10.0):
        self.stop_event.set()
        for s in self.stoppers:
            try:
                s()
            except Exception:  # noqa: BLE001 - stopping must never raise
                pass
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(wait)

    def drain(self):
        items = []
        try:
            while True:
                items.append(self.q.get_nowait())
        except queue.Empty:
            pass
        if items:
            self.on_items(items)
        if not self.running and self.q.empty():
            self.timer.stop()
        return items
