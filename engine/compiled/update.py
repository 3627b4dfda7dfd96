"""numba kernels for what follows backpropagation: penalties, clipping, the optimizer rule, constraints.

Each optimizer is torch's own algorithm (``torch.optim`` single-tensor form, the one
torch runs on the CPU), operation for operation, so its state slots are the same
numbers and a checkpoint moves between the two paths unchanged:

* SGD           w −= η·g
* momentum      b = α·b + g (b = g on the first step); w −= η·b           (torch SGD, dampening 0)
* ema momentum  ν = α·ν + (1−α)·g; w −= η·ν                                (engine.optimizers.EMAMomentum)
* velocity      v = γ·v + η·g; w −= v                                      (momentum form "velocity", the notes')
* nesterov      b as momentum; w −= η·(g + α·b)
* notes nesterov  g taken at w − γ·v (see step.py); v = γ·v + η·g; w −= v    (nesterov form "notes")
* adagrad       r += g²; w −= η·g / (√r + δ)
* rmsprop       r = ρ·r + (1−ρ)·g²; w −= η·g / (√r + δ)
* adam(w)       m += (1−β₁)(g − m); v = β₂v + (1−β₂)g²; w −= (η/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + δ)
                (AdamW first multiplies every parameter by 1 − η·λ)
"""
from __future__ import annotations

import math

from numba import njit

SGD, MOMENTUM, EMA, NESTEROV, ADAGRAD, RMSPROP, ADAM, ADAMW, VELOCITY, NESTEROV_NOTES = range(10)
OPT_CODES = {"sgd": SGD, "momentum": MOMENTUM, "ema": EMA, "nesterov": NESTEROV, "adagrad": ADAGRAD,
             "rmsprop": RMSPROP, "adam": ADAM, "adamw": ADAMW, "velocity": VELOCITY, "nesterov_notes": NESTEROV_NOTES}
# hyper-parameter slots: momentum/β₁/ρ, β₂, δ, AdamW's λ
H_A, H_B2, H_EPS, H_WD = range(4)
CLIP_NONE, CLIP_NORM, CLIP_VALUE = range(3)
POST_DECAY, POST_MAXNORM = range(2)


@njit(cache=True)
def add_penalties(theta, grad, l1, l2, n):
    """Gradient of λ₁·Σ|w| (sign, 0 at 0 as torch's abs) and λ₂·Σw² (2λ₂w); returns the penalty value."""
    pen = 0.0
    for i in range(n):
        w = theta[i]
        if l1[i] != 0.0:
            pen += l1[i] * abs(w)
            grad[i] += l1[i] * (1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0))
        if l2[i] != 0.0:
            pen += l2[i] * w * w
            grad[i] += 2.0 * l2[i] * w
    return pen


@njit(cache=True)
def clip(grad, n, mode, value, param_off):
    """torch's clip_gradients: joint L2 norm (norm of the per-tensor norms) or elementwise clamp."""
    if mode == CLIP_NORM:
        total = 0.0
        for p in range(param_off.shape[0] - 1):
            s = 0.0
            for i in range(param_off[p], param_off[p + 1]):
                s += grad[i] * grad[i]
            total += s
        scale = value / (math.sqrt(total) + 1e-12)
        if scale < 1.0:
            for i in range(n):
                grad[i] *= scale
    elif mode == CLIP_VALUE:
        for i in range(n):
            if grad[i] > value:
                grad[i] = value
            elif grad[i] < -value:
                grad[i] = -value


@njit(cache=True)
def optimizer_step(kind, h, lr, t, theta, grad, s1, s2, n):
    """One update of every parameter; ``t`` is the 1-based step count (Adam's bias correction)."""
    a = h[H_A]
    if kind == SGD:
        for i in range(n):
            theta[i] -= lr * grad[i]
    elif kind == MOMENTUM or kind == NESTEROV:
        for i in range(n):
            s1[i] = a * s1[i] + grad[i]  # b starts at 0, so the first step stores g exactly as torch does
            d = grad[i] + a * s1[i] if kind == NESTEROV else s1[i]
            theta[i] -= lr * d
    elif kind == VELOCITY or kind == NESTEROV_NOTES:
        for i in range(n):
            s1[i] = a * s1[i] + lr * grad[i]
            theta[i] -= s1[i]
    elif kind == EMA:
        for i in range(n):
            s1[i] = a * s1[i] + (1.0 - a) * grad[i]
            theta[i] -= lr * s1[i]
    elif kind == ADAGRAD:
        eps = h[H_EPS]
        for i in range(n):
            g = grad[i]
            s1[i] += g * g
            theta[i] -= lr * g / (math.sqrt(s1[i]) + eps)
    elif kind == RMSPROP:
        eps = h[H_EPS]
        for i in range(n):
            g = grad[i]
            s1[i] = a * s1[i] + (1.0 - a) * g * g
            theta[i] -= lr * g / (math.sqrt(s1[i]) + eps)
    else:  # ADAM, ADAMW
        b2, eps = h[H_B2], h[H_EPS]
        if kind == ADAMW:
            f = 1.0 - lr * h[H_WD]
            for i in range(n):
                theta[i] *= f
        step_size = lr / (1.0 - a ** t)
        bc2 = math.sqrt(1.0 - b2 ** t)
        w1 = 1.0 - a
        for i in range(n):
            g = grad[i]
            s1[i] += w1 * (g - s1[i])
            s2[i] = b2 * s2[i] + (1.0 - b2) * g * g
            theta[i] -= step_size * s1[i] / (math.sqrt(s2[i]) / bc2 + eps)


@njit(cache=True)
def look_ahead(theta, s1, a, sign, n):
    """Move to the notes' Nesterov look-ahead point θ − γv (sign −1) and back (sign +1), as torch does."""
    for i in range(n):
        theta[i] += sign * (a * s1[i])


@njit(cache=True)
def post_step(theta, wprev, lr, post_kind, post_val, post_mask, dense):
    """Weight decay w −= η·λ·w_k (w_k: the weights before the step, ``wprev``) and max-norm row rescaling,
    in the trainer's order, on the masked Dense weights.

    ``dense`` rows are (weight offset, units, fan-in); ``post_mask[k, d]`` says op k acts on Dense d.
    """
    for k in range(post_kind.shape[0]):
        v = post_val[k]
        for d in range(dense.shape[0]):
            if not post_mask[k, d]:
                continue
            off, units, fan_in = dense[d, 0], dense[d, 1], dense[d, 2]
            if post_kind[k] == POST_DECAY:
                f = lr * v
                for i in range(off, off + units * fan_in):
                    theta[i] -= f * wprev[i]
            else:
                for u in range(units):
                    s = 0.0
                    row = off + u * fan_in
                    for i in range(row, row + fan_in):
                        s += theta[i] * theta[i]
                    norm = math.sqrt(s)
                    if norm > v:
                        scale = v / max(norm, 1e-30)
                        for i in range(row, row + fan_in):
                            theta[i] *= scale
