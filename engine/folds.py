"""k-fold cross-validation as k ``engine.Run`` s: per-fold curves live, then mean ± std of each metric.

``engine.crossval`` defines the folds (stratified, seeded, lectures 000/002) and refits the scaling
on each fold's training part; this module trains each fold as a Run (so small dense networks take
the compiled path, and the window can watch a fold's curves grow), one fold after another.
"""
from __future__ import annotations

import threading

import numpy as np

from .crossval import SUMMARY_KEYS, fold_datasets


def headline(task: str) -> str:
    """The metric the summary leads with: accuracy for classification, R² for regression."""
    return "accuracy" if task in ("classification", "multilabel") else "r2"  # multi-label: per-label accuracy


class FoldRuns:
    """The folds of one cross-validation, trained in turn; ``events()`` yields ``(fold, event)``."""

    def __init__(self, session, k: int = 5, *, path: str = "auto", device=None):
        from .run import Run

        self.k = int(k)
        self.datasets = [ds for _, ds in fold_datasets(session, self.k)]  # refuses a bad k first
        self.task = self.datasets[0].task
        self.runs = [Run(session, dataset=ds, build=False, path=path, device=device) for ds in self.datasets]
        self.results: list = [None] * self.k
        self._stop = threading.Event()

    def stop(self):
        self._stop.set()
        for r in self.runs:
            r.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def events(self, epochs: int | None = None):
        from .events import Finished

        for i, run in enumerate(self.runs):
            if self._stop.is_set():
                return
            reason = None
            for ev in run.events(epochs, whole_epochs=True):  # the fold's state is read once it ends
                if isinstance(ev, Finished):
                    reason = ev.reason
                yield i, ev
            self.results[i] = self._result(i, run, reason)
            yield i, self.results[i]

    def _result(self, i, run, reason) -> dict:
        ds = self.datasets[i]
        with run.snapshot() as tr:
            val_loss, val_metrics, _ = tr.evaluate_split("val")
            train_loss, _, _ = tr.evaluate_split("train")
            epochs = tr.epoch
        nums = {k: float(v) for k, v in val_metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return {"fold": i, "n_train": len(ds.y_train), "n_val": len(ds.y_val), "epochs": epochs, "finished": reason,
                "val_loss": float(val_loss), "train_loss": float(train_loss), **nums}

    def fit(self, epochs: int | None = None, on_fold=None) -> dict:
        for _, ev in self.events(epochs):
            if isinstance(ev, dict) and on_fold is not None:
                on_fold(ev)
        return self.summary()

    def summary(self) -> dict:
        """``{"k", "metric", "folds", "mean", "std"}`` over the folds finished so far (population std, as crossval)."""
        folds = [f for f in self.results if f is not None]
        keys = [key for key in SUMMARY_KEYS if folds and all(key in f for f in folds)]
        mean = {key: float(np.mean([f[key] for f in folds])) for key in keys}
        std = {key: float(np.std([f[key] for f in folds])) for key in keys}
        return {"k": self.k, "metric": headline(self.task), "folds": folds, "mean": mean, "std": std}
