"""The PCA tab of Teach ▸ Unsupervised: explained-variance bars with the cumulative line, the loadings table,
the reconstruction error, and lecture 001's caution about reading meaning into components.

A thin view of ``engine.pca.PCAResult``: it computes nothing but formatting.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from ..tables import cell, read_only_table, set_rows

MAX_SHOWN = 12  # components drawn and tabulated (the digits have 64; the first dozen carry the picture)
CAUTION = (
    "<b>Reading components.</b> PCA finds the directions of largest variance without looking at any label "
    "(unsupervised, lecture 003 §1.1). Two components make a picture of many inputs, and a few keep most of "
    "the variance (see the reconstruction error). But lecture 001 asks <i>“Should I use PCA components?”</i> "
    "and answers <i>“no bueno for interpretability”</i>: each component mixes <i>every</i> input (the "
    "loadings), so “PC1 goes up” names nothing you can change or measure, the signs are arbitrary, and the "
    "largest-variance direction need not be the one that matters for the target. Scaling changes the "
    "components: unscaled, the feature with the largest units dominates PC1.")


class PCATab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.pw = pg.PlotWidget()
        self.pw.setObjectName("pcaVariancePlot")
        self.pw.setBackground("w")
        self.plot = self.pw.getPlotItem()
        self.plot.showGrid(y=True, alpha=0.25)
        self.plot.setLabel("bottom", "principal component")
        self.plot.setLabel("left", "share of the variance")
        self.plot.setYRange(0, 1.05)
        self.plot.addLegend(offset=(10, 10), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 210))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#4c78a8", name="explained variance ratio")
        self.plot.addItem(self.bars)
        self.cumulative = self.plot.plot([], [], pen=pg.mkPen("#e45756", width=2), symbol="o", symbolSize=6,
                                         symbolBrush="#e45756", name="cumulative")
        self.table = read_only_table("loadingsTable")
        self.summary = QLabel()
        self.summary.setObjectName("pcaSummary")
        self.summary.setWordWrap(True)
        self.caution = QLabel(CAUTION)
        self.caution.setObjectName("pcaCaution")
        self.caution.setWordWrap(True)
        self.caution.setTextFormat(Qt.RichText)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        head = QLabel("Loadings: coefficient × √variance — the covariance of each input with the component's "
                      "unit-variance score (on standardised inputs, their correlation)")
        head.setWordWrap(True)
        rl.addWidget(head)
        rl.addWidget(self.table, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.pw)
        split.addWidget(right)
        split.setSizes([500, 420])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split, 1)
        lay.addWidget(self.summary)
        lay.addWidget(self.caution)

    def show_pca(self, fitted, feature_names, errors):
        """Draw ``fitted`` (engine.pca.PCAResult); ``errors`` is its reconstruction error for m = 0, 1, …"""
        m = min(MAX_SHOWN, len(fitted.components))
        xs = np.arange(1, m + 1, dtype=float)
        ratio = fitted.explained_variance_ratio[:m]
        cum = fitted.cumulative_ratio[:m]
        self.bars.setOpts(x=xs, height=ratio, width=0.7)
        self.cumulative.setData(xs, cum)
        self.plot.setXRange(0.3, m + 0.7, padding=0)
        self.plot.getAxis("bottom").setTicks([[(float(i), f"PC{i}") for i in range(1, m + 1)]])
        loadings = fitted.loadings[:, :m]
        scale = float(np.abs(loadings).max()) or 1.0

        def shaded(v):  # shade by size: the inputs a component is made of stand out
            a = int(150 * abs(v) / scale)
            return cell(f"{v:+.3f}" if abs(v) >= 5e-4 else "0",  # not "−0.000"
                        background=pg.mkColor(76, 120, 168, a) if v > 0 else pg.mkColor(228, 87, 86, a))

        set_rows(self.table, [[shaded(float(v)) for v in row] for row in loadings],
                 columns=[f"PC{i} ({100 * r:.1f} %)" for i, r in enumerate(ratio, 1)],
                 row_labels=[str(n) for n in feature_names], right=True)
        n80 = int(np.searchsorted(fitted.cumulative_ratio, 0.8 - 1e-12) + 1)
        tiny = 1e-12 * max(errors[0], 1e-300)  # all components: exact up to rounding, shown as 0
        err = ", ".join(f"{k}: {0 if e <= tiny else e:.3g}" for k, e in enumerate(errors[:MAX_SHOWN + 1]))
        shown = "" if m == len(fitted.components) else f" (the first {m} of {len(fitted.components)} shown)"
        two = f", PC1–PC2 {100 * cum[1]:.1f} %" if m > 1 else " (one input: one component)"
        reach = f"{n80} components reach" if n80 != 1 else "1 component reaches"
        self.summary.setText(
            f"PC1 carries {100 * ratio[0]:.1f} % of the variance{two}; {reach} 80 %{shown}. Mean squared "
            f"reconstruction error with m components — {err}.")
