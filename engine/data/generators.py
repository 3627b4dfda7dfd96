"""Dataset generators, registered by name in ``DATASETS``.

The 2-D sets follow TensorFlow Playground's ``src/dataset.ts`` (same radii,
ranges and noise model) so their pictures look like the ones users know; TF's
labels -1/+1 become classes 0/1. Every factory takes a numpy ``Generator``
first, so one seed reproduces a dataset bit for bit.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..errors import InvalidInput
from ..params import Param, brief, schema
from ..registry import Registry
from .arrays import as_array
from .digits import load_digits
from .multilabel import MULTILABEL, multilabel_targets

DATASETS = Registry("dataset")

CLASSIFICATION, REGRESSION = "classification", "regression"
XY = ["x1", "x2"]
PM = ["negative", "positive"]  # TF Playground's orange (-1) and blue (+1)
MAX_CLASS_INDEX = 100_000  # hand-written or imported labels: far more classes than any output layer here


class Generated(NamedTuple):
    x: np.ndarray  # float32 (N, *input_shape)
    y: np.ndarray  # int64 (N,) class indices, or float32 (N, k) targets (0/1 for multi-label)
    task: str
    n_classes: int
    feature_names: list
    class_names: list


def _n(default=500, lo=2):
    return Param("n", "int", default, min=lo, max=200_000, doc="number of points")


def _noise(default=0.0):
    return Param("noise", "float", default, min=0.0, max=1.0, doc="label/position noise, 0..1 (TF Playground's slider / 100)")


def _classes(x, labels, names=PM):
    return Generated(np.asarray(x, np.float32), np.asarray(labels, np.int64), CLASSIFICATION, len(names), list(XY), list(names))


def _regression(x, target):
    return Generated(np.asarray(x, np.float32), np.asarray(target, np.float32).reshape(-1, 1), REGRESSION, 0, list(XY), [])


def _halves(n):
    return n // 2, n - n // 2


# --------------------------------------------------------------- TF Playground
@DATASETS.register("circle", schema=schema(_n(), _noise()), group="classification",
                   doc="A disc of radius 2.5 (class 1) inside a ring 3.5..5 (class 0); TF Playground's 'Circle'.")
def circle(rng, n, noise):
    radius = 5.0
    parts = []
    for count, (r_lo, r_hi) in zip(_halves(n), ((0.0, radius * 0.5), (radius * 0.7, radius))):
        r = rng.uniform(r_lo, r_hi, count)
        angle = rng.uniform(0.0, 2 * math.pi, count)
        parts.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
    x = np.concatenate(parts)
    shifted = x + rng.uniform(-radius, radius, x.shape) * noise  # noise flips labels, not positions
    return _classes(x, np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5)


@DATASETS.register("xor", schema=schema(_n(), _noise()), group="classification",
                   doc="Four quadrants; class 1 where x1*x2 >= 0. TF Playground's 'Exclusive or'.")
def xor(rng, n, noise):
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # padding keeps points off the axes
    shifted = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return _classes(x, shifted[:, 0] * shifted[:, 1] >= 0)


@DATASETS.register("gauss", schema=schema(_n(), _noise()), group="classification",
                   doc="Two Gaussians at (2,2) (class 1) and (-2,-2) (class 0); TF Playground's 'Gaussian'.")
def gauss(rng, n, noise):
    variance = 0.5 + 7.0 * noise  # TF maps noise 0..0.5 linearly to variance 0.5..4
    n0, n1 = _halves(n)
    x = np.concatenate([rng.normal(2.0, math.sqrt(variance), (n1, 2)), rng.normal(-2.0, math.sqrt(variance), (n0, 2))])
    return _classes(x, np.r_[np.ones(n1), np.zeros(n0)])


def _spiral_arm(rng, count, offset, noise):
    i = np.arange(count) / max(count, 1)
    r = i * 5.0
    t = 1.75 * i * 2 * math.pi + offset
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x + rng.uniform(-1.0, 1.0, x.shape) * noise


@DATASETS.register("spiral", schema=schema(_n(), _noise()), group="classification",
                   doc="Two interleaved spiral arms, 1.75 turns out to radius 5; TF Playground's 'Spiral'.")
def spiral(rng, n, noise):
    n0, n1 = _halves(n)
    x = np.concatenate([_spiral_arm(rng, n1, 0.0, noise), _spiral_arm(rng, n0, math.pi, noise)])
    return _classes(x, np.r_[np.ones(n1), np.zeros(n0)])


@DATASETS.register("plane", schema=schema(_n(), _noise()), group="regression",
                   doc="Target (x1 + x2) / 10 on the square [-6, 6]²; TF Playground's 'Plane'.")
def plane(rng, n, noise):
    x = rng.uniform(-6.0, 6.0, (n, 2))
    shifted = x + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return _regression(x, shifted.sum(axis=1) / 10.0)


MULTI_GAUSS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def multi_gauss_target(x):
    """TF's label: the signed bump (1 - d/2, clamped to 0..1) of largest magnitude among six centres."""
    best = np.zeros(len(x))
    for cx, cy, sign in MULTI_GAUSS:
        value = sign * np.clip(1.0 - np.hypot(x[:, 0] - cx, x[:, 1] - cy) / 2.0, 0.0, 1.0)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


@DATASETS.register("multi_gauss", schema=schema(_n(), _noise()), group="regression",
                   doc="Six signed bumps on a 3x2 grid; TF Playground's 'Multi Gaussian'.")
def multi_gauss(rng, n, noise):
    x = rng.uniform(-6.0, 6.0, (n, 2))
    shifted = x + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return _regression(x, multi_gauss_target(shifted))


# ---------------------------------------------------------- 1-D regression
SINE_RANGE = 3.0  # x on [-3, 3]: about one period of sin, as in the textbooks' bias-variance pictures


@DATASETS.register("sine", schema=schema(
    _n(50), Param("noise", "float", 0.3, min=0.0, max=2.0, doc="standard deviation σ of the Gaussian noise on y")),
    group="regression",
    doc="One input x uniform on [-3, 3], target sin(x) + σ·N(0, 1): a known true function and noise level "
        "(Analyze ▸ Bias–Variance, lecture 004).")
def sine(rng, n, noise):
    x = rng.uniform(-SINE_RANGE, SINE_RANGE, (n, 1))
    y = np.sin(x[:, 0]) + noise * rng.standard_normal(n)
    return Generated(x.astype(np.float32), y.astype(np.float32).reshape(-1, 1), REGRESSION, 0, ["x"], [])


# ------------------------------------------------------------- other 2-D sets
@DATASETS.register("moons", schema=schema(_n(), _noise(0.1)), group="classification",
                   doc="Two interleaving half circles (scikit-learn's make_moons); noise is the Gaussian std.")
def moons(rng, n, noise):
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    x = x + rng.normal(0.0, 1.0, x.shape) * noise
    return _classes(x, np.r_[np.zeros(n_out), np.ones(n_in)])


def _class_names(k):
    return [f"class {i}" for i in range(k)]


def _split_counts(n, k):
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _check_enough(n, classes, name):
    if n < classes:
        raise InvalidInput(f"dataset {name!r} needs n >= classes, got n={n!r} for {classes!r} classes")


@DATASETS.register("blobs", schema=schema(
    _n(), Param("classes", "int", 3, min=2, max=10, doc="number of classes"),
    Param("std", "float", 1.0, min=0.01, max=5.0, doc="standard deviation of each blob")),
    group="classification", doc="Isotropic Gaussian blobs, centres evenly spaced on a circle of radius 4.")
def blobs(rng, n, classes, std):
    _check_enough(n, classes, "blobs")
    parts, labels = [], []
    for c, count in enumerate(_split_counts(n, classes)):
        angle = 2 * math.pi * c / classes
        parts.append(rng.normal(0.0, std, (count, 2)) + 4.0 * np.array([math.cos(angle), math.sin(angle)]))
        labels.append(np.full(count, c))
    return _classes(np.concatenate(parts), np.concatenate(labels), _class_names(classes))


@DATASETS.register("spirals", schema=schema(_n(), Param("classes", "int", 3, min=2, max=10, doc="number of arms"), _noise()),
                   group="classification", doc="One TF-style spiral arm per class, arms rotated by 2π/classes.")
def spirals(rng, n, classes, noise):
    _check_enough(n, classes, "spirals")
    counts = _split_counts(n, classes)
    x = np.concatenate([_spiral_arm(rng, m, 2 * math.pi * c / classes, noise) for c, m in enumerate(counts)])
    return _classes(x, np.repeat(np.arange(classes), counts), _class_names(classes))


# ---------------------------------------------------------------- multi-label
MULTI_LABEL_NAMES = ["inside the circle", "right half", "above the diagonal"]


def multi_label_truth(x):
    """The three labels of ``multi_label`` before noise: r < 3.5, x1 > 0, x2 > x1 (independent yes/no each)."""
    x = np.asarray(x, dtype=np.float64)
    return np.stack([np.hypot(x[:, 0], x[:, 1]) < 3.5, x[:, 0] > 0, x[:, 1] > x[:, 0]], axis=1).astype(np.float32)


@DATASETS.register("multi_label", schema=schema(
    _n(), Param("noise", "float", 0.0, min=0.0, max=0.5, doc="probability that each label of a point is flipped")),
    group="multi-label",
    doc="Points on [-5, 5]² with three labels at once: inside the circle r < 3.5, right half x1 > 0, above the "
        "diagonal x2 > x1 (lecture 002's multi-label classification: one sigmoid + bce per label).")
def multi_label(rng, n, noise):
    x = rng.uniform(-5.0, 5.0, (n, 2))
    y = multi_label_truth(x)
    flip = rng.uniform(0.0, 1.0, y.shape) < noise
    y = np.where(flip, 1.0 - y, y).astype(np.float32)
    return Generated(x.astype(np.float32), y, MULTILABEL, y.shape[1], list(XY), list(MULTI_LABEL_NAMES))


# ------------------------------------------------------------------- images
@DATASETS.register("digits", schema=schema(Param("flat", "bool", False, doc="(64,) vectors instead of (1, 8, 8) images")),
                   group="images", doc="UCI handwritten digits: 1,797 8x8 images, 10 classes, pixels scaled to 0..1.")
def digits(rng, flat):
    images, labels = load_digits()
    x = images.astype(np.float32) / 16.0
    x = x.reshape(len(x), 64) if flat else x.reshape(len(x), 1, 8, 8)
    names = [f"px{r}{c}" for r in range(8) for c in range(8)]
    return Generated(x, labels.astype(np.int64), CLASSIFICATION, 10, names, [str(d) for d in range(10)])


# ------------------------------------------------------------- arithmetic
@DATASETS.register("modular_addition", schema=schema(Param("p", "int", 23, min=2, max=200, doc="the modulus p")),
                   group="classification",
                   doc="Every pair (a, b) of 0..p-1 once, as one-hot a then one-hot b (2p inputs); class (a + b) mod p. "
                       "The grokking task: the split decides the training fraction.")
def modular_addition(rng, p):
    # all p² pairs, in order: which ones are trained on is the session's split (a seeded shuffle)
    a, b = np.divmod(np.arange(p * p), p)
    x = np.zeros((p * p, 2 * p), np.float32)
    x[np.arange(p * p), a] = 1.0
    x[np.arange(p * p), p + b] = 1.0
    names = [f"a={i}" for i in range(p)] + [f"b={i}" for i in range(p)]
    return Generated(x, ((a + b) % p).astype(np.int64), CLASSIFICATION, p, names, [str(c) for c in range(p)])


# ------------------------------------------------------- data written by hand
def _brief(value, limit=60):
    return brief(value, limit)  # never builds the repr of a whole 10⁶-sample list


def _ragged(x, owner):
    """Name the first sample whose length differs from x[0]'s -- the usual typo in hand-written data."""
    lens = [len(r) if isinstance(r, (list, tuple)) else None for r in x]
    for i, n in enumerate(lens):
        if n != lens[0]:
            what = lambda k: "a single number" if k is None else f"{k} values"  # noqa: E731
            return (f"{owner} x[{i}] has {what(n)} but x[0] has {what(lens[0])}; every sample must have the same shape"
                    f" (x = {_brief(x)})")
    return None


def _inline_xy(x, y, task, feature_names, class_names, owner):
    if as_array(x) is not None:  # imported data held as an array (engine/data/arrays.py): no list walk
        xa = as_array(x).astype(np.float64)
        if xa.ndim == 0 or not len(xa):
            raise InvalidInput(f"{owner} x must hold at least one sample, got an array of shape {xa.shape}")
        x = xa
        if as_array(y) is not None:
            y = as_array(y)
    elif not isinstance(x, (list, tuple)) or not x:
        raise InvalidInput(f"{owner} x must be a non-empty list of samples, got {_brief(x)}")
    try:
        xa = np.asarray(x, dtype=np.float64)
    except OverflowError:  # an integer beyond float range, e.g. 10**400
        raise InvalidInput(f"{owner} x holds a number too large for float32 (over 3.4e38); got {_brief(x)}") from None
    except (ValueError, TypeError):
        raise InvalidInput(_ragged(x, owner) or f"{owner} x must be numbers, each sample the same shape; got {_brief(x)}") from None
    if xa.size and np.abs(xa[np.isfinite(xa)]).max(initial=0.0) > 3.4e38:
        raise InvalidInput(f"{owner} x holds a number too large for float32 (over 3.4e38); got {_brief(x)}")
    if xa.dtype == object or xa.ndim == 0 or xa.size == 0:
        raise InvalidInput(f"{owner} x must be numbers, each sample the same shape; got {_brief(x)}")
    if xa.ndim == 1:
        xa = xa.reshape(-1, 1)
    bad = np.argwhere(~np.isfinite(xa.reshape(len(xa), -1)))
    if len(bad):
        raise InvalidInput(f"{owner} x[{bad[0][0]}] contains {float(xa.reshape(len(xa), -1)[tuple(bad[0])])}; values must be finite")
    if not isinstance(y, (list, tuple, np.ndarray)) or len(y) != len(xa):
        raise InvalidInput(f"{owner} y must be a list with one entry per sample ({len(xa)}), got {_brief(y)}")
    if task == MULTILABEL:
        ya, n_classes, class_names = multilabel_targets(y, len(xa), owner, class_names)
    elif task == CLASSIFICATION and isinstance(y, np.ndarray):
        if y.ndim != 1 or y.dtype.kind not in "iuf":
            raise InvalidInput(f"{owner} y must be one class index 0, 1, 2, ... per sample, got an array of shape {y.shape}")
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)) | (y < 0)) if y.dtype.kind == "f" else np.flatnonzero(y < 0)
        if len(bad):
            i = int(bad[0])
            raise InvalidInput(f"{owner} y[{i}] must be a class index 0, 1, 2, ...; got {_brief(y[i])}")
        ya = y.astype(np.int64)
    elif task == CLASSIFICATION:
        for i, v in enumerate(y):
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
                    or isinstance(v, float) and (not math.isfinite(v) or v != int(v))):
                raise InvalidInput(f"{owner} y[{i}] must be a class index 0, 1, 2, ...; got {_brief(v)}")
            if v >= MAX_CLASS_INDEX:
                raise InvalidInput(f"{owner} y[{i}] is class index {_brief(v)}; class indices must be below {MAX_CLASS_INDEX:,}")
        try:
            ya = np.asarray(y, dtype=np.int64)
        except OverflowError:
            raise InvalidInput(f"{owner} y holds a class index beyond {MAX_CLASS_INDEX:,}; got {_brief(y)}") from None
    if task == CLASSIFICATION:
        if len(ya) and int(ya.max()) >= MAX_CLASS_INDEX:  # 10⁹ would mean a billion output units and names
            raise InvalidInput(f"{owner} y uses class index {int(ya.max()):,}; class indices must be below {MAX_CLASS_INDEX:,}")
        n_classes = max(int(ya.max()) + 1, 2, len(class_names or ()))
        if class_names is not None and len(class_names) < n_classes:
            raise InvalidInput(f"{owner} class_names {_brief(class_names)} has {len(class_names)} names but y uses class {n_classes - 1}")
        class_names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    elif task != MULTILABEL:
        try:
            ya = np.asarray(y, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            raise InvalidInput(f"{owner} y must be numbers (or equal-length lists of numbers), got {_brief(y)}") from None
        if ya.ndim == 1:
            ya = ya.reshape(-1, 1)
        if ya.ndim != 2 or not np.isfinite(ya).all() or np.abs(ya).max(initial=0.0) > 3.4e38:
            raise InvalidInput(f"{owner} y must be finite numbers (or equal-length lists of numbers), got {_brief(y)}")
        ya, n_classes, class_names = ya.astype(np.float32), 0, []
    width = int(np.prod(xa.shape[1:]))
    if feature_names is None:
        feature_names = [f"x{j + 1}" for j in range(width)]
    elif not isinstance(feature_names, (list, tuple)) or len(feature_names) != width or not all(isinstance(s, str) for s in feature_names):
        raise InvalidInput(f"{owner} feature_names must be {width} strings, got {_brief(feature_names)}")
    return Generated(xa.astype(np.float32), ya, task, n_classes, list(feature_names), list(class_names))


def _names(name):
    return Param(name, "any", None, optional=True, doc=f"optional list of {name.replace('_', ' ')}")


_INLINE = (Param("x", "any", None, doc="samples: a nested list, one entry per sample"),
           Param("y", "any", None, doc="targets: class indices, numbers / lists of numbers for regression, or "
                                       "one list of 0/1 labels per sample for multilabel"),
           Param("task", "choice", CLASSIFICATION, choices=(CLASSIFICATION, REGRESSION, MULTILABEL)),
           _names("feature_names"), _names("class_names"))


@DATASETS.register("inline", schema=schema(*_INLINE), group="custom",
                   doc="A tiny dataset written into the session, e.g. x=[[1, 0]], y=[1] from the XOR lecture example.")
def inline(rng, x, y, task, feature_names, class_names):
    return _inline_xy(x, y, task, feature_names, class_names, "dataset 'inline'")


_CSV_READ = (
    Param("path", "str", None, optional=True,
          doc="a CSV file to read (relative to the session file); x and y are then read from it, not stored"),
    Param("target", "any", None, optional=True,
          doc="the target column: a name or a 0-based index (default: the last); multilabel: a list of 0/1 columns"),
    Param("delimiter", "str", None, optional=True, doc="one character, or null to detect"),
    Param("header", "bool", None, optional=True, doc="the first line names the columns; null to detect"),
)


@DATASETS.register("csv", schema=schema(
    Param("x", "any", None, optional=True, doc="samples (an array once imported; lists in a .json file)"),
    Param("y", "any", None, optional=True, doc="targets: class indices, or numbers for regression"),
    Param("task", "choice", "auto", choices=("auto", CLASSIFICATION, REGRESSION, MULTILABEL),
          doc="auto: classification when the target holds few whole numbers or text, else regression; "
              "multilabel: several 0/1 target columns"),
    _names("feature_names"), _names("class_names"),
    Param("source", "str", None, optional=True, doc="file it was imported from (a label; never read again)"),
    Param("skip_rows", "int", None, min=0, max=1_000_000, optional=True,
          doc="file lines skipped at import (a title or count line); null to detect"),
    *_CSV_READ,
), group="custom", doc="Data imported from a CSV file: embedded in the session, or read from 'path' (see csv_import).")
def csv(rng, x, y, task, feature_names, class_names, source, skip_rows, path, target, delimiter, header):
    if x is None:  # make_dataset reads a 'path' first (engine.data.dataset.resolve_data_file)
        raise InvalidInput("dataset 'csv' needs its data (x and y) or a 'path' to a CSV file")
    if y is None:
        raise InvalidInput("dataset 'csv' has x but no y (targets)")
    if task == "auto":
        task = _guess_task(y)
    return _inline_xy(x, y, task, feature_names, class_names, f"dataset 'csv' ({source})" if source else "dataset 'csv'")


def _guess_task(y) -> str:
    """As the CSV reader decides: few distinct whole numbers mean classes, anything else a quantity."""
    try:
        v = np.asarray(y, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return CLASSIFICATION  # text or ragged: the classification checks will say what is wrong
    if v.ndim != 1 or not np.isfinite(v).all():
        return REGRESSION if v.ndim == 2 else CLASSIFICATION
    distinct = np.unique(v)
    whole = bool(np.all(v == np.round(v)))
    return CLASSIFICATION if whole and len(distinct) <= min(20, max(2, len(v) // 2)) else REGRESSION
