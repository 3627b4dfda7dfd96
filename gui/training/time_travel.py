"""The controller's half of time travel: one checkpoint Recorder per Run, and branching a new run from one.

Every training job the controller starts records its run's checkpoints (``engine.time_travel.Recorder``,
on the worker thread between two steps) within ``checkpoint_budget`` bytes. Recorders are kept per Run
in a weak mapping, so a run replaced by another (``past_runs``) keeps its own, and one let go takes its
checkpoints with it. A restored ``.nnp`` brings its saved checkpoints back. ``branch_from`` starts a new
run from a checkpoint with the document's current settings; the old run goes to ``past_runs``.
"""
from __future__ import annotations

import copy
import weakref

from engine.errors import InvalidInput

from .state import TrainState

S = TrainState
MiB = 1 << 20
DEFAULT_BUDGET_MB = 64
BRANCH_FIELDS = ("optimizer", "schedule", "regularizers", "training")  # what a branch may change
STRUCTURE_REFUSAL = ("Cannot branch: the network, data or loss changed since this run was trained — a branch "
                     "continues the same network with new settings (undo the edit, or press Train for a new run)")


class TimeTravelControl:
    """Mixin for ``LiveTrainingController`` (which declares the ``branched`` signal)."""

    def _init_time_travel(self):
        self.recorders = weakref.WeakKeyDictionary()  # engine.Run -> its Recorder
        self.checkpoint_budget = DEFAULT_BUDGET_MB * MiB
        self.checkpoint_note = None  # what a restored .nnp's checkpoints could not bring back (one line)

    def recorder_of(self, run):
        """The run's Recorder, or None before it trained in this window (or was restored with checkpoints)."""
        return self.recorders.get(run) if run is not None else None

    @property
    def recorder(self):
        return self.recorder_of(self.run)

    def _recorder_for(self, run):
        from engine.time_travel import Recorder

        rec = self.recorders.get(run)
        if rec is None:
            rec = self.recorders[run] = Recorder(budget_bytes=self.checkpoint_budget)
            if run.trainer is not None and run.step:
                rec.resume_after(run.step)  # e.g. a restored run without saved checkpoints
        return rec

    def set_checkpoint_budget(self, megabytes: int):
        """The memory all of a run's checkpoints may take; applies to the current run's recorder too."""
        budget = int(megabytes) * MiB
        if budget <= 0:
            raise InvalidInput(f"the checkpoint budget must be at least 1 MB, got {megabytes!r}")
        self.checkpoint_budget = budget
        rec = self.recorder
        if rec is not None:
            rec.set_budget(budget, thin=self._worker is None)  # a training thins at its next checkpoint itself

    def _adopt_checkpoints(self, run, archive):
        self.checkpoint_note = archive.checkpoint_note
        if archive.checkpoints is not None:
            archive.checkpoints.set_budget(max(archive.checkpoints.budget, self.checkpoint_budget), thin=False)
            self.recorders[run] = archive.checkpoints

    def branch_from(self, checkpoint) -> bool:
        """A new run from ``checkpoint`` with the document's settings; False (and a message) when it cannot be."""
        run = self.run
        if run is None or run.trainer is None:
            self.message.emit("Train first: branches start from the checkpoints of a training")
            return False
        try:
            key = self._document_key()
        except InvalidInput as e:
            self.message.emit(f"Cannot branch: {e}")
            return False
        if key != self._run_key:
            self.message.emit(STRUCTURE_REFUSAL)
            return False
        if self._worker is not None:
            if self.state == S.PAUSED or not self._worker.trains:
                self._pending = lambda: self.branch_from(checkpoint)
                self._stop_worker()
                return True
            self.message.emit("Pause or stop the training first, then branch from a checkpoint")
            return False
        from engine.time_travel import Recorder, branch

        doc = self.doc.session
        changes = {f: copy.deepcopy(getattr(doc, f)) for f in BRANCH_FIELDS}
        dataset = self.dataset_factory() if self.dataset_factory is not None else None
        try:
            new = branch(run.session, checkpoint, path=self._path(), dataset=dataset, history=run.history, **changes)
        except InvalidInput as e:
            self.message.emit(f"Cannot branch: {e}")
            return False
        old = run
        self._retire_run()  # the old run (and its recorder) stays in past_runs
        self.run = new
        self._run_key, self._kept_key = key, None
        rec = self.recorders[new] = Recorder(budget_bytes=self.checkpoint_budget)
        rec.checkpoints = [checkpoint]  # the branch's first moment is the checkpoint itself
        rec.resume_after(checkpoint.step)
        self.branched.emit(old, new, checkpoint)
        self._ready_note = (f"Branched from step {checkpoint.step} (epoch {checkpoint.epoch}) — Train continues the "
                            "new run; the old one is kept in Runs")
        self.message.emit(self._ready_note)
        self._start(new, None, replay=True)
        return True
