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
EXPLODED_FACTOR = 1e3  # a loss this many times its value at the first step has blown up, finite or not
QUICK_SHARE = 0.8       # "quick drop": this share of the whole fall happened in the first fifth of the epochs
HIGH_LEVEL = 0.3        # a plateau at or above this fraction of the first epoch's loss is "high"
STILL_FALLING = 0.05    # still decreasing at the end: the last quarter fell by at least this fraction ...
STILL_HIGH = 0.2        # ... while the loss is still above this fraction of the first epoch's ...
SOLVED_ACCURACY = 0.98  # ... and the validation accuracy is below this (a solved task still "learning" is fine)
VAL_BELOW_GAP = 0.1     # validation below training counts when the gap is this fraction of the first loss
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
def first_step_loss(history):
    """The loss of the very first optimizer step (at the initial weights), or None: the reference for "exploded"."""
    series = getattr(history, "step_loss", None)
    if series is None or len(series) == 0:
        return None
    v = float(series.data()[1][0])
    return v if np.isfinite(v) else None


def diagnose_history(history, *, epochs_seen=None, planned=None) -> list[Diagnosis]:
    """``diagnose_curves`` on an ``engine.history.History``: its epoch curves and its first step's loss."""
    val = history.epoch_array("val_loss")
    acc = history.epoch_array("val_acc")
    acc = acc[np.isfinite(acc)] if len(acc) else acc
    return diagnose_curves(history.epoch_array("train_loss"), val if np.isfinite(val).any() else None,
                           history.epoch_array("lr"), epochs_seen=epochs_seen, first_loss=first_step_loss(history),
                           planned=planned, val_accuracy=float(acc[-1]) if len(acc) else None)


def diagnose_curves(train_loss, val_loss=None, lr=None, *, epochs_seen=None, first_loss=None,
                    planned=None, val_accuracy=None) -> list[Diagnosis]:
    """Diagnose per-epoch loss curves (only the first ``epochs_seen`` entries count).

    ``val_loss`` may hold NaN for epochs without validation; ``lr`` is the
    per-epoch learning rate, used only to quote it. ``first_loss``: the loss at the
    first step (``first_step_loss``), so a loss that exploded while staying finite is
    caught even when every epoch's mean was already huge. ``planned``: the epochs the
    training is set to run; "still decreasing at the end" is only said at its end, and not
    once the latest ``val_accuracy`` reaches ``SOLVED_ACCURACY`` (nothing left to learn there).
    A non-finite training loss yields the single ``diagnose_nan`` finding; a diverging
    curve yields only "diverging" (everything else is noise then).

    The curve shapes are lecture 003's (6.6): still decreasing at the end (underfitting,
    the model is still learning), decreasing almost linearly (learning rate too low), a
    quick drop then a plateau (learning rate too high), validation rising (overfitting),
    validation below training (an easier validation set or a bug).
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
    exploded = _exploded(t, lr_now, first_loss) if t.size else None
    if exploded:
        return [exploded]
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
        flat = _plateau(t, lr_now) or _slow(t, lr_now) or _quick_drop_then_plateau(t, lr_now)
        if flat:
            out.append(flat)
    v = _curve(val_loss, "val_loss")[:t.size] if val_loss is not None else None
    over = _overfitting(t, v) if v is not None else None
    if over:
        out.append(over)
    elif not out:
        at_end = planned is not None and t.size >= int(planned)
        solved = val_accuracy is not None and val_accuracy >= SOLVED_ACCURACY
        under = (_still_decreasing(t, v) if at_end and not solved else None) or _underfitting(t, v)
        if under:
            out.append(under)
    if not over and v is not None and t[0] > 0:
        from .sanity_checks import diagnose_val_below_train

        idx, vals = _finite_val(v)  # a gap of a few hundredths of the scale is a small split's noise
        if idx.size and t[idx[-1]] - vals[-1] >= VAL_BELOW_GAP * t[0]:
            out += diagnose_val_below_train(t, v)
    return out


def _exploded(t, lr, first_loss):
    """A finite loss that has grown by orders of magnitude over the first step's: diverged, not "overfitting"."""
    if first_loss is None or not np.isfinite(first_loss) or first_loss <= 0:
        return None
    now = float(min(t[-2:]))
    if now < EXPLODED_FACTOR * first_loss:
        return None
    return Diagnosis(
        "diverging", "error",
        f"The training loss has exploded to {_g(now)}, {_g(now / first_loss)} times its value at the first step "
        f"({_g(first_loss)}), so {_lr_text(lr)} is far too high and the weights have blown up (diverging).",
        "Lower the learning rate by 10-100x, clip the gradients, or use Adam with its default rate.")


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


def _quick_drop_then_plateau(t, lr):
    """Seed 003: "loss curves decrease very quickly at the beginning and then remain on plateaus"."""
    n = t.size
    if n < LONG_EPOCHS or t[0] <= 0:
        return None
    k = max(2, n // 5)
    total = t[0] - t.min()
    tail = t[-5:]
    flat = abs(tail[-1] - tail[0]) < 0.02 * tail[0] and np.ptp(tail) < 0.05 * tail.mean()
    if not (flat and t[-1] >= HIGH_LEVEL * t[0] and total >= 0.1 * t[0] and t[0] - t[k] >= QUICK_SHARE * total):
        return None
    return Diagnosis(
        "lr_too_high", "warning",
        f"The training loss fell quickly in the first {k} epochs and has stayed on a plateau at {_g(t[-1])} "
        f"({100 * t[-1] / t[0]:.0f}% of the first epoch's) since, the picture of {_lr_text(lr)} being too big "
        f"(or of an inconsistent dataset).",
        "Lower the learning rate (try 3-10x smaller) or use a decaying schedule, and check the dataset "
        "for inconsistent or wrong labels.")


def _still_decreasing(t, v):
    """Seed 003's underfitting: "training and validation losses decrease even at the end of training"."""
    n = t.size
    if n < LONG_EPOCHS or t[0] <= 0:
        return None
    q = max(3, n // 4)
    w = t[-q - 1:]
    if not (w[0] > 0 and np.mean(np.diff(w) < 0) >= 0.7 and (w[0] - w[-1]) / w[0] >= STILL_FALLING
            and t[-1] >= STILL_HIGH * t[0]):
        return None  # (a loss already far below its start is converging, not underfitting)
    both = "training loss is"
    if v is not None:
        idx, vals = _finite_val(v[-q - 1:])
        if idx.size >= 2:
            if vals[-1] >= vals[0]:
                return None  # validation no longer falling: not this picture
            both = "training and validation losses are"
    return Diagnosis(
        "underfitting", "info",
        f"The {both} still decreasing at the end of training ({100 * (w[0] - w[-1]) / w[0]:.0f}% over the last "
        f"{q} epochs), so the model is still learning (underfitting).",
        "Train longer (more epochs) so the curves can level off; a somewhat higher learning rate "
        "or a schedule also gets there sooner.")


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
    both = ""
    if v is not None:
        idx, vals = _finite_val(v)
        if idx.size and vals[-1] > 1.1 * t[idx[-1]]:
            return None  # a real generalisation gap: not the "both high" picture
        if idx.size:
            vlast = vals[-1]
            both = (f" and the validation loss ({_g(vlast)}) is about as high" if vlast >= 0.9 * t[idx[-1]]
                    else f" (the validation loss is lower, {_g(vlast)})")
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


# Gradients and activations live in engine/layer_diagnostics.py; importable from here as before.
from .layer_diagnostics import activation_stats, diagnose_activations, diagnose_gradients  # noqa: E402,F401
