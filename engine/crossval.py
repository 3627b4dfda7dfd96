"""k-fold cross-validation: split the training data into k segments, train k times, validate on each.

Lecture 000 calls it the "gold standard" for judging how well a network
generalizes, and averages the k validation results; lecture 002 uses 10 folds.
The pool is the session's train + validation split; the test split stays unseen.
Each fold refits the preprocessing on its own training part, so no statistic of
the held-out segment leaks into training. Headless: it drives ``Trainer`` itself.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import InvalidInput

SUMMARY_KEYS = ("val_loss", "train_loss", "accuracy", "precision", "recall", "f1", "auc", "mae", "rmse", "r2")


def kfold_indices(y, k: int, *, seed: int = 0, task: str = "classification") -> list:
    """k (train_idx, val_idx) pairs; every sample is validated exactly once.

    Seeded shuffle; for classification the samples are grouped by class before
    being dealt round-robin, so every fold holds each class at its overall share
    (±1 sample). Fold sizes differ by at most one.
    """
    y = np.asarray(y)
    n = len(y)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise InvalidInput(f"cross-validation needs k ≥ 2 folds, got {k!r}")
    if k > n:
        raise InvalidInput(f"cross-validation with k = {k} folds needs at least {k} samples, got {n}")
    order = np.random.default_rng([int(seed), 2]).permutation(n)
    if task == "classification":
        order = order[np.argsort(y[order], kind="stable")]
    fold = np.empty(n, dtype=np.int64)
    fold[order] = np.arange(n) % k
    return [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(int(k))]


def fold_datasets(session, k: int):
    """Yield ``(fold, Dataset)`` with train/val replaced by the fold's parts (test unchanged)."""
    from .data import apply_preprocess, fit_preprocess, make_dataset

    s = session.copy().canonicalize()
    data = make_dataset(s.dataset, seed=s.seed)
    raw = np.concatenate([data.raw_x("train"), data.raw_x("val")])
    y = np.concatenate([data.y_train, data.y_val])
    raw_test = data.raw_x("test")
    for i, (tr, va) in enumerate(kfold_indices(y, k, seed=s.seed, task=data.task)):
        state = fit_preprocess(raw[tr], s.dataset["preprocess"])
        yield i, replace(
            data, x_train=apply_preprocess(raw[tr], state), y_train=y[tr],
            x_val=apply_preprocess(raw[va], state), y_val=y[va], x_test=apply_preprocess(raw_test, state),
            preprocess_state=state, raw={"train": raw[tr], "val": raw[va], "test": raw_test})


def _numbers(d: dict) -> dict:
    return {k: float(v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def cross_validate(session, k: int = 5, *, epochs: int | None = None, device: str | None = None) -> dict:
    """Train once per fold and report each fold's validation scores, their mean and standard deviation.

    Returns ``{"k", "folds": [{"fold", "n_train", "n_val", "epochs", "finished", "val_loss",
    "train_loss", <metrics>}], "mean": {...}, "std": {...}}``. Scores are measured after the run
    (with the best weights restored if early stopping is on); a NaN fold score (e.g. the AUC of a fold
    holding one class) makes that mean NaN.
    """
    from .trainer import Trainer

    folds = []
    for i, ds in fold_datasets(session, k):
        tr = Trainer(session, dataset=ds, device=device)
        reason = None
        for ev in tr.run(epochs):
            reason = getattr(ev, "reason", reason)
        val_loss, val_metrics, _ = tr.evaluate_split("val")
        train_loss, _, _ = tr.evaluate_split("train")
        folds.append({"fold": i, "n_train": len(ds.y_train), "n_val": len(ds.y_val), "epochs": tr.epoch,
                      "finished": reason, "val_loss": val_loss, "train_loss": train_loss, **_numbers(val_metrics)})
    keys = [key for key in SUMMARY_KEYS if all(key in f for f in folds)]
    mean = {key: float(np.mean([f[key] for f in folds])) for key in keys}
    std = {key: float(np.std([f[key] for f in folds])) for key in keys}
    return {"k": int(k), "folds": folds, "mean": mean, "std": std}
