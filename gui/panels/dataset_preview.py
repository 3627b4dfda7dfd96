"""The dataset panel's scatter plot, and the mouse gestures that paint points into it.

Training points are filled, validation points faded and test points hollow,
coloured by class (TF Playground's orange/blue for two classes) or by target
value for regression. Inputs that are not 2-D are projected onto their first
two principal components. The widget only reports gestures (``painted``); the
dataset panel turns them into dataset specs.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractScrollArea, QApplication, QButtonGroup, QComboBox, QDoubleSpinBox, QHBoxLayout,
                               QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from ..style import NEGATIVE, POSITIVE
from .help_texts import apply_help
from .schema_form import compact

PALETTE = [NEGATIVE, POSITIVE, QColor("#2ca02c"), QColor("#d62728"), QColor("#9467bd"), QColor("#8c564b"),
           QColor("#e377c2"), QColor("#7f7f7f"), QColor("#bcbd22"), QColor("#17becf")]
NEUTRAL = QColor("#d3d7dd")
MODES = ("view", "paint", "erase")
SIZES = {"train": 7, "val": 6, "test": 8}


def class_color(c: int) -> QColor:
    return QColor(PALETTE[c % len(PALETTE)])


def value_colors(values, lo, hi):
    """Orange (low) → light grey → blue (high), TF Playground's regression colours."""
    cmap = pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE, NEUTRAL, POSITIVE])
    span = (hi - lo) or 1.0
    return cmap.map(np.clip((np.asarray(values, float) - lo) / span, 0.0, 1.0), mode=pg.ColorMap.QCOLOR)


def project_2d(parts):
    """``{split: (N, ...) inputs}`` → 2-D points: as is for 2 features, else PCA over all splits."""
    flat = {s: np.asarray(x, np.float64).reshape(len(x), int(np.prod(np.shape(x)[1:]))) for s, x in parts.items()}
    width = next(iter(flat.values())).shape[1]
    if width == 2:
        return flat, False
    if width == 1:
        return {s: np.c_[x, np.zeros(len(x))] for s, x in flat.items()}, False
    allx = np.concatenate(list(flat.values()))
    mean = allx.mean(axis=0)
    _, _, vt = np.linalg.svd(allx - mean, full_matrices=False)
    comps = vt[:2].T
    return {s: (x - mean) @ comps for s, x in flat.items()}, True


def swatch(color, size=12) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(color)
    return QIcon(pm)


class SquarePlot(pg.PlotWidget):
    """Asks for a square, dock-sized area (the default hint is a tall 640×480 view).

    The wheel scrolls the panel the preview sits in, as it does everywhere else
    in that panel; only Ctrl+wheel zooms the plot (a plain scroll over the
    preview used to shrink the spiral to a dot).
    """

    def sizeHint(self):
        return QSize(280, 280)

    def wheelEvent(self, ev):
        if ev.modifiers() & Qt.ControlModifier:
            super().wheelEvent(ev)
            ev.accept()
            return
        w = self.parentWidget()
        while w is not None and not isinstance(w, QAbstractScrollArea):
            w = w.parentWidget()
        if w is None:
            ev.ignore()
            return
        QApplication.sendEvent(w.verticalScrollBar(), ev)  # explicit: synthetic events do not propagate
        ev.accept()


class PassiveScatter(pg.ScatterPlotItem):
    """Points never take clicks, so a click on a point paints or erases there instead."""

    def mouseClickEvent(self, ev):
        ev.ignore()


class PaintViewBox(pg.ViewBox):
    """A ViewBox that, in paint or erase mode, reports clicks and drags in data coordinates."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.mode = "view"
        self.on_paint = None  # callable(action, x, y, phase); phase: click/start/move/end

    def _action(self, button):
        return "erase" if self.mode == "erase" or button == Qt.RightButton else "add"

    def _active(self, ev):
        return self.mode != "view" and self.on_paint is not None and ev.button() in (Qt.LeftButton, Qt.RightButton)

    def mouseClickEvent(self, ev):
        if not self._active(ev):
            return super().mouseClickEvent(ev)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        self.on_paint(self._action(ev.button()), p.x(), p.y(), "click")

    def mouseDragEvent(self, ev, axis=None):
        if not self._active(ev):
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        action = self._action(ev.button())
        if ev.isStart():
            p = self.mapSceneToView(ev.buttonDownScenePos())
            self.on_paint(action, p.x(), p.y(), "start")
        p = self.mapSceneToView(ev.scenePos())
        self.on_paint(action, p.x(), p.y(), "end" if ev.isFinish() else "move")


def point_colors(ds, y):
    """A class colour per point; a multi-label point is the mean colour of its labels (grey with none)."""
    if ds.task != "multilabel":
        return [class_color(int(c)) for c in y]
    cols = np.array([class_color(j + 1).getRgb()[:3] for j in range(y.shape[1])], dtype=np.float64)
    on = np.asarray(y, dtype=np.float64)
    n = on.sum(axis=1, keepdims=True)
    rgb = np.where(n > 0, on @ cols / np.maximum(n, 1), 170.0)
    return [QColor(int(r), int(g), int(b)) for r, g, b in rgb]


class DatasetPreview(QWidget):
    """Scatter of a ``Dataset`` plus the View/Paint/Erase toolbar."""

    painted = Signal(str, float, float, str)  # action ("add"/"erase"), x, y, phase
    modeChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.vb = PaintViewBox()
        lay.addLayout(self._toolbar())
        self.vb.on_paint = lambda *a: self.painted.emit(*a)
        self.plot = SquarePlot(viewBox=self.vb, background="w")
        self.plot.setObjectName("datasetPlot")
        self.plot.setMinimumSize(220, 220)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setTextPen(pg.mkPen("#5b6573"))
            self.plot.getAxis(ax).setPen(pg.mkPen("#9aa4b2"))
        apply_help(self.plot, "dataset.preview")
        self.items = {}
        for split in ("val", "train", "test"):  # test on top: hollow rings stay visible
            item = PassiveScatter(size=SIZES[split], pxMode=True, antialias=True)
            self.plot.addItem(item)
            self.items[split] = item
        lay.addWidget(self.plot, 1)
        self.legend = QLabel()
        self.legend.setObjectName("datasetLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.RichText)
        lay.addWidget(self.legend)
        self.projected = False
        self.regression = False
        self.n_classes = 0
        self.home = None  # ((x0, x1), (y0, y1)) that shows every point

    def _toolbar(self):
        row = QHBoxLayout()
        row.setSpacing(2)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons = {}
        for mode, text in zip(MODES, ("View", "Paint", "Erase")):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setObjectName(f"mode_{mode}")
            b.setToolButtonStyle(Qt.ToolButtonTextOnly)
            apply_help(b, f"dataset.{mode}")
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            row.addWidget(b)
            b.toggled.connect(lambda on, m=mode: on and self.set_mode(m))
        self.mode_buttons["view"].setChecked(True)
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setObjectName("previewFit")
        self.fit_button.setToolTip("Show every point again (Ctrl+wheel zooms, drag pans in View mode)")
        self.fit_button.clicked.connect(self.reset_view)
        row.addWidget(self.fit_button)
        row.addSpacing(4)
        self.class_label = QLabel("y =")
        row.addWidget(self.class_label)
        self.class_label.hide()
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("paintClass")
        compact(self.class_combo, 4)
        apply_help(self.class_combo, "dataset.paint_class")
        row.addWidget(self.class_combo, 1)
        self.value_spin = QDoubleSpinBox()
        self.value_spin.setObjectName("paintValue")
        self.value_spin.setRange(-1e6, 1e6)
        self.value_spin.setDecimals(3)
        self.value_spin.setSingleStep(0.1)
        apply_help(self.value_spin, "dataset.paint_class")
        # its size hint is the width of "-1000000.000"; room for "-0.000" keeps the row inside a narrow dock
        self.value_spin.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.value_spin.setMinimumWidth(self.value_spin.fontMetrics().horizontalAdvance("-0.000") + 24)
        row.addWidget(self.value_spin, 1)
        self.value_spin.hide()
        return row

    # -- modes ---------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.vb.mode

    def set_mode(self, mode: str):
        if mode not in MODES:
            raise ValueError(f"unknown preview mode {mode!r}")
        if not self.mode_buttons[mode].isChecked():
            self.mode_buttons[mode].setChecked(True)
        if mode != self.vb.mode:
            self.vb.mode = mode
            self.plot.setCursor(Qt.CrossCursor if mode != "view" else Qt.ArrowCursor)
            self.vb.setMouseEnabled(mode == "view", mode == "view")
            self.modeChanged.emit(mode)

    def set_paintable(self, ok: bool, why: str = ""):
        for m in ("paint", "erase"):
            self.mode_buttons[m].setEnabled(ok)
            if ok:
                apply_help(self.mode_buttons[m], f"dataset.{m}")
            else:
                self.mode_buttons[m].setToolTip(why)
        self.class_combo.setVisible(ok and not self.regression)
        self.value_spin.setVisible(ok and self.regression)
        self.class_label.setVisible(ok and self.regression)
        if not ok:
            self.set_mode("view")

    def paint_target(self):
        """The label a new painted point gets: a class index or a regression value."""
        if self.regression:
            return float(self.value_spin.value())
        return int(self.class_combo.currentData() or 0)

    def _set_targets(self, ds):
        regression = self.regression = ds.task == "regression"
        self.class_combo.setVisible(not regression)
        self.value_spin.setVisible(regression)
        self.class_label.setVisible(regression)
        if regression:
            return
        names = list(ds.class_names)
        current = self.class_combo.currentData()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for c, name in enumerate(names):
            self.class_combo.addItem(swatch(class_color(c)), str(name), c)
        if len(names) < 10:
            self.class_combo.addItem(swatch(class_color(len(names))), "new class", len(names))
        i = self.class_combo.findData(current if current is not None else 0)
        self.class_combo.setCurrentIndex(max(i, 0))
        self.class_combo.blockSignals(False)

    # -- drawing -----------------------------------------------------------------------
    def clear(self, message=""):
        for item in self.items.values():
            item.setData([], [])
        self.legend.setText(html.escape(message))

    def counts(self) -> dict:
        return {s: len(item.data) for s, item in self.items.items()}

    def show_dataset(self, ds, refit=True):
        parts = {s: ds.raw_x(s) for s in ("train", "val", "test")}
        pts, self.projected = project_2d(parts)
        regression = ds.task == "regression"
        ys = {s: ds.split(s)[1] for s in parts}
        if regression:
            every = np.concatenate([ys[s][:, 0] for s in ys]) if any(len(y) for y in ys.values()) else np.zeros(1)
            lo, hi = float(every.min()), float(every.max())
            if lo < 0 < hi:  # keep 0 at the neutral colour, as TF Playground does
                lo, hi = -max(-lo, hi), max(-lo, hi)
        self.n_classes = ds.n_classes
        for split, item in self.items.items():
            p, y = pts[split], ys[split]
            colors = value_colors(y[:, 0], lo, hi) if regression else point_colors(ds, y)
            if split == "test":
                pens = [pg.mkPen(c, width=1.6) for c in colors]
                item.setData(p[:, 0], p[:, 1], pen=pens, brush=QBrush(Qt.NoBrush))
            elif split == "val":
                brushes = [QBrush(QColor(c.red(), c.green(), c.blue(), 110)) for c in colors]
                item.setData(p[:, 0], p[:, 1], pen=pg.mkPen(None), brush=brushes)
            else:
                edge = pg.mkPen("#8a93a0", width=0.6) if regression else pg.mkPen(255, 255, 255, 200, width=0.8)
                item.setData(p[:, 0], p[:, 1], pen=edge, brush=[QBrush(c) for c in colors])
        names = ds.feature_names if not self.projected and len(parts["train"].shape) == 2 else []
        raw_names = ["x1", "x2"] if ds.preprocess_state.get("features") else names
        self.plot.setLabel("bottom", "PC 1" if self.projected else (raw_names[0] if raw_names else "x1"))
        self.plot.setLabel("left", "PC 2" if self.projected else (raw_names[1] if len(raw_names) > 1 else ""))
        self.vb.setAspectLocked(True)
        allp = np.concatenate([pts[s] for s in pts])
        if len(allp):
            lo_xy, hi_xy = allp.min(axis=0), allp.max(axis=0)
            pad = np.maximum((hi_xy - lo_xy) * 0.06, 0.5)
            self.home = ((float(lo_xy[0] - pad[0]), float(hi_xy[0] + pad[0])),
                         (float(lo_xy[1] - pad[1]), float(hi_xy[1] + pad[1])))
        if refit:
            self.reset_view()
        self._set_targets(ds)
        self.legend.setText(self._legend_html(ds, regression, lo if regression else 0, hi if regression else 0))

    def reset_view(self):
        """Every point in view with a small margin (the Fit button; also after a new dataset)."""
        if self.home is not None:
            self.vb.setRange(xRange=self.home[0], yRange=self.home[1], padding=0)

    def _legend_html(self, ds, regression, lo, hi):
        sizes = ds.sizes
        bits = []
        if regression:
            bits.append(f"<span style='color:{NEGATIVE.name()}'>●</span> {lo:.3g} … "
                        f"<span style='color:{POSITIVE.name()}'>●</span> {hi:.3g}")
        elif ds.task == "multilabel":
            counts = ds.class_counts("train")
            bits.append("multi-label: colour = the labels a point has (" + ", ".join(
                f"<span style='color:{class_color(j + 1).name()}'>●</span>&nbsp;{html.escape(str(n))} {c}"
                for j, (n, c) in enumerate(zip(ds.class_names[:6], counts))) +
                f"{' …' if len(ds.class_names) > 6 else ''}; grey: none) — train samples with each label")
        else:
            shown = ds.class_names[:6]
            bits.append(" ".join(f"<span style='color:{class_color(c).name()}'>●</span>&nbsp;{html.escape(str(n))}"
                                 for c, n in enumerate(shown)) + (" …" if len(ds.class_names) > 6 else ""))
        bits.append(f"● train {sizes['train']} &nbsp; ◌ val {sizes['val']} &nbsp; ○ test {sizes['test']}")
        if self.projected:
            bits.append("<span style='color:#5b6573'>(projected onto 2 principal components)</span>")
        return "<br>".join(bits)
