"""Gradient norm of every trainable layer over time (log axis); vanishing/exploding layers are flagged.

The flags come from ``engine.diagnostics.diagnose_gradients`` (the same check
the Diagnostics panel shows): a flagged layer's curve turns red and
its legend entry names the problem.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from ..panels.diagnostics_panel import GradientTracker
from . import SERIES, GrowBuf, LivePlot, RangeKeeper, fast_curve, legend_above, plot_widget

FLAG_PEN = (200, 30, 30)
CHECK_EVERY = 0.5


class GradientsPlot(LivePlot):
    title = "Gradients"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pw = plot_widget(x="epoch", y="gradient norm (log)")
        self.item = self.pw.getPlotItem()
        self.item.setLogMode(y=True)
        self.item.getAxis("left").setStyle(maxTextLevel=0)  # label powers of ten only (minor labels overlap)
        self.legend = legend_above(self.pw, columns=5)
        self.flag_label = QLabel()
        self.flag_label.setWordWrap(True)
        self.flag_label.setStyleSheet("color: #b42318;")
        self.add_control(self.flag_label, right=True)
        self.body_layout.addWidget(self.pw, 1)
        self.range = RangeKeeper(self.item)
        self.bufs: dict[str, GrowBuf] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.tracker = GradientTracker()
        self.flags: dict[str, str] = {}
        self._next = 0.0

    def set_meta(self, meta):
        super().set_meta(meta)
        for c in self.curves.values():
            self.legend.removeItem(c)
            self.item.removeItem(c)
        self.curves, self.bufs = {}, {}
        if meta is None:
            return
        self.tracker.set_order(meta.weight_nodes)
        for i, nid in enumerate(meta.weight_nodes):
            self.bufs[nid] = GrowBuf(2)
            self.curves[nid] = fast_curve(self.item, pen=pg.mkPen(SERIES[i % len(SERIES)], width=1))
            self.legend.addItem(self.curves[nid], nid)

    def clear(self):
        self.range.reset()
        for b in self.bufs.values():
            b.clear()
        for c in self.curves.values():
            c.setData([], [])
        self.flags = {}
        self.flag_label.setText("")
        self.tracker.set_order(self.meta.weight_nodes if self.meta is not None else [])

    def ingest(self, batch):
        if not len(batch.grad_x):
            return
        for nid, vals in batch.grad_norms.items():
            if nid in self.bufs:
                self.bufs[nid].extend(batch.grad_x, vals)
        self.tracker.add(batch.grad_norms)
        self.dirty = True

    def _check(self):
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + CHECK_EVERY
        flags = {d.layer: d.code for d in self.tracker.diagnoses() if d.layer}
        if flags == self.flags:
            return
        self.flags = flags
        for i, (nid, c) in enumerate(self.curves.items()):
            bad = nid in flags
            c.setPen(pg.mkPen(FLAG_PEN if bad else SERIES[i % len(SERIES)], width=1))
            label = self.legend.getLabel(c)
            if label is not None:
                label.setText(f"{nid} ⚠ {flags[nid]}" if bad else nid)
        self.flag_label.setText("  ".join(f"⚠ {nid}: {code} gradients" for nid, code in flags.items()))

    def redraw(self):
        xs, ys = [], []
        for nid, c in self.curves.items():
            b = self.bufs[nid]
            y = b.col(1)
            ok = np.isfinite(y) & (y > 0)
            c.set_series(b.col(0)[ok], y[ok])
            xs.append(b.col(0)[-1:])
            ys.append(y[ok])
        self.range.update(xs, ys)
        for c in self.curves.values():
            c.show_stale()  # unless the range change above showed it
        self._check()

    def export_item(self):
        return self.pw.legend_layout

    def csv_table(self):
        header, cols = [], []
        for nid, b in self.bufs.items():
            header += [f"{nid} epoch", f"{nid} gradient norm"]
            cols += [b.col(0), b.col(1)]
        return header, cols
