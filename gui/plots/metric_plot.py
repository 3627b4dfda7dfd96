"""Accuracy per epoch (classification) or RMSE/MAE per epoch (regression), training and validation; for
multi-label data the per-label accuracy (1 − Hamming loss) and the validation subset (exact-match) accuracy."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import (TRAIN_PEN, VAL_PEN, GrowBuf, LivePlot, RangeKeeper, TimeMarker, epoch_symbols, fast_curve, legend_above,
               plot_widget)

NAN = float("nan")


def _get(metrics, key):
    v = (metrics or {}).get(key)
    return NAN if v is None else float(v)


class MetricPlot(LivePlot):
    title = "Accuracy"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pw = plot_widget(x="epoch", y="accuracy")
        self.item = self.pw.getPlotItem()
        self.legend = legend_above(self.pw)
        sym = dict(symbol="o", symbolSize=5, symbolPen=None)
        self.curves = [
            fast_curve(self.item, pen=pg.mkPen(TRAIN_PEN, width=2), symbolBrush=TRAIN_PEN, **sym),
            fast_curve(self.item, pen=pg.mkPen(VAL_PEN, width=2), symbolBrush=VAL_PEN, **sym),
            fast_curve(self.item, pen=pg.mkPen(VAL_PEN, width=1, style=Qt.DashLine), symbolBrush=VAL_PEN, **sym),
        ]
        self.pw.legend_fitter.short_names = {  # a narrow plot's legend
            "train accuracy": "train", "validation accuracy": "validation", "train RMSE": "train",
            "validation RMSE": "val. RMSE", "validation MAE": "val. MAE", "train per-label accuracy": "train/label",
            "validation per-label accuracy": "val./label", "validation subset accuracy": "val. subset"}
        self.body_layout.addWidget(self.pw, 1)
        self.range = RangeKeeper(self.item)
        self.marker = TimeMarker(self.item)  # time travel: the checkpoint the window shows
        self.buf = GrowBuf(4)
        self.keys = ("accuracy",)

    def set_meta(self, meta):
        super().set_meta(meta)
        reg = meta is not None and meta.task == "regression"
        self.title = "Error" if reg else "Accuracy"
        self.item.setLabel("left", "RMSE / MAE" if reg else "accuracy", color="#1d232b")
        legend = self.legend
        legend.clear()
        for c, name in zip(self.curves, self._names()):
            if name:
                legend.addItem(c, name)
            c.setVisible(bool(name))

    def _names(self):
        """Curve names: multi-label data has per-label accuracy (1 − Hamming loss) and the stricter subset accuracy."""
        task = self.meta.task if self.meta is not None else None
        if task == "regression":
            return ("train RMSE", "validation RMSE", "validation MAE")
        if task == "multilabel":
            return ("train per-label accuracy", "validation per-label accuracy", "validation subset accuracy")
        return ("train accuracy", "validation accuracy", None)

    def clear(self):
        self.range.reset()
        self.buf.clear()
        for c in self.curves:
            c.setData([], [])

    def ingest(self, batch):
        if not batch.epochs:
            return
        reg = self.meta is not None and self.meta.task == "regression"
        multi = self.meta is not None and self.meta.task == "multilabel"
        rows = []
        for ev in batch.epochs:
            if reg:
                row = (_get(ev.train_metrics, "rmse"), _get(ev.val_metrics, "rmse"), _get(ev.val_metrics, "mae"))
            else:
                third = _get(ev.val_metrics, "subset_accuracy") if multi else NAN
                row = (_get(ev.train_metrics, "accuracy"), _get(ev.val_metrics, "accuracy"), third)
            rows.append((ev.epoch, *row))
        self.buf.extend(*zip(*rows))  # one extend per batch, not per epoch
        self.dirty = True

    def redraw(self):
        x = self.buf.col(0)
        ys = []
        for i, c in enumerate(self.curves):
            epoch_symbols(c, len(x), (TRAIN_PEN, VAL_PEN, VAL_PEN)[i])
            y = self.buf.col(i + 1)
            ok = np.isfinite(y)
            c.set_series(x[ok], y[ok])
            ys.append(y)
        reg = self.meta is not None and self.meta.task == "regression"
        self.range.update([x, [1.0]], ys + [[0.0]] if reg else [[0.0, 1.0]])
        for c in self.curves:
            c.show_stale()  # unless the range change above showed it

    def export_item(self):
        return self.pw.legend_layout

    def csv_table(self):
        names = tuple(n for n in self._names() if n)
        return ["epoch", *names], [self.buf.col(i) for i in range(len(names) + 1)]
