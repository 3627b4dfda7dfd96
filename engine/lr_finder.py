"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", §3.3) on a copy of a run.

Train a copy of the network for a few hundred steps while the learning rate grows geometrically
from ``lr_min`` to ``lr_max``; record the batch loss at each step. The loss stays flat while η is
too small, falls fastest somewhere in the middle, and blows up once η is too large. The suggestion
is the η where the smoothed loss falls fastest (steepest negative slope against log η, measured
over a window of ±n/20 steps so leftover batch noise does not win), taken before the minimum of
the smoothed curve; η at the minimum divided by ten is the other usual rule
and is reported too. The user's run is never touched: the test builds its own ``Run`` from the
session (the torch path, schedule constant, no early stopping) and copies the weights into it.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .events import Step


@dataclass(frozen=True)
class LRTest:
    lrs: np.ndarray  # the η of each recorded step
    losses: np.ndarray  # the batch loss of that step (before its update)
    smoothed: np.ndarray  # bias-corrected exponential moving average of the losses
    suggestion: float | None  # η at the steepest fall of the smoothed loss
    min_over_ten: float | None  # η at the smoothed minimum, / 10
    reason: str  # completed, diverged, stopped

    @property
    def sentence(self) -> str:
        if self.suggestion is None:
            return f"No suggestion: the loss did not fall over η ∈ [{self.lrs[0]:.2g}, {self.lrs[-1]:.2g}] ({self.reason})."
        return (f"Suggested η = {self.suggestion:.3g} (steepest fall of the loss); η at the minimum / 10 = "
                f"{self.min_over_ten:.3g}; {len(self.lrs)} steps, {self.reason}.")


def geometric_lrs(lr_min: float, lr_max: float, steps: int) -> np.ndarray:
    """η_k = η_min·(η_max/η_min)^(k/(n−1)), k = 0..n−1."""
    return lr_min * (lr_max / lr_min) ** (np.arange(steps) / max(steps - 1, 1))


def smooth(losses, beta: float = 0.98) -> np.ndarray:
    """EMA with bias correction: s_k = (β·m_{k−1} + (1−β)·L_k) / (1 − β^(k+1))."""
    out, m = np.empty(len(losses)), 0.0
    for k, v in enumerate(losses):
        m = beta * m + (1 - beta) * float(v)
        out[k] = m / (1 - beta ** (k + 1))
    return out


def suggest(lrs, smoothed) -> tuple[float | None, float | None]:
    """(η at the steepest fall before the smoothed minimum, η at the minimum / 10); None when it never fell."""
    lrs, smoothed = np.asarray(lrs, float), np.asarray(smoothed, float)
    if len(lrs) < 3:
        return None, None
    i_min = int(np.nanargmin(smoothed))
    if i_min < 2 or not smoothed[i_min] < smoothed[0]:
        return None, None
    # slope over a window of ±n/20 points: batch noise left in the average does not win over the real fall
    w = max(1, len(lrs) // 20)
    if i_min - w <= w:
        w = 1
    log = np.log10(lrs)
    idx = np.arange(w, i_min + 1 - w) if i_min - w >= w else np.arange(1, i_min)
    if not len(idx):
        return None, None
    slope = (smoothed[idx + w] - smoothed[idx - w]) / (log[idx + w] - log[idx - w])
    return float(lrs[idx[int(np.argmin(slope))]]), float(lrs[i_min] / 10)


def _check(lr_min, lr_max, steps, beta, diverge):
    for name, v in (("lr_min", lr_min), ("lr_max", lr_max)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InvalidInput(f"{name} must be a number > 0, got {v!r}")
    if not lr_min < lr_max:
        raise InvalidInput(f"lr_min must be below lr_max, got {lr_min:g} and {lr_max:g}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 3 <= steps <= 100_000:
        raise InvalidInput(f"steps must be a whole number from 3 to 100000, got {steps!r}")
    if not 0 <= beta < 1:
        raise InvalidInput(f"smoothing must be in [0, 1), got {beta!r}")
    if not diverge > 1:
        raise InvalidInput(f"the divergence factor must be > 1, got {diverge!r}")


def lr_range_test(session, *, weights: dict | None = None, lr_min: float = 1e-5, lr_max: float = 10.0,
                  steps: int = 200, beta: float = 0.98, diverge: float = 4.0, progress=None,
                  stop: threading.Event | None = None, dataset=None) -> LRTest:
    """Run the sweep on a copy; ``progress(k, steps, lr, loss)`` after each step, ``stop`` ends it early.

    It ends when the smoothed loss exceeds ``diverge`` × its best so far (or is not finite).
    """
    from .run import Run

    _check(lr_min, lr_max, steps, beta, diverge)
    s = session.copy().canonicalize()
    s.schedule = {"type": "constant", "params": {}}
    s.training = dict(s.training, epochs=1_000_000, early_stopping=None, stats_every=1_000_000)
    run = Run(s, path="torch", dataset=dataset)
    if weights is not None:
        import torch

        with run.snapshot() as tr:
            tr.model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()})
    schedule = geometric_lrs(lr_min, lr_max, steps)
    lrs, losses, reason, best, m = [], [], "completed", math.inf, 0.0
    run.request(lr=float(schedule[0]))
    events = run.events(max_steps=steps)  # one loop; each step's η is requested before it runs
    try:
        for ev in events:
            if not isinstance(ev, Step):
                continue
            k, loss = len(lrs), float(ev.loss)
            if not math.isfinite(loss):
                reason = "diverged"
                break
            lrs.append(float(ev.lr))
            losses.append(loss)
            m = beta * m + (1 - beta) * loss
            sm = m / (1 - beta ** (k + 1))
            if progress is not None:
                progress(k + 1, steps, float(ev.lr), loss)
            if sm > diverge * best:
                reason = "diverged"
                break
            best = min(best, sm)
            if stop is not None and stop.is_set():
                reason = "stopped"
                break
            if k + 1 < steps:
                run.request(lr=float(schedule[k + 1]))
    finally:
        events.close()
    lrs_a, losses_a = np.array(lrs), np.array(losses)
    smoothed = smooth(losses_a, beta)
    sug, low = suggest(lrs_a, smoothed)
    return LRTest(lrs_a, losses_a, smoothed, sug, low, reason)
