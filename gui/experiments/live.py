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
        self.fn = None  # the running job's function, held on the GUI thread until the job has ended

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, fn):
        self.stop()
        self.stop_event = threading.Event()
        self.stoppers = []
        # ``fn`` usually holds the view. The GUI thread keeps it and lets it go (``drain``), so the worker's
        # references are never the last: a widget freed on the worker thread crashes Qt later (gc_on_gui_thread).
        self.fn = fn
        self.thread = threading.Thread(target=_body, args=(fn, self.q, self.stop_event), name="experiment",
                                       daemon=True)
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
        if not self.running:
            self.fn = None

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
            self.fn = None  # the worker has let go of it: released here, on the GUI thread
        return items


def _body(fn, q, stop):
    """The worker thread: run ``fn(put, stopped)`` and say how it ended. It refers to nothing of the view's
    but ``fn``, which ``LiveJob.fn`` also holds, so whatever ``fn`` holds is released on the GUI thread."""
    try:
        fn(q.put, stop.is_set)
    except InvalidInput as e:
        q.put(("failed", str(e)))
    except Exception as e:  # noqa: BLE001 - a bug reaches the view as text, never kills the app
        traceback.print_exc()
        q.put(("failed", f"{type(e).__name__}: {e}"))
    q.put(("ended",))
