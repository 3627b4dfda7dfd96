"""Whole epochs per kernel call on the compiled path, for networks whose epoch lasts well under a millisecond.

A 2-8-8-1 net at batch 10 on 350 points trains an epoch in ~0.5 ms. Run one epoch per call
and Python takes the GIL back twice an epoch (after the steps and after evaluating the
validation loss) and spends ~0.2 ms on the epoch's bookkeeping; in the window each of those
hand-overs waits on the GUI thread. Here one ``step.train_epochs`` call trains several whole
epochs and evaluates each one's validation loss; Python then closes the epochs one by one,
exactly as it would have after one call each (the same history, schedule, events and weights,
bit for bit; the tests compare the two). Only what cannot change the training inside the call is
batched, so a chunk of epochs is used only when:

* it starts at an epoch's first batch and every epoch fits in the work budget of one chunk;
* nothing reacts to an epoch's end inside it: no early stopping, a schedule that ignores the
  losses (not reduce-on-plateau), past any per-step warm-up, no change waiting, no ``max_steps``;
* the epochs that need Python in the middle end it: the next full evaluation
  (``_full_epoch_due``), the next weight statistics, the last epoch of the training, and the epoch
  holding ``wanted_step`` (time travel's next checkpoint, or the next epoch end while it can afford them).

Events keep their order and contents (``Steps`` of an epoch, its ``Stats``, its ``EpochEnd``); they
are yielded after the call, so while a consumer reads them the trainer is already at the chunk's end.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..diagnostics import EXPLODED_FACTOR
from ..events import EpochEnd
from ..schedules import Schedule, Warmup
from .step import train_epochs

CHUNK_EPOCHS_WORK = 500_000  # multiply-adds per chunk of epochs: ~5 ms, so stop and pause still answer at once
MAX_CHUNK_EPOCHS = 64
# The kernel stops after an epoch whose mean loss (summed in order) comes this close to the exploded
# threshold; Python's own check (a numpy sum, rounded differently) then decides at that epoch's end.
EXPLODED_MARGIN = 1e-9


def _lr_ignores_losses(schedule, step: int) -> bool:
    """Whether the schedule's learning rate is a function of (epoch, step) only from ``step`` on, one value per epoch."""
    if isinstance(schedule, Warmup):
        return step >= schedule.params["warmup_steps"] and type(schedule.after).observe is Schedule.observe
    return type(schedule).observe is Schedule.observe


def epochs_this_chunk(tr, max_steps) -> int:
    """How many whole epochs the next call may train (0 or 1: train the epoch the usual way). Under the step lock."""
    spe = tr.steps_per_epoch
    if (max_steps is not None or tr.batch_in_epoch != 0 or tr.early is not None or tr._pending
            or not _lr_ignores_losses(tr.schedule, tr.step)):
        return 0
    n = min(MAX_CHUNK_EPOCHS, CHUNK_EPOCHS_WORK // max(1, tr.n_params * tr.batch_size * spe),
            tr.training["epochs"] - tr.epoch)
    want = tr.wanted_step
    if want is not None and want > tr.step:  # a consumer (time travel) wants to see the trainer there
        n = min(n, -(-(want - tr.step) // spe))
    if n < 2:
        return 0
    every = tr._stats_interval()
    for e in range(n):  # end on the first epoch that needs Python afterwards
        end = tr.step + (e + 1) * spe
        if tr._full_epoch_due(tr.epoch + e) or tr._stats_due(end, spe, every):
            return e + 1
    return n


def _perms(tr, n_epochs: int) -> np.ndarray:
    """The batch orders of the next epochs, drawn from the trainer's generator as one epoch at a time would."""
    out = np.empty((n_epochs, len(tr._np_x["train"])), dtype=np.int64)
    for e in range(n_epochs):
        out[e] = tr._draw_perm()
    return out


def _lrs(tr, n_epochs: int, spe: int):
    """Each epoch's learning rate, asked once per epoch as the one-epoch chunks do; stops before a bad one."""
    out = np.empty(n_epochs * spe)
    for e in range(n_epochs):
        lr = float(tr.schedule.lr(tr.epoch + e, tr.step + e * spe))
        if not (math.isfinite(lr) and lr >= 0):  # the one-epoch path raises it when that epoch starts
            return out[: e * spe], e
        out[e * spe:(e + 1) * spe] = lr
    return out, n_epochs


NOT_RUN = "not run"


def run_epochs(tr, max_steps, t_start: float):
    """Train the next whole epochs in one kernel call and yield their events.

    Returns ``NOT_RUN`` (nothing done: train the next epoch the one-epoch way), else what
    ``Trainer._close_epoch`` returns for the last of them: None to go on, or the ``Finished`` to end
    with. Takes the step lock for the call and the closing of the epochs, and yields outside it.
    """
    events, outcome = [], None
    with tr.step_lock:
        n_epochs = epochs_this_chunk(tr, max_steps)
        if n_epochs < 2:
            return NOT_RUN
        spe, p = tr.steps_per_epoch, tr.prog
        lrs, n_epochs = _lrs(tr, n_epochs, spe)
        if n_epochs < 2:
            return NOT_RUN
        gen_state = tr.gen.get_state()
        perms = _perms(tr, n_epochs)
        losses, val_losses = np.empty(n_epochs * spe), np.empty(n_epochs)
        _, first = tr.history.step_loss.data()
        first = float(first[0]) if len(first) else math.nan
        stop_mean = EXPLODED_FACTOR * first * (1 - EXPLODED_MARGIN) if first > 0 else math.inf
        (xv, (tv, cv)), (t, c) = (tr._np_x["val"], tr._targets_np["val"]), tr._targets_np["train"]
        seed = tr._dropout_seed()
        t0 = time.perf_counter()
        done = train_epochs(tr.theta, tr.grad, tr.s1, tr.s2, tr.wprev, p.ops, p.fops, p.merge, tr._buf, tr._dbuf,
                            tr._mask, tr._tb, tr._cb, tr._np_x["train"], t, c, perms, tr.batch_size, spe, lrs,
                            tr.opt_steps, tr.step, seed, tr._opt_code, tr._opt_h, tr._l1, tr._l2, tr._has_pen,
                            tr._clip_mode, tr._clip_val, p.param_off, tr._post_kind, tr._post_val, tr._post_mask,
                            p.dense, tr._loss_code, tr._loss_param, p.out_off, p.k, p.in_w, losses, True, xv, tv, cv,
                            tr._ebuf, tr._emask, tr._vout, tr._dummy, val_losses, stop_mean)
        touched = -(-done // spe)
        if touched < n_epochs:  # stopped early: the generator gives back the orders it handed out unused
            tr.gen.set_state(gen_state)
            perms = _perms(tr, touched)
        dt = max(time.perf_counter() - t0, 1e-9) / touched
        tr.opt_steps += done
        tr._perm = perms[touched - 1]
        every = tr._stats_interval()
        for e in range(touched):
            a, b = e * spe, min((e + 1) * spe, done)
            ls, lr = losses[a:b], lrs[a:b]
            first_step = tr.step + 1
            tr.step += len(ls)
            tr.batch_in_epoch = len(ls)
            tr._lr = float(lr[-1])
            taken, bad = tr._take_steps(first_step, 0, ls, lr)
            events += taken
            if bad:
                outcome = tr._diverged(float(ls[-1]), float(lr[-1]), t_start)
                break
            if tr._stats_due(tr.step, spe, every):
                st = tr._stats()
                tr.history.add_stats(st)
                if not math.isfinite(st.grad_norm):  # as the one-epoch path: recorded, not yielded
                    outcome = tr._diverged(math.nan, float(lr[-1]), t_start)
                    break
                events.append(st)
            events.append(tr._end_epoch(time.perf_counter() - dt, _val_loss(val_losses[e], len(xv))))
    for ev in events:
        yield ev
        if isinstance(ev, EpochEnd):
            failed = tr._epoch_failure(ev, t_start)  # the kernel stopped after the first epoch that may fail
            if failed is not None:
                return failed
    return outcome


def _val_loss(v, n_val):
    return None if n_val == 0 else float(v)
