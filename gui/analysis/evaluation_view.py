"""Evaluation of the trained network on one split: ROC + AUC, completeness vs efficiency, scores per class,
the rates at a threshold you slide (binary tasks); residuals and predicted-vs-true for regression.
Multi-label data (lecture 002: one sigmoid per label): a ROC curve and AUC per label, precision/recall/F1
per label with their micro and macro means, the Hamming loss and the subset (exact-match) accuracy, all at
one threshold that the slider moves for every label.

The numbers come from ``engine.evaluation.evaluate_run`` on a frozen copy of the run (lecture 002's
completeness = recall, contamination = FP/(TP+FP), efficiency = precision = 1 − contamination).
Moving the threshold recomputes the rates from the scores already computed: no network call.
Classifiers get a second tab, "Uncertainty (entropy)" (``entropy_panel.EntropyPanel``): lecture 002's entropy of
every prediction, the most uncertain samples and cross-entropy = entropy + KL with the run's own numbers.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from engine.evaluation import at_threshold, multilabel_at_threshold

from ..plots import BLUE, ORANGE, SERIES, TEXT, plot_widget
from ..tables import read_only_table, set_rows
from .base import AnalysisView
from .entropy_panel import EntropyPanel

DIAG = pg.mkPen((150, 150, 150), width=1, style=Qt.DashLine)
CLASS_COLUMNS = ("class", "precision", "recall", "F1", "n")
LABEL_COLUMNS = ("label", "precision", "recall", "F1", "AUC", "n")  # multi-label: one row per label


def _fmt(v, spec=".3f"):
    return "—" if v is None or v != v else format(v, spec)


class EvaluationView(AnalysisView):
    title = "Evaluation"
    needs = "Train the network first (Train, F5), then press Compute: metrics of the chosen split."

    def __init__(self, run_provider=None, parent=None):
        super().__init__(run_provider, parent)
        self.split = self.add_control(QComboBox(), "split")
        self.split.setObjectName("evalSplit")
        self.split.addItems(["test", "val", "train"])
        self.split.setToolTip("Judge the network on data it was not trained on: the test split (val while tuning).")
        self.split.currentTextChanged.connect(lambda _: self.compute() if self.result is not None else None)
        self.slider = self.add_control(QSlider(Qt.Horizontal), "threshold")
        self.slider.setObjectName("thresholdSlider")
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setMinimumWidth(120)
        self.slider.setToolTip("Binary tasks: a sample is called positive when P(class 1) ≥ threshold. Lower it to "
                               "find more positives (completeness up) at the price of more contamination. "
                               "Multi-label: label j is on when P(label j) ≥ threshold, the same for every label.")
        self.slider.valueChanged.connect(self._on_threshold)
        self.thr_label = self.add_control(QLabel("0.50"))
        self.thr_label.setMinimumWidth(34)
        self.finish_bar()
        self.pages = QStackedWidget()
        self.body.addWidget(self.pages, 1)
        self._build_classification()
        self._build_regression()
        self.threshold = 0.5
        self.at = None  # the numbers at the threshold (binary or multi-label)

    # -- layout --------------------------------------------------------------------------------
    def _build_classification(self):
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        col.addLayout(row, 1)
        self.roc = plot_widget(x="false positive rate", y="true positive rate (completeness)", title="ROC")
        self.roc.setObjectName("rocPlot")
        self.ce = plot_widget(x="completeness (recall)", y="efficiency (precision)", title="completeness vs efficiency")
        self.ce.setObjectName("cePlot")
        for pw in (self.roc, self.ce):
            pw.setMouseEnabled(False, False)
            pw.setXRange(0, 1, padding=0.02)
            pw.setYRange(0, 1.02, padding=0.02)
            pw.setMinimumSize(160, 120)
        self.roc.plot([0, 1], [0, 1], pen=DIAG)
        self.roc_marker = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(*ORANGE), pen=pg.mkPen("k"))
        self.ce_marker = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(*ORANGE), pen=pg.mkPen("k"))
        self.roc.addItem(self.roc_marker)
        self.ce.addItem(self.ce_marker)
        self.roc_curves, self.ce_curve = [], self.ce.plot([], [], pen=pg.mkPen(BLUE, width=2))
        row.addWidget(self.roc, 1)
        row.addWidget(self.ce, 1)
        side = QVBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("evalSummary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(f"color: {TEXT};")
        self.table = read_only_table("perClassTable", CLASS_COLUMNS, stretch=(0,))
        self.rates = QLabel()
        self.rates.setObjectName("ratesLabel")
        self.rates.setWordWrap(True)
        self.rates.setTextFormat(Qt.RichText)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.summary)
        side.addWidget(self.table, 1)
        holder = QWidget()
        holder.setLayout(side)
        holder.setMinimumWidth(250)
        holder.setMaximumWidth(340)
        self.side = holder  # wider for multi-label (label names and an AUC column)
        row.addWidget(holder)
        col.addWidget(self.rates)
        self.tabs = QTabWidget()  # classifiers: the curves and rates, and the entropy of the predictions (002)
        self.tabs.setObjectName("evalTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(page, "ROC and rates")
        self.entropy = EntropyPanel()
        self.tabs.addTab(self.entropy, "Uncertainty (entropy)")
        self.tabs.setTabToolTip(1, "Lecture 002: entropy S = −Σ p ln p of each prediction, the most uncertain "
                                   "samples, and cross-entropy = entropy + KL with this run's numbers")
        self.pages.addWidget(self.tabs)

    def _build_regression(self):
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        self.pvt = plot_widget(x="true value", y="predicted value", title="predicted vs true")
        self.res = plot_widget(x="predicted value", y="residual (true − predicted)", title="residuals")
        self.pvt.setObjectName("predVsTruePlot")
        self.res.setObjectName("residualPlot")
        self.pvt_diag = self.pvt.plot([], [], pen=DIAG)
        self.res_zero = self.res.plot([], [], pen=DIAG)
        self.pvt_pts = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*BLUE, 150))
        self.res_pts = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*BLUE, 150))
        self.pvt.addItem(self.pvt_pts)
        self.res.addItem(self.res_pts)
        for pw in (self.pvt, self.res):
            pw.setMinimumSize(160, 120)
            row.addWidget(pw, 1)
        self.reg_summary = QLabel()
        self.reg_summary.setObjectName("regSummary")
        self.reg_summary.setWordWrap(True)
        self.reg_summary.setMaximumWidth(260)
        row.addWidget(self.reg_summary)
        self.pages.addWidget(page)

    # -- computing -----------------------------------------------------------------------------
    def job(self, run):
        if run is None:
            return None
        from engine.evaluation import Frozen, evaluate_run

        frozen = Frozen(run)  # on the GUI thread, between two steps: cheap (a copy of the weights)
        split, thr = self.split.currentText(), self.threshold
        return lambda progress, stop: evaluate_run(frozen, split, threshold=thr)

    def show_result(self, rep):
        if rep["task"] == "multilabel":
            self._show_multilabel(rep)
            return
        self.side.setMinimumWidth(250)
        self.side.setMaximumWidth(340)
        if rep["task"] == "regression":
            self.pages.setCurrentIndex(1)
            self.slider.setEnabled(False)
            self.entropy.clear()
            self._show_regression(rep)
            return
        self.pages.setCurrentIndex(0)
        binary = "roc" in rep
        self.slider.setEnabled(binary)
        for c in self.roc_curves:
            self.roc.removeItem(c)
        self.roc_curves = []
        if binary:
            self.roc_curves.append(self.roc.plot(rep["roc"]["fpr"], rep["roc"]["tpr"], pen=pg.mkPen(BLUE, width=2)))
            ce = rep["completeness_efficiency"]
            pts = [(c, e) for c, e in zip(ce["completeness"], ce["efficiency"]) if e is not None]
            self.ce_curve.setData([p[0] for p in pts], [p[1] for p in pts])
            self.ce.setVisible(True)
        else:
            for i, c in enumerate(rep["roc_per_class"]):
                self.roc_curves.append(self.roc.plot(c["fpr"], c["tpr"], pen=pg.mkPen(SERIES[i % len(SERIES)], width=2),
                                                     name=c["class"]))
            self.ce_curve.setData([], [])
            self.ce.setVisible(False)
            self.roc_marker.clear()
        self.roc.getPlotItem().setTitle(f"ROC — AUC {_fmt(rep['auc'])}" + ("" if binary else " (mean one-vs-rest)"),
                                        color=TEXT, size="10pt")
        self.summary.setText(f"{rep['split']} split, {rep['n']} samples — accuracy {_fmt(rep['accuracy'])}, "
                             f"AUC {_fmt(rep['auc'])}; macro F1 {_fmt(rep['macro']['f1'])}")
        self._fill_table(rep)
        self._on_threshold(self.slider.value())
        self.entropy.show_report(rep["entropy"], rep.get("class_names"))

    def _fill_table(self, rep):
        rows = rep["per_class"] + [dict(rep["macro"], **{"class": "macro mean", "support": rep["n"]})]
        self._fill_rows([(r["class"], _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"]), str(r["support"]))
                         for r in rows], CLASS_COLUMNS)

    def _fill_rows(self, rows, columns):
        """The numbers right-aligned; the class or label name also as a tooltip, since a long one is elided."""
        set_rows(self.table, rows, columns=columns, right=range(1, len(columns)), tooltips=(0,))

    # -- multi-label -----------------------------------------------------------------------
    def _show_multilabel(self, rep):
        self.pages.setCurrentIndex(0)
        self.slider.setEnabled(True)
        for c in self.roc_curves:
            self.roc.removeItem(c)
        self.roc_curves = []
        for i, c in enumerate(rep["roc_per_label"]):
            self.roc_curves.append(self.roc.plot(c["fpr"], c["tpr"], pen=pg.mkPen(SERIES[i % len(SERIES)], width=2),
                                                 name=c["label"]))
        self.ce_curve.setData([], [])
        self.ce.setVisible(False)
        self.ce_marker.clear()
        self.side.setMaximumWidth(460)
        self.side.setMinimumWidth(400)
        self.roc.getPlotItem().setTitle(f"ROC per label — macro AUC {_fmt(rep['auc'])}", color=TEXT, size="10pt")
        self._multilabel_threshold()
        self.entropy.show_report(rep["entropy"], rep.get("label_names"))

    def _multilabel_threshold(self):
        """Every number that depends on the threshold, from the scores already computed (no network call)."""
        rep = self.result
        t = multilabel_at_threshold(np.array(rep["y"]), np.array(rep["scores"]), self.threshold, rep["label_names"])
        self.at = t
        aucs = {r["label"]: r.get("auc") for r in rep["per_label"]}
        rows = [(r["label"], _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"]), _fmt(aucs.get(r["label"])),
                 str(r["support"])) for r in t["per_label"]]
        for avg in ("micro", "macro"):
            m = t[avg]
            rows.append((f"{avg} mean", _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]),
                         _fmt(rep["auc"]) if avg == "macro" else "", str(rep["n"])))
        self._fill_rows(rows, LABEL_COLUMNS)
        self.summary.setText(f"{rep['split']} split, {rep['n']} samples, {rep['n_labels']} labels — subset accuracy "
                             f"(all labels right) {_fmt(t['subset_accuracy'])}, Hamming loss {_fmt(t['hamming_loss'])} "
                             f"(per-label accuracy {_fmt(t['accuracy'])}); micro F1 {_fmt(t['micro']['f1'])}, "
                             f"macro F1 {_fmt(t['macro']['f1'])}")
        pts = []
        for r in t["per_label"]:
            neg, pos = r["tn"] + r["fp"], r["tp"] + r["fn"]
            if neg and pos:
                pts.append((r["fp"] / neg, r["tp"] / pos))
        self.roc_marker.setData([p[0] for p in pts], [p[1] for p in pts])
        colour = {c["label"]: "#%02x%02x%02x" % SERIES[i % len(SERIES)] for i, c in enumerate(rep["roc_per_label"])}
        self.rates.setText(f"<b>threshold {self.threshold:.2f}</b> for every label: " + " · ".join(
            (f"<span style='color:{colour[r['label']]}'>━</span> " if r["label"] in colour else "")
            + f"{html.escape(r['label'])}: TP {r['tp']} FN {r['fn']} TN {r['tn']} FP {r['fp']}" for r in t["per_label"]))

    def _on_threshold(self, value):
        self.threshold = value / 100.0
        self.thr_label.setText(f"{self.threshold:.2f}")
        rep = self.result
        if rep is not None and rep.get("task") == "multilabel":
            self._multilabel_threshold()
            return
        if rep is None or rep.get("task") != "classification" or "roc" not in rep:
            self.rates.setText("" if rep is None or rep.get("task") != "classification" else
                               "The threshold applies to binary tasks; here the class is the most probable one.")
            return
        t = at_threshold(np.array(rep["y"]), np.array(rep["scores"]), self.threshold)
        self.at = t
        self.roc_marker.setData([t["fpr"]], [t["tpr"]])
        if t["tp"] + t["fp"]:
            self.ce_marker.setData([t["completeness"]], [t["efficiency"]])
        else:
            self.ce_marker.clear()
        self.rates.setText(
            f"<b>threshold {self.threshold:.2f}</b>: TP {t['tp']} · FN {t['fn']} · TN {t['tn']} · FP {t['fp']} — "
            f"completeness {_fmt(t['completeness'])} · contamination {_fmt(t['contamination'])} · "
            f"efficiency {_fmt(t['efficiency'])} — accuracy {_fmt(t['accuracy'])} · F1 {_fmt(t['f1'])} · "
            f"FPR {_fmt(t['fpr'])}")

    def _show_regression(self, rep):
        t = np.asarray(rep["true"], dtype=float)[:, 0]
        p = np.asarray(rep["predicted"], dtype=float)[:, 0]
        r = t - p
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        self.pvt_diag.setData([lo, hi], [lo, hi])
        self.pvt_pts.setData(t, p)
        self.res_pts.setData(p, r)
        self.res_zero.setData([float(p.min()), float(p.max())], [0, 0])
        self.reg_summary.setText(f"{rep['split']} split, {rep['n']} samples<br>MAE {_fmt(rep['mae'], '.4g')}<br>"
                                 f"RMSE {_fmt(rep['rmse'], '.4g')}<br>R² {_fmt(rep['r2'])}<br>residuals: mean "
                                 f"{_fmt(rep['residual_mean'], '.3g')}, std {_fmt(rep['residual_std'], '.3g')}<br><br>"
                                 "Residuals should scatter evenly around 0; a curve or a funnel means the model "
                                 "misses a pattern or its error grows with the value.")

    def _entropy_shown(self):
        return self.pages.currentIndex() == 0 and self.tabs.currentIndex() == 1 and self.entropy.report is not None

    def export_item(self):
        if self._entropy_shown():
            return self.entropy.hist.getPlotItem()
        return (self.roc if self.pages.currentIndex() == 0 else self.pvt).getPlotItem()

    def csv_table(self):
        rep = self.result
        if rep is None:
            return ["value"], [[]]
        if self._entropy_shown():
            h = self.entropy.report["per_sample"]
            return ["sample", "entropy_nats", "entropy_bits"], [list(range(len(h))), h,
                                                                 [v / np.log(2) for v in h]]
        if rep["task"] == "regression":
            t, p = np.asarray(rep["true"])[:, 0], np.asarray(rep["predicted"])[:, 0]
            return ["true", "predicted", "residual"], [t, p, t - p]
        if rep["task"] == "multilabel":
            per = (self.at or {}).get("per_label") or rep["per_label"]
            return ["label", "precision", "recall", "f1", "tp", "fp", "fn", "tn"], [
                [r[k] for r in per] for k in ("label", "precision", "recall", "f1", "tp", "fp", "fn", "tn")]
        if "roc" in rep:
            return ["threshold", "fpr", "tpr"], [rep["roc"]["thresholds"], rep["roc"]["fpr"], rep["roc"]["tpr"]]
        return ["class", "precision", "recall", "f1"], [[r[k] for r in rep["per_class"]]
                                                         for k in ("class", "precision", "recall", "f1")]


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(EvaluationView))
