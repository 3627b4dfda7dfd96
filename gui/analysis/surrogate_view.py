"""Surrogate tree (lecture 001): a decision tree fitted to the network's predictions, its variable importance,
and how much that importance depends on the tree.

Two trees of different depths (3 and 10 by default, as the notes compare) are fitted to the network's
outputs on the chosen split (``engine.surrogate``). The bars are each tree's impurity-decrease importance
per feature; the legend gives each tree's fidelity (R² to the network's outputs, or agreement on its
predicted class). The shallow tree's rules are listed: a readable stand-in for the network, as good as
its fidelity says. Where the two depths rank the features differently, the notes' warning shows:
"it's going to be very reliant on your tree method".
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QSpinBox

from ..plots import BLUE, ORANGE, legend_above, plot_widget
from .base import AnalysisView


class SurrogateView(AnalysisView):
    title = "Surrogate tree"
    needs = ("Train the network first (Train, F5), then press Compute: decision trees fitted to the network's "
             "predictions, their variable importance and rules.")

    def __init__(self, run_provider=None, parent=None):
        super().__init__(run_provider, parent)
        self.button.setObjectName("surrogateButton")
        self.split = self.add_control(QComboBox(), "split")
        self.split.setObjectName("surrogateSplit")
        self.split.addItems(["train", "test", "val"])
        self.depth_a = self.add_control(QSpinBox(), "depths")
        self.depth_b = self.add_control(QSpinBox())
        for box, value, name in ((self.depth_a, 3, "surrogateDepthA"), (self.depth_b, 10, "surrogateDepthB")):
            box.setObjectName(name)
            box.setRange(1, 20)
            box.setValue(value)
            box.setToolTip("Maximum depth of each tree (the notes compare depth 3 with depth 10)")
        self.finish_bar()
        row = QHBoxLayout()
        self.pw = plot_widget(x="feature", y="importance (share of impurity decrease)")
        self.pw.setObjectName("surrogateImportance")
        self.pw.setMinimumSize(220, 160)
        self.legend = legend_above(self.pw, columns=1)
        self.bars: list = []
        row.addWidget(self.pw, 3)
        self.rules = QPlainTextEdit()
        self.rules.setObjectName("surrogateRules")
        self.rules.setReadOnly(True)
        self.rules.setFont(QFont("monospace"))
        self.rules.setMinimumWidth(220)
        row.addWidget(self.rules, 2)
        self.body.addLayout(row, 1)
        self.reading = QLabel()
        self.reading.setObjectName("surrogateReading")
        self.reading.setWordWrap(True)
        self.body.addWidget(self.reading)

    def job(self, run):
        if run is None:
            return None
        from engine.surrogate import surrogate_trees

        split, depths = self.split.currentText(), (int(self.depth_a.value()), int(self.depth_b.value()))
        return lambda progress, stop: surrogate_trees(run, split, depths)

    def show_result(self, result):
        item = self.pw.getPlotItem()
        for b in self.bars:
            item.removeItem(b)
        self.legend.clear()
        self.bars = []
        names = result["names"]
        width = 0.8 / max(len(result["trees"]), 1)
        for k, (t, colour) in enumerate(zip(result["trees"], (BLUE, ORANGE))):
            x = np.arange(len(names)) - 0.4 + width * (k + 0.5)
            bar = pg.BarGraphItem(x=x, height=t["importances"], width=width * 0.95, brush=colour, pen=None)
            item.addItem(bar)
            self.legend.addItem(bar, f"depth {t['depth']}: {t['leaves']} leaves, fidelity {t['fidelity']:.3f}")
            self.bars.append(bar)
        item.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        first = result["trees"][0]
        self.rules.setPlainText(f"depth-{first['depth']} tree on {result['target']} ({result['split']}, "
                                f"n = {result['n']}):\n" + "\n".join(first["rules"]))
        ranks = [tuple(np.argsort(-np.asarray(t["importances"]), kind="stable")) for t in result["trees"]]
        fid = "R² to the network's outputs" if result["target"] != "predicted class" else "agreement with its class"
        text = f"Fidelity is the {fid}. "
        if len(ranks) > 1 and ranks[0] != ranks[1]:
            text += ("The two depths rank the features differently: the importance says as much about the tree "
                     "as about the network (lecture 001: \"very reliant on your tree method\").")
        else:
            text += "Both depths rank the features alike."
        self.reading.setText(text)

    def export_item(self):
        return self.pw.getPlotItem()

    def csv_table(self):
        if self.result is None:
            return [], []
        cols = [self.result["names"]] + [t["importances"] for t in self.result["trees"]]
        return ["feature"] + [f"importance_depth_{t['depth']}" for t in self.result["trees"]], cols


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(SurrogateView))
