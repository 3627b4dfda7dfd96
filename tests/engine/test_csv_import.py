"""CSV import: detection of delimiter/header/task, and errors that name the row and column."""
from pathlib import Path

import numpy as np
import pytest

from engine.data.csv_import import csv_dataset_params, read_csv
from engine.errors import DataError, InvalidInput

CSV = Path(__file__).resolve().parents[1] / "data" / "csv"


def test_good_comma():
    t = read_csv(CSV / "good_comma.csv")
    assert (t.delimiter, t.header, t.columns) == (",", True, ["x1", "x2", "x3", "label"])
    x, y, task, n_classes, features, classes = t.to_xy()
    assert x.dtype == np.float32 and x.shape == (6, 3)
    assert x[1].tolist() == pytest.approx([1.5, 0.25, 0.2])
    assert (task, n_classes, features, classes) == ("classification", 2, ["x1", "x2", "x3"], ["0", "1"])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1, 1, 0]


def test_good_comma_other_target_and_forced_regression():
    t = read_csv(CSV / "good_comma.csv", target="x1")
    x, y, task, *_ = t.to_xy()
    assert task == "regression" and y.shape == (6, 1) and y[:, 0].tolist() == pytest.approx([0.5, 1.5, -0.75, 2, 0.1, 3])
    x, y, task, *_ = t.to_xy(target=-1, task="regression")
    assert task == "regression" and y.dtype == np.float32 and y[:, 0].tolist() == [0, 1, 0, 1, 1, 0]


def test_semicolon_with_decimal_commas():
    t = read_csv(CSV / "good_semicolon_decimal_comma.csv")
    assert t.delimiter == ";" and t.columns == ["temperatur", "druck", "ertrag"]
    x, y, task, n_classes, *_ = t.to_xy()
    assert x[:2].tolist() == [[1.5, 2.25], [-0.75, 3.0]]
    assert task == "regression" and n_classes == 0 and y[:, 0].tolist() == [10.5, 11, 9.75, 12.25, 8.5, 7]
    inline = read_csv("a;b;y\n1,5;2;0\n0,5;1;1\n")
    assert inline.values.tolist() == [[1.5, 2.0, 0.0], [0.5, 1.0, 1.0]]


def test_no_header_whitespace():
    t = read_csv(CSV / "good_no_header.csv")
    assert t.header is False and t.delimiter == " " and t.columns == ["col1", "col2", "col3"]
    x, y, task, n_classes, features, _ = t.to_xy()
    assert x.shape == (6, 2) and features == ["col1", "col2"] and task == "classification"
    assert y.tolist() == [0, 1, 0, 1, 0, 1]


def test_string_classes_sorted_and_quoted_cells():
    t = read_csv(CSV / "good_string_classes.csv")
    x, y, task, n_classes, _, classes = t.to_xy()
    assert classes == ["setosa", "versicolor", "virginica"] and n_classes == 3
    assert y.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert x[-1].tolist() == pytest.approx([5.0, 3.6])  # "5.0" in quotes is still a number


def test_bom_is_stripped():
    t = read_csv(CSV / "bom.csv")
    assert t.columns == ["a", "b", "y"]
    assert read_csv("\ufeffa,b,y\n1,2,0\n3,4,1\n").columns == ["a", "b", "y"]


def _error(source, **kw):
    with pytest.raises(DataError) as e:
        t = read_csv(source, **kw)
        t.to_xy()
    return e.value


def test_ragged_row_named():
    e = _error(CSV / "ragged.csv")
    assert e.row == 7 and "row 7" in str(e) and "has 3 fields, expected 4" in str(e)


def test_empty_and_header_only():
    assert "empty" in str(_error(CSV / "empty.csv"))
    e = _error(CSV / "header_only.csv")
    assert "only a header row (x1, x2, y)" in str(e) and "no data rows" in str(e)


def test_nonnumeric_feature_cell_quoted():
    e = _error(CSV / "nonnumeric.csv")
    assert (e.row, e.column) == (4, "x2")
    assert "row 4" in str(e) and "column 'x2'" in str(e) and "'abc'" in str(e)


def test_nan_cell_named():
    e = _error(CSV / "nan.csv")
    assert (e.row, e.column) == (5, "x2") and "'NaN'" in str(e) and "NaN" in str(e)
    e = _error("a,b,y\n1,2,0\n3,-inf,1\n")
    assert (e.row, e.column) == (3, "b") and "infinite" in str(e)
    e = _error("a,b,y\n1,,0\n3,4,1\n")
    assert (e.row, e.column) == (2, "b") and "empty" in str(e)


def test_single_class_target():
    e = _error(CSV / "single_class.csv")
    assert e.column == "label" and "single class 'yes'" in str(e)


def test_unknown_target_lists_columns():
    e = _error(CSV / "good_comma.csv", target="y")
    assert "'y'" in str(e) and "x1, x2, x3, label" in str(e)
    assert "available" in str(_error(CSV / "good_comma.csv", target=4))


def test_size_limit_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 100)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("file was read"))
    e = _error(path, max_bytes=50)
    assert "404 bytes" in str(e) and "50-byte limit" in str(e)


def test_undecodable_and_binary_bytes(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b,y\n1,2,0\n3,4,\x81\x8d\n")  # undefined in both UTF-8 and Windows-1252
    e = _error(bad)
    assert e.row == 3 and "0x81" in str(e) and "UTF-8" in str(e)
    binary = tmp_path / "book.xlsx.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00")
    assert "binary" in str(_error(binary))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("temp °C,b,y\n1,2,0\n3,4,1\n".encode("cp1252"))
    assert read_csv(latin).columns[0] == "temp °C"


def test_non_numeric_target_cannot_be_regression_and_missing_file():
    e = _error(CSV / "good_string_classes.csv", task="regression")
    assert (e.row, e.column) == (2, "species") and "'setosa'" in str(e)
    assert "not found" in str(_error(CSV / "nope.csv"))
    with pytest.raises(InvalidInput, match="'guess'"):
        read_csv(CSV / "good_comma.csv", task="guess")


def test_check_false_defers_cell_errors():
    t = read_csv("name,x,y\nann,1,0\nbob,2,1\n", check=False)  # first column is text: pick features later
    assert t.columns == ["name", "x", "y"] and t.n_rows == 2
    e = pytest.raises(DataError, t.to_xy).value
    assert (e.row, e.column) == (2, "name")
    _, y, task, _, _, classes = t.to_xy(target="name")
    assert classes == ["ann", "bob"] and y.tolist() == [0, 1]


def test_explicit_delimiter_header_and_trailing_delimiter():
    t = read_csv("1|2|0|\n3|4|1|\n", delimiter="|", header=False)
    assert t.columns == ["col1", "col2", "col3"] and t.values.tolist() == [[1, 2, 0], [3, 4, 1]]
    t = read_csv("# exported by numpy\n1\t2\t0\n3\t4\t1\n")
    assert t.delimiter == "\t" and t.line_numbers == [2, 3]


def test_csv_dataset_params_are_arrays_and_rebuild_the_same_arrays():
    t = read_csv(CSV / "good_string_classes.csv")
    p = csv_dataset_params(t)
    assert p["source"] == "good_string_classes.csv" and p["task"] == "classification"
    assert p["x"].tolist()[0] == [5.1, 3.5] and p["y"].tolist()[:3] == [0, 1, 2]
    assert p["class_names"] == ["setosa", "versicolor", "virginica"] and p["y"].dtype == "int64"
    assert p["feature_names"] == ["sepal_length", "sepal_width"]
    r = csv_dataset_params(read_csv(CSV / "good_semicolon_decimal_comma.csv"))
    assert r["y"].tolist() == [10.5, 11.0, 9.75, 12.25, 8.5, 7.0] and r["class_names"] is None


# -- files as scikit-learn and careless tools write them ----------------------------------------------
IRIS_HEAD = "150,4,setosa,versicolor,virginica\n"


def _iris_like(rows=6):
    data = [f"{5 + i * 0.1:.1f},{3 + i * 0.05:.2f},1.4,0.2,{i % 3}" for i in range(rows)]
    return f"{rows},4,setosa,versicolor,virginica\n" + "\n".join(data) + "\n"


def test_count_line_is_detected_skipped_and_said():
    t = read_csv(_iris_like())
    assert t.skip_rows == 1 and t.header is False and t.n_rows == 6  # not a header named "6", "4", "setosa"...
    assert len(t.notes) == 1 and "count line" in t.notes[0] and "6 rows, 4 features" in t.notes[0]
    x, y, task, n_classes, _, classes = t.to_xy()
    assert x.shape == (6, 4) and classes == ["setosa", "versicolor", "virginica"] and y.tolist() == [0, 1, 2, 0, 1, 2]
    assert csv_dataset_params(t)["skip_rows"] == 1


def test_count_line_is_not_guessed_when_the_numbers_do_not_fit():
    # 6 data rows of 5 fields: a first line "6,3,..." claims 3 features, which the width contradicts
    t = read_csv(_iris_like().replace("6,4,", "6,3,", 1), check=False)
    assert t.skip_rows == 0 and not t.notes and t.header is True  # what the user sees, and may correct


def test_skip_rows_drops_exactly_n_file_lines_and_rows_keep_file_numbers():
    text = "Measurements, June\nsource: lab 3\na,b,y\n1,2,0\n3,4,1\n5,6,x\n"
    t = read_csv(text, skip_rows=2, check=False)
    assert t.columns == ["a", "b", "y"] and t.line_numbers == [4, 5, 6] and t.skip_rows == 2
    # an explicit 0 keeps a count line as data: the user chose
    assert read_csv(_iris_like(), skip_rows=0, check=False).skip_rows == 0
    with pytest.raises(InvalidInput, match="skip_rows must be a whole number"):
        read_csv(text, skip_rows=-1)
    with pytest.raises(DataError, match="no rows after the 9 skipped"):
        read_csv(text, skip_rows=9)


def test_a_short_first_line_is_blamed_not_the_first_good_row():
    e = _error("title line,2\n1,2,3,0\n4,5,6,1\n7,8,9,0\n")
    assert e.row == 1 and "has 2 fields but the rows below have 4" in str(e) and "skip" in str(e)


def test_binary_text_gets_a_short_message():
    blob = "PK\x03\x04" + "\x00\x01garbage" * 50_000
    e = _error(blob)
    assert "binary" in str(e) and len(str(e)) < 200


def test_a_one_row_file_is_refused_for_being_one_row(tmp_path):
    for text in ("a,b,y\n1,2,0\n", "1,2,0\n"):
        p = tmp_path / "one.csv"
        p.write_text(text)
        e = _error(p)
        assert "single data row" in str(e) and "at least 2 samples" in str(e)


def test_long_cells_are_quoted_short():
    e = _error("a,b,y\n1,2,0\n" + "x" * 100_000 + ",2,1\n3,4,1\n")
    assert len(str(e)) < 300 and "100,000 characters" in str(e)


def test_non_regular_files_are_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "FIFO" in str(_error(fifo))
    assert "folder" in str(_error(tmp_path))
