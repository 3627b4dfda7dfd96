"""Optimizer slots between the compiled path's flat vectors and a torch optimizer's ``state``.

The torch optimizer object is kept only for its state-dict format: before a save its
``state`` is filled with views of the compiled slots (the exact keys torch itself
would have after the same steps), after a load the slots are read back from it.
"""
from __future__ import annotations

import torch

from .update import ADAGRAD, ADAM, ADAMW, EMA, MOMENTUM, NESTEROV, NESTEROV_NOTES, RMSPROP, SGD, VELOCITY

# slot names per kernel code: (first slot, second slot), and whether torch keeps a "step"
SLOTS = {SGD: (), MOMENTUM: ("momentum_buffer",), NESTEROV: ("momentum_buffer",), EMA: ("velocity",),
         ADAGRAD: ("sum",), RMSPROP: ("square_avg",), ADAM: ("exp_avg", "exp_avg_sq"),
         ADAMW: ("exp_avg", "exp_avg_sq"), VELOCITY: ("velocity",), NESTEROV_NOTES: ("velocity",)}
HAS_STEP = {ADAGRAD, RMSPROP, ADAM, ADAMW}


def _trainable(tr):
    """(torch parameter, offset into theta) in the optimizer's parameter order."""
    offsets = {id(p): off for _, _, p, off, _ in tr.prog.params}
    return [(p, offsets[id(p)]) for g in tr.optimizer.param_groups for p in g["params"]]


def export_optimizer_state(tr):
    """Fill ``tr.optimizer`` so its ``state_dict()`` is what the torch optimizer would hold now."""
    code = tr._opt_code
    for group in tr.optimizer.param_groups:
        if tr._lr is not None:
            group["lr"] = float(tr._lr)
    tr.optimizer.state.clear()
    # torch's Adagrad creates its accumulators in its constructor (its step fails without them)
    if (tr.opt_steps == 0 and code != ADAGRAD) or not SLOTS[code]:
        return
    for p, off in _trainable(tr):
        n = p.numel()
        st = {}
        if code in HAS_STEP:
            st["step"] = torch.tensor(float(tr.opt_steps), dtype=torch.float32)
        for name, slot in zip(SLOTS[code], (tr.s1, tr.s2)):
            st[name] = torch.from_numpy(slot[off:off + n]).view(p.shape)
        tr.optimizer.state[p] = st


def import_optimizer_state(tr):
    """Read the slots (and the step count) back from ``tr.optimizer`` after it loaded a state dict."""
    code = tr._opt_code
    # Copy first: after a live swap the torch state may still be views of these very slots.
    found, steps = [], None
    for p, off in _trainable(tr):
        st = tr.optimizer.state.get(p, {})
        for name, which in zip(SLOTS[code], (0, 1)):
            if name in st:
                found.append((which, off, st[name].detach().cpu().numpy().reshape(-1).copy()))
        if "step" in st and steps is None:
            steps = int(round(float(st["step"])))
    tr.s1[:] = 0.0
    tr.s2[:] = 0.0
    for which, off, values in found:
        slot = (tr.s1, tr.s2)[which]
        slot[off:off + len(values)] = values.astype(slot.dtype)
    # Adam's bias correction reads the count; for the others it only says whether slots exist yet
    tr.opt_steps = steps if steps is not None else (max(tr.step, 1) if found else 0)
    tr.optimizer.state.clear()
