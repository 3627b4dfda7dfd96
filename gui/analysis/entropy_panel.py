"""The Evaluation view's "Uncertainty (entropy)" tab: lecture 002's S = −Σ p ln p of every prediction.

Shows ``report["entropy"]`` from ``engine.entropy.entropy_report`` (computed with the rest of the evaluation,
no network call here): a histogram of the per-sample entropy from 0 (certain) to ln k (a uniform guess), a map
of it over the input plane for 2-D data, the most uncertain samples of the split, and cross-entropy = entropy +
KL written out with the run's own numbers. It holds no state beyond the report it shows.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..plots import BLUE, ORANGE, TEXT, plot_widget, sequential_cmap
from ..tables import cell, read_only_table, set_rows

MEAN_PEN = pg.mkPen(ORANGE, width=2, style=Qt.DashLine)


def _g(v, spec=".4f"):
    return "—" if v is None or v != v else format(v, spec)


def _dist(p):
    return "(" + ", ".join(f"{v:.2f}" for v in p) + ")"


def _probs(p):
    return " ".join(f"{v:.2f}" for v in p)


class EntropyPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("entropyPanel")
        self.report = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.summary = QLabel()
        self.summary.setObjectName("entropySummary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(f"color: {TEXT};")
        col.addWidget(self.summary)
        row = QHBoxLayout()
        col.addLayout(row, 1)
        self.hist = plot_widget(x="entropy per sample (nats)", y="samples", title="entropy of the predictions")
        self.hist.setObjectName("entropyHistogram")
        self.hist.setMouseEnabled(False, False)
        self.hist.setMinimumSize(160, 120)
        self.hist_curve = self.hist.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=pg.mkBrush(*BLUE, 120),
                                         pen=pg.mkPen(BLUE, width=1))
        self.mean_line = pg.InfiniteLine(angle=90, pen=MEAN_PEN)
        self.hist.addItem(self.mean_line)
        self.map = plot_widget(x="x1", y="x2", title="unsure where dark")
        self.map.setObjectName("entropyMap")
        self.map.setMinimumSize(160, 120)
        self.map_pts = pg.ScatterPlotItem(size=7, pen=pg.mkPen((120, 120, 120), width=0.5))
        self.top_pts = pg.ScatterPlotItem(size=13, pen=pg.mkPen(ORANGE, width=2), brush=None, symbol="o")
        self.map.addItem(self.map_pts)
        self.map.addItem(self.top_pts)
        row.addWidget(self.hist, 1)
        row.addWidget(self.map, 1)
        self.table = read_only_table("uncertainTable", ["#", "true", "pred.", "p", "nats"], stretch=(3,),
                                     word_wrap=False)
        self.table.setToolTip("The split's most uncertain samples: the highest entropy of the predicted distribution "
                              "(# is the row in the split). Near ln k the network is guessing.")
        side = QWidget()
        side_col = QVBoxLayout(side)
        side_col.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("most uncertain samples")
        heading.setStyleSheet("color: #5b6573;")
        side_col.addWidget(heading)
        side_col.addWidget(self.table, 1)
        side.setMinimumWidth(250)
        side.setMaximumWidth(380)
        row.addWidget(side)
        self.identity = QLabel()
        self.identity.setObjectName("entropyIdentity")
        self.identity.setWordWrap(True)
        self.identity.setTextFormat(Qt.RichText)
        self.identity.setTextInteractionFlags(Qt.TextSelectableByMouse)
        col.addWidget(self.identity)

    def show_report(self, rep: dict, class_names=None):
        """Draw ``rep`` (the evaluation report's ``entropy``); ``class_names`` name the classes in the table."""
        self.report = rep
        h = np.asarray(rep["per_sample"], dtype=float)
        counts, edges = rep["histogram"]["counts"], rep["histogram"]["edges"]
        self.hist_curve.setData(edges, counts)
        self.hist.setXRange(0, rep["max_nats"], padding=0.02)
        self.mean_line.setValue(rep["mean_nats"])
        multi = rep["task"] == "multilabel"
        top = "k·ln 2" if multi else "ln k"
        pct = 100 * rep["fraction_of_max"]
        text = (f"Entropy S = −Σ p ln p of each prediction (lecture 002: larger means less sure). Mean "
                f"<b>{_g(rep['mean_nats'])} nats = {_g(rep['mean_bits'])} bits</b> of at most {top} = "
                f"{_g(rep['max_nats'])} nats = {_g(rep['max_bits'], '.3g')} bit{'' if rep['max_bits'] == 1 else 's'} "
                f"({pct:.0f} % of a uniform guess); "
                f"bits = nats / ln 2.")
        if multi:
            text += " Per label: " + ", ".join(f"{html.escape(p['label'])} {_g(p['mean_nats'], '.3f')}"
                                              for p in rep["per_label"]) + " nats (the sample's value is their sum)."
        if not rep["calibrated"]:
            text += " <i>This loss gives ranking scores, not probabilities: read the entropy as indicative only.</i>"
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setText(text)
        pts = rep.get("points")
        self.map.setVisible(pts is not None)
        if pts is not None:
            xy = np.asarray(pts, dtype=float)
            cmap = sequential_cmap()
            levels = h / rep["max_nats"] if rep["max_nats"] else h
            brushes = [pg.mkBrush(c) for c in cmap.map(np.clip(levels, 0, 1), mode="qcolor")]
            self.map_pts.setData(xy[:, 0], xy[:, 1], brush=brushes)
            idx = [r["index"] for r in rep["most_uncertain"]]
            self.top_pts.setData(xy[idx, 0], xy[idx, 1])
        else:
            self.map_pts.clear()
            self.top_pts.clear()
        self._fill_table(rep, class_names)
        self._show_identity(rep)

    def _fill_table(self, rep, class_names):
        names = list(class_names or [])
        label = (lambda c: names[c] if 0 <= c < len(names) else str(c))
        what = "P(label j) " if rep["task"] == "multilabel" else "P(class) "
        rows = []
        for r in rep["most_uncertain"]:
            if rep["task"] == "multilabel":
                true = "".join(map(str, r["true"]))
                pred = "".join("1" if p >= 0.5 else "0" for p in r["probabilities"])
            else:
                true, pred = label(r["true"]), label(r["predicted"])
            probs = _probs(r["probabilities"])
            tip = what + probs + ("; inputs " + _dist(r["x"]) if "x" in r else "")
            rows.append((str(r["index"]), true, pred, cell(probs, tooltip=tip), _g(r["entropy_nats"], ".3f")))
        set_rows(self.table, rows, right=(0, 4), tooltips=(1, 2))  # a long class name is elided in its cell

    def _show_identity(self, rep):
        ps, m = rep["identity"]["per_sample"], rep["identity"]["marginal"]
        multi = rep["task"] == "multilabel"
        summed = " (summed over the labels)" if multi else ""
        if multi:
            freq = "p = each label's share of the split, q = its mean P(label)"
        else:
            freq = f"p = the class frequencies {_dist(m['p'][0])}, q = the mean prediction {_dist(m['q'][0])}"
        self.identity.setText(
            "<b>cross-entropy = entropy + KL</b> &nbsp; H(p, q) = H(p) + KL(p‖q), on this split's predictions q"
            f"{summed}:<br>• p = the labels (one-hot, so H(p) = 0): {_g(ps['cross_entropy'])} = "
            f"{_g(ps['entropy'])} + {_g(ps['kl'])} — the loss is the KL divergence of the predictions from the labels"
            f"<br>• {freq}: {_g(m['cross_entropy'])} = {_g(m['entropy'])} + {_g(m['kl'])}")

    def clear(self):
        self.report = None
        self.summary.setText("Entropy needs class probabilities; this network predicts values.")
        self.hist_curve.setData([0, 1], [0])
        self.map_pts.clear()
        self.top_pts.clear()
        self.table.setRowCount(0)
        self.identity.setText("")
