"""The epoch curves the diagnoses read, kept as numpy arrays that grow with the history.

``diagnostics.diagnose_history`` turns the history's per-epoch lists into arrays at every call,
so a long run got slower and slower: at 20,000 epochs one call took 4 ms, half of the compiled
path's training time between two evaluations. ``EpochCurves.diagnose`` gives the same diagnoses
copying only the epochs added since its last call; both trainers use it at their epoch ends.
"""
from __future__ import annotations

import numpy as np


class EpochCurves:
    """The epoch curves ``diagnose_history`` reads, as numpy arrays that grow with the history.

    ``diagnose(history, ...)`` returns exactly ``diagnostics.diagnose_history(history, ...)``; it
    copies only the epochs added since its last call (and starts over for another history, or
    one that got shorter), instead of converting every list at every call.
    """

    KEYS = ("train_loss", "val_loss", "val_acc", "lr")

    def __init__(self):
        self._history = self._list = None
        self.n = 0
        self._arr = {k: np.empty(256) for k in self.KEYS}
        self._any_val = False
        self._last_acc = None

    def _sync(self, history):
        n = history.n_epochs
        lst = history.epochs["train_loss"]
        if history is not self._history or lst is not self._list or n < self.n or (
                self.n and not _same(lst[self.n - 1], self._arr["train_loss"][self.n - 1])):
            # another history, or this one rewritten: start over (once)
            self._history, self._list, self.n, self._any_val, self._last_acc = history, lst, 0, False, None
        if n == self.n:
            return
        for k in self.KEYS:
            a = self._arr[k]
            if len(a) < n:
                a = self._arr[k] = np.resize(a, max(n, 2 * len(a)))
            a[self.n:n] = history.epochs[k][self.n:n]
        new_val, new_acc = self._arr["val_loss"][self.n:n], self._arr["val_acc"][self.n:n]
        self._any_val = self._any_val or bool(np.isfinite(new_val).any())
        finite = np.flatnonzero(np.isfinite(new_acc))
        if len(finite):
            self._last_acc = float(new_acc[finite[-1]])
        self.n = n

    def diagnose(self, history, *, epochs_seen=None, planned=None):
        from .diagnostics import diagnose_curves, first_step_loss

        self._sync(history)
        a, n = self._arr, self.n
        return diagnose_curves(a["train_loss"][:n], a["val_loss"][:n] if self._any_val else None, a["lr"][:n],
                               epochs_seen=epochs_seen, first_loss=first_step_loss(history), planned=planned,
                               val_accuracy=self._last_acc)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)
