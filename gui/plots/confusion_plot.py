"""The validation confusion matrix after each epoch: rows are true classes, columns predictions.

Cells are coloured by the share of their row (fixed levels 0..1), and carry the count.
It comes free with every epoch: the trainer's validation metrics include it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from . import LivePlot, colorbar, plot_widget, sequential_cmap

MAX_TEXT = 12  # cell labels only up to this many classes


class ConfusionPlot(LivePlot):
    title = "Confusion"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = self.add_control(QLabel(), right=True)
        self.info.setStyleSheet("color: #5b6573;")
        self.pw = plot_widget(x="predicted class", y="true class")
        self.item = self.pw.getPlotItem()
        self.item.showGrid(x=False, y=False)
        self.item.invertY(True)
        self.item.setAspectLocked(True)
        self.item.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.item.addItem(self.image)
        self.cbar = colorbar((0, 1), sequential_cmap(), "share of row")
        self.cbar.setImageItem(self.image, insert_in=self.item)
        self.body_layout.addWidget(self.pw, 1)
        self.texts: list = []
        self.matrix = None
        self.epoch = 0
        self.split = "validation"

    def applies(self, meta):
        if meta.task == "multilabel":
            return ("Multi-label data has one yes/no per label, not one class per sample: see each label's TP/FP/FN/TN, "
                    "the Hamming loss and the subset accuracy in Analyze ▸ Evaluation.")
        if meta.task != "classification":
            return "The confusion matrix is for classification; this is a regression task (see Predictions)."
        return None

    def set_meta(self, meta):
        super().set_meta(meta)
        for t in self.texts:
            self.item.removeItem(t)
        self.texts = []
        if meta is None or self.applies(meta):
            return
        n = max(meta.n_classes, 2)
        names = meta.class_names if len(meta.class_names) == n else [str(i) for i in range(n)]
        ticks = [[(i, str(names[i])) for i in range(n)]]
        self.item.getAxis("bottom").setTicks(ticks)
        self.item.getAxis("left").setTicks(ticks)
        self.item.setXRange(-0.5, n - 0.5, padding=0.02)
        self.item.setYRange(-0.5, n - 0.5, padding=0.02)
        if n <= MAX_TEXT:
            font = QFont()
            font.setPointSize(9 if n > 5 else 11)
            for i in range(n):
                for j in range(n):
                    t = pg.TextItem("", anchor=(0.5, 0.5), color="#1d232b")
                    t.setFont(font)
                    t.setPos(j, i)
                    self.item.addItem(t)
                    self.texts.append(t)

    def clear(self):
        self.matrix = None
        self.image.clear()
        self.info.setText("")
        for t in self.texts:
            t.setText("")

    def ingest(self, batch):
        for ev in batch.epochs:
            cm = (ev.val_metrics or {}).get("confusion")
            split = "validation"
            if cm is None:
                cm, split = (ev.train_metrics or {}).get("confusion"), "training"
            if cm is not None:
                self.matrix, self.epoch, self.split = np.asarray(cm, dtype=float), ev.epoch, split
                self.dirty = True

    def redraw(self):
        m = self.matrix
        if m is None:
            return
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        self.image.setImage(share, autoLevels=False, levels=(0, 1))
        n = len(m)
        self.image.setRect(-0.5, -0.5, n, n)
        if len(self.texts) == n * n:
            for k, t in enumerate(self.texts):
                i, j = divmod(k, n)
                t.setText(f"{int(m[i, j])}")
                t.setColor("w" if share[i, j] > 0.6 else "#1d232b")
        acc = np.trace(m) / m.sum() if m.sum() else float("nan")
        self.info.setText(f"{self.split} set, epoch {self.epoch}: accuracy {acc:.3f}")

    def export_item(self):
        return self.item

    def csv_table(self):
        m = self.matrix
        if m is None:
            return ["true class"], [[]]
        names = self.meta.class_names if len(self.meta.class_names) == len(m) else list(range(len(m)))
        header = ["true class"] + [f"predicted {c}" for c in names]
        return header, [np.array(names, dtype=object)] + [m[:, j] for j in range(len(m))]
