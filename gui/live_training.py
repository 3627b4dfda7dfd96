"""Live training from the window (issue #5): the Train menu's controller and its wiring.

``LiveTrainingController`` runs each Train/Step in a ``TrainingWorker`` on a
fresh QThread, keeps the Trainer between runs (so Pause, Stop then Train, and
Step continue the same curves) and rebuilds it only when the network, data,
loss or optimizer type changed. Live settings (learning rate, regularizers,
batch size, clipping) reach the running trainer through ``Trainer.request``.
Stop and pause go straight to the trainer's thread-safe flags.
``install_live_training(window)`` puts the plots, panels and menu entries in.
"""
from __future__ import annotations

import contextlib
import sys
import time

from PySide6.QtCore import QEventLoop, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.errors import InvalidInput
from engine.session import TRAINING_SCHEMA

from .restore import RestoreWorker
from .training_controller import TrainingController
from .training_sync import DocumentSync, fingerprint
from .workers import TrainingWorker

class LiveTrainingController(DocumentSync, TrainingController):
    ready = Signal(object)  # TrainingMeta of a new trainer
    progress = Signal(object)  # ProgressBatch
    finished = Signal(object)  # engine.events.Finished, or None after a snapshot
    failed = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.doc = document
        self.meta = None
        self._trainer = None
        self._fp = None
        self._worker = None
        self._threads: list = []
        self._pending = None  # what to do once the current run has finished
        self._pause_on_ready = False
        self._asking = False
        self._t_stop = None
        self.last_stop_latency = None  # seconds from stop() to the finished signal
        self.dataset_factory = None  # benchmarks: build the Dataset in the worker from this callable
        self.thread_log: list | None = None
        self._training_seen = dict(document.session.training)
        self._held: list | None = None  # while ``held()`` waits: what the stopped run ended with
        self.set_state("idle")
        document.sessionChanged.connect(self._on_session_field)
        document.graphChanged.connect(self._on_graph_changed)
        document.sessionReplaced.connect(self._on_session_replaced)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # never leave a running QThread behind at exit

    # -- injectable dialogs (tests replace these) -----------------------------
    def ask_stop_for_edit(self) -> bool:
        parent = self.parent() if self.parent() is not None and hasattr(self.parent(), "isWindow") else None
        return QMessageBox.question(
            parent, "Stop training?", "The network is training. Stop training to apply this change?\n\n"
            "No undoes the change and training continues.", QMessageBox.Yes | QMessageBox.No,
            QMessageBox.Yes) == QMessageBox.Yes

    def notify(self, title, text):
        parent = self.parent() if hasattr(self.parent(), "isWindow") else None
        QMessageBox.warning(parent, title, text)

    # -- state ------------------------------------------------------------------
    @property
    def trainer(self):
        """The Trainer (read-only use on the GUI thread, only while paused or idle)."""
        return self._trainer

    @property
    def busy(self):
        return self._worker is not None

    def _stale(self):
        return self._trainer is None or self._fp != fingerprint(self.doc.session)

    def document_trainer(self):
        """The trainer if it trained the document's current network (else None: edits made it stale)."""
        return None if self._stale() or self.meta is None else self._trainer

    def _target_epochs(self):
        return TRAINING_SCHEMA.validate(dict(self.doc.session.training), owner="training")["epochs"]

    def _log(self):
        if self.thread_log is not None:
            self.thread_log.append(QThread.currentThread())

    # -- the five actions -----------------------------------------------------------
    def _snapshotting(self):
        return self._worker is not None and self._worker.run_kwargs is None

    def train(self):
        if self.state == "paused" and self._worker is not None:
            return self.resume()
        if self._snapshotting():
            self._pending = self.train
            return None
        if self._worker is not None:
            return None
        if not self.doc.report.ok:
            self.message.emit(f"Fix the network first: {self.doc.report.errors[0]}")
            return None
        try:
            target = self._target_epochs()
        except InvalidInput as e:
            self.message.emit(f"Check the training settings: {e}")
            return None
        if not self._stale() and self._trainer.epoch >= target:
            target = self._trainer.epoch + target
            self.message.emit(f"Training for {target - self._trainer.epoch} more epochs")
        self._launch({"epochs": target})
        return None

    def pause(self):
        if self.state != "running":
            return
        if self._trainer is not None:
            self._trainer.pause()
        else:
            self._pause_on_ready = True
        self.set_state("paused")
        self.message.emit("Paused — Train resumes, Step runs one batch")

    def resume(self):
        if self.state != "paused" or self._worker is None:
            return
        self._pause_on_ready = False
        if self._trainer is not None:
            self._trainer.resume()
        self.set_state("running")
        self.message.emit("Training…")

    def step(self):
        """One batch; with Shift held (e.g. Shift+click on Step) one epoch."""
        epoch = bool(QApplication.keyboardModifiers() & Qt.ShiftModifier)
        return self.step_epoch() if epoch else self._step("batch")

    def step_epoch(self):
        return self._step("epoch")

    def _step(self, kind):
        if self._worker is not None:
            if self.state == "paused" or self._snapshotting():
                self._pending = lambda: self._step(kind)
                self._stop_worker()
            return
        if not self.doc.report.ok:
            self.message.emit(f"Fix the network first: {self.doc.report.errors[0]}")
            return
        done = 0 if self._stale() else self._trainer.epoch
        try:
            target = self._target_epochs()
        except InvalidInput as e:
            self.message.emit(f"Check the training settings: {e}")
            return
        if kind == "epoch":
            self._launch({"epochs": done + 1, "to_epoch_end": True})
        else:
            self._launch({"epochs": max(target, done + 1), "max_steps": 1})

    def stop(self):
        self._pending = None
        self._pause_on_ready = False
        self._stop_worker()

    def _stop_worker(self):
        if self._worker is not None:
            self._t_stop = time.perf_counter()
            self._worker.cancel()

    def reset_weights(self):
        if self._worker is not None:
            if self.state == "paused":
                self._pending = self.reset_weights
                self._stop_worker()
            return
        if self._trainer is None or self._stale():
            self._discard()
            self.message.emit("The network gets fresh weights when training starts")
            return
        self._trainer.reset_weights()
        self.ready.emit(self.meta)  # views start over
        self._start(TrainingWorker(trainer=self._trainer, meta=self.meta, run_kwargs=None))
        self.message.emit("Weights re-initialized from the seed")

    @Slot()
    def shutdown(self, timeout_ms=10000):
        """Stop and wait for every worker thread (the window is closing)."""
        self._pending = None
        if self._worker is not None:
            self._worker.cancel()
        if self._held is not None:  # a save waiting in held() gives up: the worker is going away
            self._held_loop.quit()
        for thread, _ in list(self._threads):
            thread.quit()
            thread.wait(timeout_ms)
        self._threads.clear()
        self._worker = None

    # -- saved sessions (issue #6) ------------------------------------------------------
    def restore(self, source):
        """Adopt saved training: ``source`` is a trained ``engine.archive.Archive`` of the document's session, or a
        ``Trainer`` built from it. The plots redraw its history and Train continues the same curves."""
        if self._worker is not None:
            self._pending = lambda: self.restore(source)
            self._stop_worker()
            return
        self._discard()
        self._fp = fingerprint(self.doc.session)
        self._training_seen = dict(self.doc.session.training)
        is_archive = hasattr(source, "restore_into")
        worker = RestoreWorker(archive=source) if is_archive else RestoreWorker(trainer=source)
        self.message.emit("Restoring the saved training…")
        self._start(worker)

    @contextlib.contextmanager
    def held(self, timeout_s=30.0):
        """Inside, no training step runs, so the trainer can be read (saving, exporting); yields
        ``document_trainer()``. A running or paused run is stopped quietly and picked up again afterwards,
        where it stopped (still paused if it was); a snapshot is waited for. Raises InvalidInput on a timeout."""
        if self._held is not None:  # called from the event loop another hold is waiting in
            raise InvalidInput("training is being paused for another save; try again in a moment")
        w = self._worker
        if w is None:
            yield self.document_trainer()
            return
        kwargs, paused = w.run_kwargs, self.state == "paused"
        resume = kwargs is not None and self._t_stop is None  # not when a stop was already asked for
        self._held, loop = [], QEventLoop()
        self._held_loop = loop
        if kwargs is not None:
            w.cancel()  # the trainer's stop flag: it returns between two steps
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        timer.start(int(timeout_s * 1000))
        if not self._held:
            loop.exec()
        timer.stop()
        got, self._held = self._held, None
        if not got:
            raise InvalidInput("training did not stop in time to read its state; try again")
        kind, value = got[0]
        try:
            yield self.document_trainer()
        finally:
            if kind == "failed":
                self._fail(value)
            elif resume and value is not None and value.reason == "stopped" and self._trainer is not None:
                if paused:
                    self._trainer.pause()
                self._start(TrainingWorker(trainer=self._trainer, meta=self.meta, run_kwargs=kwargs),
                            state="paused" if paused else "running")
            else:
                self._complete(value)

    # -- running a worker -----------------------------------------------------------
    def _discard(self):
        self._trainer, self.meta, self._fp = None, None, None
        self.ready.emit(None)

    def _launch(self, run_kwargs):
        if self._stale():
            self._discard()
            self._fp = fingerprint(self.doc.session)
            self._training_seen = dict(self.doc.session.training)
            worker = TrainingWorker(session=self.doc.session.copy(), run_kwargs=run_kwargs,
                                    dataset_factory=self.dataset_factory)
            self.message.emit("Building the network…")
        else:
            worker = TrainingWorker(trainer=self._trainer, meta=self.meta, run_kwargs=run_kwargs)
            self.message.emit("Training…")
        self._start(worker)

    def _start(self, worker, state=None):
        thread = QThread(self)
        thread.setObjectName("training")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.ready.connect(self._on_ready)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._reap_threads)
        self._threads.append((thread, worker))
        self._worker = worker
        self.set_state(state or ("running" if worker.run_kwargs is not None else self.state))
        thread.start()

    @Slot()
    def _reap_threads(self):
        for pair in [p for p in self._threads if p[0].isFinished()]:
            self._threads.remove(pair)
            pair[1].deleteLater()
            pair[0].deleteLater()

    # -- worker signals (queued onto the GUI thread) -------------------------------------
    @Slot(object)
    def _on_ready(self, meta):
        self._log()
        if self.sender() is not self._worker:
            return
        self._trainer, self.meta = meta.trainer, meta
        if self._pause_on_ready:
            meta.trainer.pause()
        self.deviceChanged.emit(str(meta.trainer.device))
        self.ready.emit(meta)
        if self.state == "running":
            self.message.emit(f"Training on {meta.trainer.device}: {meta.trainer.n_params:,} parameters")
        elif isinstance(self._worker, RestoreWorker):
            tr = meta.trainer
            self.message.emit(f"Restored {tr.epoch} epoch{'s' * (tr.epoch != 1)}, {tr.step:,} steps of training — Train continues")

    @Slot(object)
    def _on_progress(self, batch):
        self._log()
        if self.sender() is self._worker:
            self.progress.emit(batch)

    @Slot(object)
    def _on_finished(self, ev):
        self._log()
        if self.sender() is not self._worker:
            return
        if self._t_stop is not None:
            self.last_stop_latency = time.perf_counter() - self._t_stop
            self._t_stop = None
        self._worker = None
        if self._held is not None:  # held(): the run stopped so a save can read the trainer
            self._held.append(("finished", ev))
            self._held_loop.quit()
            return
        self._complete(ev)

    def _complete(self, ev):
        self.set_state("idle")
        self.finished.emit(ev)
        if ev is not None:
            self._report(ev)
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def _report(self, ev):
        if ev.reason == "diverged":
            text = ev.diagnosis or "The loss became NaN."
            self.message.emit(f"Training stopped at epoch {ev.epochs_run}: the loss became NaN")
            self.notify("Training diverged", text)
        elif ev.reason == "stopped":
            self.message.emit(f"Stopped after {ev.epochs_run} epoch{'s' * (ev.epochs_run != 1)} (step {self._trainer.step})")
        elif ev.reason == "step":
            self.message.emit(f"Step {self._trainer.step} (epoch {self._trainer.epoch})")
        else:
            how = "Early stopping" if ev.reason == "early_stopping" else "Finished"
            tm = ev.test_metrics or {}
            score = (f"test accuracy {tm['accuracy']:.3f}" if "accuracy" in tm else
                     f"test RMSE {tm['rmse']:.3g}" if "rmse" in tm else "")
            best = f", best epoch {ev.best_epoch}" if ev.best_epoch else ""
            self.message.emit(f"{how} after {ev.epochs_run} epoch{'s' * (ev.epochs_run != 1)}{best}" + (f": {score}" if score else ""))

    @Slot(str)
    def _on_failed(self, text):
        self._log()
        if self.sender() is not self._worker:
            return
        self._worker = None
        self._t_stop = None
        if self._held is not None:
            self._held.append(("failed", text))
            self._held_loop.quit()
            return
        self._fail(text)

    def _fail(self, text):
        self._pending = None
        if self.meta is None:
            self._trainer, self._fp = None, None
        self.set_state("idle")
        self.failed.emit(text)
        self.message.emit(f"Training failed: {text}")
        self.notify("Training failed", text)


def install_live_training(win):
    """Give ``win`` (a MainWindow) live training: controller, plot tabs, diagnostics, progress, menus.

    Returns the ``gui.live_window.LiveTraining`` (also stored as ``win.live``).
    """
    from .live_window import LiveTraining

    # The trainer's Python code and the GUI share one GIL; hand it over every 1 ms instead of 5 ms
    # so input and redraw slots wait at most ~1 ms for it (p99 event-loop lateness ~3x lower).
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    live = LiveTraining(win, LiveTrainingController(win.doc, win))
    win.live = live
    pending = getattr(win, "pending_restore", None)  # a trained .nnp opened before the controller existed
    if pending is not None:
        win.pending_restore = None
        live.controller.restore(pending)
    return live
