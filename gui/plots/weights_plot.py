"""Weight histograms per layer, like TensorBoard's histogram and distribution tabs.

Left: the current histogram of the selected parameter (``stepMode="center"``).
Right: how the distribution moved over time, as a heatmap with fixed levels
and a colour bar: every stored histogram is re-binned onto one shared value
axis and each column is scaled to its densest bin (1 = most weights there).
At most ``MAX_COLUMNS`` histograms are kept per parameter; past that every
second one is dropped, so a long run costs the same as a short one.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel

from . import TRAIN_PEN, LivePlot, colorbar, layout_widget, sequential_cmap, style_plot

MAX_COLUMNS = 240
VALUE_BINS = 48


def rebin(counts, edges, new_edges):
    """Counts of a histogram re-distributed onto ``new_edges`` (uniform density inside each old bin)."""
    cdf = np.concatenate([[0.0], np.cumsum(np.asarray(counts, dtype=np.float64))])
    return np.diff(np.interp(new_edges, np.asarray(edges, dtype=np.float64), cdf, left=0.0, right=cdf[-1]))


class _Hist:
    """Stored histograms of one parameter, re-binned lazily onto a sticky value range."""

    def __init__(self):
        self.x, self.counts, self.edges, self.cols = [], [], [], []
        self.lo = self.hi = None
        self.seen = None  # smallest and largest weight seen

    def add(self, x, counts, edges):
        if len(self.x) >= MAX_COLUMNS:
            self.x, self.counts, self.edges, self.cols = self.x[::2], self.counts[::2], self.edges[::2], self.cols[::2]
        self.x.append(float(x))
        self.counts.append(np.asarray(counts, dtype=np.float64))
        self.edges.append(np.asarray(edges, dtype=np.float64))
        self.cols.append(None)
        lo, hi = float(edges[0]), float(edges[-1])
        self.seen = (lo, hi) if self.lo is None else (min(lo, self.seen[0]), max(hi, self.seen[1]))
        if self.lo is None or lo < self.lo or hi > self.hi:
            # grow with a margin, so the range (and every re-binned column) rarely changes
            pad = 0.15 * (self.seen[1] - self.seen[0])
            self.lo, self.hi = self.seen[0] - pad, self.seen[1] + pad
            self.cols = [None] * len(self.x)

    def _col(self, k):
        if self.cols[k] is None:
            col = rebin(self.counts[k], self.edges[k], np.linspace(self.lo, self.hi, VALUE_BINS + 1))
            m = col.max()
            self.cols[k] = col / m if m > 0 else col
        return self.cols[k]

    def heatmap(self, columns=MAX_COLUMNS):
        """(image (VALUE_BINS, T), x0, x1, lo, hi) resampled to T uniform time columns."""
        x = np.asarray(self.x)
        t = min(columns, max(len(x), 1))
        grid = np.linspace(x[0], x[-1], t) if len(x) > 1 else x[:1]
        pick = np.clip(np.searchsorted(x, grid, side="right") - 1, 0, len(x) - 1)
        img = np.stack([self._col(k) for k in pick], axis=1)
        x1 = x[-1] if x[-1] > x[0] else x[0] + 1e-3
        return img, x[0], x1, self.lo, self.hi


class WeightsPlot(LivePlot):
    title = "Weights"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.add_control(QLabel("Parameter"))
        self.selector = QComboBox()
        self.selector.setMinimumContentsLength(14)
        self.selector.setToolTip("Which layer's parameter to show (node.parameter)")
        self.selector.currentTextChanged.connect(self._selected)
        self.add_control(self.selector)
        self.info = QLabel()
        self.info.setStyleSheet("color: #5b6573;")
        self.add_control(self.info, right=True)
        self.glw = layout_widget()
        self.hist_item = style_plot(self.glw.addPlot(row=0, col=0), x="weight value", y="count",
                                    title="Current histogram")
        self.hist_curve = self.hist_item.plot([0, 1], [0], stepMode="center", fillLevel=0,
                                              brush=(*TRAIN_PEN, 110), pen=pg.mkPen(TRAIN_PEN, width=1.5),
                                              name="count")
        self.dist_item = style_plot(self.glw.addPlot(row=0, col=1), x="epoch", y="weight value",
                                    title="Distribution over time")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.dist_item.addItem(self.image)
        self.cbar = colorbar((0, 1), sequential_cmap(), "relative density")
        self.cbar.setImageItem(self.image, insert_in=self.dist_item)
        self.glw.ci.layout.setColumnStretchFactor(0, 2)
        self.glw.ci.layout.setColumnStretchFactor(1, 3)
        self.body_layout.addWidget(self.glw, 1)
        self.hists: dict[str, _Hist] = {}
        self.latest = {}

    def set_meta(self, meta):
        super().set_meta(meta)
        self.selector.blockSignals(True)
        self.selector.clear()
        if meta is not None:
            keys = list(meta.layer_keys)
            self.selector.addItems(keys)
            weights = [k for k in keys if k.endswith(".weight")]
            if weights:
                self.selector.setCurrentText(weights[0])
        self.selector.blockSignals(False)

    def _selected(self, _key):
        self.dirty = True

    def clear(self):
        self.hists.clear()
        self.latest.clear()
        self.hist_curve.setData([0, 1], [0])
        self.image.clear()
        self.info.setText("")

    def ingest(self, batch):
        st = batch.stats
        if st is None:
            return
        x = batch.grad_x[-1] if len(batch.grad_x) else float(st.epoch)
        for ls in st.layers:
            key = f"{ls.node}.{ls.param}"
            if not (np.all(np.isfinite(ls.hist_edges)) and ls.hist_edges[-1] > ls.hist_edges[0]):
                continue
            self.hists.setdefault(key, _Hist()).add(x, ls.hist_counts, ls.hist_edges)
            self.latest[key] = ls
        self.dirty = True

    def redraw(self):
        key = self.selector.currentText()
        ls, h = self.latest.get(key), self.hists.get(key)
        if ls is None or h is None:
            return
        self.hist_curve.setData(np.asarray(ls.hist_edges), np.asarray(ls.hist_counts, dtype=float))
        img, x0, x1, lo, hi = h.heatmap()
        self.image.setImage(img, autoLevels=False, levels=(0, 1))
        self.image.setRect(x0, lo, x1 - x0, hi - lo)
        self.info.setText(f"mean {ls.mean:.3g}   std {ls.std:.3g}   norm {ls.norm:.3g}   grad norm {ls.grad_norm:.3g}")

    def export_item(self):
        return self.glw.ci

    def menus(self):
        return [self.hist_item.getViewBox().menu, self.dist_item.getViewBox().menu]

    def csv_table(self):
        key = self.selector.currentText()
        ls, h = self.latest.get(key), self.hists.get(key)
        if ls is None or h is None:
            return ["bin left", "bin right", "count"], [[], [], []]
        e = np.asarray(ls.hist_edges)
        header = [f"{key} bin left", "bin right", "count (current)"]
        cols = [e[:-1], e[1:], np.asarray(ls.hist_counts, dtype=float)]
        img, x0, x1, lo, hi = h.heatmap()
        centres = np.linspace(lo, hi, VALUE_BINS + 1)
        centres = 0.5 * (centres[:-1] + centres[1:])
        xs = np.linspace(x0, x1, img.shape[1]) if img.shape[1] > 1 else np.asarray([x0])
        header.append("value bin centre")
        cols.append(centres)
        for j, xv in enumerate(xs):
            header.append(f"density at epoch {xv:.3f}")
            cols.append(img[:, j])
        return header, cols
