"""What the curves say, one sentence each with a severity icon, like the lecture notes.

Sources: the trainer's per-epoch curve diagnoses (``EpochEnd.diagnoses``),
``diagnose_gradients`` on the per-layer gradient norms and
``diagnose_activations`` on the activation statistics shipped in each
progress batch, and the NaN guard's explanation when training diverged.
The panel keeps no training state beyond what it needs to re-run those checks.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QFrame, QHBoxLayout, QLabel, QScrollArea, QStyle, QVBoxLayout,
                               QWidget)

from engine.diagnostics import MIN_EPOCHS, Diagnosis, diagnose_activations, diagnose_gradients

ICONS = {"info": QStyle.SP_MessageBoxInformation, "warning": QStyle.SP_MessageBoxWarning,
         "error": QStyle.SP_MessageBoxCritical, "ok": QStyle.SP_DialogApplyButton}
REFRESH = 0.5  # seconds between gradient/activation re-checks
HEAD = 5  # diagnose_gradients compares the first 5 norms with the last 5


class GradientTracker:
    """The first and the latest few gradient norms per layer: all ``diagnose_gradients`` reads."""

    def __init__(self, keep=HEAD):
        self.keep = keep
        self.order: list[str] = []
        self.head: dict[str, list] = {}
        self.tail: dict[str, list] = {}

    def set_order(self, nodes):
        self.order = list(nodes)
        self.head, self.tail = {}, {}

    def add(self, grad_norms: dict):
        for nid, vals in grad_norms.items():
            vals = [float(v) for v in np.asarray(vals) if not np.isnan(v)]
            head = self.head.setdefault(nid, [])
            take = max(0, self.keep - len(head))
            head.extend(vals[:take])
            tail = self.tail.setdefault(nid, [])
            tail.extend(vals[take:])
            del tail[:-self.keep]

    def arrays(self) -> dict:
        names = [n for n in self.order if n in self.head] + [n for n in self.head if n not in self.order]
        return {n: np.asarray(self.head[n] + self.tail.get(n, [])) for n in names if self.head[n]}

    def diagnoses(self) -> list[Diagnosis]:
        arr = self.arrays()
        return diagnose_gradients(arr) if arr else []


class DiagnosisRow(QFrame):
    def __init__(self, severity, text, tip=""):
        super().__init__()
        self.severity, self.text = severity, text
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 3, 4, 3)
        icon = QLabel()
        icon.setPixmap(QApplication.style().standardIcon(ICONS[severity]).pixmap(18, 18))
        icon.setAlignment(Qt.AlignTop)
        icon.setFixedWidth(22)
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        label.setToolTip(tip)
        lay.addWidget(icon)
        lay.addWidget(label, 1)
        self.label = label


class DiagnosticsPanel(QWidget):
    min_interval = 0.5

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("diagnosticsPanel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        self._inner = QWidget()
        self._rows = QVBoxLayout(self._inner)
        self._rows.setContentsMargins(4, 4, 4, 4)
        self._rows.setSpacing(2)
        self._rows.addStretch(1)
        scroll.setWidget(self._inner)
        outer.addWidget(scroll)
        self.grads = GradientTracker()
        self.clear()

    # -- state -------------------------------------------------------------------
    def clear(self):
        self.curve_diags: list[Diagnosis] = []
        self.act_diags: list[Diagnosis] = []
        self.grad_diags: list[Diagnosis] = []
        self.final: Diagnosis | None = None
        self.setup: list[Diagnosis] = []  # loss/output pairing warnings from the trainer
        self.failure: str | None = None
        self.epochs_seen = 0
        self.running = False
        self._activations = None
        self._next_check = 0.0
        self._shown = None
        self.idle = False  # reset(): nothing trained yet
        self.dirty = True

    def reset(self):
        """Nothing trained (New, a session or example opened, Reset Weights): show the idle state at once.

        Drops every diagnosis of the previous network, so no sentence about a run that no longer exists stays.
        """
        self.clear()
        self.grads.set_order([])
        self.idle = True
        self.redraw(force=True)

    def set_meta(self, meta):
        self.clear()
        self.grads.set_order(meta.weight_nodes if meta is not None else [])
        self.running = meta is not None
        trainer = getattr(meta, "trainer", None)
        self.setup = [Diagnosis("pairing", "warning", str(w), "") for w in (getattr(trainer, "warnings", None) or ())]

    def ingest(self, batch):
        self.idle = False
        for ev in batch.epochs:
            self.curve_diags = list(ev.diagnoses)
            self.epochs_seen = ev.epoch
        if batch.grad_norms:
            self.grads.add(batch.grad_norms)
        if batch.activations is not None:
            self._activations = batch.activations
        self.dirty = True

    def finished(self, ev):
        """The Finished event: a divergence shows the NaN guard's explanation first."""
        self.running = False
        if ev is not None and ev.reason == "diverged" and ev.diagnosis:
            self.final = Diagnosis("nan", "error", "Training stopped by the NaN guard. " + ev.diagnosis, "")
        self.dirty = True

    def failed(self, message):
        self.running = False
        self.failure = message
        self.dirty = True

    def diagnoses(self) -> list[Diagnosis]:
        out = []
        if self.final is not None:
            out.append(self.final)
        out += self.setup + self.curve_diags + self.grad_diags + self.act_diags
        return out

    # -- drawing -----------------------------------------------------------------
    def redraw(self, force=False):
        now = time.monotonic()
        if force or now >= self._next_check:
            self._next_check = now + REFRESH
            self.grad_diags = self.grads.diagnoses()
            self.act_diags = diagnose_activations(self._activations) if self._activations else []
        rows = []
        if self.failure:
            rows.append(("error", f"Training could not run: {self.failure}", ""))
        for d in self.diagnoses():
            text = d.message + (" " + d.advice if d.advice else "")
            rows.append((d.severity, text, f"code: {d.code}" + (f", layer: {d.layer}" if d.layer else "")))
        if not rows:
            if self.idle:
                rows.append(("info", "Not trained yet. One-sentence diagnoses of the loss curves, gradients "
                             f"and activations appear here after {MIN_EPOCHS} epochs of training.", ""))
            elif self.epochs_seen < MIN_EPOCHS:
                rows.append(("info", f"Diagnoses appear after {MIN_EPOCHS} epochs; so far "
                             f"{self.epochs_seen} epoch{'s have' if self.epochs_seen != 1 else ' has'} "
                             "been seen.", ""))
            else:
                rows.append(("ok", "No problems found: the loss is falling, gradients and activations look "
                             "healthy.", ""))
        if rows != self._shown:
            self._shown = rows
            while self._rows.count() > 1:
                w = self._rows.takeAt(0).widget()
                if w is not None:
                    w.deleteLater()
            for i, (sev, text, tip) in enumerate(rows):
                self._rows.insertWidget(i, DiagnosisRow(sev, text, tip))
        self.dirty = False

    def texts(self) -> list[str]:
        return [t for _, t, _ in (self._shown or [])]


if __name__ == "__main__":
    from engine.events import EpochEnd, Finished
    from gui.panels import preview

    def make():
        p = DiagnosticsPanel()
        p.set_meta(None)
        ev = EpochEnd(12, 0.2, 0.5, {}, {}, 0.03, 0.1, 100.0, (Diagnosis(
            "overfitting", "warning", "The validation loss has risen 40% since its minimum.",
            "Use early stopping, L2 or dropout."),))
        from types import SimpleNamespace
        p.ingest(SimpleNamespace(epochs=[ev], grad_norms={}, activations={"dense1": {
            "dead_fraction": 0.7, "saturated_fraction": 0.0, "activation": "relu"}}))
        p.finished(Finished("diverged", 12, 3, 1.0, "The loss became NaN after climbing to 1e4. Lower the lr."))
        p.redraw(force=True)
        return p

    raise SystemExit(preview(make, (420, 400)))
