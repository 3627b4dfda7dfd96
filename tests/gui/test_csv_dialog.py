"""The CSV import dialog: previews, the engine's own errors inline, OK only for importable data."""
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QDialog, QFileDialog

from engine.data import make_dataset
from engine.session import Session
from gui.document import Document
from gui.panels.csv_dialog import CsvImportDialog

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "tests" / "data" / "csv"
SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}


def plain(label):
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


@pytest.fixture
def dialog(qtbot):
    dlg = CsvImportDialog(split=SPLIT)
    qtbot.addWidget(dlg)
    return dlg


def test_semicolon_decimal_comma_file_imports_as_regression(dialog):
    dialog.set_path(str(CSV / "good_semicolon_decimal_comma.csv"))
    assert dialog.raw.toPlainText().splitlines()[:2] == ["  1 │ temperatur;druck;ertrag", "  2 │ 1,5;2,25;10,5"]
    assert dialog.raw.extraSelections() == []
    g = dialog.grid
    assert [g.horizontalHeaderItem(j).text() for j in range(g.columnCount())] == ["temperatur", "druck", "ertrag"]
    assert g.rowCount() == 6 and g.item(0, 0).text() == "1.5" and g.item(2, 1).text() == "1.125"  # parsed numbers
    assert g.verticalHeaderItem(0).text() == "2"  # file row numbers, after the header
    assert dialog.target.currentText() == "ertrag"
    assert dialog.error.isHidden() and dialog.ok_button.isEnabled()
    assert plain(dialog.summary) == ("6 rows, 2 features (temperatur, druck) → ertrag: regression. "
                                     "Delimiter: semicolon, header row.")
    spec = dialog.spec()
    assert spec == {"type": "csv", "split": SPLIT, "preprocess": {"scale": "standardize", "features": None},
                    "params": {"x": [[1.5, 2.25], [-0.75, 3.0], [2.0, 1.125], [4.5, 0.5], [3.0, 2.5], [1.0, 1.0]],
                               "y": [10.5, 11.0, 9.75, 12.25, 8.5, 7.0], "task": "regression",
                               "feature_names": ["temperatur", "druck"], "class_names": None,
                               "source": "good_semicolon_decimal_comma.csv", "skip_rows": 0}}
    ds = make_dataset(spec, 0)
    assert ds.task == "regression" and ds.input_shape == (2,) and ds.sizes == {"train": 2, "val": 2, "test": 2}
    # another target column
    dialog.target.setCurrentIndex(dialog.target.findText("druck"))
    assert dialog.spec()["params"]["feature_names"] == ["temperatur", "ertrag"]
    assert dialog.spec()["params"]["y"] == [2.25, 3.0, 1.125, 0.5, 2.5, 1.0]
    dialog.standardize.setChecked(False)
    assert dialog.spec()["preprocess"]["scale"] == "none"


def test_string_classes_and_task_choice(dialog):
    dialog.set_path(str(CSV / "good_string_classes.csv"))
    assert "3 classes: setosa, versicolor, virginica" in plain(dialog.summary)
    p = dialog.spec()["params"]
    assert p["task"] == "classification" and p["class_names"] == ["setosa", "versicolor", "virginica"]
    assert p["y"].tolist()[:4] == [0, 1, 2, 0]
    dialog.task.setCurrentIndex(dialog.task.findData("regression"))  # text cannot be a regression target
    assert not dialog.ok_button.isEnabled() and dialog.spec() is None
    assert "row 2" in dialog.error.text() and "'species'" in dialog.error.text() and "'setosa' is not a number" in dialog.error.text()


def test_ragged_file_names_the_row_and_disables_ok(dialog):
    dialog.set_path(str(CSV / "ragged.csv"))
    assert not dialog.error.isHidden() and not dialog.ok_button.isEnabled()
    assert "row 7" in dialog.error.text() and "has 3 fields, expected 4" in dialog.error.text()
    assert dialog.spec() is None and dialog.grid.rowCount() == 0 and dialog.target.count() == 0
    assert "  7 │ 3,3,1" in dialog.raw.toPlainText()  # the raw lines still show, numbered like the message
    (marked,) = dialog.raw.extraSelections()
    assert marked.cursor.block().text() == "  7 │ 3,3,1"
    dialog.delimiter.setCurrentIndex(dialog.delimiter.findData(";"))  # a wrong delimiter: one column only
    assert "has 1 column" in dialog.error.text() and not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.result() != QDialog.Accepted


def test_bad_cell_error_clears_when_a_valid_choice_is_made(dialog):
    dialog.set_path(str(CSV / "nonnumeric.csv"))
    assert "row 4, column 'x2': feature cell 'abc' is not a number" in dialog.error.text()
    assert not dialog.ok_button.isEnabled()
    dialog.target.setCurrentIndex(dialog.target.findText("x2"))  # the text column becomes class labels
    assert dialog.error.isHidden() and dialog.ok_button.isEnabled()
    assert dialog.spec()["params"]["class_names"] == ["2", "4", "8", "abc"]


def test_header_choice_and_browse_use_the_same_slot(dialog, monkeypatch):
    path = str(CSV / "good_no_header.csv")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (path, "")))
    dialog.findChild(object, "csvBrowse").click()
    assert dialog.path == path and dialog.path_edit.text() == path
    assert dialog.target.currentText() == "col3" and dialog.spec()["params"]["feature_names"] == ["col1", "col2"]
    assert plain(dialog.summary).endswith("Delimiter: spaces, no header.")
    dialog.header.setCurrentIndex(dialog.header.findData(True))  # the first data row read as names
    assert dialog.target.currentText() == "0" and dialog.grid.rowCount() == 5


def test_dataset_panel_imports_through_the_dialog(qtbot, monkeypatch):
    from gui.panels.dataset_panel import DatasetPanel

    doc = Document(Session())
    panel = DatasetPanel(doc)
    qtbot.addWidget(panel)

    def fake_exec(self):
        self.set_path(str(CSV / "good_comma.csv"))
        self.accept()
        return QDialog.Accepted

    monkeypatch.setattr(CsvImportDialog, "exec", fake_exec)
    qtbot.mouseClick(panel.csv_button, Qt.LeftButton)
    spec = doc.session.dataset
    assert spec["type"] == "csv" and spec["params"]["feature_names"] == ["x1", "x2", "x3"]
    assert spec["preprocess"]["scale"] == "standardize" and doc.undo_stack.count() == 1
    panel.update_preview_now()
    assert panel.form.combo.currentData() == "csv" and panel.ds.input_shape == (3,)
    assert sum(panel.preview.counts().values()) == 6 and panel.preview.projected
    assert panel.input_warning.isHidden()  # the network was set up for the 3 features
    monkeypatch.setattr(CsvImportDialog, "exec", lambda self: QDialog.Rejected)
    panel.form.combo.setCurrentIndex(panel.form.combo.findData("spiral"))
    panel.form.combo.setCurrentIndex(panel.form.combo.findData("csv"))  # choosing "Imported CSV…" opens the dialog
    assert doc.session.dataset["type"] == "spiral" and panel.form.combo.currentData() == "spiral"


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_dialog_runs_alone_and_screenshot(qtbot, run_alone):
    w = run_alone("gui.panels.csv_dialog")
    assert w.ok_button.isEnabled() and w.grid.columnCount() == 3
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert w.grab().save(str(out / "csv_dialog.png"))


def test_count_line_is_skipped_and_said_and_skip_lines_is_a_choice(dialog, tmp_path):
    path = tmp_path / "iris_head.csv"
    rows = [f"{5 + i * 0.1:.1f},{3 + i * 0.05:.2f},1.4,0.2,{i % 3}" for i in range(6)]
    path.write_text("6,4,setosa,versicolor,virginica\n" + "\n".join(rows) + "\n")
    dialog.set_path(str(path))
    assert dialog.skip.text() == "auto" and dialog.ok_button.isEnabled()
    text = plain(dialog.summary)
    assert "1 line skipped" in text and "count line" in text and "3 classes: setosa, versicolor, virginica" in text
    assert dialog.grid.verticalHeaderItem(0).text() == "2"  # the first data row is file row 2
    assert dialog.spec()["params"]["skip_rows"] == 1
    dialog.skip.setValue(0)  # keep the count line: it becomes the header, as the user asked
    assert dialog.table.header and dialog.table.columns[0] == "6" and "count line" not in plain(dialog.summary)
    dialog.skip.setValue(3)
    assert dialog.grid.verticalHeaderItem(0).text() == "4" and dialog.spec()["params"]["skip_rows"] == 3


def test_import_sets_up_a_network_sized_to_the_data_in_one_undo_step(qtbot):
    from engine.session import Session
    from engine.tabular import HIDDEN_UNITS
    from gui.document import Document
    from gui.panels.dataset_panel import DatasetPanel

    doc = Document(Session())
    before = doc.graph.to_dict()
    panel = DatasetPanel(doc)
    qtbot.addWidget(panel)
    dlg = CsvImportDialog(split=SPLIT)
    qtbot.addWidget(dlg)
    dlg.set_path(str(CSV / "good_string_classes.csv"))
    assert dlg.setup_network.isChecked()  # the default: Train right away gives a sensible model
    panel.apply_import(dlg)
    s = doc.session.copy()
    n_classes = len(s.dataset["params"]["class_names"])
    dense = [n for n in s.graph.nodes if n.type == "Dense"]
    assert [n.params["units"] for n in dense] == [HIDDEN_UNITS, 1 if n_classes == 2 else n_classes]
    assert dense[0].params["activation"] == "relu" and s.optimizer["type"] == "adam"
    assert s.loss["type"] == ("bce_logits" if n_classes == 2 else "cross_entropy")
    assert s.dataset["preprocess"]["scale"] == "standardize" and doc.report.ok
    inp = next(n for n in s.graph.nodes if n.type == "Input")
    assert inp.params["shape"] == [len(s.dataset["params"]["feature_names"])]
    doc.undo_stack.undo()  # one step takes all of it back
    assert doc.graph.to_dict() == before and doc.session.dataset != s.dataset
    # unchecked: only the data changes
    dlg.setup_network.setChecked(False)
    panel.apply_import(dlg)
    assert doc.graph.to_dict() == before and doc.session.dataset["type"] == "csv"
