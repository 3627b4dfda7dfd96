"""Rates from counts (lecture 002, "Verification"): completeness, contamination, efficiency, TPR and FPR
worked out from the four counts of a binary confusion matrix, each with its formula and the numbers in it.

It opens on the notes' example — 100,000 stars and 1,000 quasars, 900 quasars found and 1,000 stars
mistaken for quasars — where a false-positive rate of 0.01 "doesn't look bad" but the contamination
is 0.53, because stars outnumber quasars a hundred to one. The numbers come from
``engine.metrics.rates_from_counts``; type other counts, or take the current run's test split at a
threshold of 0.5 with "Use This Run's Counts".
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from engine.errors import InvalidInput

from ..tables import read_only_table, set_rows

QUASARS = {"tp": 900, "fn": 100, "tn": 99_000, "fp": 1000}  # lecture 002's example
MAX_COUNT = 2_000_000_000


def formulas(r: dict) -> list[tuple[str, str, float]]:
    """(name, "formula = numbers", value) rows for the rates in ``r`` (from ``rates_from_counts``)."""
    tp, fn, tn, fp = r["tp"], r["fn"], r["tn"], r["fp"]
    return [
        ("completeness = TPR = recall", f"TP / (TP + FN) = {tp:,} / ({tp:,} + {fn:,})", r["completeness"]),
        ("false positive rate (FPR)", f"FP / (TN + FP) = {fp:,} / ({tn:,} + {fp:,})", r["fpr"]),
        ("contamination = false discovery rate", f"FP / (TP + FP) = {fp:,} / ({tp:,} + {fp:,})", r["contamination"]),
        ("efficiency = purity = precision", f"1 − contamination = 1 − {r['contamination']:.4g}", r["efficiency"]),
    ]


class RatesView(QWidget):
    computed = Signal(object)  # the rates dict (tests wait on it)

    def __init__(self, run_provider=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Rates from counts — NN Playground")
        self.run_provider = run_provider or (lambda: None)
        self.result = None
        self.counts = {}
        form = QFormLayout()
        for key, label in (("tp", "TP (class 1 found)"), ("fn", "FN (class 1 missed)"),
                           ("tn", "TN (class 0 rejected)"), ("fp", "FP (class 0 taken for 1)")):
            box = QSpinBox()
            box.setObjectName(f"count_{key}")
            box.setRange(0, MAX_COUNT)
            box.setGroupSeparatorShown(True)
            box.setValue(QUASARS[key])
            box.valueChanged.connect(self.update_rates)
            self.counts[key] = box
            form.addRow(label, box)
        self.quasars = QPushButton("The Notes' Quasars")
        self.quasars.setObjectName("quasarsButton")
        self.quasars.setToolTip("100,000 stars and 1,000 quasars: 900 quasars found, 1,000 stars taken for quasars")
        self.quasars.clicked.connect(lambda: self.set_counts(**QUASARS))
        self.from_run = QPushButton("Use This Run's Counts")
        self.from_run.setObjectName("fromRunButton")
        self.from_run.setToolTip("The current run's test split (validation if there is none) at a threshold of 0.5")
        self.from_run.clicked.connect(self.use_run)
        buttons = QHBoxLayout()
        buttons.addWidget(self.quasars)
        buttons.addWidget(self.from_run)
        buttons.addStretch(1)
        self.table = read_only_table("ratesTable", ["rate", "formula", "value"], stretch=(1,))
        self.reading = QLabel()
        self.reading.setObjectName("ratesReading")
        self.reading.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("ratesStatus")
        self.status.setStyleSheet("color: #5b6573;")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.reading)
        lay.addWidget(self.status)
        self.update_rates()

    def set_counts(self, tp, fn, tn, fp):
        for key, v in (("tp", tp), ("fn", fn), ("tn", tn), ("fp", fp)):
            box = self.counts[key]
            box.blockSignals(True)
            box.setValue(min(int(v), MAX_COUNT))
            box.blockSignals(False)
        self.update_rates()

    def update_rates(self, *_):
        from engine.metrics import rates_from_counts

        r = rates_from_counts(*(self.counts[k].value() for k in ("tp", "fn", "tn", "fp")))
        rows = formulas(r)
        set_rows(self.table, [(name, formula, f"{value:.4g}") for name, formula, value in rows], right=(2,))
        positives, negatives = r["tp"] + r["fn"], r["tn"] + r["fp"]
        text = ""
        if positives and negatives and r["tp"] + r["fp"]:
            text = (f"{negatives:,} negatives against {positives:,} positives ({negatives / positives:.3g} : 1). "
                    f"An FPR of {r['fpr']:.3g} ")
            text += ("still lets through more false than true positives: contamination "
                     f"{r['contamination']:.3g}. When negatives vastly outnumber positives, judge by completeness and "
                     "contamination (or efficiency), not by the FPR." if r["fp"] > r["tp"] else
                     f"keeps the contamination at {r['contamination']:.3g}.")
        self.reading.setText(text)
        self.result = r
        self.computed.emit(r)
        return r

    def use_run(self):
        run = self.run_provider()
        if run is None or getattr(run, "trainer", None) is None:
            self.status.setText("Train a binary classifier first; then its test counts can be used here.")
            return False
        from engine.evaluation import evaluate_run

        try:
            split = "test" if len(run.data.y_test) else "val"
            report = evaluate_run(run, split, threshold=0.5)
            rates = report.get("at_threshold")
            if rates is None:
                raise InvalidInput("the rates need a binary classifier (two classes)")
        except InvalidInput as e:
            self.status.setText(f"Cannot use this run: {e}")
            return False
        self.set_counts(rates["tp"], rates["fn"], rates["tn"], rates["fp"])
        self.status.setText(f"Counts of the current run on its {split} split at threshold 0.5.")
        return True


def from_window(win):
    return RatesView(win.controller.document_run)


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    v = RatesView()
    v.resize(720, 420)
    v.show()
    raise SystemExit(app.exec())
