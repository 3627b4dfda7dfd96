"""Legends in their own row above a plot, with as many columns as the plot's width holds.

An overlaid legend hides curves; a row above does not. A row of three or five entries is wider than
a plot in a narrow dock (the 1024x700 window's plots are ~300 px wide), and pyqtgraph's layout then
grows past the widget: the right part of the plot, its newest epochs, went out of sight. So the
legend drops to fewer columns whenever the plot is resized or the entries change, and entries with a
short name (``short_names``) switch to it where that saves a row.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem

TEXT = "#1d232b"
MARGIN_PX = 12  # the layout's margins and a little air


class _LegendFitter(QObject):
    """Refits the legend's columns when the plot widget is resized or the legend's entries change."""

    def __init__(self, pw: pg.PlotWidget, legend: pg.LegendItem, columns: int):
        super().__init__(pw)
        self.pw, self.legend, self.columns = pw, legend, columns
        self.short_names: dict[str, str] = {}  # an entry's full name -> the name used when room is short
        self._fitting = False
        pw.installEventFilter(self)
        legend.geometryChanged.connect(self._later)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Resize:
            self.fit()
        return False

    def _later(self):
        if not self._fitting:
            QTimer.singleShot(0, self, self.fit)  # not after the plot (and this filter, its child) is gone

    def fit(self):
        """The most columns (up to ``columns``) whose row fits the widget's width; one if none does.

        Measured from the entries' texts, and applied only where it changes anything: re-laying the
        legend moves it, and a fit that changed something on every move would never settle."""
        if self._fitting:
            return
        self._fitting = True
        try:
            room = self.pw.width() - MARGIN_PX
            fits = []  # (rows, short names?, columns): the fewest rows wins, the full names on a tie
            for short in (False, True) if self.short_names else (False,):
                widths = self._entry_widths(short)
                n = next((k for k in range(self.columns, 1, -1) if row_width(widths, k) <= room), 1)
                fits.append((-(-len(widths) // n), short, n))
            _rows, short, n = min(fits)
            self._use_short(short)
            if n != self.legend.columnCount:
                self.legend.setColumnCount(n)
        finally:
            self._fitting = False

    def names(self) -> list[str]:
        """The entries by their full names, whichever names are shown."""
        return [self._full(label) for _sample, label in self.legend.items]

    @staticmethod
    def _full(label) -> str:
        """The name the entry was added with (kept on the label: two full names may share a short one)."""
        if not hasattr(label, "full_name"):
            label.full_name = label.text
        return label.full_name

    def _name(self, label, short: bool) -> str:
        full = self._full(label)
        return self.short_names.get(full, full) if short else full

    def _entry_widths(self, short: bool) -> list[float]:
        """Each entry's width with its full or short name (the text's own width: a label is stretched to its cell)."""
        spacing = self.legend.layout.horizontalSpacing()
        out = []
        for sample, label in self.legend.items:
            fm = QFontMetricsF(label.item.font())
            pad = label.item.boundingRect().width() - fm.horizontalAdvance(label.text)
            out.append(sample.width() + pad + fm.horizontalAdvance(self._name(label, short)) + 2 * spacing)
        return out

    def _use_short(self, short: bool):
        """Every entry by its short or its full name (entries added since the last fit included)."""
        renamed = False
        for _sample, label in self.legend.items:
            text = self._name(label, short)
            if text != label.text:
                label.setText(text)
                renamed = True
        if renamed:
            self.legend.updateSize()


def row_width(widths: list[float], n: int) -> float:
    """A legend's width with ``n`` entries a row: each grid column as wide as its widest entry."""
    return sum(max(widths[c::n]) for c in range(min(n, len(widths))))


def legend_above(pw: pg.PlotWidget, columns=3) -> pg.LegendItem:
    """A legend in its own row above the plot, at most ``columns`` entries a row (fewer on a narrow plot)."""
    item = pw.getPlotItem()
    layout = pg.GraphicsLayout()
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(0)
    pw.setCentralItem(layout)
    legend = pg.LegendItem(colCount=columns, labelTextColor=TEXT, verSpacing=-6, horSpacing=18)
    layout.addItem(legend, row=0, col=0)
    layout.addItem(item, row=1, col=0)
    legend.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # static: repaints become blits
    pw.legend_layout = layout
    pw.legend_fitter = _LegendFitter(pw, legend, columns)
    return legend
