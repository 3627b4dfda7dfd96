"""Loss curves: training loss per step (raw, faint, and EMA-smoothed) and per epoch, validation per epoch."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QSlider

from . import (STEP_POINTS, TRAIN_PEN, VAL_PEN, GrowBuf, LivePlot, RangeKeeper, TimeMarker, epoch_symbols, fast_curve,
               legend_above, plot_widget)

CHUNK = 256
RAW_PEN = (196, 212, 240)  # light blue, opaque


_POWERS = {}


def _powers(a):
    """Lower-triangular ``a**(i-k)`` (cached per smoothing value)."""
    m = _POWERS.get(a)
    if m is None:
        idx = np.arange(CHUNK)
        m = np.where(idx[:, None] >= idx[None, :], a ** np.clip(idx[:, None] - idx[None, :], 0, None), 0.0)
        _POWERS.clear()
        _POWERS[a] = m
    return m


def ema(x, a, carry=None):
    """Exponential moving average ``s_i = a s_(i-1) + (1-a) x_i``, vectorised in chunks; starts at ``x[0]``."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    if len(x) == 0:
        return out
    if a <= 0:
        return x.copy()
    c = x[0] if carry is None else float(carry)
    powers = _powers(a)
    decay = a ** (np.arange(CHUNK) + 1.0)
    for s in range(0, len(x), CHUNK):
        xs = x[s : s + CHUNK]
        m = len(xs)
        out[s : s + m] = decay[:m] * c + (1 - a) * (powers[:m, :m] @ xs)
        c = out[s + m - 1]
    return out


class LossPlot(LivePlot):
    title = "Loss"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_box = QCheckBox("Log scale")
        self.log_box.setToolTip("Show the loss on a logarithmic axis (useful once it is small)")
        self.log_box.toggled.connect(self._set_log)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(90)  # per-step losses of small batches are noisy: smooth well by default
        self.slider.setMaximumWidth(160)
        self.slider.setToolTip("Exponential moving average of the per-step loss (0 = raw)")
        self.slider.valueChanged.connect(self._smoothing_changed)
        self.smooth_label = QLabel()
        self.add_control(self.log_box)
        self.add_control(QLabel("  Smoothing"))
        self.add_control(self.slider)
        self.add_control(self.smooth_label)
        self.pw = plot_widget(x="epoch", y="loss")
        self.item = self.pw.getPlotItem()
        self.legend = legend_above(self.pw)
        # Opaque, 1 px pens: Qt's raster engine strokes a noisy curve with a translucent or wider pen
        # 30-100x slower (tessellation), which would stall the GUI thread on every frame.
        # Every curve is decimated to the pixels: the compiled path finishes ~1,000 epochs/s, so even the
        # per-epoch curves reach 10k points in seconds (drawing them cost ~10 ms a frame). A noisy curve's
        # min/max strokes are what painting costs (~3 ms per 1,500 points at 1500 px): the raw steps keep a
        # pair every 4 px, and the smoothed curve, smooth already, one point every 2 px.
        self.raw = fast_curve(self.item, per_pixel=0.25, pen=pg.mkPen(RAW_PEN, width=1))
        self.smooth = fast_curve(self.item, method="subsample", pen=pg.mkPen(TRAIN_PEN, width=2))
        self.train_ep = fast_curve(self.item, pen=pg.mkPen((20, 50, 120), width=1, style=Qt.DashLine), symbol="o",
                                   symbolSize=5, symbolBrush=(20, 50, 120), symbolPen=None)
        self.val_ep = fast_curve(self.item, pen=pg.mkPen(VAL_PEN, width=2), symbol="o", symbolSize=5,
                                 symbolBrush=VAL_PEN, symbolPen=None)
        for c, name in ((self.smooth, "train, per step (smoothed)"), (self.train_ep, "train, per epoch"),
                        (self.val_ep, "validation, per epoch")):
            self.legend.addItem(c, name)
        self.pw.legend_fitter.short_names = {"train, per step (smoothed)": "train/step", "train, per epoch": "train/epoch",
                                             "validation, per epoch": "validation"}  # a narrow plot's legend
        self.body_layout.addWidget(self.pw, 1)
        self.range = RangeKeeper(self.item)
        self.marker = TimeMarker(self.item)  # time travel: the checkpoint the window shows
        self.steps = GrowBuf(3, cap=STEP_POINTS)  # x, loss, smoothed
        self.epochs = GrowBuf(3)  # epoch, train loss, val loss
        self._carry = None  # the smoothed value after the newest step (the EMA goes on from it)
        self._drawn = (-1, -1)
        self._ylim = (np.inf, -np.inf)  # running range of the smoothed curve
        self._smoothing_changed(self.slider.value())

    @property
    def alpha(self):
        return self.slider.value() / 100.0

    def _smoothing_changed(self, v):
        self.smooth_label.setText(f"{v / 100:.2f}")
        self.smooth.setPen(pg.mkPen(TRAIN_PEN, width=2 if v >= 50 else 1))  # wide pens are slow on noisy curves
        self._resmooth()
        self._drawn = (-1, -1)
        self.dirty = True

    def _set_log(self, on):
        self.item.setLogMode(y=on)
        self.item.getAxis("left").setStyle(maxTextLevel=0 if on else 2)
        self._ylim = (np.inf, -np.inf)
        self._widen_ylim(self.steps.col(2))  # log10 needs the positive part only
        self.range.reset()
        self._drawn = (-1, -1)
        self.dirty = True

    def clear(self):
        self.steps.clear()
        self.epochs.clear()
        self._carry = None
        self._drawn = (-1, -1)
        self._ylim = (np.inf, -np.inf)
        self.range.reset()
        for c in (self.raw, self.smooth, self.train_ep, self.val_ep):
            c.setData([], [])

    def ingest(self, batch):
        if len(batch.losses):
            # Smoothed as the steps arrive, ~1,400 at a time at 30 Hz (a fraction of a millisecond), not at redraw:
            # at 40k steps/s a redraw a second would smooth 40k steps in one go and stall the window for ~5 ms,
            # and the buffer may thin out steps before they were smoothed.
            smoothed = ema(batch.losses, self.alpha, self._carry)
            self._carry = smoothed[-1]
            self.steps.extend(batch.xs, batch.losses, smoothed)
            self._widen_ylim(smoothed)
            self.dirty = True
        if batch.epochs:  # one extend per batch: at 1,000 epochs/s (the compiled path) a call per epoch cost ~4 % of a core
            eps = batch.epochs
            self.epochs.extend([ev.epoch for ev in eps], [ev.train_loss for ev in eps],
                               [np.nan if ev.val_loss is None else ev.val_loss for ev in eps])
            self.dirty = True

    def _resmooth(self):
        """The whole smoothed curve again (a new smoothing value): from the steps kept, thinned or not."""
        self._ylim = (np.inf, -np.inf)
        n = len(self.steps)
        self._carry = None
        if n:
            smoothed = ema(self.steps.col(1), self.alpha)
            self.steps.a[:n, 2] = smoothed
            self._carry = smoothed[-1]
            self._widen_ylim(smoothed)

    def _widen_ylim(self, smoothed):
        fin = smoothed[np.isfinite(smoothed)]
        if self.item.ctrl.logYCheck.isChecked():  # the check box or the plot's own menu
            fin = fin[fin > 0]
        if len(fin):
            self._ylim = (min(self._ylim[0], fin.min()), max(self._ylim[1], fin.max()))

    def redraw(self):
        n, ne = len(self.steps), len(self.epochs)
        if n != self._drawn[0]:
            x = self.steps.col(0)
            self.raw.set_series(x, self.steps.col(1))
            self.smooth.set_series(x, self.steps.col(2))
        e = self.epochs
        if ne != self._drawn[1]:
            epoch_symbols(self.train_ep, ne, (20, 50, 120))
            epoch_symbols(self.val_ep, ne, VAL_PEN)
            self.train_ep.set_series(e.col(0), e.col(1))
            val = e.col(2)
            ok = np.isfinite(val)
            self.val_ep.set_series(e.col(0)[ok], val[ok])
        self._drawn = (n, ne)
        xs = [self.steps.col(0)[-1:], e.col(0)[-1:]]
        self.range.update(xs, [np.asarray(self._ylim), e.col(1), e.col(2)])  # a new x range shows the new series
        for c in (self.raw, self.smooth, self.train_ep, self.val_ep):
            c.show_stale()

    def export_item(self):
        return self.pw.legend_layout

    def csv_table(self):
        return (["epoch (fractional)", "train loss (step)", f"train loss (smoothed {self.alpha:.2f})",
                 "epoch", "train loss (epoch)", "validation loss (epoch)"],
                [self.steps.col(0), self.steps.col(1), self.steps.col(2),
                 self.epochs.col(0), self.epochs.col(1), self.epochs.col(2)])
