"""The compiled training chunk: many optimizer steps in one call, so Python runs once per chunk, not per step.

One step is exactly the torch trainer's ``_one_step``: gather the batch, keep w_k for
weight decay, (the notes' Nesterov: move to the look-ahead point), forward, loss,
backward, penalty gradients, clipping, (move back), the optimizer rule, then weight
decay and max-norm. A chunk stays inside one epoch and stops early at the first
non-finite loss (that step's update has happened, as on the torch path).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernels import backward, forward, loss_and_seed
from .update import NESTEROV_NOTES, add_penalties, clip, look_ahead, optimizer_step, post_step


@njit(cache=True)
def _gather(X, T, C, perm, start, nb, buf, tb, cb, in_w, k):
    for r in range(nb):
        j = perm[start + r]
        for c in range(in_w):
            buf[r, c] = X[j, c]
        for c in range(k):
            tb[r, c] = T[j, c]
        cb[r] = C[j]


@njit(cache=True, nogil=True)  # threads train side-by-side variants at once (variants.py)
def train_chunk(theta, grad, s1, s2, wprev, ops, fops, merge, buf, dbuf, mask, tb, cb,
                X, T, C, perm, bs, spe, b0, nsteps, lrs, t0, step0, seed,
                opt_kind, h, l1, l2, has_pen, clip_mode, clip_val, param_off,
                post_kind, post_val, post_mask, dense, loss_code, lp, out_off, k, in_w, losses, train):
    """Run batches b0 .. b0+nsteps−1 of the epoch ordered by ``perm``; returns the number of steps done.

    ``train`` is True; it is an argument (not a constant) so that ``forward`` and ``loss_and_seed``
    compile once for training and evaluation alike (numba specializes on literal arguments).
    """
    n = theta.shape[0]
    n_rows = perm.shape[0]
    for s in range(nsteps):
        b = b0 + s
        start = b * bs
        stop = n_rows if b == spe - 1 else start + bs
        nb = stop - start
        _gather(X, T, C, perm, start, nb, buf, tb, cb, in_w, k)
        if post_kind.shape[0]:
            wprev[:] = theta  # weight decay subtracts η·λ·w_k, w_k the weights before this step
        notes = opt_kind == NESTEROV_NOTES
        if notes:
            look_ahead(theta, s1, h[0], -1.0, n)
        forward(theta, ops, fops, merge, buf, mask, nb, train, seed, step0 + s)
        dbuf[:nb, :] = 0.0
        loss = loss_and_seed(loss_code, lp, buf, dbuf, out_off, k, nb, tb, cb, train)
        grad[:] = 0.0
        backward(theta, grad, ops, fops, merge, buf, dbuf, mask, nb, in_w)
        if has_pen:
            add_penalties(theta, grad, l1, l2, n)
        clip(grad, n, clip_mode, clip_val, param_off)
        if notes:
            look_ahead(theta, s1, h[0], 1.0, n)
        lr = lrs[s]
        optimizer_step(opt_kind, h, lr, t0 + s + 1, theta, grad, s1, s2, n)
        post_step(theta, wprev, lr, post_kind, post_val, post_mask, dense)
        losses[s] = loss
        if not math.isfinite(loss):
            return s + 1
    return nsteps


@njit(cache=True, nogil=True)
def train_epochs(theta, grad, s1, s2, wprev, ops, fops, merge, buf, dbuf, mask, tb, cb,
                 X, T, C, perms, bs, spe, lrs, t0, step0, seed,
                 opt_kind, h, l1, l2, has_pen, clip_mode, clip_val, param_off,
                 post_kind, post_val, post_mask, dense, loss_code, lp, out_off, k, in_w, losses, train,
                 Xv, Tv, Cv, ebuf, emask, vout, dummy, val_losses, stop_mean):
    """Whole epochs in one call: epoch ``e`` is ``train_chunk`` over the batches ordered by ``perms[e]``,
    then the validation loss into ``val_losses[e]`` (NaN without a validation set), as ``outputs`` and
    ``eval_loss`` compute it. Returns the number of steps done.

    A tiny network's epoch lasts ~0.5 ms; one call per epoch, plus one to evaluate it, made the
    training thread take the GIL back twice an epoch, and in the window every hand-over waits on the
    GUI thread. It stops early, so that Python closes the epoch at once: at the first non-finite
    loss (mid-epoch, as ``train_chunk``) and after an epoch whose mean loss is not below ``stop_mean``
    (the caller's margin under the exploded-loss threshold, which Python then checks exactly).
    """
    done = 0
    nv = Xv.shape[0]
    for e in range(perms.shape[0]):
        a = e * spe
        d = train_chunk(theta, grad, s1, s2, wprev, ops, fops, merge, buf, dbuf, mask, tb, cb, X, T, C, perms[e],
                        bs, spe, 0, spe, lrs[a:a + spe], t0 + a, step0 + a, seed, opt_kind, h, l1, l2, has_pen,
                        clip_mode, clip_val, param_off, post_kind, post_val, post_mask, dense, loss_code, lp,
                        out_off, k, in_w, losses[a:a + spe], train)
        done += d
        if d < spe:
            return done
        if nv:
            eval_outputs(theta, ops, fops, merge, ebuf, emask, Xv, ebuf.shape[0], in_w, out_off, k, vout,
                         False, 0, 0)
            val_losses[e] = loss_and_seed(loss_code, lp, vout, dummy, 0, k, nv, Tv, Cv, False)
        else:
            val_losses[e] = np.nan
        total = 0.0
        for i in range(a, a + spe):
            total += losses[i]
        if not total / spe < stop_mean:
            return done
    return done


@njit(cache=True, nogil=True)
def eval_outputs(theta, ops, fops, merge, buf, mask, X, rows, in_w, out_off, k, out, train, seed, step):
    """Outputs for ``X`` in slabs of ``rows`` samples; ``train`` False is eval mode (dropout scales, draws nothing)."""
    n = X.shape[0]
    for start in range(0, n, rows):
        nb = min(rows, n - start)
        for r in range(nb):
            for c in range(in_w):
                buf[r, c] = X[start + r, c]
        forward(theta, ops, fops, merge, buf, mask, nb, train, seed, step)
        for r in range(nb):
            for c in range(k):
                out[start + r, c] = buf[r, out_off + c]


@njit(cache=True)
def eval_loss(code, lp, out, dummy, off, T, C, seed_grad):
    """The batch-mean loss of outputs ``out`` (N, k) against dense targets and class indices.

    ``dummy``/``off``/``seed_grad`` (unused gradient buffer, 0, False) are arguments for the reason given above.
    """
    return loss_and_seed(code, lp, out, dummy, off, out.shape[1], out.shape[0], T, C, seed_grad)


@njit(cache=True)
def tensor_stats(theta, grad, offs, sizes, bins, sample, out, counts):
    """Per parameter tensor: mean, std (population), min, max, gradient norm into ``out``, and a ``bins``-bin
    histogram over [min, max] of a strided sample of at most ``sample`` values into ``counts``, as
    ``torch.histc`` bins them (the maximum falls in the last bin)."""
    for p in range(offs.shape[0]):
        o, n = offs[p], sizes[p]
        s, g2 = 0.0, 0.0
        lo, hi = np.inf, -np.inf
        for i in range(o, o + n):
            w = theta[i]
            s += w
            g2 += grad[i] * grad[i]
            lo = min(lo, w)
            hi = max(hi, w)
        mean = s / n
        v = 0.0
        for i in range(o, o + n):
            d = theta[i] - mean
            v += d * d
        out[p, 0], out[p, 1], out[p, 2], out[p, 3], out[p, 4] = mean, math.sqrt(v / n), lo, hi, math.sqrt(g2)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        for b in range(bins):
            counts[p, b] = 0.0
        span = hi - lo
        if not (span > 0.0 and span < np.inf and math.isfinite(mean)):
            continue  # blown-up weights (±inf, NaN, or 1e20 ± 0.5 == 1e20): nothing to bin
        stride = -(-n // sample)
        for i in range(o, o + n, stride):
            w = theta[i]
            if w < lo or w > hi:
                continue
            b = int((w - lo) * bins / span)
            counts[p, min(b, bins - 1)] += 1.0
        if stride > 1:
            taken = -(-n // stride)
            for b in range(bins):
                counts[p, b] *= n / taken
