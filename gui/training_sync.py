"""How a live controller follows the document while it trains.

Live settings (learning rate, regularizers, batch size, clipping) go to the
running trainer through ``Trainer.request``; anything that needs a new trainer
(graph, data, loss, schedule, seed) asks to stop first, and a "no" undoes the edit.
"""
from __future__ import annotations

import copy
import json

from PySide6.QtCore import QTimer, Slot

from engine.errors import InvalidInput

LIVE_TRAINING_KEYS = ("batch_size", "clip", "clip_value", "max_norm")
REBUILD_FIELDS = ("dataset", "loss", "schedule", "seed")


def fingerprint(session) -> str:
    """Everything whose change needs a new trainer (node positions and live settings excluded)."""
    g = session.graph.to_dict()
    for n in g.get("nodes", []):
        n.pop("pos", None)
    opt = session.optimizer
    opt = {"type": opt, "params": {}} if isinstance(opt, str) else {
        "type": opt.get("type"), "params": {k: v for k, v in (opt.get("params") or {}).items() if k != "lr"}}
    training = {k: v for k, v in (session.training or {}).items() if k not in LIVE_TRAINING_KEYS + ("epochs",)}
    return json.dumps({"graph": g, "dataset": session.dataset, "loss": session.loss, "optimizer": opt,
                       "schedule": session.schedule, "seed": session.seed, "training": training},
                      sort_keys=True, default=str)


def _lr_of(optimizer):
    if isinstance(optimizer, dict):
        return (optimizer.get("params") or {}).get("lr")
    return None


class DocumentSync:
    """Mixin for ``LiveTrainingController``: the slots connected to the Document's signals."""

    def _active(self):
        return self._worker is not None and self.state in ("running", "paused")

    @Slot(str)
    def _on_session_field(self, key):
        s = self.doc.session
        if key in REBUILD_FIELDS:
            self._maybe_ask()
        elif key == "optimizer":
            if self._trainer is not None and not self._stale():
                lr = _lr_of(s.optimizer)
                if lr is not None:
                    self._request(lr=float(lr))
            elif self._active():
                self.message.emit("The new optimizer takes effect when training restarts (Stop, then Train)")
        elif key == "regularizers":
            self._live_regularizers(s.regularizers)
        elif key == "training":
            new, old = dict(s.training), self._training_seen
            self._training_seen = dict(new)
            changes = {k: new[k] for k in LIVE_TRAINING_KEYS if k in new and new.get(k) != old.get(k)}
            if changes:
                self._request(**changes)
            if fingerprint(s) != self._fp and self._active():
                self.message.emit("That setting takes effect when training restarts (Stop, then Train)")

    def _live_regularizers(self, regs):
        from engine.regularizers import REGULARIZERS

        try:
            regs = [REGULARIZERS.canonical(r) for r in regs]
        except InvalidInput as e:
            self.message.emit(f"Regularizer not applied: {e}")
            return
        self._request(regularizers=copy.deepcopy(regs))

    def _request(self, **changes):
        if self._trainer is None:
            return
        try:
            self._trainer.request(**changes)
        except InvalidInput as e:
            self.message.emit(str(e))
            return
        if self._active():
            parts = ["regularizers" if k == "regularizers" else f"{k} = {v}" for k, v in changes.items()]
            self.message.emit("Applied at the next step: " + ", ".join(parts))

    @Slot()
    def _on_graph_changed(self):
        if self._trainer is not None and self._fp != fingerprint(self.doc.session):
            self._maybe_ask()

    def _maybe_ask(self):
        if self._active() and not self._asking and self._fp != fingerprint(self.doc.session):
            self._asking = True
            QTimer.singleShot(0, self._ask_now)  # after the edit's undo command is on the stack

    @Slot()
    def _ask_now(self):
        try:
            if not self._active() or self._fp == fingerprint(self.doc.session):
                return
            if self.ask_stop_for_edit():
                self.stop()
                self.message.emit("Training stopped; Train builds the changed network")
            else:
                self.doc.undo_stack.undo()
                self.message.emit("Change undone; training continues")
        finally:
            self._asking = False

    @Slot()
    def _on_session_replaced(self):
        self._training_seen = dict(self.doc.session.training)
        if self._worker is not None:
            self._pending = self._discard
            self._stop_worker()
        else:
            self._discard()
