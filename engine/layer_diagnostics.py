"""Gradient and activation diagnostics: vanishing/exploding gradients, dead ReLUs, saturated units.

Split from ``engine/diagnostics.py`` (the loss-curve readings); the same ``Diagnosis``
objects and thresholds, re-exported there, so callers import from either.
"""
from __future__ import annotations

import numpy as np

from .diagnostics import (DEAD_LIMIT, EXPLODING_NORM, GROWTH_FACTOR, RELU_FAMILY, SATURATED_LIMIT, SATURATING,
                          VANISHING_RATIO, Diagnosis, _curve, _g)
from .errors import InvalidInput


def _recent(arr, k=5):
    a = arr[-k:]
    return float(np.median(a)) if np.all(np.isfinite(a)) else float("inf")


def diagnose_gradients(grad_norms: dict) -> list[Diagnosis]:
    """Vanishing/exploding gradients from per-layer gradient-norm histories.

    ``grad_norms`` maps layer name -> norms over time, in graph order from the
    input side to the output side; pass trainable layers only (a frozen layer
    has zero gradient by design). "Recent" means the median of the last 5.
    """
    if not isinstance(grad_norms, dict):
        raise InvalidInput(f"grad_norms must map layer names to arrays, got {type(grad_norms).__name__}")
    hist = {name: _curve(a, f"grad_norms[{name!r}]") for name, a in grad_norms.items()}
    hist = {name: a for name, a in hist.items() if a.size}
    out = []
    recent = {name: _recent(a) for name, a in hist.items()}
    names = list(recent)
    if len(names) >= 2 and 0 < recent[names[-1]] < np.inf:
        top = recent[names[-1]]
        worst = min(names[:-1], key=lambda k: recent[k])
        ratio = recent[worst] / top
        if ratio < VANISHING_RATIO:
            out.append(Diagnosis(
                "vanishing", "warning",
                f"The gradient reaching '{worst}' is {_g(ratio)} times the one at the last layer "
                f"'{names[-1]}', so the early layers barely learn: vanishing gradients, typical of "
                f"deep sigmoid/tanh networks.",
                "Use ReLU (or leaky ReLU) with He initialisation (Xavier for tanh), add batch "
                "normalization, or make the network shallower.", layer=worst))
    worst, worst_growth = None, 1.0
    for name, a in hist.items():
        now, early = recent[name], float(np.median(a[:5]))
        growth = now / early if early > 0 else (np.inf if now > 0 else 1.0)
        if now >= EXPLODING_NORM or (now >= 1 and growth >= GROWTH_FACTOR):
            key = max(growth, now)
            if worst is None or key > worst_growth:
                worst, worst_growth = name, key
    if worst is not None:
        now = recent[worst]
        what = "is no longer finite" if not np.isfinite(now) else f"has reached {_g(now)}"
        out.append(Diagnosis(
            "exploding", "error" if now >= EXPLODING_NORM else "warning",
            f"The gradient norm of '{worst}' {what} after growing by orders of magnitude, so "
            f"updates are huge and training becomes unstable (exploding gradients).",
            "Clip the gradients (e.g. to norm 1), lower the learning rate, and add batch "
            "normalization or a smaller (Xavier/He) initialisation.", layer=worst))
    return out


def diagnose_activations(stats: dict) -> list[Diagnosis]:
    """Dead ReLUs and saturated sigmoid/tanh units, one finding per layer.

    ``stats`` maps layer name -> ``activation_stats`` output
    (``dead_fraction``, ``saturated_fraction``, ``activation``).
    """
    if not isinstance(stats, dict):
        raise InvalidInput(f"stats must map layer names to dicts, got {type(stats).__name__}")
    out = []
    for name, s in stats.items():
        dead = float(s.get("dead_fraction", 0.0))
        sat = float(s.get("saturated_fraction", 0.0))
        act = str(s.get("activation", "")).lower()
        for key, val in (("dead_fraction", dead), ("saturated_fraction", sat)):
            if not 0.0 <= val <= 1.0:
                raise InvalidInput(f"{key} of layer '{name}' must lie in [0, 1], got {val!r}")
        if dead > DEAD_LIMIT:
            out.append(Diagnosis(
                "dead_relu", "warning",
                f"{100 * dead:.0f}% of the units in '{name}' output zero for every sample, so they pass "
                f"no gradient and have stopped learning (dead ReLUs).",
                "Lower the learning rate, use leaky ReLU or ELU, use He initialisation, or start "
                "the biases slightly positive (e.g. 0.01).", layer=name))
        if sat > SATURATED_LIMIT and act in SATURATING:
            out.append(Diagnosis(
                "saturated", "warning",
                f"{100 * sat:.0f}% of the {SATURATING[act]} outputs in '{name}' sit near their limits, "
                f"where the slope is almost zero, so saturation kills the gradient flow.",
                "Use a smaller initialisation (Xavier), standardize the inputs, add batch "
                "normalization, or switch to ReLU.", layer=name))
    return out


def activation_stats(post, activation: str) -> dict:
    """Dead and saturated fractions of one layer's post-activation batch.

    ``post`` is ``(N, units, ...)``: axis 1 is the unit (feature or channel),
    trailing axes (positions) are pooled with the batch. ``dead_fraction``: units
    that output 0 for every sample (relu family only). ``saturated_fraction``:
    unit-sample values with ``|tanh| > 0.97`` or sigmoid outside [0.03, 0.97].
    Other activations report 0 for what they cannot suffer.
    """
    try:
        a = np.asarray(post, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"activations must be numeric, got {type(post).__name__}") from None
    if a.ndim == 0 or a.shape[0] == 0:
        raise InvalidInput(f"activations need a non-empty batch, got shape {a.shape}")
    a = a.reshape(a.shape[0], 1, -1) if a.ndim == 1 else a.reshape(a.shape[0], a.shape[1], -1)
    act = str(activation).lower()
    dead = 0.0
    if a.size == 0:
        raise InvalidInput(f"activations need at least one unit, got shape {np.shape(post)}")
    if act in RELU_FAMILY:
        dead = float(np.mean(np.all(a <= 0, axis=(0, 2))))
    kind = SATURATING.get(act)
    if kind == "tanh":
        sat = float(np.mean(np.abs(a) > 0.97))
    elif kind == "sigmoid":
        sat = float(np.mean((a < 0.03) | (a > 0.97)))
    else:
        sat = 0.0
    return {"dead_fraction": dead, "saturated_fraction": sat, "activation": act}
