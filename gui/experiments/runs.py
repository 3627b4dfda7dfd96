"""The session's runs: every training the controller finishes becomes an ``engine.runs.RunRecord``.

Qt only (no pyqtgraph, no torch import of its own): it is created with the window so no training is
missed. The current run's record is updated each time it finishes again (Train continues the same
run); a run replaced by a structural edit stays in the list, and so does the run a branch started from
(the branch's record is named after it: "run 3 (branched from run 2 at step 120)"). Restoring a run's settings is one
undoable edit (a macro of field edits); deleting a run also lets the controller drop its weights.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from engine.runs import RunRecord

RESTORED_FIELDS = ("seed", "dataset", "loss", "optimizer", "schedule", "regularizers", "training")


class RunBook(QObject):
    changed = Signal()

    def __init__(self, controller=None, document=None, parent=None):
        super().__init__(parent)
        self.controller, self.doc = controller, document
        self.records: list[RunRecord] = []
        self.keep_weights = False  # new records keep their weights (bigger .nnp files)
        self._by_run: dict = {}  # id(engine.Run) -> its record, while that run lives
        self._runs: dict = {}  # id(record) -> the engine.Run it came from
        self._count = 0
        self._branch_notes: dict = {}  # id(new Run) -> "branched from run 2 at step 120"
        if controller is not None:
            controller.finished.connect(self._on_finished)
            controller.branched.connect(self._on_branched)
        if document is not None:
            document.sessionReplaced.connect(self.clear)

    # -- recording ------------------------------------------------------------------------
    @Slot(object)
    def _on_finished(self, ev):
        ctl = self.controller
        run = getattr(ctl, "run", None)
        if ev is None or run is None or run.trainer is None or run.step == 0:
            return
        self.record(run)

    @Slot(object, object, object)
    def _on_branched(self, old, new, checkpoint):
        """A branch replaced ``old``: it keeps (or gets) its record; the branch's will say where it started."""
        prev = self._by_run.get(id(old))
        if prev is None and old.trainer is not None and old.step > 0:
            prev = self.record(old)
        where = prev.name if prev is not None else "the previous run"
        self._branch_notes[id(new)] = f"branched from {where} at step {checkpoint.step:,}"

    def record(self, run, name: str | None = None) -> RunRecord:
        """Add ``run`` (or refresh its record when it was recorded before)."""
        old = self._by_run.get(id(run))
        if name is None and old is None and id(run) in self._branch_notes:
            name = f"{self._next_name()} ({self._branch_notes.pop(id(run))})"
        rec = RunRecord.from_run(run, name or (old.name if old else None) or self._next_name(),
                                 keep_weights=self.keep_weights)
        if old is not None and old in self.records:
            self.records[self.records.index(old)] = rec
            self._runs.pop(id(old), None)
        else:
            self.records.append(rec)
        self._by_run[id(run)] = rec
        self._runs[id(rec)] = run
        self.changed.emit()
        return rec

    def _next_name(self):
        self._count += 1
        taken = {r.name for r in self.records}
        while f"run {self._count}" in taken:
            self._count += 1
        return f"run {self._count}"

    def set_records(self, records, current_steps: int = 0):
        """The runs saved in an opened ``.nnp`` (or none).

        ``current_steps``: the saved training's step count; the latest record with that many steps is
        the run the controller restored, so training on updates it instead of adding a twin.
        """
        self.records = list(records or [])
        self._by_run, self._runs = {}, {}
        self._count = len(self.records)
        run = getattr(self.controller, "run", None)
        if run is not None and current_steps:
            same = [r for r in self.records if r.steps == current_steps]
            if same:
                self._by_run[id(run)] = same[-1]
                self._runs[id(same[-1])] = run
        self.changed.emit()

    @Slot()
    def clear(self):
        self.set_records([])

    # -- editing ------------------------------------------------------------------------------
    def delete(self, indices):
        """Remove the records at ``indices``; a replaced run's weights go with it."""
        doomed = [self.records[i] for i in sorted(set(indices)) if 0 <= i < len(self.records)]
        for rec in doomed:
            self.records.remove(rec)
            run = self._runs.pop(id(rec), None)
            if run is not None:
                self._by_run.pop(id(run), None)
                past = getattr(self.controller, "past_runs", None)
                if past is not None and run in past:
                    past.remove(run)
        if doomed:
            self.changed.emit()
        return len(doomed)

    def rename(self, index, name):
        name = str(name).strip()
        if name and 0 <= index < len(self.records) and self.records[index].name != name:
            self.records[index].name = name
            self.changed.emit()

    def restore(self, index, doc=None):
        """Write the record's settings into the document as one undoable edit."""
        rec = self.records[index]
        write_session(doc or self.doc, rec.session(), f"Restore the settings of {rec.name}")
        return rec


def write_session(doc, session, text: str):
    """Make the document's settings and network ``session``'s, as one undoable edit (a macro)."""
    from engine.spec import GraphSpec

    doc.undo_stack.beginMacro(text)
    try:
        for key in RESTORED_FIELDS:
            doc.set_session_field(key, getattr(session, key))
        if session.graph.to_dict() != doc.graph.to_dict():
            doc.replace_graph(GraphSpec.from_dict(session.graph.to_dict()), "Network")
    finally:
        doc.undo_stack.endMacro()
