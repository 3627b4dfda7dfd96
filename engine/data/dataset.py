"""A dataset spec (pure data) -> train/validation/test arrays, reproducibly.

Sessions store only the canonical spec and the seed; ``make_dataset`` rebuilds
the same arrays bit for bit from them. Generation and splitting draw from two
independent streams of the seed, so changing the split never changes the points.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInput
from ..params import brief
from .generators import CLASSIFICATION, DATASETS, REGRESSION
from .multilabel import MULTILABEL, check_dataset_targets, label_counts, strata
from .preprocess import apply_preprocess, fit_preprocess, preprocess_canonical

SPLITS = ("train", "val", "test")
DEFAULT_SPLIT = {"train": 0.7, "val": 0.15, "test": 0.15}
TRAIN_ONLY = {"train": 1.0, "val": 0.0, "test": 0.0}
HAND_WRITTEN = ("inline",)  # tiny datasets: by default every sample is for training
SPEC_KEYS = ("type", "params", "split", "preprocess")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Preprocessed splits plus what a model and a plot need to know about them.

    ``x_*`` are float32 (N, *input_shape); ``y_*`` are int64 (N,) class indices
    for classification, float32 (N, k) for regression, or float32 (N, k) 0/1 for
    multi-label (``n_classes`` = k labels, ``class_names`` their names). ``raw`` keeps each
    split's inputs before preprocessing, for scatter plots in data coordinates.
    """

    name: str
    task: str
    n_classes: int
    input_shape: tuple
    feature_names: list
    class_names: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocess_state: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    spec: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in (CLASSIFICATION, REGRESSION, MULTILABEL):
            raise InvalidInput(f"dataset task must be {CLASSIFICATION!r}, {REGRESSION!r} or {MULTILABEL!r}, "
                               f"got {self.task!r}")
        for s in SPLITS:
            x, y = self.split(s)
            if x.dtype != np.float32 or tuple(x.shape[1:]) != tuple(self.input_shape) or len(x) != len(y):
                raise InvalidInput(f"dataset {s} split has inputs {x.dtype}{x.shape} and targets {y.shape}, "
                                   f"expected float32 (N, {', '.join(map(str, self.input_shape))}) with N targets")
            if self.task == MULTILABEL:
                check_dataset_targets(y, self.n_classes, s)
                continue
            want = np.int64 if self.task == CLASSIFICATION else np.float32
            if y.dtype != want or y.ndim != (1 if self.task == CLASSIFICATION else 2):
                raise InvalidInput(f"dataset {s} targets are {y.dtype}{y.shape}; {self.task} needs {np.dtype(want)}")

    def split(self, name):
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in SPLITS:
            raise InvalidInput(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def raw_x(self, name):
        """Inputs of a split before feature expansion and scaling."""
        self.split(name)
        return self.raw.get(name, getattr(self, f"x_{name}"))

    @property
    def sizes(self) -> dict:
        return {s: len(self.split(s)[1]) for s in SPLITS}

    @property
    def n_outputs(self) -> int:
        """Width of the model's output layer: classes, labels (multi-label), or regression targets."""
        return self.n_classes if self.task == CLASSIFICATION else int(self.y_train.shape[1])

    def class_counts(self, name="train"):
        """Samples per class; for multi-label, samples carrying each label (they may add up to more than N)."""
        y = self.split(name)[1]
        if self.task == MULTILABEL:
            return label_counts(y)
        return np.bincount(y, minlength=self.n_classes).tolist() if self.task == CLASSIFICATION else []

    def summary(self) -> str:
        if self.task == CLASSIFICATION:
            names = ", ".join(self.class_names[:10]) + (", ..." if len(self.class_names) > 10 else "")
            kind = f"classification, {self.n_classes} classes ({names})"
        elif self.task == MULTILABEL:
            counts = ", ".join(f"{n} {c}" for n, c in zip(self.class_names[:10], self.class_counts()))
            kind = f"multi-label, {self.n_classes} labels (train samples with each: {counts})"
        else:
            kind = f"regression, {self.n_outputs} target{'s' if self.n_outputs != 1 else ''}"
        feats = ", ".join(self.feature_names[:8]) + (", ..." if len(self.feature_names) > 8 else "")
        shape = "(" + ", ".join(map(str, self.input_shape)) + ("," if len(self.input_shape) == 1 else "") + ")"
        sizes = self.sizes
        scale = self.preprocess_state.get("scale", "none")
        return (f"{self.name}: {kind}; inputs {shape} [{feats}]; "
                f"train {sizes['train']} / val {sizes['val']} / test {sizes['test']}; scaling {scale}")


# ------------------------------------------------------------------- spec
def split_canonical(split, default=DEFAULT_SPLIT) -> dict:
    """Fill a split dict (missing parts are 0) and check it sums to 1."""
    if split is None:
        return dict(default)
    if not isinstance(split, dict):
        raise InvalidInput(f"split must be an object like {DEFAULT_SPLIT}, got {brief(split)}")
    unknown = sorted(set(split) - set(SPLITS))
    if unknown:
        raise InvalidInput(f"split has no part {unknown[0]!r} (parts: {', '.join(SPLITS)})")
    out = {}
    for s in SPLITS:
        v = split.get(s, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.0 <= v <= 1.0:
            raise InvalidInput(f"split.{s} must be a fraction between 0 and 1, got {brief(v)}")
        out[s] = float(v)
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise InvalidInput(f"split fractions must sum to 1, got {total:g} from {brief(split)}")
    if out["train"] <= 0.0:
        raise InvalidInput(f"split.train must be above 0, got {split.get('train', 0)!r}")
    return out


def dataset_canonical(spec) -> dict:
    """The full ``{"type", "params", "split", "preprocess"}`` form that sessions store."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise InvalidInput(f"dataset must be a name or an object with 'type', got {brief(spec, 80)}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise InvalidInput(f"dataset has unexpected key {unknown[0]!r} (allowed: {', '.join(SPEC_KEYS)})")
    if "type" not in spec:
        raise InvalidInput(f"dataset needs a 'type' (one of: {', '.join(DATASETS.names())})")
    gen = DATASETS.canonical({"type": spec["type"], "params": spec.get("params") or {}})
    default = TRAIN_ONLY if gen["type"] in HAND_WRITTEN else DEFAULT_SPLIT
    return {**gen, "split": split_canonical(spec.get("split"), default),
            "preprocess": preprocess_canonical(spec.get("preprocess"))}


# --------------------------------------------------------- CSV by path
DERIVED_KEYS = ("x", "y", "feature_names", "class_names", "source")  # what reading the file fills in


def resolve_data_file(spec, base_dir=None):
    """A ``csv`` spec naming a ``path``: read the file now (relative paths from ``base_dir``) into its arrays.

    ``{"type": "csv", "params": {"path": "iris.csv", "target": "species", "delimiter": ",", "header": true}}``
    becomes the same spec with ``x``/``y`` (DataArrays), ``task``, ``feature_names``, ``class_names`` and
    ``source`` filled in; the path and options stay, so a ``.json`` save writes them back, not the data
    (``dataset_for_json``). Errors name the file, row and column. Any other spec is returned unchanged.
    """
    if not isinstance(spec, dict) or spec.get("type") != "csv" or not isinstance(spec.get("params"), dict):
        return spec
    params = spec["params"]
    path = params.get("path")
    if path is None or params.get("x") is not None:
        return spec
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(f"dataset 'csv' path must be a file name, got {brief(path)}")
    from .csv_import import csv_dataset_params, read_csv

    full = path if os.path.isabs(path) or base_dir is None else os.path.join(base_dir, path)
    opts = {k: params.get(k) for k in ("delimiter", "header", "target", "skip_rows")}
    task = params.get("task") or "auto"
    if "/" not in full and os.sep not in full:
        full = os.path.join(".", full)  # read_csv takes a bare word for one line of CSV text
    table = read_csv(full, task=task if task in ("auto", "classification", "regression", "multilabel") else "auto",
                     **{k: v for k, v in opts.items() if v is not None})
    filled = csv_dataset_params(table, opts["target"])
    return {**spec, "params": {**params, **{k: filled[k] for k in DERIVED_KEYS}, "task": filled["task"]}}


def dataset_for_json(spec):
    """The dataset as a ``.json`` session writes it: a CSV read from a path is written as that path."""
    if isinstance(spec, dict) and spec.get("type") == "csv" and isinstance(spec.get("params"), dict) \
            and spec["params"].get("path") is not None:
        return {**spec, "params": {k: v for k, v in spec["params"].items() if k not in DERIVED_KEYS}}
    return spec


# ------------------------------------------------------------------ split
def split_counts(n, split) -> tuple:
    """Rounded split sizes that add up to ``n``, with at least one training sample."""
    n_val, n_test = round(n * split["val"]), round(n * split["test"])
    while n - n_val - n_test < 1 and n_val + n_test > 0:
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_val - n_test, n_val, n_test


def split_indices(y, task, split, rng) -> tuple:
    """Seeded shuffle into (train, val, test) index arrays, stratified by class.

    Stratification: within each class every sample gets the key (rank + 0.5) /
    class size after a shuffle; sorting by that key interleaves the classes in
    proportion, so any prefix -- the training part -- holds each class at its
    overall share. Multi-label data is stratified by label combination (each
    distinct row of y is a stratum), which keeps every label's share too.
    A train-only split keeps the original order.
    """
    n = len(y)
    n_train, n_val, n_test = split_counts(n, split)
    if n_val == n_test == 0:
        return np.arange(n), np.arange(0), np.arange(0)
    order = rng.permutation(n)
    if task in (CLASSIFICATION, MULTILABEL):
        labels = y[order] if task == CLASSIFICATION else strata(y[order])
        key = np.empty(n)
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            key[members] = (np.arange(len(members)) + 0.5) / len(members)
        order = order[np.argsort(key, kind="stable")]
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    return tuple(rng.permutation(p) for p in parts)


# ------------------------------------------------------------------- build
def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {brief(seed)}")
    return int(seed)


def make_dataset(spec, seed: int) -> Dataset:
    """Generate, split and preprocess; the same spec and seed give identical arrays."""
    canon = resolve_data_file(dataset_canonical(spec))  # a CSV named by path is read here (relative to the cwd)
    seed = _check_seed(seed)
    gen_rng, split_rng = (np.random.default_rng([seed, stream]) for stream in (0, 1))
    g = DATASETS.create({"type": canon["type"], "params": canon["params"]}, gen_rng)
    parts = split_indices(g.y, g.task, canon["split"], split_rng)
    raw = {s: g.x[idx] for s, idx in zip(SPLITS, parts)}
    state = fit_preprocess(raw["train"], canon["preprocess"])
    xs = {s: apply_preprocess(raw[s], state) for s in SPLITS}
    features = canon["preprocess"]["features"]
    source = canon["params"].get("source") if canon["type"] == "csv" else None
    return Dataset(
        name=f"csv ({source})" if source else canon["type"],
        task=g.task, n_classes=g.n_classes, input_shape=tuple(xs["train"].shape[1:]),
        feature_names=list(features) if features else list(g.feature_names), class_names=list(g.class_names),
        x_train=xs["train"], y_train=g.y[parts[0]], x_val=xs["val"], y_val=g.y[parts[1]],
        x_test=xs["test"], y_test=g.y[parts[2]], preprocess_state=state, raw=raw, spec=canon,
    )
