"""The search's two plots: the optimisation history and parallel coordinates, from plain trial rows.

Rows are ``engine.search.trial_rows`` dicts. The history shows each complete trial's score and the
best so far; parallel coordinates draw one line per complete trial across one axis per parameter
(each scaled to its own range, log ranges on a log scale, categories spread evenly), coloured from
the best score (blue) to the worst (orange).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from gui.plots import BLUE, ORANGE, TEXT, legend_above, plot_widget


def complete(rows):
    return [r for r in rows if r["state"] == "complete" and r["value"] is not None and math.isfinite(r["value"])]


def best_so_far(values, minimize=True):
    out, best = [], None
    for v in values:
        best = v if best is None or (v < best if minimize else v > best) else best
        out.append(best)
    return out


def axis_positions(rows, space: dict) -> dict:
    """``{path: [position in 0..1 per row]}``: the parallel-coordinates value of each trial."""
    out = {}
    for path, spec in space.items():
        vals = [r["params"].get(path) for r in rows]
        if spec["type"] == "categorical":
            ch = [str(c) for c in spec["choices"]]
            n = max(len(ch) - 1, 1)
            out[path] = [ch.index(str(v)) / n if str(v) in ch else np.nan for v in vals]
            continue
        lo, hi = float(spec["low"]), float(spec["high"])
        if spec.get("log") and lo > 0:
            lo, hi = math.log(lo), math.log(hi)
            vals = [math.log(v) if v is not None and v > 0 else np.nan for v in vals]
        span = hi - lo or 1.0
        out[path] = [(float(v) - lo) / span if v is not None and v == v else np.nan for v in vals]
    return out


def _mix(t):
    """0 → blue (best), 1 → orange (worst)."""
    return tuple(int(b + (o - b) * t) for b, o in zip(BLUE, ORANGE))


class HistoryPlot:
    def __init__(self):
        self.widget = plot_widget(x="trial", y="score")
        self.widget.setObjectName("sweepHistory")
        self.legend = legend_above(self.widget, columns=2)
        self.points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(*BLUE, 180), pen=None, name="trial")
        self.best = self.widget.plot([], [], pen=pg.mkPen(ORANGE, width=2), name="best so far")
        self.widget.addItem(self.points)
        self.legend.addItem(self.points, "trial")
        self.legend.addItem(self.best, "best so far")

    def update(self, rows, minimize=True, metric="score"):
        rows = sorted(complete(rows), key=lambda r: r["number"])
        x = [r["number"] for r in rows]
        y = [r["value"] for r in rows]
        self.points.setData(x, y)
        self.best.setData(x, best_so_far(y, minimize))
        self.widget.getPlotItem().setLabel("left", metric, color=TEXT)


class ParallelPlot:
    def __init__(self):
        self.widget = plot_widget()
        self.widget.setObjectName("sweepParallel")
        self.widget.getPlotItem().hideAxis("left")
        self.items: list = []
        self.lines = None

    def update(self, rows, space: dict, minimize=True):
        pw = self.widget
        for it in self.items:
            pw.removeItem(it)
        self.items = []
        paths = list(space)
        rows = complete(rows)
        ax = pw.getPlotItem().getAxis("bottom")
        ax.setTicks([[(i, _short(p)) for i, p in enumerate(paths)]])
        for i in range(len(paths)):
            line = pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen("#9aa3ad"))
            pw.addItem(line)
            self.items.append(line)
        if not rows or not paths:
            return
        pos = axis_positions(rows, space)
        vals = np.array([r["value"] for r in rows])
        lo, hi = vals.min(), vals.max()
        t = (vals - lo) / (hi - lo) if hi > lo else np.zeros_like(vals)
        if not minimize:
            t = 1 - t
        order = np.argsort(-t)  # the best drawn last, on top
        for k in order:
            ys = [pos[p][k] for p in paths]
            c = pw.plot(list(range(len(paths))), ys, pen=pg.mkPen(_mix(float(t[k])), width=2 if t[k] == 0 else 1))
            self.items.append(c)
        pw.setXRange(-0.2, len(paths) - 0.8, padding=0)
        pw.setYRange(-0.05, 1.05, padding=0)


def _short(path):
    from engine.runs import short_name

    return {"graph.units": "units", "graph.hidden_layers": "layers", "graph.activation": "activation",
            "graph.dropout": "dropout", "regularizers.l2": "L2", "optimizer.lr": "lr"}.get(path, short_name(path))
