"""Explanations of the current model (lecture 001): permutation importance with bootstrap intervals, partial
dependence with ICE curves for one feature, and the Ŷ-versus-X_j scatter.

Permutation importance: how much the score (accuracy, or R² for regression) drops when one feature's column
is shuffled, with a 95% bootstrap interval over resamples of the rows. PDP: X_j swept with every other feature
at its mean, median or most common value; ICE: the same sweep for individual observations, keeping their
own other values. Computed by ``engine.explain`` on a frozen copy of the run, off the GUI thread.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QWidget

from ..plots import BLUE, ORANGE, TEXT, plot_widget
from .base import AnalysisView

ICE_PEN = pg.mkPen(120, 130, 140, 60)


class ExplainView(AnalysisView):
    title = "Explanations"
    needs = "Train the network first (Train, F5), then press Compute: which inputs matter, and how."

    def __init__(self, run_provider=None, parent=None):
        super().__init__(run_provider, parent)
        self.split = self.add_control(QComboBox(), "split")
        self.split.addItems(["test", "val", "train"])
        self.boot = self.add_control(QSpinBox(), "bootstrap")
        self.boot.setObjectName("bootRounds")
        self.boot.setRange(2, 1000)
        self.boot.setValue(30)
        self.boot.setToolTip("Resamples of the rows for the importance intervals (more: steadier, slower).")
        self.feature = self.add_control(QComboBox(), "feature")
        self.feature.setObjectName("pdpFeature")
        self.feature.setToolTip("The feature X_j swept in the partial dependence and ICE plot.")
        self.feature.currentIndexChanged.connect(self._draw_curves)
        self.at = self.add_control(QComboBox(), "others at")
        self.at.setObjectName("pdpAt")
        for text, key in (("mean", "mean"), ("median", "median"), ("most common", "mode")):
            self.at.addItem(text, key)
        self.at.setToolTip("Where the other features are held in the partial dependence: their mean, median, or "
                           "most common value (for categorical features).")
        self.at.currentIndexChanged.connect(lambda _: self.compute() if self.result is not None else None)
        self.finish_bar()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.imp = plot_widget(x="feature", y="drop in score when shuffled", title="permutation importance")
        self.imp.setObjectName("importancePlot")
        self.pdp = plot_widget(x="feature value", y="prediction", title="partial dependence + ICE")
        self.pdp.setObjectName("pdpPlot")
        self.sc = plot_widget(x="feature value", y="prediction Ŷ", title="Ŷ vs X_j")
        self.sc.setObjectName("scatterPlot")
        for pw in (self.imp, self.pdp, self.sc):
            pw.setMinimumSize(150, 120)
            pw.setMouseEnabled(False, False)
            row.addWidget(pw, 1)
        holder = QWidget()
        holder.setLayout(row)
        self.body.addWidget(holder, 1)
        self.note = QLabel()
        self.note.setObjectName("explainNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {TEXT};")
        self.note.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Minimum)
        self.body.addWidget(self.note)
        self.bars = None
        self.errors = None
        self.pdp_curve = None
        self.scatter = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*BLUE, 120))
        self.sc.addItem(self.scatter)

    def job(self, run):
        if run is None:
            return None
        from engine.evaluation import Frozen
        from engine.explain import explain_run

        frozen = Frozen(run)
        split, boot, at = self.split.currentText(), int(self.boot.value()), self.at.currentData()
        return lambda progress, stop: explain_run(frozen, split, n_boot=boot, at=at)

    def show_result(self, rep):
        names = rep["features"]
        keep = self.feature.currentIndex()
        self.feature.blockSignals(True)
        self.feature.clear()
        self.feature.addItems(names)
        self.feature.setCurrentIndex(keep if 0 <= keep < len(names) else 0)
        self.feature.blockSignals(False)
        imp = rep["importance"]
        x = np.arange(len(imp), dtype=float)
        mean = np.array([i["mean"] for i in imp])
        lo = np.array([i["lower"] for i in imp])
        hi = np.array([i["upper"] for i in imp])
        item = self.imp.getPlotItem()
        for old in (self.bars, self.errors):
            if old is not None:
                item.removeItem(old)
        self.bars = pg.BarGraphItem(x=x, height=mean, width=0.6, brush=pg.mkBrush(*BLUE, 200), pen=None)
        self.errors = pg.ErrorBarItem(x=x, y=mean, top=hi - mean, bottom=mean - lo, beam=0.25,
                                      pen=pg.mkPen((30, 30, 30), width=1.5))
        item.addItem(self.bars)
        item.addItem(self.errors)
        item.getAxis("bottom").setTicks([[(float(i), n) for i, n in enumerate(names)]] if len(names) <= 24 else None)
        top = max(float(np.max(hi)) if hi.size else 0.0, 1e-3)
        bottom = min(float(np.min(lo)) if lo.size else 0.0, 0.0)
        item.setYRange(bottom, top * 1.1, padding=0.05)
        item.setXRange(-0.6, len(imp) - 0.4, padding=0)
        score = "accuracy" if rep["task"] == "classification" else "R²"
        best = max(imp, key=lambda i: i["mean"]) if imp else None
        pct = int(round(100 * rep["level"]))
        text = (f"Score on the {rep['split']} split: {score} {rep['baseline']:.3f}. Bars: the drop in {score} when a "
                f"feature is shuffled, whiskers its {pct}% bootstrap interval ({rep['n_boot']} resamples).")
        if best is not None:
            text += f" Most important: {best['feature']}."
        zero = [i["feature"] for i in imp if i["lower"] <= 0 <= i["upper"]]
        if zero:
            text += f" Indistinguishable from no effect: {', '.join(zero[:6])}{'…' if len(zero) > 6 else ''}."
        text += " Correlated features share credit: shuffling one leaves its twin to carry the information."
        self.note.setText(text)
        self._draw_curves()

    def _draw_curves(self, *_):
        rep = self.result
        if rep is None or not rep.get("curves") or self.feature.currentIndex() < 0:
            return
        name = rep["features"][self.feature.currentIndex()]
        c = rep["curves"][name]
        item = self.pdp.getPlotItem()
        item.clear()
        for row in c["ice"]:
            item.plot(c["grid"], row, pen=ICE_PEN)
        self.pdp_curve = item.plot(c["grid"], c["pdp"], pen=pg.mkPen(ORANGE, width=3))
        at = {"mean": "mean", "median": "median", "mode": "most common value"}[c["at"]]
        item.setTitle(f"PDP of {name} (others at their {at}) + {len(c['ice'])} ICE", color=TEXT, size="10pt")
        item.setLabel("bottom", name, color=TEXT)
        self.scatter.setData(c["scatter_x"], c["scatter_y"])
        self.sc.getPlotItem().setLabel("bottom", name, color=TEXT)
        self.sc.getPlotItem().setTitle(f"Ŷ vs {name}", color=TEXT, size="10pt")

    def export_item(self):
        return self.imp.getPlotItem()

    def csv_table(self):
        rep = self.result
        if rep is None:
            return ["feature", "importance"], [[], []]
        imp = rep["importance"]
        return (["feature", "importance", "lower", "upper"],
                [[i["feature"] for i in imp], [i["mean"] for i in imp], [i["lower"] for i in imp],
                 [i["upper"] for i in imp]])


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(ExplainView))
