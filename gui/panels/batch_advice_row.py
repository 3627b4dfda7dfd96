"""The Training panel's line under the batch size: the notes' rule b ≈ 1.5 × outliers, computed, with Apply.

``engine.batch_advice`` counts the outliers of the training split (modified z-score > 3.5 in a raw input, or a
regression target) and turns the count into the notes' size. Generating the data is fast (the dataset panel
does it on every change too), but it is still done once per dataset and seed, 150 ms after the last change,
and cached; a batch-size edit only rewrites the sentence. Apply emits ``apply(b)``; the panel writes it as one
undoable edit like any other batch-size change.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from engine.errors import InvalidInput

TIP = ("Lecture 002: “The size of the mini-batch b depends on the size of the dataset. But generally, it should be "
       "around 1.5 times the number of outliers so that even in the worst case, it won't be affected much by "
       "outliers.” Outliers counted here: training samples with a modified z-score 0.6745·|x − median|/MAD above "
       "3.5 in any raw input feature (regression: or target); features where half the samples share one value are "
       "skipped. A rule of thumb, not a law; lecture 000 adds: experiment with moderate batch sizes.")


class BatchAdviceRow(QWidget):
    apply = Signal(int)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("batchAdvice")
        self.doc = document
        self.advice = None
        self._key = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("batchAdviceText")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #5b6573;")
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.label.setMinimumWidth(1)
        self.button = QPushButton("Apply")
        self.button.setObjectName("batchAdviceApply")
        self.button.setToolTip("Set the batch size to the notes' suggestion (undoable)")
        self.button.clicked.connect(self._on_apply)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        for w in (self, self.label):
            w.setToolTip(TIP)
            w.setWhatsThis(TIP)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self.recompute)
        document.sessionChanged.connect(self._on_session_changed)
        document.sessionReplaced.connect(self.timer.start)
        self.recompute()

    @Slot(str)
    def _on_session_changed(self, key):
        if key in ("dataset", "seed"):
            self.timer.start()
        elif key == "training":
            self._show()

    def _data_key(self):
        s = self.doc.session
        try:
            return json.dumps([s.dataset, s.seed], sort_keys=True, default=repr)
        except (TypeError, ValueError):
            return None

    def _current(self):
        from engine.session import TRAINING_SCHEMA

        try:
            return TRAINING_SCHEMA.validate(self.doc.session.training, owner="training")["batch_size"] or None
        except InvalidInput:
            return None

    @Slot()
    def recompute(self):
        """Count the outliers again if the dataset or the seed changed since the last count."""
        key = self._data_key()
        if key is not None and key == self._key and self.advice is not None:
            self._show()
            return
        from engine.batch_advice import advise_batch
        from engine.data import make_dataset

        self._key = key
        try:
            data = make_dataset(self.doc.session.dataset, seed=self.doc.session.seed)
            self.advice, self._error = advise_batch(data), None
        except InvalidInput as e:
            self.advice, self._error = None, str(e)
        self._show()

    def _show(self):
        adv = self.advice
        if adv is None:
            self.label.setText(f"Batch-size rule of the notes: cannot count outliers ({self._error})"
                               if getattr(self, "_error", None) else "")
            self.button.setEnabled(False)
            return
        adv.current = self._current()
        self.label.setText(adv.text())
        self.button.setEnabled(adv.suggested is not None and adv.suggested != adv.current)

    def _on_apply(self):
        if self.advice is not None and self.advice.suggested is not None:
            self.apply.emit(int(self.advice.suggested))


if __name__ == "__main__":  # python -m gui.panels.batch_advice_row: a noisy regression with a few far targets
    import sys

    import numpy as np

    from engine.session import Session
    from gui.document import Document
    from gui.panels import preview

    def _make():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(120, 2))
        y = x[:, :1] + 0.1 * rng.normal(size=(120, 1))
        y[[5, 40, 77]] = 25.0
        s = Session()
        s.dataset = {"type": "inline", "params": {"x": x.tolist(), "y": y.tolist(), "task": "regression"},
                     "split": {"train": 1.0, "val": 0.0, "test": 0.0}}
        return BatchAdviceRow(Document(s))

    sys.exit(preview(_make, (360, 80)))
