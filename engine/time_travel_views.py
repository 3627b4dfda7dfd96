"""What the window shows at a past checkpoint, computed on a copy of the network: the live one trains on.

``PastViews`` copies a trainer's model once (between two steps) and, for each checkpoint asked for,
loads its weights into the copy and evaluates what the live views show: the decision boundary and
per-neuron maps (``engine.views.ViewComputer``, the very code the live views use), the activation
statistics, the weight statistics and histograms (the numbers the Weights tab and the canvas's edge
colours read, gradient norm unknown: NaN) and the loss and metrics on the training (the same fixed
subset the curves use) and validation splits. It runs on any thread; the live run is only read while
the copy is taken, so scrubbing never waits for, or disturbs, a training step.
"""
from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass

import numpy as np

from .events import LayerStats, Stats


@dataclass(frozen=True)
class Moment:
    """Everything the window shows at one checkpoint."""

    step: int
    epoch: int
    epoch_end: bool
    boundary: object | None  # engine.views.BoundaryFrame
    activations: dict | None
    stats: Stats  # weights only: grad_norm is NaN (a checkpoint keeps no gradients)
    metrics: dict  # train_loss, train_acc, val_loss, val_acc (None where it does not apply)


class _Shadow:
    """The parts of a trainer ``ViewComputer`` reads, around a private model copy."""

    def __init__(self, tr, model):
        self.model, self.device, self.data = model, tr.device, tr.data
        self.x, self.y, self.loss_name = tr.x, tr.y, tr.loss_name
        self.step_lock = threading.RLock()


def weight_stats(weights: dict, model, step: int, epoch: int, bins: int | None = None) -> Stats:
    """LayerStats of every parameter in ``weights`` ("layers.node.param" -> array), as the trainer computes
    them: mean, population std, norm and a ``bins``-bin histogram over [min, max] (±0.5 when constant)."""
    from .history import History

    bins = bins or History.HIST_BINS
    layers = []
    for nid, mod in model.layers.items():
        for pname, _ in mod.named_parameters():
            w = weights.get(f"layers.{nid}.{pname}")
            if w is None:
                continue
            w = np.asarray(w, dtype=np.float64).ravel()
            mean, std = float(w.mean()), float(w.std())
            lo, hi = float(w.min()), float(w.max())
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
            counts, _ = np.histogram(w, bins=bins, range=(lo, hi))
            layers.append(LayerStats(nid, pname, mean, std, math.sqrt(w.size * (std * std + mean * mean)),
                                     float("nan"), tuple(int(c) for c in counts),
                                     tuple(lo + (hi - lo) * i / bins for i in range(bins + 1))))
    return Stats(step, epoch, tuple(layers), float("nan"))


class PastViews:
    """Views of a trainer's network at its checkpoints, on a copy (construct under ``run.snapshot()``)."""

    def __init__(self, trainer, meta):
        import torch

        from .trainer import EVAL_CHUNK
        from .views import ViewComputer

        self.torch, self.meta = torch, meta
        self.model = copy.deepcopy(trainer.model)
        self.loss_fn, self.task = trainer.loss_fn, trainer.data.task
        self.n_classes, self.loss_name = trainer.data.n_classes, trainer.loss_name
        self._chunk, self._limit = EVAL_CHUNK, trainer.train_eval_rows()
        self.shadow = _Shadow(trainer, self.model)
        self.views = ViewComputer(self.shadow, meta)
        self.lock = threading.Lock()  # one checkpoint at a time in the copy

    def _split(self, split, limit=None):
        from .metrics import evaluate

        x, y = self.shadow.x[split], self.shadow.y[split]
        if limit is not None and len(x) > limit:
            x, y = x[:limit], y[:limit]
        if len(x) == 0:
            return None, {}
        out = self.torch.cat([self.model(x[i:i + self._chunk]) for i in range(0, len(x), self._chunk)])
        loss = self.loss_fn(out, y).item()
        return loss, evaluate(out.float().cpu().numpy(), y.cpu().numpy(), self.task, self.loss_name, self.n_classes)

    def moment(self, cp) -> Moment:
        """Load ``cp``'s weights into the copy and compute every view (a few ms for a small net)."""
        torch = self.torch
        with self.lock:
            dev = next(iter(self.model.state_dict().values())).device if self.model.state_dict() else "cpu"
            self.model.load_state_dict({k: torch.as_tensor(np.asarray(v)).to(dev) for k, v in cp.weights.items()})
            boundary = self.views.boundary(cp.step)
            activations = self.views.activations()
            self.model.eval()
            with torch.no_grad():
                tl, tm = self._split("train", self._limit)
                vl, vm = self._split("val")
            metrics = {"train_loss": tl, "train_acc": tm.get("accuracy"), "val_loss": vl, "val_acc": vm.get("accuracy")}
            stats = weight_stats(cp.weights, self.model, cp.step, cp.epoch)
        return Moment(cp.step, cp.epoch, cp.epoch_end, boundary, activations, stats, metrics)
