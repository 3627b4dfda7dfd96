"""Curvature (lecture 001): the Hessian of the training loss at the current weights, and what it says.

Compute copies the network between two steps (``engine.curvature``) and shows, in the notes' words,
whether the weights sit at a critical point and of which kind (minimum, saddle, maximum), the
spectrum of curvatures (negative ones red), the condition number, and gradient descent's step-size
limit 2/λ_max next to the optimizer's η. The right plot is the loss along the steepest and the
flattest eigenvector through the weights: high curvature, "small steps lead to a huge increase".
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel

from ..plots import TRAIN_PEN, VAL_PEN, legend_above, plot_widget
from ..tables import read_only_table, set_rows
from .base import AnalysisView

NEGATIVE, POSITIVE = "#d62728", "#1f77b4"


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    return "∞" if v == math.inf else f"{v:.4g}"


class CurvatureView(AnalysisView):
    title = "Curvature"
    button_text = "Compute"
    export_kinds = ("png", "svg", "csv")
    needs = ("Train (or just build) the network, then press Compute: the Hessian of the training loss at the "
             "current weights — critical point or not, saddle or minimum, conditioning and the step-size limit.")

    def __init__(self, run_provider=None, parent=None):
        super().__init__(run_provider, parent)
        self.button.setObjectName("curvatureButton")
        self.radius = self.add_control(QDoubleSpinBox(), "profile ±")
        self.radius.setObjectName("curvatureRadius")
        self.radius.setRange(1e-3, 100.0)
        self.radius.setDecimals(3)
        self.radius.setValue(1.0)
        self.radius.setToolTip("How far along each eigenvector (unit length in weight space) the loss profile goes")
        self.log_scale = self.add_control(QCheckBox("log₁₀ |λ|"))
        self.log_scale.setObjectName("curvatureLog")
        self.log_scale.setToolTip("Plot the spectrum as log₁₀|λ| (colour keeps the sign): curvatures span many decades")
        self.log_scale.toggled.connect(self._draw_spectrum)
        self.finish_bar()
        self.verdict = QLabel()
        self.verdict.setObjectName("curvatureVerdict")
        self.verdict.setWordWrap(True)
        self.body.addWidget(self.verdict)
        row = QHBoxLayout()
        self.table = read_only_table("curvatureTable", ["quantity", "value"], stretch=(1,), word_wrap=True)
        self.table.setMinimumWidth(270)
        self.table.setMaximumWidth(380)
        row.addWidget(self.table)
        self.spectrum_pw = plot_widget(x="eigenvalue index (ascending)", y="curvature λ")
        self.spectrum_pw.setObjectName("curvatureSpectrum")
        self.spectrum_pw.setMinimumSize(200, 140)
        self.spectrum = pg.ScatterPlotItem(size=7, pen=None)
        self.spectrum_pw.getPlotItem().addItem(self.spectrum)
        self.spectrum_pw.getPlotItem().addLine(y=0, pen=pg.mkPen("#888", width=1))
        row.addWidget(self.spectrum_pw, 1)
        self.profile_pw = plot_widget(x="step t along the eigenvector", y="training loss")
        self.profile_pw.setObjectName("curvatureProfile")
        self.profile_pw.setMinimumSize(200, 140)
        legend = legend_above(self.profile_pw, columns=2)
        item = self.profile_pw.getPlotItem()
        self.steep_curve = item.plot([], [], pen=pg.mkPen(TRAIN_PEN, width=2))
        self.flat_curve = item.plot([], [], pen=pg.mkPen(VAL_PEN, width=2))
        legend.addItem(self.steep_curve, "along λ_max")
        legend.addItem(self.flat_curve, "along λ_min")
        row.addWidget(self.profile_pw, 1)
        self.body.addLayout(row, 1)
        self.rows: list = []

    def job(self, run):
        if run is None:
            return None
        from engine.curvature import curvature, line_profile

        radius = float(self.radius.value())

        def work(progress, stop):
            c = curvature(run)
            profiles = {k: line_profile(run, c.eigenvectors[:, i], radius) for k, i in (("steep", -1), ("flat", 0))}
            return c, profiles

        return work

    def show_result(self, result):
        c, profiles = result
        neg, zero, pos = c.counts()
        self.rows = [("training loss L", c.loss), ("‖∇L‖", c.grad_norm), ("kind of point", c.kind()),
                     ("parameters n", c.n_params), ("training rows used", c.n_rows),
                     ("λ_min", c.lambda_min), ("λ_max", c.lambda_max), ("condition κ = |λ|max/|λ|min", c.condition),
                     ("negative / zero / positive", f"{neg} / {zero} / {pos}"),
                     ("GD limit 2/λ_max", c.gd_lr_bound), ("optimizer η", c.lr)]
        set_rows(self.table, [(name, value if isinstance(value, str) else _fmt(value)) for name, value in self.rows],
                 tooltips=True)
        self.table.resizeRowsToContents()
        self._draw_spectrum()
        self.steep_curve.setData(*profiles["steep"])
        self.flat_curve.setData(*profiles["flat"])
        self.verdict.setText(c.verdict() + " Loss of the data term only (regularizers left out).")

    def _draw_spectrum(self, *_):
        if self.result is None:
            return
        vals = self.result[0].eigenvalues
        log = self.log_scale.isChecked()
        y = np.log10(np.maximum(np.abs(vals), 1e-300)) if log else vals
        self.spectrum.setData(np.arange(len(vals)), y, brush=[pg.mkBrush(NEGATIVE if v < 0 else POSITIVE) for v in vals])
        self.spectrum_pw.getPlotItem().setLabel("left", "log₁₀ |λ| (red: λ < 0)" if log else "curvature λ")

    def export_item(self):
        return self.profile_pw.getPlotItem()

    def csv_table(self):
        if self.result is None:
            return [], []
        c, _ = self.result
        return ["index", "eigenvalue"], [list(range(len(c.eigenvalues))), [float(v) for v in c.eigenvalues]]


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(CurvatureView))
