"""Long analysis work off the GUI thread: one job at a time per runner, results as queued signals.

Orange3's ``concurrent.py`` pattern: starting a job asks the previous one to stop (it is checked between
the job's own steps), progress and the result arrive on the GUI thread through signals, and a result
from a job that was superseded is dropped. ``fn(progress, should_stop)`` runs in the worker thread and
must not touch widgets; ``progress(obj)`` may be called any number of times.
"""
from __future__ import annotations

import threading
import time
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import InvalidInput


class _Worker(QObject):
    progressed = Signal(int, object)
    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, job_id, fn, stop):
        super().__init__()
        self.job_id, self.fn, self.stop = job_id, fn, stop

    @Slot()
    def work(self):
        try:
            result = self.fn(lambda obj: self.progressed.emit(self.job_id, obj), self.stop.is_set)
        except InvalidInput as e:
            self.failed.emit(self.job_id, str(e))
        except Exception as e:  # noqa: BLE001 - a bug must reach the view as text, not kill the thread
            traceback.print_exc()
            self.failed.emit(self.job_id, f"{type(e).__name__}: {e}")
        else:
            self.done.emit(self.job_id, result)


class _Threads(QObject):
    """Every analysis thread until it has finished, whoever started it.

    A QThread object collected while its thread runs aborts the process; a view (and its runner) can be
    closed and deleted while its job still runs, so the threads are kept here, not by the runner, and
    reaped on the GUI thread once finished. ``wait_all`` is connected to the application's aboutToQuit.
    """

    def __init__(self):
        super().__init__()
        self.live: list = []  # (thread, worker)
        self._hooked = False

    def add(self, thread, worker):
        self.live.append((thread, worker))
        thread.finished.connect(self.reap)  # queued: this object lives on the GUI thread
        if not self._hooked:
            from PySide6.QtCore import QCoreApplication

            app = QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(self.wait_all)
                self._hooked = True

    @Slot()
    def reap(self):
        for pair in [p for p in self.live if p[0].isFinished()]:
            self.live.remove(pair)

    def wait_all(self, ms=30000):
        for thread, _ in list(self.live):
            thread.quit()
            thread.wait(ms)
        self.reap()


_THREADS = None


def threads() -> _Threads:
    global _THREADS
    if _THREADS is None:
        _THREADS = _Threads()
    return _THREADS


class JobRunner(QObject):
    """``start(fn)`` runs ``fn`` on a fresh QThread; ``progress``/``done``/``failed`` arrive on the GUI thread."""

    started = Signal()
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._id = 0
        self._stop = threading.Event()
        self._threads: list = []  # (thread, worker) kept alive until the thread ends
        self._keep = None  # the job asked to stop early whose result is still wanted (``stop_early``)
        self.busy = False

    def start(self, fn):
        self.cancel()
        self._id += 1
        self._stop = threading.Event()
        self._keep = None
        thread = QThread()
        worker = _Worker(self._id, fn, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.work)
        worker.progressed.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.done.connect(thread.quit)
        worker.failed.connect(thread.quit)
        self._threads.append((thread, worker))
        threads().add(thread, worker)
        thread.finished.connect(self._reap)  # queued: the runner lives on the GUI thread
        self.busy = True
        thread.start()
        self.started.emit()
        return self._id

    def cancel(self):
        """Ask the current job to stop at its next check; its result, if it still comes, is dropped."""
        self._stop.set()
        self._keep = None
        self.busy = False

    def stop_early(self):
        """Ask the current job to stop at its next check but keep what it returns (a Stop button whose job
        hands back its partial result); ``busy`` stays true until that arrives."""
        if self.busy:
            self._keep = self._id
            self._stop.set()

    def _wanted(self, job_id) -> bool:
        return job_id == self._id and (not self._stop.is_set() or self._keep == job_id)

    @Slot()
    def _reap(self):
        for pair in [p for p in self._threads if p[0].isFinished()]:
            self._threads.remove(pair)

    def shutdown(self, ms=30000):
        """Stop and wait for every thread (closing the window)."""
        self.cancel()
        for thread, _ in list(self._threads):
            thread.quit()
            thread.wait(ms)

    def wait(self, ms=30000) -> bool:
        """Wait (without stopping it) until every thread of this runner has finished; whether they all did."""
        return all(t.wait(ms) for t, _ in list(self._threads))

    def running(self) -> bool:
        """Whether a thread this runner started is still working (a cancelled job runs until its next check)."""
        return any(not t.isFinished() for t, _ in self._threads)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @Slot(int, object)
    def _on_progress(self, job_id, obj):
        if self._wanted(job_id):
            self.progress.emit(obj)

    @Slot(int, object)
    def _on_done(self, job_id, result):
        if self._wanted(job_id):
            self.busy = False
            self.done.emit(result)

    @Slot(int, str)
    def _on_failed(self, job_id, text):
        if self._wanted(job_id):
            self.busy = False
            self.failed.emit(text)


class StopFlag:
    """``should_stop`` as the ``threading.Event``-like object the engine's long loops take (``stop.is_set()``)."""

    def __init__(self, should_stop):
        self.is_set = should_stop


class Throttle:
    """Hands ``progress`` the items pushed since the last call, at most ``hz`` times a second (and at ``flush``),
    so a job with a step every millisecond sends ~30 signals a second, not a thousand. Used on the worker thread."""

    def __init__(self, progress, hz: float = 30.0, clock=time.monotonic):
        self.progress, self.interval, self.clock = progress, 1.0 / hz, clock
        self.pending: list = []
        self.last = None

    def push(self, item):
        self.pending.append(item)
        now = self.clock()
        if self.last is None or now - self.last >= self.interval:
            self.flush(now)

    def flush(self, now=None):
        if self.pending:
            items, self.pending = self.pending, []
            self.progress(items)
        self.last = self.clock() if now is None else now
