"""Import a CSV file as the session's dataset, with a live preview and the engine's own error messages.

Every control re-parses with ``read_csv(check=False)`` (fast for the files a
playground takes) and then runs the same checks the import will, so what OK
accepts is exactly what training will see. Errors name the file row and
column; OK stays disabled while there is one. Task "multi-label" takes several 0/1 target columns
(ticked in the targets list; each becomes one label, lecture 002's one sigmoid per label).
"""
from __future__ import annotations

import html
import os

import numpy as np

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QTextEdit, QVBoxLayout, QWidget)

from engine.data import csv_dataset_params, read_csv
from engine.errors import InvalidInput

from .schema_form import ERROR_STYLE

DELIMITERS = (("auto", None), (", comma", ","), ("; semicolon", ";"), ("tab", "\t"), ("| pipe", "|"), ("space", " "))
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "spaces"}
HEADERS = (("auto", None), ("yes", True), ("no", False))
TASKS = ("auto", "classification", "regression", "multilabel")
TASK_TEXT = {"multilabel": "multi-label (several 0/1 columns)"}
RAW_LINES = 20
TABLE_ROWS = 50
RAW_BYTES = 64 * 1024
TARGET_BG = QColor("#e8f0fe")


def raw_head(path, lines=RAW_LINES) -> str:
    """The first lines of a file as text, for eyeballing the delimiter and header (never fails)."""
    try:
        with open(path, "rb") as f:
            data = f.read(RAW_BYTES)
    except OSError as e:
        return f"(cannot read the file: {e.strerror})"
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "(binary file: this does not look like CSV text)"
    for enc in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", "replace")
    return "\n".join(f"{i + 1:>3} │ {line}" for i, line in enumerate(text.splitlines()[:lines]))


class CsvImportDialog(QDialog):
    def __init__(self, parent=None, split=None, path=None):
        super().__init__(parent)
        self.setObjectName("csvDialog")
        self.setWindowTitle("Import CSV")
        self.split = dict(split) if split else None
        self.path = None
        self.table = None
        self._params = None
        self._updating = False
        lay = QVBoxLayout(self)
        lay.addLayout(self._file_row())
        split = QSplitter(Qt.Vertical)
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("csvRaw")
        self.raw.setReadOnly(True)
        self.raw.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.raw.setPlaceholderText("Choose a CSV file to see its first lines here.")
        self.raw.setToolTip(f"The first {RAW_LINES} lines of the file, as written.")
        self.grid = QTableWidget()
        self.grid.setObjectName("csvTable")
        self.grid.setEditTriggers(QTableWidget.NoEditTriggers)
        self.grid.setAlternatingRowColors(True)
        self.grid.setToolTip("The parsed values (first rows, numbers as read); the target column is highlighted.")
        self.grid.verticalHeader().setDefaultSectionSize(22)
        split.addWidget(self.raw)
        split.addWidget(self.grid)
        split.setSizes([140, 260])
        lay.addWidget(split, 1)
        lay.addWidget(self._options())
        self.summary = QLabel()
        self.summary.setObjectName("csvSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.error = QLabel()
        self.error.setObjectName("csvError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.PlainText)
        self.error.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error.hide()
        lay.addWidget(self.summary)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.Ok)
        self.ok_button.setText("Import")
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(720, 620)
        if path:
            self.set_path(path)

    def _file_row(self):
        row = QHBoxLayout()
        row.addWidget(QLabel("File"))
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("csvPath")
        self.path_edit.setPlaceholderText("path to a .csv, .tsv or .txt file")
        self.path_edit.editingFinished.connect(self._path_typed)
        browse = QPushButton("Browse…")
        browse.setObjectName("csvBrowse")
        browse.clicked.connect(self.browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        return row

    def _options(self):
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        top = QHBoxLayout()
        self.delimiter = QComboBox()
        self.delimiter.setObjectName("csvDelimiter")
        for text, d in DELIMITERS:
            self.delimiter.addItem(text, d)
        self.delimiter.setToolTip("Field separator; auto picks the one that splits every line into the same number of fields.")
        self.header = QComboBox()
        self.header.setObjectName("csvHeader")
        for text, h in HEADERS:
            self.header.addItem(text, h)
        self.header.setToolTip("Whether the first line holds column names; auto decides from text above numbers.")
        self.skip = QSpinBox()
        self.skip.setObjectName("csvSkip")
        self.skip.setRange(-1, 1_000_000)
        self.skip.setValue(-1)
        self.skip.setSpecialValueText("auto")  # -1: detect a scikit-learn count line ("150,4,setosa,...")
        self.skip.setToolTip("Lines to skip at the top of the file (a title, a licence, a count line). "
                             "auto skips a count line like 150,4,setosa,versicolor,virginica and says so.")
        top.addWidget(self.delimiter, 1)
        top.addWidget(QLabel("header"))
        top.addWidget(self.header, 1)
        top.addWidget(QLabel("skip first lines"))
        top.addWidget(self.skip)
        form.addRow("delimiter", top)
        bottom = QHBoxLayout()
        self.target = QComboBox()
        self.target.setObjectName("csvTarget")
        self.target.setToolTip("The column to predict; every other column becomes an input feature.")
        self.task = QComboBox()
        self.task.setObjectName("csvTask")
        for t in TASKS:
            self.task.addItem(TASK_TEXT.get(t, t), t)
        self.task.setToolTip("auto: text or a few whole numbers → classification, other numbers → regression; "
                             "multi-label: tick several 0/1 columns below, each one label.")
        bottom.addWidget(self.target, 2)
        bottom.addWidget(QLabel("task"))
        bottom.addWidget(self.task, 1)
        form.addRow("target", bottom)
        self.targets = QListWidget()
        self.targets.setObjectName("csvTargets")
        self.targets.setFlow(QListWidget.LeftToRight)
        self.targets.setWrapping(True)
        self.targets.setMaximumHeight(64)
        self.targets.setToolTip("Multi-label: tick the 0/1 columns to predict (one label each, several may be on "
                                "for one row); the other columns are the features.")
        self.targets.itemChanged.connect(self.revalidate)
        self.targets_label = QLabel("targets")
        form.addRow(self.targets_label, self.targets)
        self.targets_hint = QLabel("targets: several 0/1 columns → multi-label (one sigmoid + binary cross-entropy "
                                   "per label)")
        self.targets_hint.setStyleSheet("color: #5b6573;")
        form.addRow("", self.targets_hint)
        for w in (self.targets, self.targets_label, self.targets_hint):
            w.setVisible(False)
        self.standardize = QCheckBox("standardize the features (mean 0, std 1, fitted on the training split)")
        self.standardize.setObjectName("csvStandardize")
        self.standardize.setChecked(True)
        self.standardize.setToolTip("Real columns often differ in scale by orders of magnitude; standardizing speeds up learning.")
        form.addRow("", self.standardize)
        self.setup_network = QCheckBox("set up a network for this data (one hidden layer of 32 ReLU units, "
                                       "the task's loss, Adam)")
        self.setup_network.setObjectName("csvSetupNetwork")
        self.setup_network.setChecked(True)
        self.setup_network.setToolTip("Replaces the network, loss, optimizer, epochs and batch size with defaults "
                                      "sized to the data (one undoable edit). Off: only the data changes.")
        form.addRow("", self.setup_network)
        for combo in (self.delimiter, self.header):
            combo.currentIndexChanged.connect(self.reparse)
        self.skip.valueChanged.connect(self.reparse)
        self.target.currentIndexChanged.connect(self.revalidate)
        self.task.currentIndexChanged.connect(self._task_changed)
        return box

    # -- file ----------------------------------------------------------------------
    def browse(self):
        start = os.path.dirname(self.path) if self.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Import CSV", start, "CSV files (*.csv *.tsv *.txt *.dat);;All files (*)")
        if path:
            self.set_path(path)

    def _path_typed(self):
        text = self.path_edit.text().strip()
        if text and text != self.path:
            self.set_path(text)

    def set_path(self, path):
        """The slot the file chooser calls: show the raw lines, then parse."""
        if not path:
            return
        self.path = os.fspath(path)
        self.path_edit.setText(self.path)
        self.raw.setPlainText(raw_head(self.path))
        self.reparse()

    # -- parsing -------------------------------------------------------------------
    def reparse(self):
        if self.path is None or self._updating:
            return
        self.table = None
        try:
            self.table = read_csv(self.path, delimiter=self.delimiter.currentData(), header=self.header.currentData(),
                                  check=False, skip_rows=self.skip_rows())
        except InvalidInput as e:
            self._fill_targets([])
            self.grid.clear()
            self.grid.setRowCount(0)
            self.grid.setColumnCount(0)
            self._fail(str(e), getattr(e, "row", None))
            return
        self._show_detected()
        self._fill_targets(self.table.columns)
        self._fill_grid()
        self.revalidate()

    def skip_rows(self):
        """The spin box's value for read_csv: None is "auto" (detect a count line)."""
        v = self.skip.value()
        return None if v < 0 else v

    def _show_detected(self):
        """Say what "auto" found: "auto (semicolon)", "auto (yes)"."""
        t = self.table
        self.delimiter.setItemText(0, f"auto ({DELIMITER_NAMES.get(t.delimiter, repr(t.delimiter))})")
        self.header.setItemText(0, f"auto ({'yes' if t.header else 'no'})")

    def _task_changed(self, *_):
        multi = self.task.currentData() == "multilabel"
        for w in (self.targets, self.targets_label, self.targets_hint):
            w.setVisible(multi)
        self.target.setEnabled(not multi)
        self.revalidate()

    def multilabel(self) -> bool:
        return self.task.currentData() == "multilabel"

    def target_choice(self):
        """What the import predicts: one column index, or for multi-label the ticked columns' indices."""
        if not self.multilabel():
            return self.target.currentData()
        return [self.targets.item(i).data(Qt.UserRole) for i in range(self.targets.count())
                if self.targets.item(i).checkState() == Qt.Checked]

    def set_targets(self, names):
        """Tick exactly the named columns (multi-label targets)."""
        self._updating = True
        for i in range(self.targets.count()):
            item = self.targets.item(i)
            item.setCheckState(Qt.Checked if item.text() in names else Qt.Unchecked)
        self._updating = False
        self.revalidate()

    def _fill_target_list(self, columns):
        ticked = {self.targets.item(i).text() for i in range(self.targets.count())
                  if self.targets.item(i).checkState() == Qt.Checked}
        if not ticked and self.table is not None:  # default: the trailing run of 0/1 columns
            try:
                ticked = {self.table.columns[j] for j in self.table.target_columns(None)}
            except InvalidInput:
                ticked = set()
        self.targets.clear()
        for j, c in enumerate(columns):
            item = QListWidgetItem(c)
            item.setData(Qt.UserRole, j)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if c in ticked else Qt.Unchecked)
            self.targets.addItem(item)

    def _fill_targets(self, columns):
        old = self.target.currentText()
        self._updating = True
        self._fill_target_list(columns)
        self.target.clear()
        for j, c in enumerate(columns):
            self.target.addItem(c, j)
        if columns:
            i = self.target.findText(old)
            self.target.setCurrentIndex(i if i >= 0 else len(columns) - 1)
        self._updating = False

    def _fill_grid(self):
        t = self.table
        n = min(t.n_rows, TABLE_ROWS)
        self.grid.clear()
        self.grid.setColumnCount(len(t.columns))
        self.grid.setRowCount(n)
        self.grid.setHorizontalHeaderLabels(t.columns)
        self.grid.setVerticalHeaderLabels([str(r) for r in t.line_numbers[:n]])
        for i in range(n):
            for j, cell in enumerate(t.cells[i]):
                item = QTableWidgetItem(f"{t.values[i, j]:.10g}" if t.numeric[i, j] else cell)
                item.setToolTip(f"file row {t.line_numbers[i]}, column {t.columns[j]!r}: {cell!r}")
                if t.numeric[i, j]:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.grid.setItem(i, j, item)
        self.grid.resizeColumnsToContents()  # column names in full (the default width cut them at both ends)
        for j in range(self.grid.columnCount()):
            self.grid.setColumnWidth(j, min(max(self.grid.columnWidth(j), 60), 260))
        self._mark_target()

    def _mark_target(self):
        choice = self.target_choice()
        marked = set(choice) if isinstance(choice, list) else {choice}
        for jj in range(self.grid.columnCount()):
            for i in range(self.grid.rowCount()):
                item = self.grid.item(i, jj)
                if item is not None:
                    item.setData(Qt.BackgroundRole, TARGET_BG if jj in marked else None)

    def revalidate(self, *_):
        if self._updating or self.table is None:
            return
        self._mark_target()
        target, task = self.target_choice(), self.task.currentData()
        if task == "multilabel" and not target:
            self._fail("tick at least one 0/1 column as a target (multi-label: one column per label)")
            return
        try:
            self._params = csv_dataset_params(self.table, target, task)
        except InvalidInput as e:
            self._fail(str(e), getattr(e, "row", None))
            return
        p = self._params
        self._mark_raw_row(None)
        self.error.hide()
        self.ok_button.setEnabled(True)
        n_feat = len(p["feature_names"])
        if p["task"] == "classification":
            names = p["class_names"]
            kind = f"classification, {len(names)} classes: {', '.join(map(str, names[:12]))}{' …' if len(names) > 12 else ''}"
        elif p["task"] == "multilabel":
            names = p["class_names"]
            counts = np.asarray(p["y"]).sum(axis=0).astype(int).tolist()
            kind = (f"multi-label, {len(names)} labels (rows with each: "
                    + ", ".join(f"{n} {c}" for n, c in zip(names[:12], counts)) + (" …" if len(names) > 12 else "") + ")")
        else:
            kind = "regression"
        delim = DELIMITER_NAMES.get(self.table.delimiter, repr(self.table.delimiter))
        self.summary.setText(
            f"<b>{len(p['y'])} rows</b>, <b>{n_feat} feature{'s' * (n_feat != 1)}</b> "
            f"({html.escape(', '.join(p['feature_names'][:8]))}{' …' if n_feat > 8 else ''}) → "
            f"<b>{html.escape(', '.join(self.table.columns[j] for j in target) if isinstance(target, list) else self.table.columns[target])}</b>: "
            f"{html.escape(kind)}. "
            f"<span style='color:#5b6573'>Delimiter: {html.escape(delim)}, "
            f"{'header row' if self.table.header else 'no header'}"
            f"{f', {self.table.skip_rows} line' + ('s' if self.table.skip_rows != 1 else '') + ' skipped' if self.table.skip_rows else ''}"
            f".</span>"
            + "".join(f"<br><span style='color:#8a5a00'>{html.escape(n)}</span>" for n in self.table.notes))

    def _mark_raw_row(self, row):
        """Tint the file row an error names, when it is among the lines shown."""
        sels = []
        if row is not None and 1 <= row <= self.raw.document().blockCount():
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(QColor("#fde2e1"))
            sel.format.setProperty(QTextFormat.FullWidthSelection, True)
            sel.cursor = QTextCursor(self.raw.document().findBlockByNumber(row - 1))
            sels.append(sel)
        self.raw.setExtraSelections(sels)

    def _fail(self, message, row=None):
        self._mark_raw_row(row)
        self._params = None
        self.summary.setText("")
        self.error.setText("✗ " + message)
        self.error.show()
        self.ok_button.setEnabled(False)

    # -- result -------------------------------------------------------------------
    def spec(self) -> dict | None:
        """The dataset spec to store, or None while the file has an error."""
        if self._params is None:
            return None
        out = {"type": "csv", "params": self._params}
        if self.split:
            out["split"] = dict(self.split)
        out["preprocess"] = {"scale": "standardize" if self.standardize.isChecked() else "none", "features": None}
        return out

    def suggested_session(self):
        """A session with the network, loss, optimizer and training sized to this data (``engine.tabular``)."""
        if self._params is None:
            return None
        from engine.tabular import session_for_table

        s = session_for_table(self.table, self.target_choice(), params=self._params)
        s.dataset = self.spec()
        return s

    def accept(self):
        if self._params is not None:
            super().accept()


if __name__ == "__main__":  # python -m gui.panels.csv_dialog: the semicolon/decimal-comma fixture
    import sys
    from pathlib import Path

    from gui.panels import preview

    sample = Path(__file__).resolve().parents[2] / "tests" / "data" / "csv" / "good_semicolon_decimal_comma.csv"
    sys.exit(preview(lambda: CsvImportDialog(path=str(sample) if sample.exists() else None), (720, 620)))
