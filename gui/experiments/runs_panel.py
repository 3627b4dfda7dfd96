"""The Runs dock: every training of the session, overlaid on demand, restorable, deletable.

Select several rows to overlay their curves (loss, accuracy or learning rate per epoch); the legend
names what differs between them ("lr 0.03", "lr 0.1"), and the last column says how each run differs
from the document as it is now. Restore writes a run's settings back (one undoable edit). The plot
is built on first use (pyqtgraph loads then), and redrawn only when the selection or the runs change.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.runs import diff_settings, legend_labels

CURVE_CHOICES = (("Validation loss", "val_loss"), ("Training loss", "train_loss"),
                 ("Validation accuracy", "val_acc"), ("Training accuracy", "train_acc"), ("Learning rate", "lr"))
COLUMNS = ("Run", "Epochs", "Score", "Differs from the document")


def _score_text(rec) -> str:
    sc = rec.score("val") or rec.score("test")
    if sc is None or sc[1] is None:
        return "—"
    key, v = sc
    return {"accuracy": f"acc {v:.3f}", "r2": f"R² {v:.3f}"}.get(key, f"loss {v:.4g}")


class RunsPanel(QWidget):
    def __init__(self, book, session_provider=None, parent=None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.book = book
        self.session_provider = session_provider or (lambda: book.doc.session if book.doc is not None else None)
        self.plot = None
        self.curves: list = []
        self.labels: list = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked)
        self.table.verticalHeader().setVisible(False)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeToContents)
        h.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self.redraw)
        self.table.itemChanged.connect(self._on_item_changed)
        lay.addWidget(self.table, 2)
        row = QHBoxLayout()
        self.curve = QComboBox()
        self.curve.setObjectName("runsCurve")
        for text, key in CURVE_CHOICES:
            self.curve.addItem(text, key)
        self.curve.currentIndexChanged.connect(self.redraw)
        self.restore_button = QPushButton("Restore settings")
        self.restore_button.setToolTip("Write the selected run's settings into the document (undo takes them back)")
        self.restore_button.clicked.connect(self.restore_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.keep = QCheckBox("Keep weights")
        self.keep.setToolTip("New runs keep their trained weights in the session (bigger .nnp files)")
        self.keep.toggled.connect(lambda on: setattr(self.book, "keep_weights", bool(on)))
        self.curve.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.curve.setMinimumContentsLength(10)
        self.restore_button.setText("Restore")
        for w in (self.restore_button, self.delete_button, self.keep):  # two short rows: the dock fits 1024 px
            row.addWidget(w)
        row.addStretch(1)
        lay.addWidget(self.curve)
        lay.addLayout(row)
        self.hint = QLabel("Every training is kept here. Select several runs to overlay their curves.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5b6470;")
        lay.addWidget(self.hint)
        self.plot_host = QVBoxLayout()
        lay.addLayout(self.plot_host, 3)
        self._filling = False
        book.changed.connect(self.refresh)
        if book.doc is not None:
            book.doc.sessionChanged.connect(lambda *_: self._refresh_diffs())
            book.doc.graphChanged.connect(self._refresh_diffs)
        self.refresh()

    # -- table --------------------------------------------------------------------------------
    @Slot()
    def refresh(self):
        selected = self.selected_rows()
        self._filling = True
        self.table.setRowCount(len(self.book.records))
        for i, rec in enumerate(self.book.records):
            cells = (rec.name, str(rec.epochs), _score_text(rec), "")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j != 0:
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.table.setItem(i, j, item)
        self._filling = False
        self._refresh_diffs()
        self.table.clearSelection()
        for i in selected:
            if i < self.table.rowCount():
                self.table.selectRow(i)
        self._update_buttons()
        self.redraw()

    def _refresh_diffs(self):
        s = self.session_provider()
        if s is None:
            return
        now = s.to_dict()
        self._filling = True
        for i, rec in enumerate(self.book.records):
            d = diff_settings(now, rec.settings)
            # "lr 0.1 vs 0.03" reads document-first; say it run-first: "lr 0.03 (now 0.1)"
            text = "; ".join(_run_first(x) for x in d[:4]) + ("; …" if len(d) > 4 else "") if d else "same settings"
            item = self.table.item(i, 3)
            if item is not None:
                item.setText(text)
                item.setToolTip("\n".join(d) if d else "The document has this run's settings")
        self._filling = False

    def _on_item_changed(self, item):
        if not self._filling and item.column() == 0:
            self.book.rename(item.row(), item.text())

    def selected_rows(self) -> list:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def _update_buttons(self):
        rows = self.selected_rows()
        self.restore_button.setEnabled(len(rows) == 1)
        self.delete_button.setEnabled(bool(rows))

    def restore_selected(self):
        rows = self.selected_rows()
        if len(rows) == 1:
            rec = self.book.restore(rows[0])
            self.hint.setText(f"Restored the settings of {rec.name} (Edit ▸ Undo takes them back).")

    def delete_selected(self):
        n = self.book.delete(self.selected_rows())
        if n:
            self.hint.setText(f"Deleted {n} run{'s' * (n != 1)}.")

    # -- the overlay ------------------------------------------------------------------------------
    def _ensure_plot(self):
        if self.plot is None:
            from gui.plots import legend_above, plot_widget

            self.plot = plot_widget(x="epoch")
            self.plot.setObjectName("runsPlot")
            self.plot.setMinimumHeight(140)
            self.legend = legend_above(self.plot, columns=1)
            self.plot_host.addWidget(self.plot)
        return self.plot

    @Slot()
    def redraw(self):
        self._update_buttons()
        rows = self.selected_rows()
        if not rows and self.plot is None:
            return
        import pyqtgraph as pg

        from gui.plots import SERIES

        pw = self._ensure_plot()
        key = self.curve.currentData()
        for c in self.curves:
            pw.removeItem(c)
        self.legend.clear()
        recs = [self.book.records[i] for i in rows]
        self.labels = legend_labels(recs) if recs else []
        self.curves = []
        for k, (rec, label) in enumerate(zip(recs, self.labels)):
            y = np.asarray(rec.curves.get(key, []), dtype=float)
            x = np.arange(1, len(y) + 1)
            c = pw.plot(x, y, pen=pg.mkPen(SERIES[k % len(SERIES)], width=2), name=label)
            self.curves.append(c)
            self.legend.addItem(c, label)
        pw.getPlotItem().setLabel("left", self.curve.currentText())
        pw.setLogMode(y=key == "lr" and all(np.all(np.asarray(r.curves.get("lr", [1])) > 0) for r in recs))


def _run_first(phrase: str) -> str:
    """``"lr 0.1 vs 0.03"`` (document, run) → ``"lr 0.03 (now 0.1)"``."""
    head, sep, run_value = phrase.rpartition(" vs ")
    if not sep:
        return phrase
    name, _, now = head.rpartition(" ")
    return f"{name} {run_value} (now {now})"


if __name__ == "__main__":  # python -m gui.experiments.runs_panel: three trained sample runs, two overlaid
    import sys

    from gui.panels import preview

    from .sample import sample_book

    def make():
        book = sample_book()
        panel = RunsPanel(book, session_provider=lambda: book.records[0].session())
        from PySide6.QtCore import QItemSelectionModel as M

        panel.table.selectRow(0)
        panel.table.selectionModel().select(panel.table.model().index(2, 0), M.Select | M.Rows)
        return panel

    sys.exit(preview(make, (620, 520)))
