"""Python's cyclic garbage collector runs on the GUI thread only.

The collector runs in whichever thread happens to cross its allocation threshold. A training
worker allocates all the time, so it is usually that thread which frees a cycle holding a
widget or a pyqtgraph item. Qt objects must be destroyed on the thread they live on. Destroying
one on a worker thread prints "Timers cannot be stopped from another thread". The GUI thread
then crashes later, in an unrelated paint or event: the "Fatal Python error: Segmentation fault"
or "Aborted" seen under load.

``install()`` therefore turns automatic collection off and collects from a QTimer on the GUI
thread instead, by generation as CPython would. pyqtgraph's ``GarbageCollector`` does the same
thing for the same reason. The app calls it once at start-up: it is a process-wide setting,
never made in a constructor. Headless code (the engine, the CLI) keeps Python's own collector.

Worker threads must not drop the last reference to a Qt object either. They hand engine objects
and plain tuples to the GUI thread (see ``gui.experiments.live`` and ``gui.training.timeline``).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QThread, QTimer, Slot

INTERVAL_MS = 100  # often, so each young collection has few objects to scan (a pause of ~1 ms, not 10)


class GuiThreadCollector(QObject):
    """Collects each generation past its threshold, on the thread this object lives on (the GUI's)."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent=None):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.collections = 0  # how many times a generation was collected (tests read it)
        self.long_lived = len(gc.get_objects(2))  # the oldest generation's size after the last full collection
        self.pending = 0  # objects moved into the oldest generation since (survivors of generation-1 passes)

    def start(self):
        gc.disable()
        self.timer.start()

    def stop(self):
        """Give automatic collection back to Python (tests and shutdown)."""
        self.timer.stop()
        gc.enable()

    @Slot()
    def check(self):
        counts = gc.get_count()
        if counts[0] <= self.threshold[0]:
            return
        for g in (2, 1, 0):  # as CPython does: the oldest generation past its threshold (and the younger ones)
            if counts[g] <= self.threshold[g]:
                continue
            if g == 2 and not self.full_collection_due():
                continue
            self._collect(g)
            return

    def _collect(self, generation):
        young = _young() if generation == 1 else 0
        freed = gc.collect(generation)
        self.collections += 1
        if generation == 2:
            self.long_lived, self.pending = len(gc.get_objects(2)), 0
        elif generation == 1:
            self.pending += max(0, young - freed)  # what survived moved into the oldest generation

    def full_collection_due(self, young: int = 0) -> bool:
        """CPython's rule: collect everything only once the objects that reached the oldest generation since
        the last full collection are a quarter of those it kept. A full pass over the app's ~250k objects
        (torch, numba, Qt) stalls every thread for 0.1–0.4 s, so it stays rare. Counted as the passes go,
        never by listing the oldest generation (that alone takes 20–80 ms)."""
        return self.pending + young > self.long_lived / 4

    def settle(self):
        """A full collection now if one is due, at a moment when a pause does not show (a training starts).

        CPython makes its full collections while the start-up imports (torch alone adds ~200k objects)
        create objects, and its rule keeps later ones rare. With automatic collection off, that burst
        would be collected during the first training instead: a ~0.5 s freeze of the live plots, measured.
        """
        if self.full_collection_due(_young()):
            self._collect(2)


def _young() -> int:
    """The objects in the two younger generations: cheap to count, since collecting keeps them few."""
    return len(gc.get_objects(0)) + len(gc.get_objects(1))


_COLLECTOR: GuiThreadCollector | None = None


def install(app, interval_ms: int = INTERVAL_MS) -> GuiThreadCollector:
    """Once per process, on the GUI thread: automatic collection off, a timer collects instead."""
    global _COLLECTOR
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("gc_on_gui_thread.install must be called on the GUI thread")
    if _COLLECTOR is None:
        _COLLECTOR = GuiThreadCollector(interval_ms, parent=app)
        _COLLECTOR.start()
        app.aboutToQuit.connect(_COLLECTOR.stop)
    return _COLLECTOR


def settle():
    """``GuiThreadCollector.settle`` when the app installed one (the controller calls it as a training starts)."""
    if _COLLECTOR is not None:
        _COLLECTOR.settle()
