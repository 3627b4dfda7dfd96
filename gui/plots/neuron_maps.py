"""What every hidden unit computes over the input plane: one small map per unit, TF Playground style.

The maps are the ``post`` values of ``forward_record`` on the boundary grid.
Colours are fixed per activation (tanh -1..1, sigmoid 0..1) and symmetric
around 0 for the others (scaled to the layer's largest value in that frame).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from engine.views import GRID

from . import LivePlot, diverging_cmap, layout_widget

PER_ROW = 8
FIXED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "logistic": (0.0, 1.0)}


class NeuronMaps(LivePlot):
    title = "Neurons"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.glw = layout_widget()
        self.glw.ci.setSpacing(3)
        self.body_layout.addWidget(self.glw, 1)
        self.images: dict[str, list] = {}
        self._placed: dict[str, int] = {}
        self.frame = None
        self._lut = diverging_cmap().getLookupTable(nPts=256)

    def applies(self, meta):
        if meta.extent is None:
            return "Neuron maps need 2-D inputs, so each unit can be drawn over the input plane."
        if not meta.hidden_maps:
            return "This network has no hidden layer with a flat output to draw."
        return None

    def set_meta(self, meta):
        super().set_meta(meta)
        self.glw.clear()
        self.images = {}
        self._placed = {}  # node -> the grid size its images were placed for
        if meta is None or self.applies(meta):
            return
        row = 0
        blank = np.zeros((GRID, GRID))
        for nid, units in meta.hidden_maps:
            act = meta.activations.get(nid, "")
            label = self.glw.addLabel(f"<b>{nid}</b><br>{units} units{'<br>' + act if act else ''}",
                                      row=row, col=0, color="#1d232b", size="9pt")
            label.setFixedWidth(80)
            ims = []
            for u in range(units):
                vb = self.glw.addViewBox(row=row + u // PER_ROW, col=1 + u % PER_ROW, lockAspect=False,
                                         enableMouse=False, invertY=False)
                vb.setMenuEnabled(False)
                vb.setBorder(pg.mkPen("#c3c9d2"))
                im = pg.ImageItem(axisOrder="row-major")
                im.setLookupTable(self._lut)
                im.setToolTip(f"{nid} unit {u}")
                vb.addItem(im)
                im.setImage(blank, autoLevels=False, levels=(-1.0, 1.0))  # placed now, while the plot is built,
                im.setRect(QRectF(0, 0, GRID, GRID))  # not on the first frame (a rect needs an image's size)
                vb.setRange(QRectF(0, 0, GRID, GRID), padding=0)
                ims.append((vb, im))
            self.images[nid] = ims
            self._placed[nid] = GRID
            row += (units + PER_ROW - 1) // PER_ROW

    def clear(self):
        self.frame = None
        for ims in self.images.values():
            for _, im in ims:
                im.clear()

    def ingest(self, batch):
        if batch.boundary is not None and batch.boundary.neurons:
            self.frame = batch.boundary
            self.dirty = True

    def redraw(self):
        f = self.frame
        if f is None:
            return
        for nid, ims in self.images.items():
            maps = f.neurons.get(nid)
            if maps is None:
                continue
            act = self.meta.activations.get(nid, "")
            if act in FIXED:
                levels = FIXED[act]
            else:
                m = float(np.nanmax(np.abs(maps))) if np.isfinite(maps).any() else 1.0
                levels = (-max(m, 1e-6), max(m, 1e-6))
            g = maps.shape[-1]
            placed = self._placed.get(nid) == g  # a ViewBox range change re-lays out the box: only when g changes
            for u, (vb, im) in enumerate(ims):
                im.setImage(np.nan_to_num(maps[u]), autoLevels=False, levels=levels)
                if not placed:
                    im.setRect(QRectF(0, 0, g, g))
                    vb.setRange(QRectF(0, 0, g, g), padding=0)
            self._placed[nid] = g

    def export_item(self):
        return self.glw.ci

    def menus(self):
        return []

    def csv_table(self):
        f = self.frame
        if f is None:
            return ["unit"], [[]]
        header, cols = [], []
        for nid, maps in f.neurons.items():
            for u in range(maps.shape[0]):
                header.append(f"{nid}[{u}]")
                cols.append(maps[u].ravel())
        return header, cols
