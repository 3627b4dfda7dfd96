"""Early stopping: stop once the monitored validation score stops improving, and keep the best weights.

The notes: "terminate while validation set performance is better" and "retrieve the
parameter values after stopping ... as these are the values for which the model
performs best". ``patience`` is the number of epochs in a row without improvement
that are tolerated: training stops at the end of the patience-th such epoch.

``monitor`` names the score: ``val_loss`` (default), ``val_accuracy``, ``val_f1``, ``val_r2``...
or their ``train_`` versions; ``mode`` says whether lower (``min``) or higher (``max``) is
better, ``auto`` reads it from the name (losses and errors go down, scores go up). Without a
validation split a ``val_`` monitor falls back to the same score on the training split.
"""
from __future__ import annotations

import math

from .errors import InvalidInput

_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "f1", "precision", "recall", "r2")
_LOWER_IS_BETTER = ("loss", "mae", "rmse")
METRICS = ("loss", "accuracy", "acc", "precision", "recall", "f1", "auc", "mae", "rmse", "r2")
MONITORS = tuple(f"{split}_{m}" for split in ("val", "train") for m in METRICS)


def epoch_metrics(ev) -> dict:
    """``{"val_loss", "train_loss", "val_accuracy", "train_accuracy", "val_f1", ...}`` of an EpochEnd event."""
    out = {"train_loss": ev.train_loss, "val_loss": ev.val_loss}
    for split in ("train", "val"):
        for k, v in (getattr(ev, f"{split}_metrics", None) or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"{split}_{k}"] = v
    for split in ("train", "val"):
        if f"{split}_accuracy" in out:
            out[f"{split}_acc"] = out[f"{split}_accuracy"]
    return {k: v for k, v in out.items() if v is not None}


class EarlyStopping:
    def __init__(self, patience: int, min_delta: float = 0.0, restore_best: bool = True,
                 monitor: str = "val_loss", mode: str = "auto"):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise InvalidInput(f"early stopping patience must be an integer ≥ 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not math.isfinite(min_delta) or min_delta < 0:
            raise InvalidInput(f"early stopping min_delta must be a number ≥ 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise InvalidInput(f"early stopping mode must be auto, min or max; got {mode!r}")
        if not isinstance(monitor, str) or monitor not in MONITORS:
            raise InvalidInput(f"early stopping monitor must be one of {', '.join(MONITORS)}; got {monitor!r}")
        if mode == "auto":  # losses go down; accuracy-like scores go up
            mode = "max" if monitor.lower().rsplit("_", 1)[-1] in _HIGHER_IS_BETTER else "min"
        self.patience, self.min_delta, self.restore_best = patience, float(min_delta), bool(restore_best)
        self.monitor, self.mode = monitor, mode
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.stopped_epoch: int | None = None
        self.best_state: dict | None = None  # CPU copy of the best state_dict

    def _improves(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.best_value is None:
            return True
        if self.mode == "min":
            return v < self.best_value - self.min_delta
        return v > self.best_value + self.min_delta

    def pick(self, metrics) -> float:
        """The monitored value from an EpochEnd event or a ``{name: value}`` dict (see ``epoch_metrics``)."""
        if not isinstance(metrics, dict):
            metrics = epoch_metrics(metrics)
        key = self.monitor
        if key not in metrics and key.startswith("val_"):  # no validation split: the training score
            key = "train_" + key[4:]
        if key not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise InvalidInput(f"early stopping monitors {self.monitor!r}, which this training does not measure "
                               f"(measured: {known})")
        return metrics[key]

    def update(self, epoch: int, value, model=None) -> bool:
        """Record this epoch's monitored value; True means stop now.

        ``value``: the monitored number itself, a ``{metric name: value}`` dict or an EpochEnd event.
        """
        if isinstance(value, dict) or hasattr(value, "train_loss"):
            value = self.pick(value)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"early stopping needs a number for {self.monitor}, got {value!r}") from None
        if self._improves(v):
            self.best_value, self.best_epoch, self.bad_epochs = v, epoch, 0
            if self.restore_best and model is not None:
                self.best_state = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model) -> bool:
        """Load the best weights back into ``model``; False when there is nothing to restore."""
        if not self.restore_best or self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict:
        """Counters as plain JSON types (the best weights are saved with the model, not here)."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict) -> None:
        try:
            self.best_value = None if state["best_value"] is None else float(state["best_value"])
            self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
            self.bad_epochs = int(state["bad_epochs"])
            self.stopped_epoch = None if state.get("stopped_epoch") is None else int(state["stopped_epoch"])
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"bad early stopping state {state!r}: {e}") from None
