"""Every plot to PNG (chosen width), SVG and CSV, plus the per-epoch history table.

pyqtgraph 0.14's SVG exporter crashes on Qt >= 6.11 (pyqtgraph issue #3485):
Qt now closes sub-paths with a bare ``Z`` token, and ``correctCoordinates``
splits every token of a path's ``d`` attribute on ``,``. ``_patch_svg_exporter``
wraps that function: ``Z`` tokens become a line back to the sub-path start
while pyqtgraph transforms the coordinates, and are put back afterwards.
The patch is idempotent and a no-op where the tokens already parse.
"""
from __future__ import annotations

import csv
import importlib
import math
import os
import re

import numpy as np

_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PAIRS = {"M": 1, "L": 1, "C": 3, "Q": 2, "S": 2, "T": 1}


def _explode_path(d: str):
    """(tokens pyqtgraph can parse, indices where a ``Z`` stood) or ``None`` for unknown commands."""
    items = _TOKEN.findall(d)
    tokens, closes, start, i = [], [], None, 0
    while i < len(items):
        cmd = items[i]
        if cmd in ("Z", "z"):
            if start is None:
                return None
            closes.append(len(tokens))
            tokens.append(f"L{start[0]},{start[1]}")
            i += 1
            continue
        if cmd not in _PAIRS:
            return None
        i += 1
        first = True
        # a command letter may be followed by several coordinate groups (implicit repeats)
        while i + 1 < len(items) and not items[i].isalpha() and not items[i + 1].isalpha():
            x, y = items[i], items[i + 1]
            tokens.append(f"{cmd if first else ''}{x},{y}")
            if cmd == "M" and first:
                start = (x, y)
            first = False
            i += 2
    return tokens, closes


def _patch_svg_exporter():
    mod = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    if getattr(mod.correctCoordinates, "_nnp_patched", False):
        return
    original = mod.correctCoordinates

    def correctCoordinates(node, defs, item, options):
        fixed = []
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d").strip()
            if not d or all(t.count(",") == 1 for t in d.split(" ")):
                continue  # already in the form pyqtgraph parses
            parsed = _explode_path(d)
            if parsed is None:
                continue
            tokens, closes = parsed
            path.setAttribute("d", " ".join(tokens))
            if closes:
                fixed.append((path, closes))
        original(node, defs, item, options)
        for path, closes in fixed:
            tokens = path.getAttribute("d").split()
            for i in closes:
                if i < len(tokens):
                    tokens[i] = "Z"
            path.setAttribute("d", " ".join(tokens))

    correctCoordinates._nnp_patched = True
    mod.correctCoordinates = correctCoordinates


_patch_svg_exporter()


# ---------------------------------------------------------------------------
# Export functions (plain calls, so tests and menus share them)
# ---------------------------------------------------------------------------
def _legends(item):
    """Every pyqtgraph LegendItem in the scene of ``item`` (a PlotItem, GraphicsLayout or scene)."""
    import pyqtgraph as pg

    scene = item if not hasattr(item, "childItems") else item.scene()
    return [it for it in (scene.items() if scene is not None else []) if isinstance(it, pg.LegendItem)]


def _point_size(label, default=9.0):
    m = re.match(r"^\s*([\d.]+)\s*pt\s*$", str(label.opts.get("size") or ""))
    return float(m.group(1)) if m else default


def _relayout(item, legends):
    for leg in legends:
        leg.layout.invalidate()
        leg.layout.activate()
        leg.updateGeometry()


def export_png(item, path, width: int | None = None):
    """Write ``item`` (a PlotItem, GraphicsLayout or scene) as PNG ``width`` pixels wide.

    pyqtgraph scales the axes' text with the export width but not a legend's labels, so at twice the
    on-screen width the legend came out half the size of the tick labels. The legend labels' font is
    scaled by the same factor for the export (and the legend laid out again), then put back.
    """
    from pyqtgraph.exporters import ImageExporter

    exp = ImageExporter(item)
    scale = 1.0
    if width:
        exp.parameters()["width"] = int(width)  # height follows the aspect ratio
        rect = item.sceneBoundingRect() if hasattr(item, "sceneBoundingRect") else item.sceneRect()
        scale = float(width) / max(rect.width(), 1.0)
    legends = _legends(item) if abs(scale - 1.0) > 0.05 else []
    saved = [(lab, lab.text, dict(lab.opts)) for leg in legends for _, lab in leg.items]
    try:
        for lab, text, opts in saved:
            lab.setText(text, **{**opts, "size": f"{_point_size(lab) * scale:.1f}pt"})
        if saved:
            _relayout(item, legends)
        exp.export(str(path))
    finally:
        for lab, text, opts in saved:
            lab.opts = opts
            lab.setText(text)
        if saved:
            _relayout(item, legends)
    return str(path)


def export_svg(item, path):
    from pyqtgraph.exporters import SVGExporter

    SVGExporter(item).export(str(path))
    return str(path)


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def write_columns(path, header, columns):
    """CSV with one column per array; shorter columns are padded with empty cells."""
    columns = [np.asarray(c).ravel() for c in columns]
    n = max((len(c) for c in columns), default=0)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(n):
            w.writerow([_fmt(_scalar(c[i])) if i < len(c) else "" for c in columns])
    return str(path)


def write_rows(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        for r in rows:
            w.writerow([_fmt(v) for v in r])
    return str(path)


def plot_item_columns(plot_item):
    """(header, columns) of every visible curve of a PlotItem, like pyqtgraph's CSVExporter."""
    header, columns = [], []
    for k, item in enumerate(plot_item.listDataItems()):
        if not item.isVisible():
            continue
        x, y = item.getData() if hasattr(item, "getData") else (None, None)
        if x is None or y is None or len(x) == 0:
            continue
        name = item.name() if hasattr(item, "name") and item.name() else f"curve{k}"
        if hasattr(item, "opts") and item.opts.get("stepMode") in ("center", True) and len(x) == len(y) + 1:
            x = 0.5 * (np.asarray(x[:-1]) + np.asarray(x[1:]))  # histogram: bin centres
        header += [f"{name} x", f"{name} y"]
        columns += [np.asarray(x, dtype=float), np.asarray(y, dtype=float)]
    return header, columns


def export_csv(plot, path):
    """A LivePlot's ``csv_table()`` (or a bare PlotItem's curves) to CSV."""
    if hasattr(plot, "csv_table"):
        header, columns = plot.csv_table()
    else:
        header, columns = plot_item_columns(plot)
    return write_columns(path, header, columns)


def history_rows(history):
    """Per-epoch table of an ``engine.history.History``: the keys every epoch has, then its metrics."""
    keys = ["train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds"]
    scalars = sorted({k for m in history.epoch_metrics for k, v in (m or {}).items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)})
    header = ["epoch"] + keys + [f"val_{k}" for k in scalars]
    rows = []
    for i in range(history.n_epochs):
        m = history.epoch_metrics[i] if i < len(history.epoch_metrics) else {}
        rows.append([i + 1] + [history.epochs[k][i] for k in keys] + [(m or {}).get(k) for k in scalars])
    return header, rows


def export_history_csv(history, path):
    header, rows = history_rows(history)
    return write_rows(path, header, rows)


# ---------------------------------------------------------------------------
# Menus: one "Export" group in every plot's context menu
# ---------------------------------------------------------------------------
def session_folder(widget) -> str:
    """The folder of the session shown in ``widget``'s window; the home folder for an unsaved session."""
    win = widget.window() if widget is not None else None
    path = getattr(getattr(win, "doc", None), "path", None)
    return os.path.dirname(os.path.abspath(path)) if path else os.path.expanduser("~")


class ExportDialogs:
    """File and size questions, replaceable in tests (each returns None when cancelled)."""

    @staticmethod
    def ask_path(parent, title, default_name, file_filter):
        """Save dialog opened in the session's folder (not the folder the app was started from)."""
        from PySide6.QtWidgets import QFileDialog

        start = os.path.join(session_folder(parent), default_name)
        return QFileDialog.getSaveFileName(parent, title, start, file_filter)[0] or None

    @staticmethod
    def ask_width(parent, current):
        from PySide6.QtWidgets import QInputDialog

        w, ok = QInputDialog.getInt(parent, "Export PNG", "Width in pixels (height keeps the aspect ratio):",
                                    max(int(current), 200), 100, 10000, 100)
        return w if ok else None


DIALOGS = ExportDialogs()


def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "plot"


def export_interactively(plot, kind, dialogs=None):
    """Ask for a file (and a PNG width), then export ``plot`` (a LivePlot); returns the path or None."""
    d = dialogs or DIALOGS
    name = _slug(getattr(plot, "title", "plot"))
    filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "csv": "CSV table (*.csv)"}
    path = d.ask_path(plot, f"Export {getattr(plot, 'title', 'plot')} as {kind.upper()}", f"{name}.{kind}",
                      filters[kind])
    if not path:
        return None
    if not path.lower().endswith("." + kind):
        path += "." + kind
    item = plot.export_item()
    if kind == "png":
        rect = item.sceneBoundingRect() if hasattr(item, "sceneBoundingRect") else item.sceneRect()
        width = d.ask_width(plot, 2 * rect.width())
        if not width:
            return None
        return export_png(item, path, width)
    if kind == "svg":
        return export_svg(item, path)
    return export_csv(plot, path)


def add_export_actions(plot, menus, dialogs=None):
    """Append "Export PNG/SVG/CSV…" to each QMenu in ``menus`` (pyqtgraph ViewBox menus)."""
    for menu in menus:
        menu.addSeparator()
        for kind in ("png", "svg", "csv"):
            act = menu.addAction(f"Export {kind.upper()}…")
            act.setObjectName(f"export_{kind}")
            act.triggered.connect(lambda _=False, k=kind: export_interactively(plot, k, dialogs))
