"""Bookkeeping that keeps up with 100k+ steps/s: bulk history appends and per-chunk statistics.

``extend_series`` appends a whole chunk of (step, value) pairs to an ``engine.history.Series``
with exactly the thinning of calling ``append`` once per pair, in numpy instead of a
Python loop. ``layer_stats`` computes the same ``Stats`` event as the torch trainer,
reading the live weights and the last step's gradients, in one kernel call.
"""
from __future__ import annotations

import math

import numpy as np

from ..events import LayerStats, Stats
from ..history import History

HIST_SAMPLE = 16384  # as engine.trainer: weights histogrammed per tensor, at most


def extend_series(s, xs, ys):
    """``for x, y in zip(xs, ys): s.append(x, y)`` in a few numpy slices."""
    xs, ys = np.asarray(xs), np.asarray(ys)
    i, n = 0, len(xs)
    while i < n:
        if s._skip:
            t = min(s._skip, n - i)
            s._skip -= t
            i += t
            continue
        if s.n == s.capacity:  # full: keep every second point, record half as often from now on
            keep = slice(0, s.n, 2)
            m = len(range(*keep.indices(s.n)))
            s.x[:m], s.y[:m] = s.x[keep], s.y[keep]
            s.n = m
            s.stride *= 2
        k = min(s.capacity - s.n, -(-(n - i) // s.stride))
        while len(s.x) < s.n + k:
            s._grow(len(s.x) + 1)
        idx = i + s.stride * np.arange(k)
        s.x[s.n:s.n + k] = xs[idx]
        s.y[s.n:s.n + k] = ys[idx]
        s.n += k
        i = int(idx[-1]) + 1
        s._skip = s.stride - 1


def add_steps(history: History, first_step: int, losses, lrs):
    steps = np.arange(first_step, first_step + len(losses), dtype=np.int64)
    if history.step_loss.stride == 1 and history.step_loss._skip == 0 and history.step_lr.stride == 1 \
            and history.step_lr._skip == 0 and history.step_loss.n + len(steps) <= history.step_loss.capacity:
        for s, ys in ((history.step_loss, losses), (history.step_lr, lrs)):  # the common case: plain copies
            while len(s.x) < s.n + len(steps):
                s._grow(len(s.x) + 1)
            s.x[s.n:s.n + len(steps)] = steps
            s.y[s.n:s.n + len(steps)] = ys
            s.n += len(steps)
        return
    extend_series(history.step_loss, steps, losses)
    extend_series(history.step_lr, steps, lrs)


def _stat_tables(prog):
    """(offsets, sizes) of the parameter tensors in theta, computed once per program."""
    tables = getattr(prog, "_stat_tables", None)
    if tables is None:
        offs = np.array([e[3] for e in prog.params], dtype=np.int64)
        sizes = np.array([math.prod(e[4]) for e in prog.params], dtype=np.int64)
        tables = prog._stat_tables = (offs, sizes, sizes.tolist())
    return tables


def layer_stats(prog, theta, grad: np.ndarray, step: int, epoch: int) -> Stats:
    """Weight and gradient statistics per parameter tensor, as ``Trainer._stats`` computes them (one kernel call).

    The counts and edges of every tensor are converted in one numpy call each (a call per tensor
    was most of the cost of a Stats event on a tiny network).
    """
    from .step import tensor_stats

    bins = History.HIST_BINS
    n = len(prog.params)
    offs, sizes, size_list = _stat_tables(prog)
    out, counts = np.zeros((n, 5)), np.zeros((n, bins))
    tensor_stats(theta, grad, offs, sizes, bins, HIST_SAMPLE, out, counts)
    lo, hi = out[:, 2].copy(), out[:, 3].copy()
    flat = hi <= lo
    lo[flat] -= 0.5
    hi[flat] += 0.5
    # elementwise lo + (hi − lo)·i / bins, in that order: the same floats as Trainer._stats
    edges = (lo[:, None] + (hi - lo)[:, None] * np.arange(bins + 1) / bins).tolist()
    all_counts = np.rint(counts).astype(np.int64).tolist()
    layers, total = [], 0.0
    for (nid, pname, _, _, _), (mean, std, _, _, g), c, e, size in zip(prog.params, out.tolist(), all_counts, edges,
                                                                       size_list):
        total += g * g
        layers.append(LayerStats(nid, pname, mean, std, math.sqrt(size * (std * std + mean * mean)), g,
                                 tuple(c), tuple(e)))
    return Stats(step, epoch, tuple(layers), math.sqrt(total))

