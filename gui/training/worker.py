"""The training thread: builds a ``Run`` if needed, drives ``run.events()`` and coalesces them.

The worker lives in its own QThread and never touches a widget. It turns the engine's event
stream into at most ~30 ``progress`` signals a second, each a small frozen ``ProgressBatch`` (new
step losses as arrays, the latest weight statistics, finished epochs, speed and time left). Every
~0.25 s it also has ``engine.views.ViewComputer`` evaluate the decision boundary and the activation
statistics, so the GUI only copies numbers into plots. Stop and pause are the Run's own thread-safe
commands; the controller calls them directly.

A job is one of: train (``run_kwargs`` for ``Run.events``), snapshot (``run_kwargs`` None: the
views once, after a weight reset or a restore) or replay (the saved history first, then a snapshot).
A training job with a ``recorder`` (``engine.time_travel.Recorder``) keeps its checkpoints on this
thread, between two steps (``Recorder.watch``): dense early, log-spaced later, every epoch end.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

EMIT_INTERVAL = 1.0 / 30  # progress signals per second, at most
EXTRAS_INTERVAL = 0.25  # boundary grid and activation statistics
PREDICT_INTERVAL = 0.5  # regression predicted-vs-true refresh


@dataclass(frozen=True)
class ProgressBatch:
    xs: np.ndarray  # fractional epoch of each new step
    steps: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    stats: object | None  # the latest engine.events.Stats
    grad_x: np.ndarray  # fractional epoch of each Stats in this batch
    grad_norms: dict  # node -> gradient norm at each of those Stats
    epochs: tuple  # engine.events.EpochEnd, in order
    activations: dict | None  # node -> engine.diagnostics.activation_stats(...)
    boundary: object | None  # engine.views.BoundaryFrame
    predictions: tuple | None  # regression: (true, predicted) on validation points
    epoch: int
    step: int
    total_epochs: int
    steps_per_epoch: int
    speed: float  # steps per second
    eta: float | None  # seconds left in this run
    position: float  # fractional epoch now (epochs done + share of the current one)
    started: object | None = None  # engine.events.Started of this run


class _Batcher:
    """Collects events between two emits."""

    def __init__(self, nodes):
        self.nodes = set(nodes)  # trainable nodes whose gradient norms are reported
        self.reset()

    def reset(self):
        self.xs, self.steps, self.losses, self.lrs = [], [], [], []  # one float per Step (the torch path)
        self._chunks = []  # (xs, steps, losses, lrs) arrays, one per Steps (the compiled path), in order
        self.stats = None
        self.grad_x = []
        self.grad = {}
        self.epochs = []
        self.activations = None
        self.boundary = None
        self.predictions = None
        self.started = None
        self.dirty = False

    def add_chunk(self, xs, steps, losses, lrs):
        """A compiled chunk's steps as arrays: no Python float per step (~1,000 chunks a second)."""
        self._flush()
        self._chunks.append((xs, steps, losses, lrs))

    def _flush(self):
        if self.xs:
            self._chunks.append(tuple(np.asarray(v, dtype=d) for v, d in (
                (self.xs, np.float64), (self.steps, np.int64), (self.losses, np.float64), (self.lrs, np.float64))))
            self.xs, self.steps, self.losses, self.lrs = [], [], [], []

    def step_arrays(self):
        """(xs, steps, losses, lrs) of every step since the last reset, in order."""
        self._flush()
        if not self._chunks:
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        if len(self._chunks) == 1:
            return self._chunks[0]
        return tuple(np.concatenate(parts) for parts in zip(*self._chunks))

    def add_stats(self, st, x):
        self.stats = st
        self.grad_x.append(x)
        per = {}
        for ls in st.layers:
            if ls.node in self.nodes:
                per[ls.node] = per.get(ls.node, 0.0) + ls.grad_norm ** 2
        for nid in set(self.grad) | set(per):
            lst = self.grad.setdefault(nid, [float("nan")] * (len(self.grad_x) - 1))
            lst.append(float(np.sqrt(per[nid])) if nid in per else float("nan"))
        self.dirty = True


class RunWorker(QObject):
    """One job on a Run in a QThread; builds the Run first when it is not built yet."""

    ready = Signal(object)  # engine.views.TrainingMeta, once the run is built
    progress = Signal(object)  # ProgressBatch
    finished = Signal(object)  # engine.events.Finished (None after a snapshot)
    failed = Signal(str)
    cancelled = Signal()  # stopped while building

    def __init__(self, run, *, run_kwargs=None, meta=None, replay=False, recorder=None):
        super().__init__()
        self.run, self.meta, self.run_kwargs, self.replay = run, meta, run_kwargs, replay
        self.recorder = recorder
        self.trainer = run.trainer
        self._abandoned = threading.Event()

    def abandon(self):
        """From the GUI thread: stop this job for good (a Stop during the build); it never trains after this."""
        self._abandoned.set()
        self.run.stop()

    @property
    def trains(self) -> bool:
        return self.run_kwargs is not None

    @Slot()
    def work(self):
        from engine.errors import InvalidInput
        from engine.run import Cancelled

        try:
            if self.meta is None:
                self._build()
                if self._abandoned.is_set():  # Stop during the build: the controller has let go of this job
                    raise Cancelled("stopped while building the network")
            if self.replay:
                from .replay import history_batch

                self.progress.emit(history_batch(self.trainer, self.meta))
            self._loop()
        except Cancelled:
            self.cancelled.emit()
        except Exception as e:  # noqa: BLE001 - every failure must reach the GUI as a message
            msg = str(e) if isinstance(e, InvalidInput) else f"{type(e).__name__}: {e}"
            if not isinstance(e, InvalidInput):
                traceback.print_exc()
            self.failed.emit(msg)

    def _build(self):
        from engine.device import apply_thread_policy
        from engine.views import describe

        self.run.build()  # torch is imported here, never on the GUI thread
        tr = self.trainer = self.run.trainer
        # the window's thread policy: one thread for small nets, and always a core left for the GUI
        apply_thread_policy(tr.n_params, tr.batch_size, headless=False)
        import torch

        with self.run.snapshot(), torch.no_grad():  # pay first-call costs before the clock starts
            was = tr.model.training
            tr.model.eval()
            tr.model(tr.x["train"][: min(32, len(tr.x["train"]))])
            tr.model.train(was)
        self.meta = describe(tr)
        self.ready.emit(self.meta)

    def _frac_epoch(self):
        tr = self.trainer
        return tr.epoch + tr.batch_in_epoch / max(tr.steps_per_epoch, 1)

    def _loop(self):
        from engine.events import EpochEnd, Finished, Started, Stats, Step, Steps
        from engine.views import ViewComputer

        tr, meta = self.trainer, self.meta
        extras = ViewComputer(tr, meta)
        b = _Batcher(meta.weight_nodes)
        snapshot = self.run_kwargs is None
        now = time.perf_counter()
        self._t_extras = self._t_pred = -1.0
        self._speed, self._last = 0.0, (now, tr.step)
        self._total_epochs, self._spe = tr.training["epochs"], tr.steps_per_epoch
        self._do_extras(b, extras, now, force=True)
        if snapshot:
            b.predictions = extras.predictions()
            self._emit(b, now)
            self.finished.emit(None)
            return
        last_emit = 0.0
        # the window reads only the events and snapshots, so short compiled epochs may train several to a call
        gen = self.run.events(whole_epochs=True, **self.run_kwargs)
        if self.recorder is not None:  # time travel: checkpoints between two steps, on this thread
            gen = self.recorder.watch(self.run, gen)
        finished = None
        for ev in gen:
            if self._abandoned.is_set():  # closes the gap between the build's last check and the loop's start
                self.run.stop()
            t = time.perf_counter()
            if isinstance(ev, Step):
                b.xs.append(self._frac_epoch())
                b.steps.append(ev.step)
                b.losses.append(ev.loss)
                b.lrs.append(ev.lr)
                b.dirty = True
                if t - self._t_extras >= EXTRAS_INTERVAL:
                    self._do_extras(b, extras, t)
            elif isinstance(ev, Steps):  # a chunk from the compiled path: every step's loss, no object per step
                # placed by the event's own epoch and batch: the trainer may already be epochs further on
                n, spe = len(ev.losses), max(tr.steps_per_epoch, 1)
                idx = np.arange(n)
                b.add_chunk(ev.epoch + (ev.batch + 1 + idx) / spe, ev.first_step + idx, ev.losses, ev.lrs)
                b.dirty = True
                if t - self._t_extras >= EXTRAS_INTERVAL:
                    self._do_extras(b, extras, t)
            elif isinstance(ev, Stats):
                b.add_stats(ev, self._frac_epoch())
            elif isinstance(ev, EpochEnd):
                b.epochs.append(ev)
                b.dirty = True
                if meta.task == "regression" and t - self._t_pred >= PREDICT_INTERVAL:
                    b.predictions = extras.predictions()
                    self._t_pred = t
            elif isinstance(ev, Started):
                b.started = ev
                self._total_epochs, self._spe = ev.epochs, ev.steps_per_epoch
                self._last = (t, tr.step)
                b.dirty = True
            elif isinstance(ev, Finished):
                finished = ev
                break
            if b.dirty and (t - last_emit >= EMIT_INTERVAL or tr.paused):
                self._emit(b, t)
                last_emit = t
        t = time.perf_counter()
        if finished is None or finished.reason != "diverged":
            self._do_extras(b, extras, t, force=True)
            if meta.task == "regression":
                b.predictions = extras.predictions()
        self._emit(b, t, final=True)
        self.finished.emit(finished)

    def _do_extras(self, b, extras, t, force=False):
        if force or t - self._t_extras >= EXTRAS_INTERVAL:
            b.activations = extras.activations()
            b.boundary = extras.boundary(self.trainer.step)
            self._t_extras = time.perf_counter()
            b.dirty = True

    def _emit(self, b, t, final=False):
        tr = self.trainer
        t0, s0 = self._last
        if t - t0 >= 0.25 or final:
            if t > t0 and tr.step > s0:
                inst = (tr.step - s0) / (t - t0)
                self._speed = inst if self._speed == 0 else 0.6 * self._speed + 0.4 * inst
            self._last = (t, tr.step)
        left = (self._total_epochs - tr.epoch) * self._spe - tr.batch_in_epoch
        eta = left / self._speed if self._speed > 0 else None
        grads = {k: np.asarray(v, dtype=np.float64) for k, v in b.grad.items()}
        batch = ProgressBatch(
            *b.step_arrays(), b.stats, np.asarray(b.grad_x, dtype=np.float64), grads, tuple(b.epochs),
            b.activations, b.boundary, b.predictions, tr.epoch, tr.step, self._total_epochs, self._spe,
            self._speed, max(eta, 0.0) if eta is not None else None, self._frac_epoch(), b.started)
        b.reset()
        self.progress.emit(batch)
