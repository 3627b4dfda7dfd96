"""Weight and gradient statistics of a torch model: the ``Stats`` events behind the histogram and gradient views.

Per parameter tensor: mean, standard deviation (population), minimum, maximum, norm, gradient
norm and a 30-bin histogram over [min, max] of at most ``HIST_SAMPLE`` strided weights (a
histogram's shape needs no more; deterministic), binned as ``torch.histc`` bins.

Why two ways: on the CPU one compiled pass per tensor (``engine.compiled.step.tensor_stats``,
the compiled path's own, float64 sums) reads the weights in place. Through torch the same
numbers took seven ops per tensor: 2.9 ms for a 784-256-128-10 MLP on one thread — 6 % of its
training with statistics every 10 steps — and far more with two threads on a busy machine,
where every parallel op waits for the slower thread; the pass takes 0.6 ms. CUDA and MPS
tensors, other dtypes, and a machine without numba use torch.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .events import LayerStats, Stats
from .history import History

HIST_SAMPLE = 16384  # weights histogrammed per tensor, at most


def cpu_stats_kernel(device):
    """The compiled statistics pass for CPU tensors, or False (another device, numba missing or broken)."""
    if torch.device(device).type != "cpu":
        return False
    from .compiled.support import numba_available

    if not numba_available():
        return False
    try:
        from .compiled.step import tensor_stats
    except Exception:  # noqa: BLE001 - a numba that fails to import: torch computes the statistics
        return False
    return tensor_stats


@torch.no_grad()
def layer_stats(params, step: int, epoch: int, kernel=False) -> Stats:
    """``Stats`` for ``params`` — ``[(node id, parameter name, tensor)]`` — by ``kernel`` when it suits them."""
    if kernel:
        st = _by_kernel(params, step, epoch, kernel)
        if st is not None:
            return st
    return _by_torch(params, step, epoch)


def _edges(lo, hi, bins):
    return tuple(lo + (hi - lo) * i / bins for i in range(bins + 1))


def _by_kernel(params, step, epoch, kernel):
    """One compiled pass per tensor; None when a tensor does not suit it (dtype, layout)."""
    bins = History.HIST_BINS
    out, counts = np.zeros((1, 5)), np.zeros((1, bins))
    zero_off, size = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    layers, total = [], 0.0
    for nid, pname, p in params:
        if p.dtype not in (torch.float32, torch.float64) or p.numel() == 0 or p.device.type != "cpu":
            return None
        w = p.detach().reshape(-1).numpy()
        g = p.grad.detach().reshape(-1).numpy() if p.grad is not None else np.zeros_like(w)
        if g.dtype != w.dtype or not (w.flags.c_contiguous and g.flags.c_contiguous):
            return None
        size[0] = n = w.size
        kernel(w, g, zero_off, size, bins, HIST_SAMPLE, out, counts)
        mean, std, lo, hi, gn = out[0].tolist()
        total += gn * gn
        if math.isfinite(lo) and math.isfinite(hi):
            hist = tuple(np.rint(counts[0]).astype(np.int64).tolist())
        else:  # blown-up weights: nothing to bin (the run is about to stop as diverged)
            hist = (0,) * bins
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        layers.append(LayerStats(nid, pname, mean, std, math.sqrt(n * (std * std + mean * mean)), gn, hist,
                                 _edges(lo, hi, bins)))
    return Stats(step, epoch, tuple(layers), math.sqrt(total))


def _by_torch(params, step, epoch):
    """The same numbers through torch ops, one host read per tensor (any device)."""
    layers, total, bins = [], 0.0, History.HIST_BINS
    zero = None
    for nid, pname, p in params:
        w = p.detach().reshape(-1).float()
        std, mean = torch.std_mean(w, correction=0)
        lo, hi = torch.aminmax(w)
        if p.grad is not None:
            g = p.grad.detach().float().norm()
        else:
            g = zero = zero if zero is not None else torch.zeros((), device=w.device)
        mean, std, lo, hi, g = torch.stack([mean, std, lo, hi, g]).tolist()
        total += g * g
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        stride = -(-w.numel() // HIST_SAMPLE)
        counts = torch.histc(w[::stride], bins=bins, min=lo, max=hi).tolist()
        if stride > 1:
            counts = [c * w.numel() / (-(-w.numel() // stride)) for c in counts]
        layers.append(LayerStats(nid, pname, mean, std, math.sqrt(w.numel() * (std * std + mean * mean)), g,
                                 tuple(int(round(c)) for c in counts), _edges(lo, hi, bins)))
    return Stats(step, epoch, tuple(layers), math.sqrt(total))
