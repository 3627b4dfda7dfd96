"""Read-only result tables (gui/tables.py): nobody can overwrite a computed value, and the columns fit.

Driven with real widgets: a double-click on a cell followed by typing and Enter is what a user would do
to overwrite a number, so that is what the read-only tests do, in the helper's table and in the
backprop inspector's and forward-mode panel's tables (which could be edited before they used it).
"""
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableWidgetItem

from engine.session import load_session
from gui.tables import add_row, cell, read_only_table, set_rows

EX = Path(__file__).resolve().parents[2] / "resources" / "examples"


def try_to_overwrite(qtbot, table, row, col, text="12345"):
    """Double-click the cell, type ``text`` into whatever editor opened and press Enter; True if one opened."""
    item = table.item(row, col)
    table.scrollToItem(item)
    pos = table.visualItemRect(item).center()
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=pos)  # a view edits on a double-click of the pressed cell
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=pos)
    editor = table.viewport().findChild(QLineEdit)
    opened = table.state() == QAbstractItemView.EditingState or (editor is not None and editor.isVisible())
    if editor is not None and editor.isVisible():
        editor.selectAll()
        qtbot.keyClicks(editor, text)
        qtbot.keyClick(editor, Qt.Key_Return)
        qtbot.waitUntil(lambda: table.state() != QAbstractItemView.EditingState)  # the commit is queued
    return opened


def shown(qtbot, widget, width=600, height=300):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_a_double_click_opens_no_editor_and_leaves_the_value(qtbot):
    t = shown(qtbot, read_only_table("t", ["quantity", "value"]))
    set_rows(t, [("L", "0.2500"), ("a₁", "0.7311")])
    assert not try_to_overwrite(qtbot, t, 0, 1)
    assert t.item(0, 1).text() == "0.2500" and t.state() != QAbstractItemView.EditingState
    qtbot.keyClick(t.viewport(), Qt.Key_F2)  # the edit key
    assert t.state() != QAbstractItemView.EditingState and t.item(0, 1).text() == "0.2500"


def test_cells_stay_read_only_even_if_someone_turns_edit_triggers_on(qtbot):
    """Read-only twice over: the items carry no editable flag, so a table given edit triggers still refuses."""
    t = shown(qtbot, read_only_table("t", ["a", "b"]))
    set_rows(t, [("x", cell("y", right=True))])
    add_row(t, ["p", QTableWidgetItem("q")])  # a caller's own item is made read-only as well
    t.setEditTriggers(QAbstractItemView.AllEditTriggers)
    for r, c in ((0, 0), (0, 1), (1, 1)):
        assert not t.item(r, c).flags() & Qt.ItemIsEditable
        before = t.item(r, c).text()
        assert not try_to_overwrite(qtbot, t, r, c)
        assert t.item(r, c).text() == before


def test_the_control_an_editable_table_does_get_overwritten(qtbot):
    """The same gesture on an ordinary QTableWidget does overwrite: the tests above would notice a regression."""
    from PySide6.QtWidgets import QTableWidget

    t = QTableWidget(1, 1)
    t.setItem(0, 0, QTableWidgetItem("0.2500"))
    shown(qtbot, t)
    assert try_to_overwrite(qtbot, t, 0, 0)
    assert t.item(0, 0).text() == "12345"


@pytest.fixture
def backprop_view(qtbot):
    from gui.teaching.backprop_view import BackpropInspectorView

    return shown(qtbot, BackpropInspectorView(load_session(EX / "xor_worked_example.json")), 1100, 700)


def test_backprop_values_cannot_be_overwritten(qtbot, backprop_view):
    t = backprop_view.table
    assert t.objectName() == "values" and t.rowCount() > 0
    before = [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]
    assert not try_to_overwrite(qtbot, t, 0, 3)  # the value column
    assert not try_to_overwrite(qtbot, t, 1, 0)
    assert [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())] == before
    qtbot.mouseClick(backprop_view.next_btn, Qt.LeftButton)  # the next stage's rows are read-only too
    assert not try_to_overwrite(qtbot, t, 0, 3)


def test_forward_mode_values_cannot_be_overwritten(qtbot, backprop_view):
    qtbot.mouseClick(backprop_view.forward_btn, Qt.LeftButton)
    t = backprop_view.forward.table
    assert t.objectName() == "forwardTable" and t.rowCount() > 0 and t.isVisible()
    last = t.rowCount() - 1  # the loss row: L and dL/dW
    before = t.item(last, 3).text()
    assert not try_to_overwrite(qtbot, t, last, 3)
    assert t.item(last, 3).text() == before


def test_stretch_columns_take_the_rest_and_the_others_fit_their_contents(qtbot):
    t = shown(qtbot, read_only_table("t", ["quantity", "node", "value"], stretch=(-1,)))
    set_rows(t, [("z₁", "z", "1.0"), ("a₁", "z", "0.5")])
    h = t.horizontalHeader()
    assert [h.sectionResizeMode(j) for j in range(3)] == [QHeaderView.ResizeToContents] * 2 + [QHeaderView.Stretch]
    qtbot.waitUntil(lambda: sum(h.sectionSize(j) for j in range(3)) == t.viewport().width())
    narrow = [h.sectionSize(0), h.sectionSize(1)]
    assert h.sectionSize(2) > 3 * max(narrow)  # the stretch column has what the others leave
    t.resize(900, 300)
    qtbot.waitUntil(lambda: sum(h.sectionSize(j) for j in range(3)) == t.viewport().width())
    assert [h.sectionSize(0), h.sectionSize(1)] == narrow  # only the stretch column grew
    set_rows(t, [("a much longer quantity name than before", "z", "1.0")])
    qtbot.waitUntil(lambda: h.sectionSize(0) > narrow[0] + 50)  # a column that fits its contents follows them
    assert sum(h.sectionSize(j) for j in range(3)) == t.viewport().width()


def test_several_or_all_columns_can_stretch(qtbot):
    t = read_only_table("t", ["a", "b", "c", "d"], stretch=(0, -2))
    h = t.horizontalHeader()
    assert [h.sectionResizeMode(j) for j in range(4)] == [QHeaderView.Stretch, QHeaderView.ResizeToContents,
                                                         QHeaderView.Stretch, QHeaderView.ResizeToContents]
    t = read_only_table("t", ["a", "b"], stretch=True)
    assert [t.horizontalHeader().sectionResizeMode(j) for j in range(2)] == [QHeaderView.Stretch] * 2


def test_the_table_has_its_name_headers_no_row_numbers_and_no_edit_triggers(qtbot):
    t = read_only_table("solverTable", ("method", "result"), word_wrap=False)
    qtbot.addWidget(t)
    assert t.objectName() == "solverTable" and t.columnCount() == 2
    assert [t.horizontalHeaderItem(j).text() for j in range(2)] == ["method", "result"]
    assert t.verticalHeader().isHidden() and t.editTriggers() == QAbstractItemView.NoEditTriggers
    assert not t.wordWrap() and read_only_table("x").wordWrap()  # None keeps Qt's default (on)


def test_set_rows_replaces_the_rows(qtbot):
    t = read_only_table("t", ["a", "b", "c"])
    qtbot.addWidget(t)
    set_rows(t, [("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9")])
    assert t.rowCount() == 3 and t.item(2, 2).text() == "9"
    set_rows(t, [("x", "y")])  # fewer rows, and a short one: no stale cell is left
    assert t.rowCount() == 1 and [t.item(0, j) and t.item(0, j).text() for j in range(3)] == ["x", "y", None]
    set_rows(t, [])
    assert t.rowCount() == 0


def test_set_rows_can_replace_the_columns_and_keeps_the_stretch_spec(qtbot):
    """A table built before its columns are known (cross-validation, the search) stretches the new last one."""
    t = read_only_table("cvTable", stretch=(-1,))
    qtbot.addWidget(t)
    set_rows(t, [(1, 2, 3)], columns=["Fold", "Train", "Val"])
    h = t.horizontalHeader()
    assert [t.horizontalHeaderItem(j).text() for j in range(3)] == ["Fold", "Train", "Val"]
    assert [h.sectionResizeMode(j) for j in range(3)] == [QHeaderView.ResizeToContents] * 2 + [QHeaderView.Stretch]
    set_rows(t, [(1, 2, 3, 4, 5)], columns=list("abcde"))
    assert [h.sectionResizeMode(j) for j in range(5)] == [QHeaderView.ResizeToContents] * 4 + [QHeaderView.Stretch]
    assert t.item(0, 4).text() == "5"


def test_cell_text_alignment_tooltips_and_colours(qtbot):
    t = read_only_table("t", ["name", "n", "x", "missing"])
    qtbot.addWidget(t)
    set_rows(t, [("a very long class name", 7, 0.123456789, None),
                 (cell("macro", foreground="#b3261e", tooltip="own tip"), 12, 2.5, "")],
             right=(1, -2), tooltips=(0,))
    assert [t.item(0, j).text() for j in range(4)] == ["a very long class name", "7", "0.123457", "—"]
    right = Qt.AlignRight | Qt.AlignVCenter
    assert t.item(0, 1).textAlignment() == t.item(0, 2).textAlignment() == right
    assert t.item(0, 0).textAlignment() != right and t.item(0, 3).textAlignment() != right
    assert t.item(0, 0).toolTip() == "a very long class name" and t.item(0, 1).toolTip() == ""
    assert t.item(1, 0).toolTip() == "own tip"  # a cell's own tooltip is kept
    assert t.item(1, 0).foreground().color().name() == "#b3261e"


def test_row_labels_show_the_vertical_header_and_never_row_numbers(qtbot):
    t = read_only_table("contingencyTable")
    qtbot.addWidget(t)
    set_rows(t, [[3, 0], [1, 4]], columns=["cluster 0", "cluster 1"], row_labels=["cat", "dog"], right=True)
    assert not t.verticalHeader().isHidden()
    assert [t.verticalHeaderItem(i).text() for i in range(2)] == ["cat", "dog"]
    set_rows(t, [[1, 2]])
    assert t.verticalHeader().isHidden()


def test_sorting_is_kept_and_rows_stay_whole(qtbot):
    """With sorting on, Qt would move a row as soon as its sort column is set; set_rows fills first, then sorts."""
    t = read_only_table("sweepTable", ["#", "name"])
    qtbot.addWidget(t)
    t.setSortingEnabled(True)
    t.sortItems(0, Qt.AscendingOrder)
    set_rows(t, [("3", "c"), ("1", "a"), ("2", "b")])
    assert t.isSortingEnabled()
    assert [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(3)] == [("1", "a"), ("2", "b"), ("3", "c")]


def test_add_row_appends_and_a_row_too_long_is_refused(qtbot):
    t = read_only_table("sanityTable", ["check", "verdict"])
    qtbot.addWidget(t)
    assert add_row(t, ["loss at init", cell("✓ pass", foreground="#1e7b34")], tooltips=True) == 0
    assert add_row(t, ["overfit 4 samples", "✗ fail"]) == 1
    assert t.rowCount() == 2 and t.item(0, 1).toolTip() == "✓ pass" and t.item(1, 1).text() == "✗ fail"
    with pytest.raises(ValueError, match="3 cells but the table 'sanityTable' has 2 columns"):
        set_rows(t, [("a", "b", "c")])
