"""The notes' mini-batch size rule: b ≈ 1.5 × the number of outliers (lecture 002), with the outliers counted.

Lecture 002, on mini-batch gradient descent: "The size of the mini-batch b depends on the size of the dataset.
But generally, it should be around 1.5 times the number of outliers so that even in the worst case, it won't be
affected much by outliers." The outliers meant there are the training samples that pull a gradient step off
course (the same passage: "SGD is heavily affected by outliers - encountering an outlier requires extra updates
to get back on track"): samples far from the bulk of the data. Lecture 000 adds only "experiment with moderate
batch sizes to balance stability and update frequency".

The rule used to count them, stated so it can be checked: a training sample is an outlier when any of its raw
input features (before scaling and crosses; a regression sample's targets too) has a modified z-score
|M| = 0.6745 · |x − median| / MAD above 3.5 (Iglewicz and Hoaglin; MAD = the median absolute deviation, 0.6745
makes it comparable to a standard deviation for normal data). A feature whose MAD is 0 (at least half of the
samples share one value, as for the blank pixels of a digit) is skipped: the rule cannot measure its spread.
The suggestion is ⌊1.5·n + ½⌋ (1.5 × 7 = 10.5 → 11), at least 2 (the notes' 1 < b) and at most the training
set (then one batch is the whole set). No outliers: the rule sets no size, and the moderate-batch advice stands.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput

Z_LIMIT = 3.5
Z_SCALE = 0.6745
FACTOR = 1.5
QUOTE = ("“it should be around 1.5 times the number of outliers so that even in the worst case, it won't be "
         "affected much by outliers” (lecture 002)")
RULE = "modified z-score 0.6745·|x − median|/MAD > 3.5 in any raw input feature (and regression target)"


def modified_z(x) -> tuple[np.ndarray, np.ndarray]:
    """|M| per sample and column of ``x`` (N, d), and which columns could be measured (MAD > 0)."""
    a = np.asarray(x, dtype=np.float64)
    a = a.reshape(len(a), -1)
    med = np.median(a, axis=0)
    mad = np.median(np.abs(a - med), axis=0)
    ok = mad > 0
    z = np.zeros_like(a)
    z[:, ok] = Z_SCALE * np.abs(a[:, ok] - med[ok]) / mad[ok]
    return z, ok


def suggestion(n_outliers: int, n_train: int) -> int | None:
    """⌊1.5·n + ½⌋ clamped to [2, n_train], or None when there are no outliers (the rule sets no size)."""
    if n_outliers <= 0 or n_train <= 0:
        return None
    return int(min(max(2, math.floor(FACTOR * n_outliers + 0.5)), n_train))


@dataclass
class BatchAdvice:
    """The count, the suggestion and the sentence the Training panel and ``main.py advise`` show."""

    n_train: int
    n_outliers: int
    indices: list = field(default_factory=list)  # training-split rows that are outliers
    per_feature: dict = field(default_factory=dict)  # column name -> outliers in it
    skipped: list = field(default_factory=list)  # columns with MAD = 0
    suggested: int | None = None
    current: int | None = None  # the session's batch size (None: full batch)

    def text(self) -> str:
        cur = "current: full batch" if self.current is None else f"current {self.current}"
        n = self.n_outliers
        if self.suggested is None:
            return (f"The notes' rule b ≈ 1.5 × outliers: no outliers in the {self.n_train} training samples, so it "
                    f"sets no size; lecture 000: moderate batches ({cur}).")
        whole = " (the whole training set)" if self.suggested == self.n_train else ""
        return (f"The notes' rule: b ≈ 1.5 × {n} outlier{'s' * (n != 1)} ≈ {self.suggested}{whole}; {cur}.")

    def to_dict(self) -> dict:
        return {"n_train": self.n_train, "n_outliers": self.n_outliers, "outlier_rows": self.indices,
                "per_feature": self.per_feature, "skipped_features": self.skipped, "suggested": self.suggested,
                "current": self.current, "rule": RULE, "quote": QUOTE, "text": self.text()}


def count_outliers(x, targets=None, names=None) -> BatchAdvice:
    """Outliers among the rows of ``x`` (and of regression ``targets``) by the modified z-score rule."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0 or len(a) == 0:
        raise InvalidInput("the training split is empty: there are no samples to count outliers in")
    cols = a.reshape(len(a), -1)
    labels = list(names) if names is not None and len(names) == cols.shape[1] else \
        [f"x{j + 1}" for j in range(cols.shape[1])]
    if targets is not None:
        t = np.asarray(targets, dtype=np.float64).reshape(len(a), -1)
        cols = np.concatenate([cols, t], axis=1)
        labels += [f"target {j + 1}" if t.shape[1] > 1 else "target" for j in range(t.shape[1])]
    if not np.all(np.isfinite(cols)):
        raise InvalidInput("the training data holds NaN or infinite values: outliers cannot be counted")
    z, ok = modified_z(cols)
    hit = z > Z_LIMIT
    rows = np.flatnonzero(hit.any(axis=1))
    per = {labels[j]: int(hit[:, j].sum()) for j in range(cols.shape[1]) if ok[j] and hit[:, j].any()}
    return BatchAdvice(n_train=len(a), n_outliers=int(rows.size), indices=rows.tolist(), per_feature=per,
                       skipped=[labels[j] for j in range(cols.shape[1]) if not ok[j]],
                       suggested=suggestion(int(rows.size), len(a)))


def advise_batch(data, batch_size: int | None = None) -> BatchAdvice:
    """``count_outliers`` on a Dataset's raw training inputs (plus targets for regression); ``batch_size`` 0 or
    None is the full batch."""
    x = data.raw_x("train")
    targets = data.y_train if data.task == "regression" else None
    adv = count_outliers(x, targets, names=data.feature_names if len(data.feature_names) == np.asarray(x).reshape(
        len(x), -1).shape[1] else None)
    adv.current = int(batch_size) if batch_size else None
    return adv


def advise_session(session) -> BatchAdvice:
    """The advice for a Session: its dataset generated with its seed, its training.batch_size as the current."""
    from .data import make_dataset
    from .session import TRAINING_SCHEMA

    data = make_dataset(session.dataset, seed=session.seed)
    try:
        b = TRAINING_SCHEMA.validate(session.training, owner="training")["batch_size"]
    except InvalidInput:
        b = None
    return advise_batch(data, b)
