"""Read-only result tables: how the views build and fill the tables that show computed numbers.

About a dozen views show results in a ``QTableWidget``. Built by hand, each repeated the same half-dozen
calls, and two of them forgot ``NoEditTriggers``, so a double-click let a user overwrite a computed value.
Built here, every result table is read-only twice over (no edit triggers, and no cell flagged editable),
has no row numbers, and fits its columns the same way. Tables meant for editing (the runs list, the CSV
preview, the initialiser editor) build their own.
"""
from __future__ import annotations

from numbers import Integral, Real

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

RIGHT = Qt.AlignRight | Qt.AlignVCenter
_STRETCH = "readOnlyTableStretch"  # the table's stretch spec, kept so a change of columns re-applies it


def read_only_table(name: str, columns=(), *, stretch=(), word_wrap: bool | None = None) -> QTableWidget:
    """A table named ``name`` with the headers ``columns``, no row numbers, that nobody can edit.

    Columns fit their contents, except those in ``stretch`` (indices; negative ones count from the end;
    ``True``: all), which share the width left over. The spec is kept on the table: a later
    ``set_rows(..., columns=...)`` applies it to the new columns. ``word_wrap`` None keeps Qt's default.
    """
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    if columns:
        table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    if word_wrap is not None:
        table.setWordWrap(word_wrap)
    table.setProperty(_STRETCH, stretch if stretch is True else [int(i) for i in stretch])
    fit_columns(table)
    return table


def fit_columns(table: QTableWidget) -> None:
    """Columns fit their contents except the table's stretch columns, which share what is left."""
    h = table.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeToContents)  # also the mode of columns added later
    for j in _indices(table.property(_STRETCH) or (), table.columnCount()):
        h.setSectionResizeMode(j, QHeaderView.Stretch)


def cell(value, *, right: bool = False, tooltip: str | None = None, foreground=None,
         background=None) -> QTableWidgetItem:
    """One read-only cell: ``value`` as text (see ``cell_text``), optionally right-aligned, with a tooltip or colours.

    For the few cells that look different from the rest of their column; pass it inside a row to
    ``set_rows`` or ``add_row``. Colours are anything ``QColor`` takes ("#b3261e", a ``QColor``).
    """
    item = QTableWidgetItem(cell_text(value))
    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
    if right:
        item.setTextAlignment(RIGHT)
    if tooltip is not None:
        item.setToolTip(tooltip)
    if foreground is not None:
        item.setForeground(QColor(foreground))
    if background is not None:
        item.setBackground(QColor(background))
    return item


def cell_text(value) -> str:
    """A cell's text: strings as they are, None as "—", integers in full, other numbers to 6 significant digits.

    Views that need another precision format the number themselves and pass the string.
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, Integral):
        return str(value)
    if isinstance(value, Real):
        return f"{float(value):.6g}"
    return str(value)


def set_rows(table: QTableWidget, rows, *, columns=None, row_labels=None, right=(), tooltips=()) -> None:
    """Replace the table's rows by ``rows`` (each a sequence of cells), one read-only item per cell.

    A cell is a string, a number or None (turned to text by ``cell_text``) or a ready ``QTableWidgetItem``
    (from ``cell``, or a subclass that sorts by value), used as it is but made read-only. ``right``
    right-aligns those columns and ``tooltips`` gives their cells their own text as tooltip (for text that
    a narrow column elides); both take indices (negative from the end) or ``True`` for every column.
    ``columns`` replaces the headers (and the column count) first. ``row_labels`` shows a vertical header
    with those labels (a contingency table's classes); without it the vertical header is hidden, so a
    table never shows row numbers. Sorting is switched off while the rows go in: with it on, Qt moves a
    row as soon as its sort column is set, and the rest of its cells land in another row.
    """
    sorting = table.isSortingEnabled()
    table.setSortingEnabled(False)
    if columns is not None:
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        fit_columns(table)
    rows = [list(r) for r in rows]
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        _put(table, i, row, right, tooltips)
    if row_labels is not None:
        table.setVerticalHeaderLabels([cell_text(x) for x in row_labels])
    table.verticalHeader().setVisible(row_labels is not None)
    table.setSortingEnabled(sorting)


def add_row(table: QTableWidget, cells, *, right=(), tooltips=()) -> int:
    """Append one row of cells (as in ``set_rows``), for results that arrive one at a time; returns its index."""
    i = table.rowCount()
    table.insertRow(i)
    _put(table, i, list(cells), right, tooltips)
    return i


def _put(table, i, row, right, tooltips):
    n = table.columnCount()
    if len(row) > n:
        raise ValueError(f"row {i} has {len(row)} cells but the table {table.objectName()!r} has {n} columns: {row!r}")
    right, tooltips = set(_indices(right, n)), set(_indices(tooltips, n))
    for j in range(n):
        if j >= len(row):
            table.takeItem(i, j)  # a short row leaves no stale cell behind
            continue
        v = row[j]
        if isinstance(v, QTableWidgetItem):
            item = v
            item.setFlags(item.flags() & ~Qt.ItemIsEditable)
            if j in right:
                item.setTextAlignment(RIGHT)
        else:
            item = cell(v, right=j in right)
        if j in tooltips and not item.toolTip():
            item.setToolTip(item.text())
        table.setItem(i, j, item)


def _indices(spec, n) -> list[int]:
    """Column indices from ``spec`` (True: all; negative: from the end) that exist in ``n`` columns."""
    if spec is True:
        return list(range(n))
    out = []
    for j in spec:
        j = int(j) + n if int(j) < 0 else int(j)
        if 0 <= j < n:
            out.append(j)
    return out
