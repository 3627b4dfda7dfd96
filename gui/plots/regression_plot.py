"""Predicted against true values on the validation set: points on the diagonal are perfect."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from . import BLUE, LivePlot, plot_widget


class RegressionPlot(LivePlot):
    title = "Predictions"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = self.add_control(QLabel(), right=True)
        self.info.setStyleSheet("color: #5b6573;")
        self.pw = plot_widget(x="true value", y="predicted value")
        self.item = self.pw.getPlotItem()
        self.diag = self.item.plot([], [], pen=pg.mkPen((120, 120, 120), width=1, style=Qt.DashLine),
                                   name="perfect")
        self.scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*BLUE, 150), name="validation")
        self.item.addItem(self.scatter)
        self.body_layout.addWidget(self.pw, 1)
        self.pair = None

    def applies(self, meta):
        if meta.task != "regression":
            return "Predicted-vs-true is for regression; this is a classification task (see Confusion)."
        return None

    def set_meta(self, meta):
        super().set_meta(meta)
        if meta is None or self.applies(meta) or meta.y_range is None:
            return
        lo, hi = meta.y_range
        pad = 0.1 * (hi - lo) if hi > lo else 1.0
        self.lim = (lo - pad, hi + pad)
        self.diag.setData(list(self.lim), list(self.lim))
        self.item.setXRange(*self.lim, padding=0)
        self.item.setYRange(*self.lim, padding=0)

    def clear(self):
        self.pair = None
        self.scatter.clear()
        self.info.setText("")

    def ingest(self, batch):
        if batch.predictions is not None:
            self.pair = batch.predictions
            self.dirty = True

    def redraw(self):
        if self.pair is None:
            return
        t, p = self.pair
        ok = np.isfinite(p)
        self.scatter.setData(t[ok], p[ok])
        if ok.any():
            err = p[ok] - t[ok]
            ss = ((t[ok] - t[ok].mean()) ** 2).sum()
            r2 = 1 - (err ** 2).sum() / ss if ss > 0 else float("nan")
            self.info.setText(f"{ok.sum()} points   RMSE {np.sqrt(np.mean(err ** 2)):.3g}   R² {r2:.3f}")

    def export_item(self):
        return self.item

    def csv_table(self):
        if self.pair is None:
            return ["true", "predicted"], [[], []]
        return ["true", "predicted"], [self.pair[0], self.pair[1]]
