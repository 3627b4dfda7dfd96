"""Bias–variance (lecture 004): the expected test error split into bias² + variance + irreducible error, measured.

Compute trains many fresh networks of the document's settings, each on its own training set drawn from the
generator (``engine.bias_variance``, in the background; your training is not touched), and shows them:
the fitted functions (thin grey), their mean (orange) and the true function (black) along the input (a 1-D
slice for 2-D inputs) — the gap between orange and black is the bias, the grey spread the variance. With a
sweep axis (the first hidden layer's width, or an L2 λ) the decomposition is repeated per value and plotted
against it: bias² falls and variance rises as the model grows, their sum with σ² is the test error's U.
On a 2-class dataset whose class probability is known (circle, xor, gauss) the networks' P(class 1) is
decomposed instead (``engine.bias_variance_classification``): the Brier score in the same table and plots
(the true probability in black, the noise η(1 − η)), and the 0-1 loss as Domingos states it in a second
table (c₁·noise + bias + net variance, the unbiased minus the biased variance). Only datasets whose truth is
known can be decomposed; the view says so.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox

from ..plots import SERIES, legend_above, plot_widget
from ..tables import read_only_table, set_rows
from .base import SettingsView

GREY, MEAN, TRUE = (150, 150, 150, 110), (230, 120, 20), (0, 0, 0)
BIAS, VARIANCE, NOISE, TOTAL, MEASURED = SERIES[0], SERIES[2], (120, 120, 120), (0, 0, 0), SERIES[3]
SWEEPS = (("current settings only", None, ""), ("width (first hidden layer's units)", "units", "1, 2, 4, 8, 16, 32, 64"),
          ("L2 λ", "l2", "0, 0.001, 0.01, 0.03, 0.1, 0.3"))
EMPTY_SWEEP = "Choose a sweep above, then Compute"
COLUMNS = ["setting", "bias²", "variance", "σ²", "sum", "measured test MSE", "train MSE"]
BRIER_COLUMNS = ["setting", "bias²", "variance", "η(1−η)", "sum", "measured Brier", "train Brier"]
ZERO_ONE_COLUMNS = ["0-1 loss", "c₁·noise", "bias", "net variance", "Vu − Vb", "sum", "measured",
                    "Bayes error"]


def _fmt(v) -> str:
    return f"{v:.4g}"


class BiasVarianceView(SettingsView):
    title = "Bias–variance"
    button_text = "Compute"
    needs = ("Press Compute: fresh networks of your settings are trained on many training sets drawn from the "
             "generator (in the background; your training is not touched), and their test error is split into "
             "bias² + variance + irreducible noise.")

    def __init__(self, run_provider=None, parent=None, session_provider=None):
        super().__init__(run_provider, parent, session_provider)
        self._values: list = []
        self.button.setObjectName("bvButton")
        self.sets = self.add_control(QSpinBox(), "training sets")
        self.sets.setObjectName("bvSets")
        self.sets.setRange(2, 500)
        self.sets.setValue(20)
        self.sets.setToolTip("How many training sets (and networks) the averages are taken over; more = less noisy")
        self.epochs = self.add_control(QSpinBox(), "epochs")
        self.epochs.setObjectName("bvEpochs")
        self.epochs.setRange(0, 100000)
        self.epochs.setSpecialValueText("as the session")
        self.epochs.setValue(0)
        self.epochs.setToolTip("Epochs per network (0: the session's)")
        self.stop_button = self.add_control(QPushButton("Stop"))
        self.stop_button.setObjectName("bvStop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.finish_bar()
        row = QHBoxLayout()
        row.setContentsMargins(2, 0, 2, 0)
        row.addWidget(QLabel("sweep"))
        self.axis = QComboBox()
        self.axis.setObjectName("bvAxis")
        for text, key, _ in SWEEPS:
            self.axis.addItem(text, key)
        self.axis.currentIndexChanged.connect(self._axis_changed)
        row.addWidget(self.axis)
        self.values = QLineEdit()
        self.values.setObjectName("bvValues")
        self.values.setPlaceholderText("values, e.g. 1, 2, 4, 8")
        self.values.setToolTip("The sweep's values, separated by commas (2 to 16)")
        self.values.setEnabled(False)
        row.addWidget(self.values, 1)
        self.vary_init = QCheckBox("new initial weights per set")
        self.vary_init.setObjectName("bvVaryInit")
        self.vary_init.setToolTip("Off: every network starts from the session's seed, so the variance is the "
                                  "training data's alone. On: it also includes the randomness of initialisation "
                                  "and batch order.")
        row.addWidget(self.vary_init)
        self.bootstrap = QCheckBox("bootstrap resamples")
        self.bootstrap.setObjectName("bvBootstrap")
        self.bootstrap.setToolTip("Off: fresh training sets drawn from the generator (the textbook definition). On: "
                                  "resamples with replacement of the session's own training split — what one can do "
                                  "without a generator, an approximation (the resamples share their points).")
        row.addWidget(self.bootstrap)
        self.body.addLayout(row)
        plots = QHBoxLayout()
        self.fit_pw = plot_widget(x="x", y="prediction")
        self.fit_pw.setObjectName("bvFunctions")
        self.fit_pw.setMinimumSize(220, 150)
        legend = self.fit_legend = legend_above(self.fit_pw, columns=3)
        item = self.fit_pw.getPlotItem()
        self.fits_curve = item.plot([], [], pen=pg.mkPen(GREY, width=1), connect="finite")
        self.true_curve = item.plot([], [], pen=pg.mkPen(TRUE, width=2))
        self.mean_curve = item.plot([], [], pen=pg.mkPen(MEAN, width=3))
        legend.addItem(self.fits_curve, "each network")
        legend.addItem(self.mean_curve, "their mean")
        legend.addItem(self.true_curve, "true function")
        plots.addWidget(self.fit_pw, 1)
        self.sweep_pw = plot_widget(x="sweep value", y="error (MSE)")
        self.sweep_pw.setObjectName("bvSweep")
        self.sweep_pw.setMinimumSize(220, 150)
        legend = self.sweep_legend = legend_above(self.sweep_pw, columns=3)
        item = self.sweep_pw.getPlotItem()
        sym = dict(symbol="o", symbolSize=6, symbolPen=None)
        self.sweep_curves = {
            "bias2": item.plot([], [], pen=pg.mkPen(BIAS, width=2), symbolBrush=BIAS, **sym),
            "variance": item.plot([], [], pen=pg.mkPen(VARIANCE, width=2), symbolBrush=VARIANCE, **sym),
            "noise": item.plot([], [], pen=pg.mkPen(NOISE, width=2, style=Qt.DashLine)),
            "total": item.plot([], [], pen=pg.mkPen(TOTAL, width=2), symbolBrush=TOTAL, **sym),
            "measured": item.plot([], [], pen=None, symbol="x", symbolSize=10, symbolPen=pg.mkPen(MEASURED, width=2)),
        }
        for key, text in (("bias2", "bias²"), ("variance", "variance"), ("noise", "σ²"), ("total", "sum"),
                          ("measured", "measured")):
            legend.addItem(self.sweep_curves[key], text)
        plots.addWidget(self.sweep_pw, 1)
        self.body.addLayout(plots, 1)
        self.table = read_only_table("bvTable", COLUMNS, stretch=True)  # every column shares the width
        self.body.addWidget(self.table)
        self.table01 = read_only_table("bvTable01", ZERO_ONE_COLUMNS, stretch=True)
        self.table01.horizontalHeaderItem(4).setToolTip("Vu − Vb: the net variance is the variance where the main prediction is "
                                                        "right minus variance where it is wrong")
        self.table01.setToolTip("Domingos (2000): E[0-1 loss] = c₁·N + B + c₂·V with N = min(η, 1−η), B = [main "
                                "prediction ≠ optimal], V = P(a network ≠ main prediction), c₂ = +1 where unbiased, "
                                "−1 where biased, c₁ = 2·P(a network = optimal) − 1")
        self.table01.setVisible(False)
        self.body.addWidget(self.table01)
        self.reading = QLabel()
        self.reading.setObjectName("bvReading")
        self.reading.setWordWrap(True)
        self.body.addWidget(self.reading)
        self._clear()

    # -- settings ------------------------------------------------------------------------------
    def _axis_changed(self, index):
        key, default = SWEEPS[index][1], SWEEPS[index][2]
        self.values.setEnabled(key is not None)
        self.values.setText(default)

    def compute(self):
        """Say why, in one line, when the dataset has no known truth; else start the job."""
        from engine.data.class_truth import has_class_truth
        from engine.data.truth import has_truth

        s = self.current_run()
        if s is not None and not (has_truth(s.dataset) or has_class_truth(s.dataset)):
            name = s.dataset if isinstance(s.dataset, str) else (s.dataset or {}).get("type")
            self.set_status(f"The dataset {name!r} has no known true function, so its bias² cannot be measured: "
                            "choose a generated dataset whose noise is known — sine, plane or multi_gauss "
                            "(regression), circle, xor or gauss (classification).", error=True)
            return False
        from engine.bias_variance import parse_values
        from engine.errors import InvalidInput

        axis = self.axis.currentData()
        try:
            self._values = parse_values(axis, self.values.text()) if axis else []
        except InvalidInput as e:
            self.set_status(str(e), error=True)
            return False
        return super().compute()

    def job(self, session):
        if session is None:
            return None
        from engine.bias_variance import decompose, sweep

        axis, values = self.axis.currentData(), list(self._values)
        s = session.copy()
        kw = dict(n_sets=int(self.sets.value()), epochs=int(self.epochs.value()) or None,
                  vary_init=self.vary_init.isChecked(),
                  sampling="bootstrap" if self.bootstrap.isChecked() else "fresh")
        self._clear()
        from engine.data.class_truth import has_class_truth

        self._label_task("classification" if has_class_truth(s.dataset) else "regression")  # before the first result
        self.stop_button.setEnabled(True)
        self.pending = {"axis": axis, "values": values}

        def work(progress, stop):
            cur = decompose(s, should_stop=stop, on_set=lambda info: progress(("set", info)), **kw)
            progress(("current", cur))
            pts = sweep(s, axis, values, should_stop=stop, on_set=lambda info: progress(("sweep_set", info)),
                        on_point=lambda v, d: progress(("point", v, d)), **kw) if axis else []
            return {"current": cur, "axis": axis, "values": values, "sweep": pts}

        return work

    def stop(self):
        self.runner.cancel()
        self.button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.set_status(f"Stopped: {len(self.live_fits)} network(s) of the current settings and "
                        f"{len(self.points)} sweep value(s) done.")

    def _on_failed(self, text):
        self.stop_button.setEnabled(False)
        super()._on_failed(text)

    # -- progress and result -------------------------------------------------------------------
    def _clear(self):
        self.live_fits, self.live_t, self.current, self.points = [], None, None, []
        self.pending = {"axis": None, "values": []}
        for c in (self.fits_curve, self.mean_curve, self.true_curve, *self.sweep_curves.values()):
            c.setData([], [])
        self.table.setRowCount(0)
        self.table01.setRowCount(0)
        self._fit_table()
        self.reading.setText("")
        self._draw_sweep()

    def on_progress(self, msg):
        kind = msg[0]
        if kind == "set":
            info = msg[1]
            self.live_t = info["t"]
            self.live_fits.append(info["prediction"])
            self._draw_fits(self.live_t, np.stack(self.live_fits))
            self.set_status(f"Computing… {info['set']} of {info['of']} networks trained (current settings)")
        elif kind == "current":
            self.current = msg[1]
            self._draw_current()
            self._fill_table()
        elif kind == "sweep_set":
            info = msg[1]
            n = len(self.pending["values"])
            self.set_status(f"Computing… sweep value {len(self.points) + 1} of {n} ({info['label']}): "
                            f"{info['set']} of {info['of']} networks")
        elif kind == "point":
            self.points.append((msg[1], msg[2]))
            self._draw_sweep()
            self._fill_table()

    def show_result(self, result):
        self.stop_button.setEnabled(False)
        self.current, self.points = result["current"], list(result["sweep"])
        self.pending = {"axis": result["axis"], "values": result["values"]}
        self._draw_current()
        self._draw_sweep()
        self._fill_table()
        self.reading.setText(self._reading())

    def _draw_fits(self, t, preds):
        k, m = preds.shape
        xs = np.concatenate([np.append(t, np.nan)] * k)
        ys = np.concatenate([np.append(p, np.nan) for p in preds])
        self.fits_curve.setData(xs, ys, connect="finite")

    def _draw_current(self):
        d = self.current
        self._draw_fits(d.slice_t, d.slice_predictions)
        self.mean_curve.setData(d.slice_t, d.slice_mean)
        self.true_curve.setData(d.slice_t, d.slice_f)
        self._label_task(d.task)
        self.fit_pw.getPlotItem().setLabel("bottom", d.slice_label)

    def _label_task(self, task):
        """Axis, legend and column names of the task decomposed (the Brier score of P(class 1), or the MSE)."""
        cls = task == "classification"
        self.fit_pw.getPlotItem().setLabel("left", "P(class 1)" if cls else "prediction")
        self.sweep_pw.getPlotItem().setLabel("left", "error (Brier score)" if cls else "error (MSE)")
        for legend_item in self.fit_legend.items:
            if legend_item[0].item is self.true_curve:
                legend_item[1].setText("true P(1 | x)" if cls else "true function")
        for legend_item in self.sweep_legend.items:
            if legend_item[0].item is self.sweep_curves["noise"]:
                legend_item[1].setText("η(1−η)" if cls else "σ²")
        self.table.setHorizontalHeaderLabels(BRIER_COLUMNS if cls else COLUMNS)
        self.table01.setVisible(cls)

    def _draw_sweep(self):
        axis = self.pending["axis"]
        item = self.sweep_pw.getPlotItem()
        if not self.points:
            for c in self.sweep_curves.values():
                c.setData([], [])
            item.setTitle(EMPTY_SWEEP if axis is None else None, color="#5b6573", size="9pt")
            return
        item.setTitle(None)
        pos = np.arange(len(self.points), dtype=float)
        sums = [d.summary() for _, d in self.points]
        for key, c in self.sweep_curves.items():
            c.setData(pos, np.array([s[key] for s in sums]))
        item.getAxis("bottom").setTicks([[(i, f"{v:g}") for i, (v, _) in enumerate(self.points)]])
        from engine.bias_variance import AXES

        item.setLabel("bottom", AXES.get(axis, "sweep value"))

    def _rows(self):
        rows = []
        if self.current is not None:
            rows.append(("current settings", self.current.summary()))
        rows += [(d.label, d.summary()) for _, d in self.points]
        return rows

    def _fill_table(self):
        rows = self._rows()
        if rows:
            self._label_task(self.current.task if self.current is not None else self.points[0][1].task)
        set_rows(self.table, [[name, _fmt(s["bias2"]), _fmt(s["variance"]), _fmt(s["noise"]), _fmt(s["total"]),
                               f"{_fmt(s['measured'])} ± {2 * s['mc_se']:.2g}", _fmt(s["train_mse"])]
                              for name, s in rows], tooltips=True)
        self.table.resizeRowsToContents()
        set_rows(self.table01, [[name, _fmt(s["noise_01"]), _fmt(s["bias_01"]), _fmt(s["net_variance_01"]),
                                 f"{_fmt(s['unbiased_variance_01'])} − {_fmt(s['biased_variance_01'])}",
                                 _fmt(s["total_01"]), f"{_fmt(s['measured_01'])} ± {2 * s['mc_se_01']:.2g}",
                                 _fmt(s["bayes_error"])]
                                for name, s in rows if "total_01" in s], tooltips=True)
        self.table01.resizeRowsToContents()
        self._fit_table()

    def _fit_table(self):
        """Each table as tall as its rows (up to 8 of them), so the plots get the rest."""
        for table in (self.table, self.table01):
            rows = table.rowCount()
            h = table.horizontalHeader().height() + 2 * table.frameWidth() + 2
            h += sum(table.rowHeight(r) for r in range(min(rows, 8))) if rows else table.verticalHeader().defaultSectionSize()
            table.setFixedHeight(h)

    def _reading(self) -> str:
        d = self.current
        s = d.summary()
        where = ", ".join(d.engine_paths)
        sampling = ("fresh training sets drawn from the generator" if d.sampling == "fresh"
                    else "bootstrap resamples of the session's training split (an approximation)")
        cls = d.task == "classification"
        if cls:
            text = (f"{d.n_sets} networks, {d.epochs} epochs each, on {sampling} of {d.n_train} points ({where}). "
                    f"Brier score of P(class 1): bias² {_fmt(s['bias2'])} + variance {_fmt(s['variance'])} + "
                    f"noise η(1−η) {_fmt(s['noise'])} = {_fmt(s['total'])}; measured on fresh labels "
                    f"{_fmt(s['measured'])} (± {2 * s['mc_se']:.2g}). 0-1 loss (Domingos): c₁·noise "
                    f"{_fmt(s['noise_01'])} + bias {_fmt(s['bias_01'])} + net variance {_fmt(s['net_variance_01'])} "
                    f"= {_fmt(s['total_01'])}; measured {_fmt(s['measured_01'])} (± {2 * s['mc_se_01']:.2g}); "
                    f"variance raises the error where the majority is right and lowers it where it is wrong. "
                    f"Labels: {d.noise_text}.")
        else:
            text = (f"{d.n_sets} networks, {d.epochs} epochs each, on {sampling} of {d.n_train} points ({where}). "
                    f"Current settings: bias² {_fmt(s['bias2'])} + variance {_fmt(s['variance'])} + σ² "
                    f"{_fmt(s['noise'])} = {_fmt(s['total'])}; measured on fresh noisy targets {_fmt(s['measured'])} "
                    f"(± {2 * s['mc_se']:.2g}). Noise: {d.noise_text}.")
        if len(self.points) >= 2:
            sums = [(v, dd.summary()) for v, dd in self.points]
            best = min(sums, key=lambda p: p[1]["measured"])
            first, last = sums[0][1], sums[-1][1]
            text += (f" Sweep: lowest test {'Brier score' if cls else 'error'} at {best[0]:g}; from {sums[0][0]:g} "
                     f"to {sums[-1][0]:g} bias² goes {_fmt(first['bias2'])} → {_fmt(last['bias2'])}, variance "
                     f"{_fmt(first['variance'])} → {_fmt(last['variance'])}.")
        return text

    # -- export ----------------------------------------------------------------------------------
    def export_item(self):
        return (self.sweep_pw if self.points else self.fit_pw).getPlotItem()

    def csv_table(self):
        rows = self._rows()
        keys = ("bias2", "variance", "noise", "total", "measured", "mc_se", "train_mse")
        if rows and "total_01" in rows[0][1]:  # classification: the Brier keys, then Domingos' 0-1 terms
            keys += ("noise_01", "bias_01", "net_variance_01", "unbiased_variance_01", "biased_variance_01",
                     "total_01", "measured_01", "mc_se_01", "bayes_error")
        return (["setting", *keys], [[name for name, _ in rows], *[[s[k] for _, s in rows] for k in keys]])


def _sample_session():
    from engine import Session

    return Session.from_dict({
        "name": "sine bias-variance", "seed": 1,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [1]}},
                             {"id": "hidden", "type": "Dense", "params": {"units": 16, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "sine", "params": {"n": 30, "noise": 0.3}},
        "loss": "mse", "optimizer": {"type": "adam", "params": {"lr": 0.03}},
        "training": {"epochs": 300, "batch_size": 8}})


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    session = _sample_session()
    view = BiasVarianceView(session_provider=lambda: session)
    view.resize(1000, 620)
    view.setWindowTitle(f"{view.title} — sine")
    view.show()
    view.compute()
    code = app.exec()
    view.shutdown()
    raise SystemExit(code)
