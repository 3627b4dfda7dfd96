"""Reading a user's CSV file into features and a target, with errors that point at the cell.

Real exports vary: Excel in German writes ``1,5;2,25``, some tools add a BOM
or a trailing delimiter, others save Windows-1252. We sniff the delimiter and
header, and every rejection is a ``DataError`` naming the 1-based file row and
the column, so the user can fix the file in an editor.
"""
from __future__ import annotations

import csv as _csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidInput

DELIMITERS = ("\t", ";", "|", ",")  # equal consistency: earlier wins (";" beats "," for decimal commas)
WHITESPACE = " "
TASKS = ("auto", "classification", "regression", "multilabel")  # multilabel: several 0/1 target columns
MAX_CLASSES = 100
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")
_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
BINARY = "contains NUL bytes: this looks like a binary file (e.g. .xlsx), not CSV text"
MAX_SKIP = 1_000_000


def _short(text, limit=60) -> str:
    """A cell or line as a message quotes it: never the whole file back at the user."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


def _q(cell) -> str:
    return repr(_short(cell))


# ----------------------------------------------------------------- reading
def _read_source(source, max_bytes):
    """Return (text, display name, path) for a path or a CSV string."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise DataError(f"data is {len(source):,} bytes, over the {max_bytes:,} byte limit")
        return _decode(bytes(source), None), None, None
    if isinstance(source, str) and ("\n" in source or "\r" in source or "\x00" in source):
        if len(source.encode("utf-8", "surrogatepass")) > max_bytes:
            raise DataError(f"text is over the {max_bytes:,} byte limit")
        if "\x00" in source:
            raise DataError(BINARY, row=source[:source.index("\x00")].count("\n") + 1)
        return source.lstrip("\ufeff"), None, None
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidInput(f"CSV source must be a path or CSV text, got {source!r:.80}")
    path = Path(source)
    if not path.exists():
        if isinstance(source, str) and path.suffix.lower() not in _FILE_SUFFIXES and os.sep not in source and "/" not in source:
            return source.lstrip("\ufeff"), None, None  # one line of CSV text
        where = str(path) if len(str(path)) <= 200 else "…" + str(path)[-200:]  # the file name is the end
        raise DataError("file not found", path=where)
    from ..safe_io import read_bytes_limited  # regular files only, and a hard limit (a FIFO or /dev/zero never ends)

    data = read_bytes_limited(path, max_bytes, what="CSV file", error=DataError)  # its messages name the path
    return _decode(data, str(path)), path.name, str(path)


def _decode(data: bytes, path):
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        row = data[:data.index(b"\x00")].count(b"\n") + 1
        raise DataError(BINARY, row=row, path=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            row = data[:e.start].count(b"\n") + 1
            raise DataError(f"byte 0x{data[e.start]:02x} is neither UTF-8 nor Windows-1252 text; save the file as UTF-8",
                            row=row, path=path) from None


def _split(line, delimiter):
    if delimiter == WHITESPACE:
        return line.split()
    if '"' not in line:  # fast path: no quoting to honour
        return [c.strip() for c in line.split(delimiter)]
    return [c.strip() for c in next(_csv.reader([line], delimiter=delimiter, skipinitialspace=True), [""])]


def _sniff(lines):
    """Pick the delimiter whose field count is most consistent over the first lines."""
    sample = [t for _, t in lines[:200]]
    best, best_score = None, 0.0
    for d in DELIMITERS:
        fields, freq = Counter(len(_split(t, d)) for t in sample).most_common(1)[0]
        if fields >= 2 and freq / len(sample) > best_score:
            best, best_score = d, freq / len(sample)
    if best is None and Counter(len(t.split()) for t in sample).most_common(1)[0][0] >= 2:
        best = WHITESPACE
    return best or ","


def _number(cell, decimal_comma):
    try:
        return float(cell)
    except ValueError:
        if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
            return float(cell.replace(",", "."))
        return None


def _text_like(cell, decimal_comma):
    return cell != "" and _number(cell, decimal_comma) is None


def _unique_names(names):
    out, seen = [], Counter()
    for j, name in enumerate(names):
        name = name or f"col{j + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _count_line(rows, decimal_comma):
    """A first line like ``150,4,setosa,versicolor,virginica`` (scikit-learn's CSVs): rows, features, class names.

    Returns ``(n_rows, n_features, class names)`` or None. Both counts must be whole numbers, the feature
    count must fit the data's width, and the row count must match the rows present (or the rest be names).
    """
    if len(rows) < 3:
        return None
    first = rows[0][1]
    if len(first) < 2 or not all(re.fullmatch(r"\d+", c) for c in first[:2]):
        return None
    n, d = int(first[0]), int(first[1])
    width = Counter(len(r) for _, r in rows[1:]).most_common(1)[0][0]
    names = first[2:]
    if d != width - 1 or not (n == len(rows) - 1 or names and all(_text_like(c, decimal_comma) for c in names)):
        return None
    return n, d, names


def read_csv(source, *, delimiter=None, header=None, target=None, task="auto", max_bytes=50_000_000, check=True,
             skip_rows=None):
    """Parse ``source`` (a path or CSV text) into a ``Table``.

    ``delimiter``/``header`` None means detect. ``target`` is a column name or
    a 0-based index (negative counts from the end; default the last column);
    with ``task="multilabel"`` a list of them, one 0/1 column per label.
    With ``check`` the features and target are validated now, so a bad cell is
    reported at import; pass ``check=False`` to preview a file before the
    user has picked its target column.

    ``skip_rows``: file lines to drop before anything is read (a title, a licence, a count line);
    None means detect a scikit-learn count line (``150,4,setosa,...``) and skip it, saying so in
    ``Table.notes``. ``Table.skip_rows`` is the number of lines skipped either way.
    """
    if skip_rows is not None and (isinstance(skip_rows, bool) or not isinstance(skip_rows, int)
                                  or not 0 <= skip_rows <= MAX_SKIP):
        raise InvalidInput(f"skip_rows must be a whole number from 0 to {MAX_SKIP:,} (or None to detect), "
                           f"got {_short(repr(skip_rows))}")
    if task not in TASKS:
        raise InvalidInput(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise InvalidInput(f"delimiter must be one character (or None to detect), got {delimiter!r}")
    if header not in (None, True, False):
        raise InvalidInput(f"header must be true, false or None (detect), got {header!r}")
    text, name, path = _read_source(source, max_bytes)
    where = path or name
    raw_lines = text.split("\n") if "\n" in text else text.split("\r")
    skip = skip_rows or 0
    lines = [(i + 1, t.rstrip("\r")) for i, t in enumerate(raw_lines)
             if i >= skip and t.strip() and not t.lstrip().startswith("#")]
    if not lines:
        raise DataError("the file is empty (no rows)" if not skip else f"has no rows after the {skip} skipped",
                        path=where)
    delim = _sniff(lines) if delimiter is None else delimiter  # " " means runs of whitespace
    decimal_comma = delim != ","
    rows = [(n, _split(t, delim)) for n, t in lines]
    if len(rows) > 1 and all(r[-1] == "" for _, r in rows):  # trailing delimiter on every line
        rows = [(n, r[:-1]) for n, r in rows]
    notes, hint = [], None
    counts = _count_line(rows, decimal_comma) if skip_rows is None else None
    if counts is not None:
        n_rows, n_feat, hint = counts
        line_no, line = lines[0]
        notes.append(f"line {line_no} ({_short(line, 50)}) is a count line, as scikit-learn writes it ({n_rows} rows, "
                     f"{n_feat} features{', classes ' + ', '.join(hint) if hint else ''}): skipped it")
        skip, rows = line_no, rows[1:]
    if len(rows) > 2 and header is not False:  # a first line that does not fit is the one to blame, not row 2
        rest = Counter(len(r) for _, r in rows[1:]).most_common(1)[0][0]
        if len(rows[0][1]) != rest:
            k = len(rows[0][1])
            raise DataError(f"has {k} field{'s' if k != 1 else ''} but the rows below have {rest} "
                            f"(delimiter {delim!r}); if it is a title or a count line, skip it (skip the first "
                            f"{rows[0][0]} line{'s' if rows[0][0] != 1 else ''})", row=rows[0][0], path=where)
    if header is None:
        first = rows[0][1]
        if len(rows) == 1:
            header = all(_text_like(c, decimal_comma) for c in first)
        else:
            second = rows[1][1]
            header = any(_text_like(c, decimal_comma) and j < len(second) and _number(second[j], decimal_comma) is not None
                         for j, c in enumerate(first))
    width = len(rows[0][1]) if header else Counter(len(r) for _, r in rows).most_common(1)[0][0]
    for n, r in rows:
        if len(r) != width:
            raise DataError(f"has {len(r)} field{'s' if len(r) != 1 else ''}, expected {width} "
                            f"(delimiter {delim!r})", row=n, path=where)
    columns = _unique_names(rows[0][1]) if header else [f"col{j + 1}" for j in range(width)]
    data = rows[1:] if header else rows
    if not data:
        raise DataError(f"has only a header row ({_short(', '.join(columns), 200)}) and no data rows", path=where)
    if len(data) == 1:
        raise DataError("has a single data row; a dataset needs at least 2 samples (each row is one sample)",
                        row=data[0][0], path=where)
    if width < 2:
        raise DataError(f"has {width} column ({_q(columns[0])}); it needs feature columns and a target column "
                        f"(delimiter detected: {delim!r})", path=where)
    cells = [r for _, r in data]
    parsed = [[_number(c, decimal_comma) for c in r] for r in cells]
    numeric = np.array([[v is not None for v in r] for r in parsed], dtype=bool)
    values = np.array([[np.nan if v is None else v for v in r] for r in parsed], dtype=np.float64)
    table = Table(columns, cells, values, numeric, [n for n, _ in data], delim, bool(header), name, path, target, task,
                  skip_rows=skip, notes=notes, class_hint=list(hint) if hint else None)
    if check:
        table.to_xy()
    return table


# ------------------------------------------------------------------ table
@dataclass
class Table:
    """A parsed CSV: names, raw cells, and the numeric values (NaN where a cell is text)."""

    columns: list
    cells: list  # list of rows of stripped strings
    values: np.ndarray  # float64 (n_rows, n_columns)
    numeric: np.ndarray  # bool: the cell parsed as a number (nan/inf included)
    line_numbers: list  # 1-based file row of each data row
    delimiter: str
    header: bool
    name: str | None = None  # file name, for the session's "source"
    path: str | None = None
    target: object = None
    task: str = "auto"
    skip_rows: int = 0  # file lines skipped before the first row read
    notes: list = field(default_factory=list)  # what detection decided that the user should know
    class_hint: list | None = None  # class names from a count line, for targets coded 0..k-1

    @property
    def n_rows(self):
        return len(self.cells)

    @property
    def rows(self):
        return self.values

    def column_index(self, target=None) -> int:
        """Resolve a column name or 0-based (negative: from the end) index; default the last column."""
        if target is None:
            return len(self.columns) - 1
        if isinstance(target, str) and target in self.columns:
            return self.columns.index(target)
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and -len(self.columns) <= target < len(self.columns):
            return int(target) % len(self.columns)
        raise DataError(f"unknown target column {_q(target)}; available: {_short(', '.join(self.columns), 200)}",
                        path=self.path or self.name)

    def target_columns(self, target=None) -> list:
        """Multi-label targets: a list of column names or indices, one 0/1 column per label.

        A single name or index is one label; None takes the trailing run of 0/1 columns (at least one
        column stays a feature).
        """
        if target is None:
            cols = []
            for j in range(len(self.columns) - 1, 0, -1):
                v = self.values[:, j]
                if not (self.numeric[:, j].all() and np.isin(v, (0.0, 1.0)).all()):
                    break
                cols.insert(0, j)
            if not cols:
                raise DataError("no 0/1 columns at the end of the file to use as multi-label targets; name the "
                                "target columns", path=self.path or self.name)
            return cols
        items = list(target) if isinstance(target, (list, tuple)) else [target]
        if not items:
            raise DataError("multi-label needs at least one target column", path=self.path or self.name)
        cols = [self.column_index(t) for t in items]
        dup = next((c for c in cols if cols.count(c) > 1), None)
        if dup is not None:
            raise DataError(f"target column {_q(self.columns[dup])} is named twice", path=self.path or self.name)
        return cols

    def _multilabel(self, cols):
        self._check_finite(cols, "target")
        v = self.values[:, cols]
        bad = np.argwhere(~np.isin(v, (0.0, 1.0)))
        if len(bad):
            i, k = bad[0]
            raise self._error(f"target cell {_q(self.cells[i][cols[k]])} is not 0 or 1; multi-label targets are "
                              f"0/1 columns, one per label", i, cols[k])
        return v, "multilabel", len(cols), [self.columns[j] for j in cols]

    def _error(self, message, i, j):
        return DataError(message, row=self.line_numbers[i], column=self.columns[j], path=self.path or self.name)

    def _check_finite(self, cols, role):
        sub_numeric, sub_values = self.numeric[:, cols], self.values[:, cols]
        bad = np.argwhere(~sub_numeric | ~np.isfinite(sub_values))
        if len(bad):
            i, k = bad[0]
            j, cell = cols[k], self.cells[bad[0][0]][cols[k]]
            if cell == "":
                raise self._error(f"empty {role} cell (missing value); fill or remove the row", i, j)
            if not sub_numeric[i, k]:
                raise self._error(f"{role} cell {_q(cell)} is not a number", i, j)
            kind = "NaN (a missing value)" if np.isnan(sub_values[i, k]) else "infinite"
            raise self._error(f"{role} cell {_q(cell)} is {kind}; only finite numbers are allowed", i, j)

    def _target(self, j, task):
        n = self.n_rows
        column = self.columns[j]
        numeric = bool(self.numeric[:, j].all())
        if task == "auto":
            if not numeric:
                task = "classification"
            else:
                self._check_finite([j], "target")
                v = self.values[:, j]
                distinct = np.unique(v)
                task = ("classification" if np.all(v == np.round(v)) and len(distinct) <= min(20, max(2, n // 2))
                        else "regression")
        if task == "regression":
            self._check_finite([j], "target")
            return self.values[:, j].reshape(-1, 1), task, 0, []
        blank = [i for i in range(n) if self.cells[i][j] == ""]
        if blank:
            raise self._error("empty target cell (missing label); fill or remove the row", blank[0], j)
        if numeric:
            self._check_finite([j], "target")
            keys = self.values[:, j]
            distinct = np.unique(keys)
            names = [str(int(v)) if v == int(v) else f"{v:g}" for v in distinct]
            if self.class_hint and len(self.class_hint) == len(distinct) and distinct.tolist() == list(range(len(distinct))):
                names = list(self.class_hint)  # iris: 0, 1, 2 are setosa, versicolor, virginica
        else:
            keys = np.array([r[j] for r in self.cells], dtype=object)
            distinct = np.array(sorted(set(keys)), dtype=object)
            names = [str(v) for v in distinct]
        if len(distinct) < 2:
            raise DataError(f"target column {_q(column)} has a single class {_q(names[0])}; classification needs at least 2 "
                            f"(use task 'regression' or pick another target)", column=column, path=self.path or self.name)
        if len(distinct) > MAX_CLASSES:
            raise DataError(f"target column {_q(column)} has {len(distinct)} distinct values, over {MAX_CLASSES} classes; "
                            f"use task 'regression'", column=column, path=self.path or self.name)
        index = {k: c for c, k in enumerate(distinct.tolist())}
        return np.array([index[k] for k in keys.tolist()], dtype=np.int64), task, len(distinct), names

    def _xy64(self, target=None, task=None):
        task = self.task if task is None else task
        if task not in TASKS:
            raise InvalidInput(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        target = self.target if target is None else target
        if task == "multilabel":
            cols = self.target_columns(target)
            features = [k for k in range(len(self.columns)) if k not in cols]
            if not features:
                raise DataError("every column is a target; leave at least one feature column",
                                path=self.path or self.name)
            self._check_finite(features, "feature")
            y, task, n_classes, class_names = self._multilabel(cols)
            return self.values[:, features], y, task, n_classes, [self.columns[k] for k in features], class_names
        j = self.column_index(target)
        features = [k for k in range(len(self.columns)) if k != j]
        self._check_finite(features, "feature")
        y, task, n_classes, class_names = self._target(j, task)
        return self.values[:, features], y, task, n_classes, [self.columns[k] for k in features], class_names

    def to_xy(self, target=None, task=None):
        """``(x float32 (N, d), y, task, n_classes, feature_names, class_names)`` like a generator's output."""
        x, y, task, n_classes, features, class_names = self._xy64(target, task)
        y = y.astype(np.float32) if task in ("regression", "multilabel") else y
        return x.astype(np.float32), y, task, n_classes, features, class_names


def csv_dataset_params(table: Table, target=None, task=None) -> dict:
    """Params for the ``csv`` dataset: the imported data embedded in the session.

    ``task="multilabel"`` with ``target`` a list of 0/1 columns gives y (N, k) and the columns' names as
    label names.

    x and y are ``DataArray`` s (float64 as parsed, int64 class indices): a session copy shares
    them and a fingerprint hashes them once; ``.nnp`` archives store them as ``.npy`` members and
    ``.json`` sessions as lists (engine/data/arrays.py).
    """
    from .arrays import DataArray

    x, y, task, _, features, class_names = table._xy64(target, task)
    return {"x": DataArray(x), "y": DataArray(y[:, 0] if task == "regression" else y), "task": task,
            "feature_names": features, "class_names": class_names if task in ("classification", "multilabel") else None,
            "source": table.name, "skip_rows": table.skip_rows}
