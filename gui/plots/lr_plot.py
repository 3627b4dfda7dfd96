"""The learning rate actually used at every step (schedules, and live changes from the Training panel)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox

import numpy as np

from . import STEP_POINTS, TRAIN_PEN, GrowBuf, LivePlot, RangeKeeper, fast_curve, plot_widget


class LRPlot(LivePlot):
    title = "Learning rate"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_box = self.add_control(QCheckBox("Log scale"))
        self.log_box.toggled.connect(self._set_log)
        self.pw = plot_widget(x="epoch", y="learning rate")
        self.item = self.pw.getPlotItem()
        self.curve = fast_curve(self.item, pen=pg.mkPen(TRAIN_PEN, width=2), name="learning rate")
        self.body_layout.addWidget(self.pw, 1)
        self.range = RangeKeeper(self.item)
        self.buf = GrowBuf(2, cap=STEP_POINTS)

    def _set_log(self, on):
        self.item.setLogMode(y=on)
        self.item.getAxis("left").setStyle(maxTextLevel=0 if on else 2)
        self.range.reset()
        self.dirty = True

    def clear(self):
        self.range.reset()
        self.buf.clear()
        self.curve.setData([], [])

    def ingest(self, batch):
        if len(batch.lrs):
            self.buf.extend(batch.xs, batch.lrs)
            self.dirty = True

    def redraw(self):
        x, y = self.buf.col(0), self.buf.col(1)
        self.curve.set_series(x, y)
        if len(y):
            self.range.update([x[-1:]], [np.array([np.nanmin(y), np.nanmax(y)])])
        self.curve.show_stale()  # unless the range change above showed it

    def export_item(self):
        return self.item

    def csv_table(self):
        return ["epoch (fractional)", "learning rate"], [self.buf.col(0), self.buf.col(1)]
