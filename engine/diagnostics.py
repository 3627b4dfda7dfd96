"""Read training curves and layer statistics the way the lecture notes teach.

Each check returns ``Diagnosis`` objects: a code for programs, a one-sentence
message saying what the curve shows and why, and one sentence of advice.
The checks are deliberately conservative -- a false alarm teaches the wrong
lesson -- so nothing is said before ``MIN_EPOCHS`` epochs, and a clean,
decreasing curve yields no diagnosis at all. Thresholds are module constants
so the tests and the docs can quote them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput

SEVERITIES = ("info", "warning", "error")
MIN_EPOCHS = 5          # say nothing about shorter curves
LONG_EPOCHS = 10        # "slow" and "underfitting" need a longer view
OVERFIT_PATIENCE = 3    # validation epochs after its minimum before calling it a rise
VANISHING_RATIO = 1e-3  # first-layer / last-layer gradient norm
EXPLODING_NORM = 1e3    # gradient norm considered exploded
GROWTH_FACTOR = 100.0   # "orders of magnitude" growth of a gradient norm
DEAD_LIMIT = 0.5        # fraction of dead ReLU units
SATURATED_LIMIT = 0.5   # fraction of saturated sigmoid/tanh outputs
RELU_FAMILY = frozenset({"relu", "relu6"})
SATURATING = {"sigmoid": "sigmoid", "logistic": "sigmoid", "tanh": "tanh"}


@dataclass(frozen=True)
class Diagnosis:
    """One finding; ``layer`` names the graph node when the finding is about one."""

    code: str
    severity: str
    message: str
    advice: str
    layer: str | None = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise InvalidInput(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def __str__(self):
        return f"{self.message} {self.advice}"


def _curve(values, what) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be a sequence of numbers, got {values!r}") from None
    if arr.ndim != 1:
        raise InvalidInput(f"{what} must be one value per epoch (1-D), got shape {arr.shape}")
    return arr


def _g(x) -> str:
    return f"{x:.3g}"


def _lr_text(lr) -> str:
    return f"the learning rate ({_g(lr)})" if lr is not None else "the learning rate"


# ---------------------------------------------------------------------------
# Loss curves
# ---------------------------------------------------------------------------
def diagnose_curves(train_loss, val_loss=None, lr=None, *, epochs_seen=None) -> list[Diagnosis]:
    """Diagnose per-epoch loss curves (only the first ``epochs_seen`` entries count).

    ``val_loss`` may hold NaN for epochs without validation; ``lr`` is the
    per-epoch learning rate, used only to quote it. A non-finite training loss
    yields the single ``diagnose_nan`` finding; a diverging curve yields only
    "diverging" (everything else is noise then).
    """
    t = _curve(train_loss, "train_loss")
    try:
        n = t.size if epochs_seen is None else int(epochs_seen)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise InvalidInput(f"epochs_seen must be >= 0, got {epochs_seen!r}")
    t = t[:n]
    lrs = _curve(lr, "lr")[:n] if lr is not None else np.zeros(0)
    lrs = lrs[np.isfinite(lrs)]
    lr_now = float(lrs[-1]) if lrs.size else None
    if not np.all(np.isfinite(t)):
        finite = t[:np.flatnonzero(~np.isfinite(t))[0]]
        return [diagnose_nan(float(finite[-1]) if finite.size else None, lr_now, None)]
    if t.size < MIN_EPOCHS:
        return []
    found = _diverging(t, lr_now)
    if found:
        return [found]
    out = []
    osc = _oscillating(t, lr_now)
    if osc:
        out.append(osc)
    else:
        flat = _plateau(t, lr_now) or _slow(t, lr_now)
        if flat:
            out.append(flat)
    v = _curve(val_loss, "val_loss")[:t.size] if val_loss is not None else None
    over = _overfitting(t, v) if v is not None else None
    if over:
        out.append(over)
    elif not out:
        under = _underfitting(t, v)
        if under:
            out.append(under)
    return out


def _diverging(t, lr):
    # judge the lower of the last two epochs, so one bad epoch or a zig-zag is not "diverging"
    lo, first, last = t.min(), t[0], min(t[-2:])
    climbed = last - lo
    if climbed >= abs(lo) and climbed > 0 and climbed >= 0.5 * (first - lo):
        factor = f"{t[-1] / lo:.3g} times" if lo > 0 else f"{_g(t[-1] - lo)} above"
        return Diagnosis(
            "diverging", "error",
            f"The training loss has climbed to {factor} its lowest value ({_g(lo)} -> {_g(t[-1])}), "
            f"so {_lr_text(lr)} is too high and the updates overshoot the minimum (diverging).",
            "Lower the learning rate by 3-10x, clip the gradients, or use a schedule that decays it.")
    return None


def _oscillating(t, lr):
    w = t[-min(t.size, 10):]
    d = np.diff(w)
    s = np.sign(d[d != 0])
    if s.size < 4:
        return None
    flips = np.mean(s[1:] != s[:-1])
    step = np.mean(np.abs(d))
    level = np.mean(np.abs(w))
    no_progress = abs(w[-1] - w[0]) <= 0.3 * np.abs(d).sum()
    if flips >= 0.5 and level > 0 and step >= 0.1 * level and step >= 0.02 * abs(t[0]) and no_progress:
        return Diagnosis(
            "oscillating", "warning",
            f"The training loss zig-zags by about {100 * step / level:.0f}% from epoch to epoch without "
            f"going down, a sign that {_lr_text(lr)} is too high or the batch is too small.",
            "Lower the learning rate, use a larger batch, or use momentum/Adam with a decaying schedule.")
    return None


def _plateau(t, lr):
    mean = np.mean(np.abs(t))
    if mean <= 1e-8:
        return None  # already (near) zero: nothing to learn
    progress = (t[0] - t[-3:].min()) / abs(t[0]) if t[0] else 0.0
    if progress < 0.02 and (t.max() - t.min()) < 0.05 * mean:
        return Diagnosis(
            "plateau", "warning",
            f"The training loss has stayed flat at about {_g(np.mean(t))} since the first epoch, so the "
            f"network is not learning: its units may be saturated or dead, the initialisation poor, "
            f"or {_lr_text(lr)} too low.",
            "Check the gradient and activation diagnostics, standardize the inputs, use ReLU with "
            "He initialisation, and try a 10x larger learning rate.")
    return None


def _slow(t, lr):
    n = t.size
    if n < LONG_EPOCHS or t[0] <= 0:
        return None
    d = np.diff(t)
    h = n // 2
    first_rate, second_rate = (t[0] - t[h]) / h, (t[h] - t[-1]) / (n - 1 - h)
    falling = np.mean(d < 0) >= 0.7 and first_rate > 0
    if falling and t[-1] >= 0.5 * t[0] and second_rate >= 0.6 * first_rate:
        return Diagnosis(
            "slow", "info",
            f"The training loss is still falling almost linearly ({100 * (1 - t[-1] / t[0]):.0f}% in "
            f"{n} epochs) and remains far from zero, the signature of {_lr_text(lr)} being too low.",
            "Raise the learning rate (try 3-10x) or use an adaptive optimizer such as Adam; "
            "otherwise train for many more epochs.")
    return None


def _finite_val(v):
    idx = np.flatnonzero(np.isfinite(v))
    return idx, v[idx]


def _overfitting(t, v):
    idx, vals = _finite_val(v)
    if idx.size < MIN_EPOCHS:
        return None
    # a 3-epoch moving average, so one noisy validation epoch is not called a rise
    sm = np.convolve(vals, np.ones(3) / 3, mode="valid")
    m = int(np.argmin(sm))
    best = idx[m + 1]  # centre of the lowest window
    vmin, vnow = sm[m], sm[-1]
    vlast, tlast = vals[-1], t[idx[-1]]
    after = sm[m + 1:]
    advice = ("Use early stopping, add L2 regularisation or dropout (20-50%), make the model "
              "smaller, or get more training data.")
    # the rise must be real (+10%), sustained, and not tiny next to the earlier fall
    if (after.size >= OVERFIT_PATIENCE and vmin > 0 and vnow >= 1.1 * vmin
            and after.mean() >= 1.05 * vmin and vnow - vmin >= 0.2 * (sm[0] - vmin)
            and tlast < 0.99 * t[best]):
        return Diagnosis(
            "overfitting", "warning",
            f"The validation loss has risen {100 * (vnow / vmin - 1):.0f}% since its minimum around "
            f"epoch {best + 1} while the training loss kept falling, so the network is memorising the "
            f"training data instead of generalising (overfitting).",
            advice.replace("Use early stopping", f"Use early stopping (best epoch {best + 1})"))
    if tlast > 0 and vlast >= 2 * tlast and vlast - tlast >= 0.1 * abs(t[0]):
        return Diagnosis(
            "overfitting", "warning",
            f"The validation loss ({_g(vlast)}) is {vlast / tlast:.3g} times the training loss "
            f"({_g(tlast)}), a large gap that means the network fits the training data too closely "
            f"(overfitting).", advice)
    return None


def _underfitting(t, v):
    n = t.size
    if n < LONG_EPOCHS or t[0] <= 0:
        return None
    tail = t[-5:]
    flat = abs(tail[-1] - tail[0]) < 0.02 * tail[0] and np.ptp(tail) < 0.05 * tail.mean()
    high = t[-1] >= 0.3 * t[0]
    if not (flat and high):
        return None
    if v is not None:
        idx, vals = _finite_val(v)
        if idx.size and vals[-1] > 1.1 * t[idx[-1]]:
            return None  # a real generalisation gap: not the "both high" picture
        both = " and the validation loss is no lower" if idx.size else ""
    else:
        both = ""
    return Diagnosis(
        "underfitting", "info",
        f"The training loss has levelled off at {_g(t[-1])}, still {100 * t[-1] / t[0]:.0f}% of its "
        f"first-epoch value{both}, so the model is too simple or too constrained for the data "
        f"(underfitting).",
        "Use a bigger model (more layers or units), train longer, or lower the regularisation "
        "(L1/L2, dropout).")


# ---------------------------------------------------------------------------
# NaN losses
# ---------------------------------------------------------------------------
def diagnose_nan(last_finite_loss, lr, grad_norm_history=None) -> Diagnosis:
    """Explain why the loss became NaN/inf, from what was seen just before.

    Order of suspicion: gradients that grew by orders of magnitude (exploding),
    a loss that had already blown up or a huge learning rate, NaN from the very
    start (bad data), otherwise a numerical error such as log(0) in a
    probability loss.
    """
    last = None if last_finite_loss is None else float(last_finite_loss)
    if last is not None and not np.isfinite(last):
        last = None
    g = np.zeros(0) if grad_norm_history is None else _curve(grad_norm_history, "grad_norm_history")
    g = g[np.isfinite(g)]
    if g.size >= 2:
        early = np.median(g[:max(1, g.size // 4)])
        if g[-1] >= EXPLODING_NORM or (g[-1] >= 1 and g[-1] >= GROWTH_FACTOR * early):
            return Diagnosis(
                "nan", "error",
                f"The loss became NaN after the gradient norm grew from {_g(early)} to {_g(g[-1])}: "
                f"exploding gradients made the weight updates so large that they overflowed.",
                f"Clip the gradients (e.g. to norm 1), lower {_lr_text(lr)}, and add batch "
                f"normalization or use He/Xavier initialisation.")
    if (last is not None and abs(last) >= 1e3) or (lr is not None and lr >= 1.0):
        seen = f"after climbing to {_g(last)}" if last is not None else "at once"
        return Diagnosis(
            "nan", "error",
            f"The loss became NaN {seen}, the classic sign of {_lr_text(lr)} being so high that "
            f"each update overshoots and the weights blow up.",
            "Lower the learning rate by 10x (try 1e-2 or 1e-3) and consider gradient clipping.")
    if last is None:
        return Diagnosis(
            "nan", "error",
            "The loss was NaN from the very first step, so the inputs or targets probably contain "
            "NaN/inf values or the network's output is undefined.",
            "Check the data for missing values, standardize the inputs, and lower the learning rate.")
    return Diagnosis(
        "nan", "error",
        f"The loss became NaN while it was still moderate ({_g(last)}), which points to a numerical "
        f"error such as the log of zero in a probability loss rather than to a too-high learning rate.",
        "Feed raw logits to bce_logits or cross_entropy instead of a sigmoid/softmax output to bce, "
        "standardize the inputs, or clip the gradients.")


# ---------------------------------------------------------------------------
# Gradients and activations
# ---------------------------------------------------------------------------
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
