"""A reopened run's history as one progress batch, so the plots redraw it as if just trained.

A ``.nnp`` holds the training's full state and its history, but the plots only know progress
batches: ``history_batch`` turns every saved step loss and learning rate, every finished epoch, the
gradient norms and the latest weight statistics into one. The worker sends it after the build of a
restored run, then the usual snapshot (boundary, activations), so the window looks as it did when
the session was saved and Train continues the curves.
"""
from __future__ import annotations

import math

import numpy as np

from .worker import ProgressBatch


def _finite(v):
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _epoch_events(trainer):
    from engine.diagnostics import diagnose_curves
    from engine.events import EpochEnd

    h = trainer.history
    n, ep = h.n_epochs, h.epochs
    events = []
    for i in range(n):
        vm = h.epoch_metrics[i] if i < len(h.epoch_metrics) else {}
        tm = {"accuracy": ep["train_acc"][i]} if _finite(ep["train_acc"][i]) else {}
        secs = ep["seconds"][i]
        sps = trainer.steps_per_epoch / secs if _finite(secs) and secs > 0 else 0.0
        events.append(EpochEnd(i + 1, ep["train_loss"][i], ep["val_loss"][i] if _finite(ep["val_loss"][i]) else None,
                               tm, dict(vm or {}), ep["lr"][i], secs, sps))
    if events:  # the diagnoses panel shows the verdict on the saved curves
        val = h.epoch_array("val_loss")
        diags = tuple(diagnose_curves(h.epoch_array("train_loss"), val if np.isfinite(val).any() else None,
                                      h.epoch_array("lr"), epochs_seen=n))
        last = events[-1]
        events[-1] = EpochEnd(last.epoch, last.train_loss, last.val_loss, last.train_metrics, last.val_metrics,
                              last.lr, last.seconds, last.steps_per_second, diags)
    return tuple(events)


def _stats(trainer, weight_nodes):
    """(latest Stats, x of every saved statistics row, node -> gradient norm per row)."""
    from engine.events import LayerStats, Stats

    h = trainer.history
    spe = max(trainer.steps_per_epoch, 1)
    layers, grid, per_node = [], None, {}
    for key, series in h.layer_stats.items():
        x, rows = series.data()
        if not len(rows):
            continue
        node, param = key.split(".", 1)
        if grid is None:
            grid = x
        if len(x) == len(grid) and node in weight_nodes:
            per_node[node] = per_node.get(node, 0.0) + rows[:, 3].astype(np.float64) ** 2
        _, counts = h.layer_hists[key].data()
        if not len(counts) or key not in h.layer_edges:
            continue
        mean, std, norm, gnorm = (float(v) for v in rows[-1])
        layers.append(LayerStats(node, param, mean, std, norm, gnorm, tuple(int(c) for c in counts[-1]),
                                 tuple(float(e) for e in h.layer_edges[key])))
    if grid is None:
        return None, np.zeros(0), {}
    stats = None
    if layers:
        total = math.sqrt(sum(ls.grad_norm ** 2 for ls in layers if math.isfinite(ls.grad_norm)))
        stats = Stats(int(grid[-1]), trainer.epoch, tuple(layers), total)
    return stats, grid / spe, {k: np.sqrt(v) for k, v in per_node.items()}


def history_batch(trainer, meta=None) -> ProgressBatch:
    """The trainer's whole saved history as one progress batch (x axis in epochs, as the live worker sends)."""
    h = trainer.history
    spe = max(trainer.steps_per_epoch, 1)
    steps, losses = h.step_loss.data()
    _, lrs = h.step_lr.data()
    m = min(len(steps), len(lrs))
    weight_nodes = set(meta.weight_nodes) if meta is not None else {k.split(".", 1)[0] for k in h.layer_stats}
    stats, grad_x, grads = _stats(trainer, weight_nodes)
    return ProgressBatch(
        steps[:m].astype(np.float64) / spe, steps[:m].astype(np.int64), losses[:m].astype(np.float64),
        lrs[:m].astype(np.float64), stats, np.asarray(grad_x, dtype=np.float64), grads, _epoch_events(trainer),
        None, None, None, trainer.epoch, trainer.step, trainer.training["epochs"], spe, 0.0, None,
        trainer.epoch + trainer.batch_in_epoch / spe)
