"""Cross-validation of the current setup: k folds (stratified, seeded), per-fold curves, mean ± std, the table.

Lectures 000/002: the "gold standard" for judging generalisation is to train k times, each time
validating on a different k-th of the data, and average. ``engine.folds.FoldRuns`` trains the folds
one after another as Runs in a plain thread; the fold being trained grows its validation curve live.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFormLayout, QLabel, QSpinBox, QVBoxLayout

from engine.errors import InvalidInput

from ..tables import read_only_table, set_rows
from .common import LiveView, series_curves, set_running, start_stop_row
from .live import LiveJob

TABLE_KEYS = ("accuracy", "r2", "val_loss", "train_loss", "f1", "auc", "rmse", "mae")


class CrossValView(LiveView):
    def __init__(self, session_provider, parent=None):
        super().__init__(parent)
        self.setObjectName("crossvalView")
        self.session_provider = session_provider
        self.path = "auto"
        self.folds = None
        self.curves_data: list = []
        self.results: list = []
        self.summary = None
        self.job = LiveJob(self, self._on_items)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.k = QSpinBox()
        self.k.setObjectName("cvFolds")
        self.k.setRange(2, 20)
        self.k.setValue(5)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(30)
        form.addRow("Folds (k)", self.k)
        form.addRow("Epochs per fold", self.epochs)
        lay.addLayout(form)
        row, self.start_button, self.stop_button = start_stop_row("Cross-validate", "cvStart", self.start, self.stop)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("Trains the current setup k times, each fold validated once (stratified, seeded).")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("cvSummary")
        self.summary_label.setStyleSheet("font-weight: 600;")
        lay.addWidget(self.summary_label)
        from gui.plots import legend_above, plot_widget

        self.plot = plot_widget(x="epoch", y="validation loss")
        self.legend = legend_above(self.plot, columns=5)
        self.plot.setMinimumHeight(150)
        lay.addWidget(self.plot, 2)
        self.table = read_only_table("cvTable")
        lay.addWidget(self.table, 2)
        self.curve_items: list = []

    def start(self):
        from engine.folds import FoldRuns

        try:
            folds = FoldRuns(self.session_provider(), self.k.value(), path=self.path)
        except InvalidInput as e:
            self.status.setText(f"Cannot cross-validate: {e}")
            return False
        self.job.stop()
        self.folds, self.results, self.summary = folds, [], None
        self.curves_data = [[] for _ in range(folds.k)]
        self._build_curves(folds.k)
        self.table.setRowCount(0)
        self.summary_label.setText("")
        epochs = self.epochs.value()
        set_running(self, True)
        self.status.setText(f"Training fold 1 of {folds.k}…")
        self.job.start(lambda put, stopped: self._work(folds, epochs, put))
        self.job.stoppers.append(folds.stop)
        return True

    @staticmethod
    def _work(folds, epochs, put):
        from engine.events import EpochEnd

        for i, ev in folds.events(epochs):
            if isinstance(ev, EpochEnd):
                put(("epoch", i, ev.epoch, ev.val_loss if ev.val_loss is not None else ev.train_loss))
            elif isinstance(ev, dict):
                put(("fold", i, ev, folds.summary()))

    def stop(self):
        if self.folds is not None:
            self.folds.stop()
        self.status.setText("Stopping after this step…")

    def _on_items(self, items):
        for item in items:
            if item[0] == "epoch":
                self.curves_data[item[1]].append((item[2], item[3]))
            elif item[0] == "fold":
                _, i, result, summary = item
                self.results.append(result)
                self.summary = summary
                if i + 1 < self.folds.k:
                    self.status.setText(f"Training fold {i + 2} of {self.folds.k}…")
                self._fill_table()
            elif item[0] == "failed":
                self.status.setText(f"Cross-validation failed: {item[1]}")
            elif item[0] == "ended":
                set_running(self, False)
                n = len(self.results)
                if n and n == self.folds.k:
                    self.status.setText(f"Done: {n} folds.")
                elif self.folds is not None:
                    self.status.setText(f"Stopped after {n} of {self.folds.k} folds (the summary covers those).")
        self.redraw()

    def _fill_table(self):
        s = self.summary
        keys = [k for k in TABLE_KEYS if k in s["mean"]]
        rows = s["folds"]
        cells = [[str(f["fold"] + 1), str(f["n_train"]), str(f["n_val"])] + [f"{f[k]:.4f}" for k in keys] for f in rows]
        cells.append(["mean ± std", "", ""] + [f"{s['mean'][k]:.4f} ± {s['std'][k]:.4f}" for k in keys])
        set_rows(self.table, cells, columns=["Fold", "Train", "Val"] + keys)
        m = s["metric"]
        if m in s["mean"]:
            name = "accuracy" if m == "accuracy" else "R²"
            self.summary_label.setText(f"{name} {s['mean'][m]:.4f} ± {s['std'][m]:.4f} over {len(rows)} "
                                       f"fold{'s' * (len(rows) != 1)}")

    def _build_curves(self, k):
        self.curve_items = series_curves(self.plot, self.legend, self.curve_items, [f"fold {i + 1}" for i in range(k)])

    def redraw(self):
        for c, data in zip(self.curve_items, self.curves_data):
            if data:
                arr = np.asarray(data, dtype=float)
                c.setData(arr[:, 0], arr[:, 1])


if __name__ == "__main__":  # python -m gui.experiments.crossval_view: 5-fold CV of the sample circle
    from .common import run_alone

    run_alone(CrossValView, 10, (720, 640))
