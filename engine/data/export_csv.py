"""A dataset as one CSV table: a ``split`` column, the raw features and the target.

The features are the ones the data were generated or imported with, before
feature expansion and scaling (those are fitted on the training split and are
part of the session, not of the data), so the file re-imports as the same
points. Classification targets are written as class names; regression
targets as numbers, one column per target. Pure numpy and ``csv``, no torch.
"""
from __future__ import annotations

import csv
import io
import math
import os

import numpy as np

from ..errors import InvalidInput
from .dataset import SPLITS
from .generators import CLASSIFICATION

RAW_2D = ["x1", "x2"]


def raw_feature_names(ds, width: int) -> list:
    """Names of the raw input columns: the imported names, else the dataset's own, else ``x1..xn``."""
    params = (ds.spec or {}).get("params") or {}
    expanded = bool(((ds.spec or {}).get("preprocess") or {}).get("features"))
    for names in (params.get("feature_names"), None if expanded else ds.feature_names):
        if isinstance(names, (list, tuple)) and len(names) == width and all(isinstance(n, str) for n in names):
            return list(names)
    if width == 2:
        return list(RAW_2D)
    return [f"x{j + 1}" for j in range(width)]


def _number(v) -> str:
    v = float(v)
    if not math.isfinite(v):
        return ""
    return str(np.float32(v)) if v != int(v) or abs(v) >= 1e16 else str(int(v))


def dataset_table(ds):
    """``(header, rows)``: one row per sample, the training split first, then validation, then test."""
    widths = {int(np.prod(ds.raw_x(s).shape[1:])) for s in SPLITS if len(ds.split(s)[1])}
    width = widths.pop() if len(widths) == 1 else int(np.prod(ds.raw_x("train").shape[1:]))
    features = raw_feature_names(ds, width)
    classification = ds.task == CLASSIFICATION
    n_targets = 1 if classification else int(ds.y_train.shape[1])
    targets = ["target"] if n_targets == 1 else [f"target{k + 1}" for k in range(n_targets)]
    header = ["split", *features, *targets]
    rows = []
    for s in SPLITS:
        x, y = ds.raw_x(s), ds.split(s)[1]
        if not len(y):
            continue
        x = np.asarray(x).reshape(len(x), -1)
        for i in range(len(y)):
            if classification:
                c = int(y[i])
                target = [ds.class_names[c] if c < len(ds.class_names) else str(c)]
            else:
                target = [_number(v) for v in np.asarray(y[i]).ravel()]
            rows.append([s, *(_number(v) for v in x[i]), *target])
    return header, rows


def dataset_csv_text(ds) -> str:
    header, rows = dataset_table(ds)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def export_dataset_csv(ds, path) -> str:
    """Write ``ds`` (an ``engine.data.Dataset``) to ``path`` atomically; returns the path."""
    from ..session import atomic_write_bytes

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InvalidInput(f"cannot write {path}: the folder {folder} does not exist")
    try:
        atomic_write_bytes(path, dataset_csv_text(ds).encode("utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot write {path}: {e.strerror or e}") from None
    return path
