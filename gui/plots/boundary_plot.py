"""The decision boundary (classification) or fitted surface (regression) behind the data, live.

Only for 2-D inputs: the worker evaluates a GRID x GRID mesh in raw input space
(through the dataset's feature expansion and scaling) every ~0.25 s. Training
points are filled circles with a white edge, test points have a dark edge, as
in TF Playground; colour levels are fixed, so the picture never re-scales.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QCheckBox, QLabel

from . import CLASS_COLORS, LivePlot, class_color, colorbar, diverging_cmap, plot_widget


def class_rgb(probs):
    """(G, G, k) probabilities -> (G, G, 3) uint8: the class colours mixed by probability, paler when unsure."""
    k = probs.shape[-1]
    cols = np.array([CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(k)], dtype=np.float64)
    rgb = probs @ cols
    conf = np.clip((probs.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k), 0, 1)
    return (255.0 * (1 - conf) + rgb * conf).clip(0, 255).astype(np.uint8)


class BoundaryPlot(LivePlot):
    title = "Boundary"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.test_box = QCheckBox("Show test data")
        self.test_box.setChecked(True)
        self.test_box.toggled.connect(self._mark)
        self.discrete_box = QCheckBox("Discretize output")
        self.discrete_box.setToolTip("Show the predicted class only, not its probability")
        self.discrete_box.toggled.connect(self._mark)
        self.info = QLabel()
        self.info.setStyleSheet("color: #5b6573;")
        self.add_control(self.test_box)
        self.add_control(self.discrete_box)
        self.add_control(self.info, right=True)
        self.pw = plot_widget(x="x1", y="x2")
        self.item = self.pw.getPlotItem()
        self.item.setAspectLocked(True)  # x1 and x2 share units: a circle must look like a circle
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setOpacity(0.8)
        self.image.setZValue(-10)
        self.rgb = pg.ImageItem(axisOrder="row-major")
        self.rgb.setOpacity(0.8)
        self.rgb.setZValue(-10)
        self.item.addItem(self.image)
        self.item.addItem(self.rgb)
        self.cbar = colorbar((0, 1), diverging_cmap(), "P(class 1)")
        self.cbar.setImageItem(self.image, insert_in=self.item)
        self.train_pts = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=1))
        self.test_pts = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#1d232b", width=1))
        self.item.addItem(self.train_pts)
        self.item.addItem(self.test_pts)
        self.body_layout.addWidget(self.pw, 1)
        self.frame = None

    def applies(self, meta):
        if meta.extent is None:
            return ("The decision boundary is drawn for 2-D inputs only; this dataset's inputs have "
                    f"{len(meta.feature_names)} features.")
        return None

    def _mark(self, *_):
        self.dirty = True
        self._points()

    def set_meta(self, meta):
        super().set_meta(meta)
        if meta is None or meta.extent is None:
            return
        names = meta.raw and meta.feature_names
        x0, x1, y0, y1 = meta.extent
        self.item.setLabel("bottom", "x1" if not names or len(meta.feature_names) != 2 else meta.feature_names[0])
        self.item.setLabel("left", "x2" if not names or len(meta.feature_names) != 2 else meta.feature_names[1])
        self.item.setXRange(x0, x1, padding=0)
        self.item.setYRange(y0, y1, padding=0)
        reg = meta.task == "regression"
        lo, hi = meta.y_range if reg and meta.y_range else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 1, hi + 1
        self.levels = (lo, hi)
        self.cbar.setLevels((lo, hi))
        self.cbar.getAxis("left").setLabel("prediction" if reg else "P(class 1)", color="#1d232b")
        self.cbar.setVisible(reg or meta.n_classes <= 2)
        self.discrete_box.setEnabled(not reg)
        self._points()

    def _brushes(self, y):
        m = self.meta
        if m.task == "regression":
            lo, hi = self.levels
            t = np.clip((np.asarray(y)[:, 0] - lo) / (hi - lo), 0, 1)
            return [pg.mkBrush(c) for c in diverging_cmap().mapToQColor(t)]
        return [pg.mkBrush(class_color(int(c))) for c in y]

    def _points(self):
        m = self.meta
        if m is None or not m.raw:
            return
        x, y = m.raw["train"]
        self.train_pts.setData(x[:, 0], x[:, 1], brush=self._brushes(y)) if len(x) else self.train_pts.clear()
        x, y = m.raw["test"]
        show = self.test_box.isChecked() and len(x)
        self.test_pts.setData(x[:, 0], x[:, 1], brush=self._brushes(y)) if show else self.test_pts.clear()

    def clear(self):
        self.frame = None
        self.image.clear()
        self.rgb.clear()
        self.info.setText("")

    def ingest(self, batch):
        if batch.boundary is not None:
            self.frame = batch.boundary
            self.dirty = True

    def redraw(self):
        f = self.frame
        if f is None:
            return
        x0, x1, y0, y1 = f.extent
        rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        discrete = self.discrete_box.isChecked()
        if f.kind == "multiclass":
            p = f.values
            if discrete:
                p = np.eye(p.shape[-1])[p.argmax(axis=-1)] * 0.75 + 0.25 / p.shape[-1]
            self.rgb.setImage(class_rgb(p))
            self.rgb.setRect(rect)
            self.image.setVisible(False)
            self.rgb.setVisible(True)
        else:
            v = f.values
            if f.kind == "binary" and discrete:
                v = np.where(v >= 0.5, 0.85, 0.15)
            self.image.setImage(np.nan_to_num(v, nan=0.5 * sum(self.levels)), autoLevels=False, levels=self.levels)
            self.image.setRect(rect)
            self.image.setVisible(True)
            self.rgb.setVisible(False)
        self.info.setText(f"after step {f.step}")

    def export_item(self):
        return self.item

    def csv_table(self):
        f = self.frame
        if f is None:
            return ["x1", "x2", "output"], [[], [], []]
        g = f.values.shape[0]
        x0, x1, y0, y1 = f.extent
        gx, gy = np.meshgrid(np.linspace(x0, x1, g), np.linspace(y0, y1, g))
        vals = f.values.reshape(g * g, -1)
        names = (["P(class 1)"] if f.kind == "binary" else ["prediction"] if f.kind == "regression"
                 else [f"P({n})" for n in (self.meta.class_names or range(vals.shape[1]))])
        return ["x1", "x2", *names], [gx.ravel(), gy.ravel(), *[vals[:, i] for i in range(vals.shape[1])]]
