"""A curve for long, growing series: drawn from a few points per pixel column of the visible x range.

pyqtgraph can downsample and clip a curve itself, but it redoes that over the whole series on every
``setData`` and once more whenever the x range moves. While a fast run trains, both happen on nearly
every frame: with 100k steps that was ~5 ms of a loss-plot redraw (the compiled path, measured), on
the GUI thread. ``DecimatedCurve`` keeps the whole series and hands pyqtgraph only the peaks (the
minimum and maximum of each run of points, pyqtgraph's own "peak" method; by default a run every two
pixel columns), so every later stage (log mapping, bounds, the path, the paint) sees about a point per
pixel column however long the run. The x range moving, or the plot resizing, re-decimates from the
kept series.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def decimate(x: np.ndarray, y: np.ndarray, lo: float, hi: float, bins: int,
             method: str = "peak") -> tuple[np.ndarray, np.ndarray]:
    """The points of ``x`` (ascending) in ``[lo, hi]``, and one beyond each side, as ~``bins`` runs.

    ``peak``: each run of ``len // bins`` consecutive points (the last run may be shorter) becomes its
    minimum and maximum (NaN ignored) at the run's first x, so spikes stay visible. ``subsample``: the
    run's first point (for curves that are smooth already). Either ends with the last point. Fewer
    points than ``2*bins`` come back as they are."""
    n = len(x)
    i0 = max(int(np.searchsorted(x, lo, side="left")) - 1, 0)
    i1 = min(int(np.searchsorted(x, hi, side="right")) + 1, n)
    x, y = x[i0:i1], y[i0:i1]
    m = len(x)
    if bins < 1 or m <= 2 * bins:
        return x, y
    ds = m // bins
    if method == "subsample":
        return np.append(x[::ds], x[-1]), np.append(y[::ds], y[-1])
    k = -(-m // ds)  # runs; the last may be shorter
    pad = k * ds - m
    block = np.concatenate([y, np.full(pad, np.nan)]).reshape(k, ds) if pad else y.reshape(k, ds)
    out_x = np.repeat(x[::ds], 2)
    out_y = np.empty(2 * k)
    out_y[0::2] = np.fmin.reduce(block, axis=1)
    out_y[1::2] = np.fmax.reduce(block, axis=1)
    return np.append(out_x, x[-1]), np.append(out_y, y[-1])  # the curve ends at the newest point


class DecimatedCurve(pg.PlotDataItem):
    """A ``PlotDataItem`` whose ``setData(x, y)`` keeps the series and shows its peaks (x must ascend).

    ``per_pixel`` is the number of runs (``decimate``) per pixel column. ``getData`` returns what is
    shown; ``series()`` the whole series. Other forms of ``setData`` pass through to pyqtgraph unchanged.
    """

    def __init__(self, per_pixel: float = 0.5, method: str = "peak", **kw):
        super().__init__(**kw)
        self.per_pixel, self.method = per_pixel, method
        self._series = (np.zeros(0), np.zeros(0))
        self._stale = False
        self._resized_from = None  # the ViewBox whose size changes re-decimate

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        return self._series

    def setData(self, *args, **kw):
        if len(args) == 2 and not kw:
            self.set_series(*args)
            self._show()
        else:
            super().setData(*args, **kw)

    def set_series(self, x, y):
        """A new series, shown by ``show_stale`` or the next x-range change, whichever comes first.

        A plot that is about to move its x range sets its series first: the range change then decimates
        the new series once, instead of the old one and then the new (~0.7 ms a curve at 100k points)."""
        self._series = (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        self._stale = True

    def show_stale(self):
        if self._stale:
            self._show()

    def _show(self):
        self._stale = False
        x, y = self._series
        vb = self.getViewBox()
        if vb is not None and vb is not self._resized_from:
            vb.sigResized.connect(self._on_resized)
            self._resized_from = vb
        if vb is not None and len(x) > 2 and vb.width() > 0:
            (lo, hi), _ = vb.viewRange()
            x, y = decimate(x, y, lo, hi, int(vb.width() * self.per_pixel), self.method)
        super().setData(x, y)

    def _on_resized(self, *_):
        self._show()

    def viewRangeChanged(self, vb=None, ranges=None, changed=None):
        super().viewRangeChanged(vb, ranges, changed)
        if (changed is None or changed[0]) and len(self._series[0]) > 2:
            self._show()
