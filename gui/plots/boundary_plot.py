"""The decision boundary (classification) or fitted surface (regression) behind the data, live.

Multi-label networks (one sigmoid per label) have one boundary per label: the "label" combo picks which
P(label j) is drawn, and the points are coloured by whether they carry that label. Every label's map is
in each frame, so switching labels redraws at once.

Only for 2-D inputs: the worker evaluates a GRID x GRID mesh in raw input space
(through the dataset's feature expansion and scaling) every ~0.25 s. Training
points are filled circles with a white edge, test points have a dark edge, as
in TF Playground; colour levels are fixed, so the picture never re-scales.

The map is drawn UPSAMPLE times finer than the worker's grid by bilinear
interpolation (exact between grid points for a surface that is linear there;
a few hundred microseconds here, nothing in the worker), so it is smooth at the
cost of the coarse grid. x1 and x2 share one scale, and the plot is kept about
as wide as the data's aspect asks, so the axes show the data range with the
worker's margin instead of a band of empty axis beside it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel

from . import CLASS_COLORS, LivePlot, class_color, colorbar, diverging_cmap, plot_widget


UPSAMPLE = 4  # drawn pixels per grid step


def upsample(values, k=UPSAMPLE):
    """Bilinear interpolation of a (G, G[, c]) grid of point samples to ((G-1)k+1, (G-1)k+1[, c]).

    Row i, column j of the result lies at grid coordinates (i/k, j/k), so every k-th pixel is a grid
    value exactly and the ones between are weighted means of the four grid points around them.
    """
    v = np.asarray(values, dtype=np.float32)
    g = v.shape[0]
    if k <= 1 or g < 2:
        return v
    t = np.arange((g - 1) * k + 1, dtype=np.float32) / k
    i0 = np.minimum(t.astype(np.int64), g - 2)
    f = t - i0
    fy = f.reshape((-1,) + (1,) * (v.ndim - 1))
    rows = v[i0] * (1 - fy) + v[i0 + 1] * fy  # (N, G[, c]): interpolated between grid rows
    fx = f.reshape((1, -1) + (1,) * (v.ndim - 2))
    return rows[:, i0] * (1 - fx) + rows[:, i0 + 1] * fx


def pixel_rect(extent, n):
    """The image rectangle that puts the centres of n pixels on n points spaced evenly over ``extent``."""
    x0, x1, y0, y1 = extent
    dx, dy = (x1 - x0) / max(n - 1, 1), (y1 - y0) / max(n - 1, 1)
    return QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)


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
        self.test_box = QCheckBox("Test data")
        self.test_box.setToolTip("Show the test points (dark edge) as well as the training points")
        self.test_box.setChecked(True)
        self.test_box.toggled.connect(self._mark)
        self.discrete_box = QCheckBox("Discretize")
        self.discrete_box.setToolTip("Show the predicted class only, not its probability")
        self.discrete_box.toggled.connect(self._mark)
        self.label_combo = QComboBox()
        self.label_combo.setObjectName("boundaryLabel")
        self.label_combo.setToolTip("Multi-label data: the label whose probability P(label) is drawn; points are "
                                    "coloured by whether they carry it")
        self.label_combo.currentIndexChanged.connect(self._on_label)
        self.label_combo.setVisible(False)
        self.info = QLabel()
        self.info.setStyleSheet("color: #5b6573;")
        self.add_control(self.test_box)
        self.add_control(self.discrete_box)
        self.add_control(self.label_combo)
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
        self.body_layout.addWidget(self.pw, 1, Qt.AlignHCenter)
        self.frame = None
        self.aspect = 1.0  # data width / height of the extent

    def applies(self, meta):
        if meta.extent is None:
            shape = tuple(getattr(getattr(meta.trainer, "data", None), "input_shape", ()) or ())
            if len(shape) > 1:  # a sequence (T, features) or an image: no plane of two inputs to colour
                return ("The decision boundary is drawn for 2-D inputs only; this dataset's samples have shape "
                        f"({', '.join(map(str, shape))}), {len(meta.feature_names)} values each.")
            return ("The decision boundary is drawn for 2-D inputs only; this dataset's inputs have "
                    f"{len(meta.feature_names)} features.")
        return None

    @property
    def label(self) -> int:
        """The multi-label boundary's label index (0 for other tasks)."""
        return max(self.label_combo.currentIndex(), 0)

    def _on_label(self, *_):
        m = self.meta
        if m is not None and m.task == "multilabel" and self.label_combo.count():
            self.cbar.getAxis("left").setLabel(f"P({self.label_combo.currentText()})", color="#1d232b")
        self._mark()

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
        self.aspect = (x1 - x0) / max(y1 - y0, 1e-12)
        self.item.setXRange(x0, x1, padding=0)
        self.item.setYRange(y0, y1, padding=0)
        self.fit_width()
        reg = meta.task == "regression"
        multilabel = meta.task == "multilabel"
        self.label_combo.blockSignals(True)
        keep = self.label_combo.currentIndex()
        self.label_combo.clear()
        if multilabel:
            self.label_combo.addItems([str(n) for n in meta.class_names])
            self.label_combo.setCurrentIndex(keep if 0 <= keep < len(meta.class_names) else 0)
        self.label_combo.setVisible(multilabel)
        self.label_combo.blockSignals(False)
        lo, hi = meta.y_range if reg and meta.y_range else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 1, hi + 1
        self.levels = (lo, hi)
        self.cbar.setLevels((lo, hi))
        name = "prediction" if reg else f"P({self.label_combo.currentText()})" if multilabel else "P(class 1)"
        self.cbar.getAxis("left").setLabel(name, color="#1d232b")
        self.cbar.setVisible(reg or multilabel or meta.n_classes <= 2)
        self.discrete_box.setEnabled(not reg)
        self._points()

    def _brushes(self, y):
        m = self.meta
        if m.task == "regression":
            lo, hi = self.levels
            t = np.clip((np.asarray(y)[:, 0] - lo) / (hi - lo), 0, 1)
            return [pg.mkBrush(c) for c in diverging_cmap().mapToQColor(t)]
        if m.task == "multilabel":  # has the chosen label (class 1's colour) or not (class 0's)
            return [pg.mkBrush(class_color(int(c))) for c in np.asarray(y)[:, self.label]]
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
        self.fit_width()
        discrete = self.discrete_box.isChecked()
        if f.kind == "multiclass":
            p = upsample(f.values)
            if discrete:
                p = np.eye(p.shape[-1])[p.argmax(axis=-1)] * 0.75 + 0.25 / p.shape[-1]
            self.rgb.setImage(class_rgb(p))
            self.rgb.setRect(pixel_rect(f.extent, p.shape[0]))
            self.image.setVisible(False)
            self.rgb.setVisible(True)
        else:
            v = upsample(np.nan_to_num(self.shown_values(), nan=0.5 * sum(self.levels)))
            if f.kind in ("binary", "multilabel") and discrete:
                v = np.where(v >= 0.5, 0.85, 0.15)
            self.image.setImage(v, autoLevels=False, levels=self.levels)
            self.image.setRect(pixel_rect(f.extent, v.shape[0]))
            self.image.setVisible(True)
            self.rgb.setVisible(False)
        self.info.setText(f"after step {f.step}")

    def shown_values(self):
        """The (G, G) grid the image shows before upsampling: P(class 1), the prediction, or P(chosen label)."""
        f = self.frame
        if f is None:
            return None
        if f.kind == "multilabel":
            return f.label_map(min(self.label, f.values.shape[-1] - 1))
        return f.values

    def fit_width(self):
        """Keep the plot about as wide as the data's aspect needs at its height (the rest stays blank).

        With x1 and x2 on one scale a wide plot would otherwise stretch the x axis far past the data.
        """
        vb = self.item.getViewBox()
        chrome = max(self.pw.width() - int(vb.width()), 0)  # axes and colour bar
        want = int((self.pw.height() - max(self.pw.height() - int(vb.height()), 0)) * self.aspect) + chrome
        self.pw.setMaximumWidth(max(want, 160))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.fit_width()

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
                 else [f"P({n})" for n in (self.meta.class_names or range(vals.shape[1]))])  # multilabel: every label
        return ["x1", "x2", *names], [gx.ravel(), gy.ravel(), *[vals[:, i] for i in range(vals.shape[1])]]
