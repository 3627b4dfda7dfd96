"""What the Train menu drives: one ``engine.Run`` at a time, in a worker thread, as a state machine.

The controller owns the current Run and starts one ``RunWorker`` job at a time (train, snapshot or
replay) on a fresh QThread. Pause, Resume and Stop are the Run's own thread-safe commands and take
effect before its next step; Stop during the build returns to idle at once. Saving, autosave and
exports read the Run under ``snapshot()`` (between two steps): the training is never stopped or
restarted for them. Live settings follow the document through ``DocumentSync``; a structural edit
(graph, data, loss, seed) never discards a trained run silently: the user is asked, and a replaced
run is kept in ``past_runs``. Every training job records its run's checkpoints (``time_travel.py``:
one Recorder per Run, branching a new run from a checkpoint).
"""
from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QThread, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.errors import InvalidInput
from engine.session import TRAINING_SCHEMA

from ..gc_on_gui_thread import settle as settle_garbage
from .state import TrainingStateMachine, TrainState
from .sync import DocumentSync
from .time_travel import TimeTravelControl
from .worker import RunWorker

S = TrainState


class LiveTrainingController(DocumentSync, TimeTravelControl, TrainingStateMachine):
    MAX_PAST_RUNS = 8
    ready = Signal(object)  # engine.views.TrainingMeta of a built run, or None: the views start over
    progress = Signal(object)  # ProgressBatch
    finished = Signal(object)  # engine.events.Finished, or None after a snapshot
    failed = Signal(str)
    networkChanged = Signal(bool)  # True: the document's network is not the one the run trained (any more)
    branched = Signal(object, object, object)  # (old Run, new Run, engine.time_travel.Checkpoint it started from)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.doc = document
        self.run = None  # the current engine.Run
        self.meta = None  # its TrainingMeta once built
        self.past_runs: list = []  # runs replaced by a new one (their weights and curves are kept)
        self._run_key = None  # structure_key of the session the run was built from
        self._kept_key = None  # a structure the user chose to keep training the old network under
        self._worker = None
        self._threads: list = []
        self._pending = None  # what to do once the current job has finished
        self._asking = False
        self._network_differs = False  # last networkChanged sent
        self._t_stop = None
        self.last_stop_latency = None  # seconds from stop() to the state change it causes
        self.dataset_factory = None  # benchmarks: the Dataset to train on, built by this callable
        self.engine_path = None  # None: "auto" once the compiled kernels are cached, else "torch" (fast_path)
        self.thread_log: list | None = None
        self._ready_note = None  # the message when the next replay job is ready (a branch says so)
        self._init_time_travel()
        document.sessionChanged.connect(self._on_session_field)
        document.graphChanged.connect(self._on_graph_changed)
        document.sessionReplaced.connect(self._on_session_replaced)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # never leave a running QThread behind at exit

    # -- injectable dialogs (tests replace these) ---------------------------------------------
    def _dialog_parent(self):
        p = self.parent()
        return p if p is not None and hasattr(p, "isWindow") else None

    def ask_structural_change(self) -> str:
        """The network or data changed under a trained run: "keep", "new" or "cancel"."""
        box = QMessageBox(QMessageBox.Question, "The network changed",
                          "This run was trained on the network (or data) before your edit.\n\n"
                          "Start a new run on the edited network? The current run's weights and curves are "
                          "kept in the history of runs.", parent=self._dialog_parent())
        new = box.addButton("Start a new run", QMessageBox.AcceptRole)
        keep = box.addButton("Keep training the old network", QMessageBox.ActionRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(new)
        box.exec()
        clicked = box.clickedButton()
        return "new" if clicked is new else "keep" if clicked is keep else "cancel"

    def notify(self, title, text):
        QMessageBox.warning(self._dialog_parent(), title, text)

    # -- what the window reads --------------------------------------------------------------
    @property
    def trainer(self):
        """The current run's trainer (read it on the GUI thread under ``snapshot()`` while it trains)."""
        return self.run.trainer if self.run is not None else None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def document_run(self):
        """The run if it trained the document's current network (else None: an edit made it another one)."""
        if self.run is None or self.run.trainer is None or self.meta is None:
            return None
        try:
            key = self._document_key()
        except InvalidInput:
            return None
        return self.run if key == self._run_key else None

    def document_trainer(self):
        run = self.document_run()
        return run.trainer if run is not None else None

    @contextlib.contextmanager
    def snapshot(self):
        """Inside, no training step runs and the document's trainer (or None) can be read: saving, exporting.

        The training is not stopped: its worker waits at most one step for the reader, then goes on.
        """
        run = self.document_run()
        if run is None:
            yield None
            return
        with run.snapshot() as trainer:
            yield trainer

    def _path(self) -> str:
        from .fast_path import window_path

        return self.engine_path or window_path()

    def _document_key(self):
        from engine.run import structure_key

        return structure_key(self.doc.session)

    def _target_epochs(self):
        return TRAINING_SCHEMA.validate(dict(self.doc.session.training), owner="training")["epochs"]

    def _log(self):
        if self.thread_log is not None:
            self.thread_log.append(QThread.currentThread())

    # -- the actions -------------------------------------------------------------------------
    def train(self):
        if self.state == S.PAUSED and self._worker is not None and self._worker.trains:
            return self.resume()
        if self._worker is not None:
            if not self._worker.trains:  # a snapshot or replay: train right after it
                self._pending = self.train
            return None
        run = self._run_for_document()
        if run is None:
            return None
        try:
            target = self._target_epochs()
        except InvalidInput as e:
            self.message.emit(f"Check the training settings: {e}")
            return None
        if run.trainer is not None and run.epoch >= target:
            target = run.epoch + target
            self.message.emit(f"Training for {target - run.epoch} more epochs")
        self._start(run, {"epochs": target})
        return None

    def pause(self):
        if self.state not in (S.RUNNING, S.BUILDING):
            return
        self.run.pause()
        self.set_state(S.PAUSED)
        self.message.emit("Paused — Train resumes, Step runs one batch")

    def resume(self):
        if self.state != S.PAUSED or self._worker is None:
            return
        self.run.resume()
        self.set_state(S.BUILDING if self._worker.meta is None else S.RUNNING)
        self.message.emit("Training…")

    def step(self):
        """One batch; with Shift held (e.g. Shift+click on Step) one epoch."""
        epoch = bool(QApplication.keyboardModifiers() & Qt.ShiftModifier)
        return self.step_epoch() if epoch else self._step("batch")

    def step_epoch(self):
        return self._step("epoch")

    def _step(self, kind):
        if self._worker is not None:
            if self.state == S.PAUSED or not self._worker.trains:
                self._pending = lambda: self._step(kind)
                self._stop_worker()
            return
        run = self._run_for_document()
        if run is None:
            return
        try:
            target = self._target_epochs()
        except InvalidInput as e:
            self.message.emit(f"Check the training settings: {e}")
            return
        done = run.epoch if run.trainer is not None else 0
        if kind == "epoch":
            self._start(run, {"epochs": done + 1, "to_epoch_end": True})
        else:
            self._start(run, {"epochs": max(target, done + 1), "max_steps": 1})

    def stop(self):
        self._pending = None
        self._stop_worker()

    def _stop_worker(self):
        w = self._worker
        if w is None:
            return
        self._t_stop = time.perf_counter()
        w.run.stop()
        if w.meta is None:  # still building: give up on it now, the thread finishes on its own
            w.abandon()
            self._worker = None
            if self.run is w.run and w.run.trainer is None:
                self._forget_run()
            self._settle()
            self._after_job()

    def reset_weights(self):
        if self._worker is not None:
            if self.state == S.PAUSED:
                self._pending = self.reset_weights
                self._stop_worker()
            return
        run = self.document_run()
        if run is None:
            self.message.emit("The network gets fresh weights when training starts")
            return
        run.reset_weights()
        self.recorders.pop(run, None)  # its checkpoints were of the weights just thrown away
        self.ready.emit(self.meta)  # the views start over
        self._start(run, None)
        self.message.emit("Weights re-initialized from the seed")

    def restore(self, archive):
        """Adopt a trained ``engine.archive.Archive`` of the document's session: the plots redraw its history
        and Train continues the same curves."""
        if self._worker is not None:
            self._pending = lambda: self.restore(archive)
            self._stop_worker()
            return
        from engine.run import Run

        self._retire_run()
        self.run = Run(archive, build=False, path=self._path())
        self._adopt_checkpoints(self.run, archive)
        self._run_key, self._kept_key = self._document_key(), None
        self.message.emit("Restoring the saved training…")
        self._start(self.run, None, replay=True)

    def replay(self):
        """Send the current run's meta, history and views again (for views built after the run)."""
        if self.run is None or self._worker is not None:
            return  # a job in flight sends them itself
        if self.run.trainer is None or self.meta is None:
            return
        self.ready.emit(self.meta)
        self._start(self.run, None, replay=True)

    @Slot()
    def shutdown(self, timeout_ms=10000):
        """Stop and wait for every worker thread (the window is closing)."""
        self._pending = None
        if self._worker is not None:
            self._worker.run.stop()
        for thread, worker in list(self._threads):
            worker.run.stop()
            thread.quit()
            thread.wait(timeout_ms)
        self._threads.clear()
        self._worker = None

    # -- runs ------------------------------------------------------------------------------------
    def _new_run(self):
        from engine.run import Run

        self._retire_run()
        dataset = self.dataset_factory() if self.dataset_factory is not None else None
        self.run = Run(self.doc.session.copy(), build=False, dataset=dataset, path=self._path())
        self._run_key, self._kept_key = self._document_key(), None
        self._network_differs = False
        return self.run

    def _retire_run(self):
        """The current run makes way for another: kept in ``past_runs`` when it trained at all.

        At most ``MAX_PAST_RUNS`` stay alive (each holds its network, optimizer and data); older ones are
        let go, while their settings and curves stay in the Runs dock's records.
        """
        if self.run is not None and self.run.trainer is not None and self.run.step > 0:
            self.past_runs.append(self.run)
            del self.past_runs[:-self.MAX_PAST_RUNS]
        self._forget_run()

    def _forget_run(self):
        self.run, self.meta, self._run_key, self._kept_key = None, None, None, None
        self.checkpoint_note = None  # it was about that run's saved checkpoints
        self._network_differs = False
        self.ready.emit(None)

    def _run_for_document(self):
        """The run Train continues, a new one, or None (the user cancelled, or the document is not trainable)."""
        if not self.doc.report.ok:
            self.message.emit(f"Fix the network first: {self.doc.report.errors[0]}")
            return None
        from engine.memory import check_fits

        try:
            key = self._document_key()
            check_fits(self.doc.session, self.doc.report)  # refuse before anything is allocated
        except InvalidInput as e:
            self.message.emit(f"Cannot train: {e}")
            return None
        run = self.run
        if run is None or run.trainer is None:
            return self._new_run()
        if key in (self._run_key, self._kept_key):
            self._follow_document()
            return run
        if run.step == 0:
            return self._new_run()  # nothing trained yet: nothing to lose
        choice = self.ask_structural_change()
        if choice == "keep":
            self._kept_key = key
            self.message.emit("Training the network as it was before your edit")
            return run
        if choice == "new":
            return self._new_run()
        return None

    # -- running a job ---------------------------------------------------------------------------
    def _start(self, run, run_kwargs, replay=False):
        worker = RunWorker(run, run_kwargs=run_kwargs, meta=self.meta if run.trainer is not None else None,
                           replay=replay, recorder=self._recorder_for(run) if run_kwargs is not None else None)
        thread = QThread(self)
        thread.setObjectName("training")
        worker.moveToThread(thread)
        thread.started.connect(worker.work)
        worker.ready.connect(self._on_ready)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        for sig in (worker.finished, worker.failed, worker.cancelled):
            sig.connect(thread.quit)
        thread.finished.connect(self._reap_threads)
        self._threads.append((thread, worker))
        self._worker = worker
        if worker.meta is None:
            self.set_state(S.PAUSED if run.paused and run_kwargs is not None else S.BUILDING)
            self.message.emit("Building the network…")
        elif run_kwargs is not None:
            self.set_state(S.PAUSED if run.paused else S.RUNNING)
            self.message.emit("Training…")
        settle_garbage()  # a full collection now, if one is due, rather than mid-training (gc_on_gui_thread)
        thread.start()

    @Slot()
    def _reap_threads(self):
        for pair in [p for p in self._threads if p[0].isFinished()]:
            self._threads.remove(pair)
            pair[1].deleteLater()
            pair[0].deleteLater()

    def _settle(self):
        """The state once no job runs: finished when the run has trained (Train continues), else idle."""
        run = self.run
        trained = run is not None and run.trainer is not None and run.step > 0
        self.set_state(S.FINISHED if trained else S.IDLE)
        if self._t_stop is not None:
            self.last_stop_latency = time.perf_counter() - self._t_stop
            self._t_stop = None

    def _after_job(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    # -- worker signals (queued onto the GUI thread) ----------------------------------------------
    @Slot(object)
    def _on_ready(self, meta):
        self._log()
        if self.sender() is not self._worker:
            return
        self.meta = meta
        run = self._worker.run
        self.deviceChanged.emit(run.engine_path)
        self.ready.emit(meta)
        self._follow_document()  # edits made while it was building
        if self._worker.trains:
            if self.state == S.BUILDING:
                self.set_state(S.RUNNING)
            self.message.emit(f"Training ({run.engine_path}): {run.trainer.n_params:,} parameters")
        elif self._worker.replay:
            tr = run.trainer
            note, self._ready_note = self._ready_note, None
            if note is None:
                note = (f"Restored {tr.epoch} epoch{'s' * (tr.epoch != 1)}, {tr.step:,} steps of training "
                        "— Train continues")
                if self.checkpoint_note:
                    note += f" · {self.checkpoint_note}"
            self.message.emit(note)

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
        self._worker = None
        self._settle()
        self.finished.emit(ev)
        if ev is not None:
            self._report(ev)
        self._after_job()

    def _report(self, ev):
        run = self.run
        if ev.reason == "diverged":
            self.message.emit(f"Training stopped at epoch {ev.epochs_run}: the loss diverged (NaN, infinite or exploding)")
            self.notify("Training diverged", ev.diagnosis or "The loss became NaN.")
        elif ev.reason == "stopped":
            self.message.emit(f"Stopped after {ev.epochs_run} epoch{'s' * (ev.epochs_run != 1)} (step {run.step})")
        elif ev.reason == "step":
            self.message.emit(f"Step {run.step} (epoch {run.epoch})")
        else:
            how = "Early stopping" if ev.reason == "early_stopping" else "Finished"
            tm = ev.test_metrics or {}
            score = (f"test accuracy {tm['accuracy']:.3f}" if "accuracy" in tm else
                     f"test RMSE {tm['rmse']:.3g}" if "rmse" in tm else "")
            best = f", best epoch {ev.best_epoch}" if ev.best_epoch else ""
            self.message.emit(f"{how} after {ev.epochs_run} epoch{'s' * (ev.epochs_run != 1)}{best}"
                              + (f": {score}" if score else ""))

    @Slot(str)
    def _on_failed(self, text):
        self._log()
        if self.sender() is not self._worker:
            return
        self._worker = None
        self._t_stop = None
        self._pending = None
        if self.run is not None and self.run.trainer is None:
            self._forget_run()  # it never built: nothing to keep
        self.set_state(S.FAILED)
        self.failed.emit(text)
        self.message.emit(f"Training failed: {text}")
        self.notify("Training failed", text)

    @Slot()
    def _on_cancelled(self):
        self._log()
        if self.sender() is not self._worker:
            return  # the usual case: Stop already let go of this build
        self._worker = None
        self._forget_run()
        self._settle()
        self._after_job()
