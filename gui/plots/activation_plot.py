"""Dead ReLU fraction and sigmoid/tanh saturation per layer, from a fixed batch of training points.

The numbers come from ``engine.diagnostics.activation_stats`` computed in the
worker; the dashed line marks the limit past which the Diagnostics panel warns.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.diagnostics import DEAD_LIMIT, RELU_FAMILY

from . import BLUE, ORANGE, LivePlot, legend_above, plot_widget


class ActivationPlot(LivePlot):
    title = "Activations"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pw = plot_widget(y="fraction")
        self.item = self.pw.getPlotItem()
        self.item.setYRange(0, 1.05, padding=0)
        self.item.setMouseEnabled(x=False, y=False)
        self.legend = legend_above(self.pw)
        self.dead = pg.BarGraphItem(x=[], height=[], width=0.38, brush=ORANGE, pen=None, name="dead ReLU units")
        self.sat = pg.BarGraphItem(x=[], height=[], width=0.38, brush=BLUE, pen=None,
                                   name="saturated sigmoid/tanh values")
        self.item.addItem(self.dead)
        self.item.addItem(self.sat)
        self.legend.addItem(self.dead, "dead ReLU units (share of units)")
        self.legend.addItem(self.sat, "saturated sigmoid/tanh outputs (share of values)")
        self.limit = pg.InfiniteLine(DEAD_LIMIT, angle=0, pen=pg.mkPen((180, 35, 24), width=1, style=Qt.DashLine),
                                     label="warning limit", labelOpts={"position": 0.02, "color": (180, 35, 24),
                                                                       "anchors": [(0, 1), (0, 1)]})
        self.item.addItem(self.limit)
        self.body_layout.addWidget(self.pw, 1)
        self.nodes: list[str] = []
        self.values: dict = {}

    def applies(self, meta):
        if not meta.activations:
            return ("No layer uses ReLU, sigmoid or tanh, so there are no dead units or saturation to "
                    "measure.")
        return None

    def set_meta(self, meta):
        super().set_meta(meta)
        self.nodes = list(meta.activations) if meta is not None else []
        ticks = [(i, f"{n} ({meta.activations[n]})") for i, n in enumerate(self.nodes)] if meta else []
        self.item.getAxis("bottom").setTicks([ticks])
        self.item.setXRange(-0.6, max(len(self.nodes), 1) - 0.4, padding=0)

    def clear(self):
        self.values = {}
        self.dead.setOpts(x=[], height=[])
        self.sat.setOpts(x=[], height=[])

    def ingest(self, batch):
        if batch.activations:
            self.values = dict(batch.activations)
            self.dirty = True

    def _arrays(self):
        idx = np.arange(len(self.nodes), dtype=float)
        dead = np.array([self.values.get(n, {}).get("dead_fraction", 0.0) for n in self.nodes])
        sat = np.array([self.values.get(n, {}).get("saturated_fraction", 0.0) for n in self.nodes])
        relu = np.array([self.meta.activations[n] in RELU_FAMILY for n in self.nodes]) if self.nodes else []
        return idx, dead, sat, relu

    def redraw(self):
        if not self.nodes:
            return
        idx, dead, sat, relu = self._arrays()
        self.dead.setOpts(x=idx[relu] - 0.2 if len(idx) else [], height=dead[relu] if len(idx) else [])
        self.sat.setOpts(x=idx[~relu] + 0.2 if len(idx) else [], height=sat[~relu] if len(idx) else [])

    def export_item(self):
        return self.pw.legend_layout

    def csv_table(self):
        if not self.nodes:
            return ["layer", "activation", "dead fraction", "saturated fraction"], [[], [], [], []]
        idx, dead, sat, _ = self._arrays()
        return (["layer", "activation", "dead fraction", "saturated fraction"],
                [np.array(self.nodes, dtype=object), np.array([self.meta.activations[n] for n in self.nodes],
                                                              dtype=object), dead, sat])
