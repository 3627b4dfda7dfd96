"""Live training plots: each is a thin pyqtgraph view over buffers that the progress slot fills.

``LivePlot`` is the contract every plot follows: ``set_meta`` when a trainer is
built (or ``None`` to clear), ``ingest`` for each progress batch (cheap: copy
numbers into preallocated buffers and mark dirty), ``redraw`` from the hub's
~30 Hz timer (one ``setData`` per item, only when dirty and visible), and
``export_item``/``csv_table`` for issue #6's exports.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QGraphicsItem, QHBoxLayout, QLabel, QMenu, QSizePolicy, QStackedLayout, QToolButton,
                               QVBoxLayout, QWidget)

from . import plot_export  # noqa: F401  - applies the SVG exporter fix on import
from .decimated_curve import DecimatedCurve
from .legend import TEXT, legend_above  # noqa: F401  - legend_above: the plots import it from here

# TF Playground's colours: orange for class 0 / negative, blue for class 1 / positive.
ORANGE, BLUE, WHITE = (245, 147, 34), (8, 119, 189), (255, 255, 255)
CLASS_COLORS = [ORANGE, BLUE, (46, 160, 67), (214, 39, 40), (148, 103, 189), (140, 86, 75),
                (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
TRAIN_PEN, VAL_PEN = (47, 111, 222), (230, 120, 20)
SERIES = [(47, 111, 222), (230, 120, 20), (46, 160, 67), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (90, 90, 90), (188, 189, 34), (23, 190, 207)]


def diverging_cmap() -> pg.ColorMap:
    return pg.ColorMap([0.0, 0.5, 1.0], [ORANGE, WHITE, BLUE])


def sequential_cmap() -> pg.ColorMap:
    return pg.ColorMap([0.0, 1.0], [(255, 255, 255), (8, 81, 156)])


def class_color(i, alpha=255) -> QColor:
    r, g, b = CLASS_COLORS[i % len(CLASS_COLORS)]
    return QColor(r, g, b, alpha)


def style_plot(item: pg.PlotItem, x=None, y=None, title=None):
    """Light theme with dark, readable axis text (the app is light; pyqtgraph defaults are dark)."""
    for name in ("left", "bottom", "right", "top"):
        ax = item.getAxis(name)
        ax.setPen(pg.mkPen("#7d8795"))
        ax.setTextPen(pg.mkPen(TEXT))
        ax.enableAutoSIPrefix(False)
        # Axes repaint whenever a curve next to them does; a cached pixmap makes that a blit.
        ax.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    # No grid: translucent grid lines cost ~1 ms each per frame in Qt's raster engine.
    item.layout.setContentsMargins(2, 10, 6, 2)  # room for the top tick label of axes and colour bars
    if x:
        item.setLabel("bottom", x, color=TEXT)
    if y:
        item.setLabel("left", y, color=TEXT)
    if title:
        item.setTitle(title, color=TEXT, size="10pt")
    return item


SYMBOL_LIMIT = 60  # per-epoch curves drop their point symbols past this many epochs (cheaper to draw)


def epoch_symbols(curve, n, brush):
    """Show point symbols on a per-epoch curve only while it is short."""
    want = "o" if n <= SYMBOL_LIMIT else None
    if curve.opts.get("symbol") != want:
        curve.setSymbol(want)
        if want:
            curve.setSymbolBrush(brush)
            curve.setSymbolPen(None)
            curve.setSymbolSize(5)


def colorbar(values, cmap, label) -> pg.ColorBarItem:
    """A fixed-level colour bar with readable dark text (pyqtgraph greys its label by default)."""
    bar = pg.ColorBarItem(values=values, colorMap=cmap, interactive=False, width=14)
    bar.axis.setTextPen(pg.mkPen(TEXT))
    bar.getAxis("left").setLabel(label, color=TEXT)
    return bar


def plot_widget(**kw) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    style_plot(w.getPlotItem(), **kw)
    return w


def layout_widget() -> pg.GraphicsLayoutWidget:
    w = pg.GraphicsLayoutWidget()
    w.setBackground("w")
    return w


def fast_curve(item: pg.PlotItem, per_pixel=0.5, method="peak", **kw) -> pg.PlotDataItem:
    """A curve that stays fast on long runs: ``per_pixel`` runs of points per pixel column of the visible
    range, each drawn as its min and max (``peak``) or its first point (``subsample``, for smooth curves).
    pyqtgraph's own downsampling redoes the whole series on every frame; see ``decimated_curve``."""
    c = DecimatedCurve(per_pixel=per_pixel, method=method, **kw)
    item.addItem(c)
    return c


class RangeKeeper:
    """Manual axis ranges with hysteresis: they change only when data leave them or fill < half.

    pyqtgraph's auto-range re-measures every item and re-lays the axes on every
    ``setData``; during training that is most of the redraw cost. Values are
    data coordinates; in log mode the keeper works on log10 of positive values.
    """

    def __init__(self, item: pg.PlotItem, grow=0.15, x_from_zero=True):
        self.item, self.grow, self.x_from_zero = item, grow, x_from_zero
        item.disableAutoRange()
        self.x = self.y = None

    def reset(self):
        self.x = self.y = None

    def _span(self, cur, lo, hi, anchor_low=False):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return cur
        if hi <= lo:
            pad = abs(hi) * 0.1 or 0.5
            lo, hi = lo - pad, hi + pad
        if cur is not None:
            clo, chi = cur
            inside = clo <= lo and hi <= chi
            loose = (hi - lo) < 0.5 * (chi - clo)
            if inside and not loose:
                return cur
        pad = (hi - lo) * self.grow
        return (lo if anchor_low else lo - pad * 0.3, hi + pad)

    def update(self, xs, ys):
        """Fit the view to the finite values of ``xs`` and ``ys`` (lists of arrays)."""
        x = np.concatenate([np.asarray(a, dtype=float).ravel() for a in xs]) if xs else np.zeros(0)
        y = np.concatenate([np.asarray(a, dtype=float).ravel() for a in ys]) if ys else np.zeros(0)
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if not len(x) or not len(y):
            return
        log = self.item.ctrl.logYCheck.isChecked()
        if log:
            y = np.log10(y[y > 0])
            if not len(y):
                return
        xlo = min(0.0, x.min()) if self.x_from_zero else x.min()
        nx = self._span(self.x, xlo, x.max(), anchor_low=True)
        ylo, yhi = y.min(), y.max()
        if log and yhi - ylo < 2.5:  # span 2.5+ decades: pyqtgraph then labels powers of ten only
            mid = 0.5 * (ylo + yhi)
            ylo, yhi = mid - 1.25, mid + 1.25
        ny = self._span(self.y, ylo, yhi)
        if nx != self.x:
            self.x = nx
            self.item.setXRange(*nx, padding=0)
        if ny != self.y:
            self.y = ny
            self.item.setYRange(*ny, padding=0)


class TimeMarker:
    """A vertical line at one moment of a curve plot (time travel's checkpoint), hidden until placed."""

    def __init__(self, item: pg.PlotItem):
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((214, 39, 40), width=2))
        self.line.setZValue(20)
        self.line.setVisible(False)
        item.addItem(self.line, ignoreBounds=True)  # the axes keep fitting the curves, not the marker

    def set(self, x):
        """Put the line at ``x`` (epochs), or hide it with None."""
        if x is None:
            self.line.setVisible(False)
        else:
            self.line.setValue(float(x))
            self.line.setVisible(True)

    @property
    def value(self):
        return self.line.value() if self.line.isVisible() else None


# Per-step curves keep at most this many points (thinned 2:1 when full). A redraw costs time in proportion
# to the points (the loss plot took 22 ms at 250k, measured on the compiled path at 40k steps/s), and this
# is still ~60 points per pixel of a 1600-px plot.
STEP_POINTS = 100_000


class GrowBuf:
    """Preallocated columns that double when full and thin out past ``cap`` (every 2nd point kept)."""

    def __init__(self, width=2, capacity=1024, cap=400_000):
        self.a = np.zeros((capacity, width), dtype=np.float64)
        self.n, self.cap = 0, cap

    def extend(self, *cols):
        rows = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
        if len(rows) == 0:
            return
        while self.n + len(rows) > self.cap and self.n > 1:  # thin the history, keep the newest point
            keep = self.a[self.n - 1 :: -2][::-1].copy()
            self.n = len(keep)
            self.a[: self.n] = keep
        rows = rows[-self.cap :]
        k = len(rows)
        if self.n + k > len(self.a):
            bigger = np.zeros((min(max(2 * len(self.a), self.n + k), max(self.cap, self.n + k)), self.a.shape[1]))
            bigger[: self.n] = self.a[: self.n]
            self.a = bigger
        self.a[self.n : self.n + k] = rows
        self.n += k

    def col(self, i):
        return self.a[: self.n, i]

    def __len__(self):
        return self.n

    def clear(self):
        self.n = 0


class LivePlot(QWidget):
    """Base of every plot tab: a message page until a trainer exists or when the plot does not apply."""

    title = "Plot"
    hint = "appears here when training starts (Train, F5)."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.meta = None
        self.dirty = False
        self._stack = QStackedLayout(self)
        self._message = QLabel(f"The {self.title.lower()} plot {self.hint}")
        self._message.setAlignment(Qt.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setStyleSheet("color: #6b7480; padding: 16px;")
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(2, 2, 2, 2)
        self.body_layout.setSpacing(2)
        self._stack.addWidget(self._message)
        self._stack.addWidget(self.body)
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(2, 0, 2, 0)
        self._n_left = 0
        self.bar.addStretch(1)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setObjectName("exportButton")
        self.export_button.setToolTip("Save this plot as PNG, SVG or CSV")
        self.export_button.setPopupMode(QToolButton.InstantPopup)
        self.export_menu = QMenu(self.export_button)
        plot_export.add_export_actions(self, [self.export_menu])
        self.export_button.setMenu(self.export_menu)
        self.bar.addWidget(self.export_button)
        self.body_layout.addLayout(self.bar)

    def add_control(self, widget, right=False):
        """Put a control in the plot's top bar: left-aligned, or right next to the Export button.

        A text label on the right ("after step 1,243") may shrink to nothing, so a plot never widens
        its dock past what a 1024 px window leaves it.
        """
        if right and isinstance(widget, QLabel):
            widget.setMinimumWidth(1)  # below its text width: the text is cut, the dock keeps its size
            widget.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        if right:
            self.bar.insertWidget(self.bar.count() - 1, widget)
        else:
            self.bar.insertWidget(self._n_left, widget)
            self._n_left += 1
        return widget

    # -- the contract ----------------------------------------------------------
    def applies(self, meta) -> str | None:
        """``None`` when this plot can show ``meta``'s training, else a sentence saying why not."""
        return None

    def set_meta(self, meta):
        self.meta = meta
        self.clear()
        why = None if meta is None else self.applies(meta)
        if meta is None:
            self._message.setText(f"The {self.title.lower()} plot {self.hint}")
        elif why:
            self._message.setText(why)
        self._stack.setCurrentWidget(self.body if meta is not None and not why else self._message)
        self.dirty = True

    @property
    def active(self):
        return self._stack.currentWidget() is self.body

    def clear(self):
        pass

    def ingest(self, batch):
        pass

    def redraw(self):
        pass

    def export_item(self):
        raise NotImplementedError

    def csv_table(self):
        return [], []

    def menus(self):
        """Context menus that get the Export actions."""
        item = getattr(self, "item", None) or self.export_item()
        vbs = [item.getViewBox()] if hasattr(item, "getViewBox") else []
        return [vb.menu for vb in vbs if vb is not None and getattr(vb, "menu", None) is not None]


class PlotHub(QObject):
    """Fans progress batches out to the views and redraws them on its own ~30 Hz timer.

    ``ingest`` only copies numbers; ``_tick`` calls ``redraw`` on views that are
    dirty and visible (hidden tabs catch up when shown). ``views`` are LivePlots
    and panels with the same ``set_meta/ingest/redraw/dirty`` shape.
    """

    INTERVAL_MS = 33  # ~30 Hz when redrawing is cheap
    MAX_INTERVAL_MS = 250
    GUI_SHARE = 0.2  # slow the redraw rate down when the GUI thread is busier than this
    BUDGET_S = 0.006  # redraw time per tick; the rest waits for the next tick


    def __init__(self, views, parent=None):
        super().__init__(parent)
        self.views = list(views)
        self.timer = QTimer(self)
        self.timer.setInterval(self.INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.draw_hidden = False  # benchmarks: redraw every plot, visible or not
        self.thread_log: list | None = None  # tests: the thread of every drawing call
        self.redraws = 0
        self._clock = None  # (wall, GUI-thread CPU) at the previous tick
        self._next = 0  # round-robin start
        self._last: dict[int, float] = {}  # view index -> time of its last redraw
        self.counts: dict[int, int] = {}  # view index -> redraws (benchmarks)
        self.cost: dict[int, float] = {}  # view index -> seconds its last redraw took
        self.clock = time.perf_counter  # tests: a clock the views' redraws advance

    def _log(self):
        if self.thread_log is not None:
            self.thread_log.append(QThread.currentThread())

    @Slot(object)
    def set_meta(self, meta):
        self._log()
        for v in self.views:
            v.set_meta(meta)
        self.timer.start()

    @Slot(object)
    def ingest(self, batch):
        self._log()
        for v in self.views:
            v.ingest(batch)
        if not self.timer.isActive():
            self.timer.start()

    @Slot()
    def _tick(self):
        """Redraw dirty views round-robin within a time budget, so one tick never blocks input for long.

        A view is left for the next tick when its last redraw would take the tick past the budget: two
        views that each fit but not together (the diagnostics' 5 ms, then the loss plot's 10) used to
        be drawn back to back, and their paints after them."""
        self._log()
        self._adapt()
        now = self.clock()
        end = now + self.BUDGET_S
        n, waiting, drew = len(self.views), False, False
        for k in range(n):
            i = (self._next + k) % n
            v = self.views[i]
            if not v.dirty or not (self.draw_hidden or v.isVisible()):
                continue
            if now - self._last.get(i, -1e9) < getattr(v, "min_interval", 0.0):
                waiting = True  # throttled view: stays dirty until its interval has passed
                continue
            if drew and self.clock() + self.cost.get(i, 0.0) > end:
                self._next, waiting = i, True
                break
            if getattr(v, "active", True):
                t = self.clock()
                v.redraw()
                self.cost[i] = self.clock() - t
                self.redraws += 1
                self.counts[i] = self.counts.get(i, 0) + 1
            v.dirty = False
            self._last[i] = now
            drew = True
        if not drew and not waiting:
            self.timer.stop()  # idle until the next batch, or a tab/dock becomes visible
            self._clock = None

    def _adapt(self):
        """Python drawing holds the GIL the trainer needs: keep the GUI thread's CPU share near GUI_SHARE."""
        now, cpu = time.perf_counter(), time.thread_time()
        if self._clock is not None:
            wall = now - self._clock[0]
            share = (cpu - self._clock[1]) / wall if wall > 0 else 0.0
            iv = self.timer.interval()
            if share > self.GUI_SHARE:
                iv = min(int(iv * 1.25) + 1, self.MAX_INTERVAL_MS)
            elif share < 0.6 * self.GUI_SHARE:
                iv = max(int(iv / 1.15), self.INTERVAL_MS)
            if iv != self.timer.interval():
                self.timer.setInterval(iv)
        self._clock = (now, cpu)

    @Slot()
    def wake(self):
        if not self.timer.isActive():
            self.timer.start()

    def flush(self):
        """Draw everything now (tests and screenshots)."""
        for v in self.views:
            if getattr(v, "active", True):
                v.redraw()
            v.dirty = False
