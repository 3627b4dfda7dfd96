"""Multi-label targets: each sample may carry several labels at once (lecture 002's table of output layers).

A multi-label dataset has k labels; its targets are a float32 ``(N, k)`` array of 0s and 1s (float, so the
torch losses and the compiled kernels read them as dense per-unit targets, as ``bce`` expects), and its
``class_names`` are the label names. The network needs k sigmoid outputs and ``bce`` (or k identity outputs
and ``bce_logits``): one independent yes/no per label. This module checks such targets (one message naming
the first bad entry), gives the split its strata and the counts the dataset panel shows.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidInput
from ..params import brief

MULTILABEL = "multilabel"
MAX_LABELS = 64


def label_names(names, k: int, owner: str) -> list:
    """``names`` checked against k labels, or ``label 1``, ``label 2``... when None."""
    if names is None:
        return [f"label {j + 1}" for j in range(k)]
    if not isinstance(names, (list, tuple)) or not all(isinstance(s, str) for s in names):
        raise InvalidInput(f"{owner} class_names must be a list of label names, got {brief(names)}")
    if len(names) != k:
        raise InvalidInput(f"{owner} class_names has {len(names)} name{'s' if len(names) != 1 else ''} but y has "
                           f"{k} label{'s' if k != 1 else ''} per sample; give one name per label")
    return list(names)


def _bad_entry(y) -> tuple | None:
    """(row, column) of the first value that is not 0 or 1, else None."""
    bad = np.argwhere(~np.isin(y, (0, 1)))
    return (int(bad[0][0]), int(bad[0][1])) if len(bad) else None


def multilabel_targets(y, n: int, owner: str, names=None) -> tuple:
    """``(float32 (N, k) 0/1 targets, k, label names)`` from nested lists or an array; InvalidInput otherwise.

    Every sample needs the same number k ≥ 1 of labels, each 0 or 1 (``true``/``false`` are read as 1/0);
    ``n`` is the number of samples the targets must match.
    """
    if isinstance(y, np.ndarray) or hasattr(y, "__array__") and not isinstance(y, (list, tuple)):
        ya = np.asarray(y)
        if ya.ndim != 2 or ya.dtype.kind not in "biuf":
            raise InvalidInput(f"{owner} multi-label y must be one list of 0/1 labels per sample, got an array of "
                               f"shape {ya.shape}")
    else:
        if not isinstance(y, (list, tuple)):
            raise InvalidInput(f"{owner} multi-label y must be one list of 0/1 labels per sample, got {brief(y)}")
        for i, row in enumerate(y):
            if not isinstance(row, (list, tuple)):
                raise InvalidInput(f"{owner} multi-label y[{i}] must be a list of 0/1 labels (e.g. [1, 0, 1]), "
                                   f"got {brief(row)}")
            if len(row) != len(y[0]):
                raise InvalidInput(f"{owner} multi-label y[{i}] has {len(row)} labels but y[0] has {len(y[0])}; "
                                   f"every sample needs one 0/1 entry per label")
            for j, v in enumerate(row):
                if not isinstance(v, (bool, int, float)) or isinstance(v, float) and not math.isfinite(v) \
                        or v not in (0, 1):
                    raise InvalidInput(f"{owner} multi-label y[{i}][{j}] must be 0 or 1 (the label is off or on), "
                                       f"got {brief(v)}")
        ya = np.asarray(y, dtype=np.float64).reshape(len(y), -1 if len(y) else 0)
    if len(ya) != n:
        raise InvalidInput(f"{owner} y must have one entry per sample ({n}), got {len(ya)}")
    k = int(ya.shape[1]) if ya.ndim == 2 else 0
    if not 1 <= k <= MAX_LABELS:
        raise InvalidInput(f"{owner} multi-label y needs 1 to {MAX_LABELS} labels per sample, got {k}")
    bad = _bad_entry(ya)
    if bad is not None:
        raise InvalidInput(f"{owner} multi-label y[{bad[0]}][{bad[1]}] must be 0 or 1 (the label is off or on), "
                           f"got {brief(ya[bad].item())}")
    return ya.astype(np.float32), k, label_names(names, k, owner)


def check_dataset_targets(y, k: int, split: str):
    """A Dataset's multi-label split: float32 (N, k) of 0/1 (the message names the first bad entry)."""
    if y.dtype != np.float32 or y.ndim != 2 or y.shape[1] != k:
        raise InvalidInput(f"dataset {split} targets are {y.dtype}{y.shape}; multilabel needs float32 (N, {k}) "
                           f"of 0/1")
    bad = _bad_entry(y)
    if bad is not None:
        raise InvalidInput(f"dataset {split} target [{bad[0]}][{bad[1]}] is {y[bad].item():g}; multi-label targets "
                           f"are 0 or 1")


def strata(y) -> np.ndarray:
    """One stratum per distinct label combination (row of y), so a split keeps every combination's share."""
    return np.unique(np.asarray(y), axis=0, return_inverse=True)[1].reshape(-1) if len(y) else np.zeros(0, np.int64)


def label_counts(y) -> list:
    """How many samples carry each label."""
    y = np.asarray(y)
    return [int(v) for v in y.sum(axis=0)] if y.ndim == 2 else []
