"""How the controller follows the document: live settings go to the run, structural edits are asked about.

Every edit of the session is compared with the run in canonical form (``engine.run.live_changes``):
learning rate, optimizer hyperparameters or type, schedule, regularizers, batch size, clipping, early
stopping and epochs reach the run through ``Run.request`` and apply at its next step, keeping weights
and curves, whether it is running, paused or finished. An edit of the graph, the data, the loss or the
seed (``engine.run.structure_key``) needs a new run: while training, the user chooses at once between
keeping the old network, a new run (the old one is kept in ``past_runs``) and undoing the edit;
when idle, Train asks.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer, Slot

from engine.errors import InvalidInput

from .state import TrainState

S = TrainState


def _describe(changes: dict) -> str:
    parts = []
    for k, v in changes.items():
        if k == "optimizer":
            parts.append(f"optimizer {v['type']} " + ", ".join(f"{p} = {x:g}" if isinstance(x, float) else f"{p} = {x}"
                                                             for p, x in v["params"].items()))
        elif k in ("regularizers", "schedule", "early_stopping"):
            parts.append(k.replace("_", " "))
        else:
            parts.append(f"{k.replace('_', ' ')} = {v}")
    return "; ".join(parts)


class DocumentSync:
    """Mixin for ``LiveTrainingController``: the slots connected to the Document's signals."""

    @Slot(str)
    def _on_session_field(self, key):
        self._follow_document()

    @Slot()
    def _on_graph_changed(self):
        self._follow_document()

    def _follow_document(self):
        from engine.run import live_changes

        run = self.run
        if run is None or run.trainer is None:
            return  # a run being built picks the edits up when it is ready
        try:
            key = self._document_key()
        except InvalidInput:
            return  # the form says what is wrong; nothing to apply
        differs = key not in (self._run_key, self._kept_key)
        if differs != self._network_differs:
            self._network_differs = differs
            self.networkChanged.emit(differs)
        if differs:
            if self.state in (S.RUNNING, S.PAUSED) and not self._asking:
                self._asking = True
                QTimer.singleShot(0, self._ask_now)  # after the edit's undo command is on the stack
            return
        try:
            changes = live_changes(run.session, self.doc.session)
            if changes:
                run.request(**changes)
        except InvalidInput as e:
            self.message.emit(str(e))
            return
        if changes:
            when = "at the next step" if self.state in (S.RUNNING, S.PAUSED) else "when training continues"
            self.message.emit(f"Applied {when}: {_describe(changes)}")

    @Slot()
    def _ask_now(self):
        try:
            if self.state not in (S.RUNNING, S.PAUSED):
                return
            try:
                key = self._document_key()
            except InvalidInput:
                return
            if key in (self._run_key, self._kept_key):
                return
            choice = self.ask_structural_change()
            if choice == "cancel":
                self.doc.undo_stack.undo()
                self.message.emit("Change undone; training continues")
            elif choice == "keep":
                self._kept_key = key
                self.message.emit("Training continues on the network as it was before your edit")
            else:
                self._pending = self._train_new_run
                self._stop_worker()
        finally:
            self._asking = False

    def _train_new_run(self):
        self._new_run()
        self.train()

    @Slot()
    def _on_session_replaced(self):
        """New or Open: the document is another one; its run (if any) is kept in ``past_runs``."""
        if self._worker is not None:
            self._pending = self._retire_after_replace
            self._stop_worker()
        else:
            self._retire_after_replace()

    def _retire_after_replace(self):
        self._retire_run()
        if self.state != S.IDLE:
            self.set_state(S.IDLE)
