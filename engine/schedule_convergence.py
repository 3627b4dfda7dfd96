"""Does a learning-rate schedule meet the conditions for SGD to converge (lecture 003, §4.3.3.1)?

The notes: SGD converges to a minimum of a strictly convex f if the step sizes satisfy αₙ ≥ 0,
Σαₙ = ∞ (the steps can carry the weights any distance, so they do not stop short of the minimum)
and Σαₙ² < ∞ (the gradient noise the steps inject stays bounded, so SGD settles instead of
hovering). Our schedules are functions of the epoch; every epoch has the same number of steps,
so the sums over steps and over epochs are finite or infinite together. This module says, for a
schedule as configured, which conditions hold, by the schedule's formula (its tail as epoch → ∞),
and why: the Training panel shows it under the schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

from .schedules import SCHEDULES


@dataclass(frozen=True)
class Conditions:
    sum_infinite: bool | None  # Σαₙ = ∞ (None: depends on the training)
    squares_finite: bool | None  # Σαₙ² < ∞
    tail: str  # how αₙ behaves as n → ∞, in words

    @property
    def met(self) -> bool | None:
        if self.sum_infinite is None or self.squares_finite is None:
            return None
        return self.sum_infinite and self.squares_finite

    def text(self) -> str:
        def mark(v, yes, no):
            return "?" if v is None else (yes if v else no)

        first = f"Σαₙ {mark(self.sum_infinite, '= ∞ ✓', '< ∞ ✗ (may stop short of the minimum)')}"
        second = f"Σαₙ² {mark(self.squares_finite, '< ∞ ✓', '= ∞ ✗ (SGD keeps hovering around the minimum)')}"
        verdict = {True: "meets both SGD convergence conditions", False: "does not meet both SGD convergence conditions",
                   None: "depends on the training"}[self.met]
        return f"{self.tail}: {first}, {second} — {verdict}."


CONSTANT = Conditions(True, False, "αₙ ends at a constant > 0")
ZERO = Conditions(False, True, "αₙ reaches 0")
GEOMETRIC = Conditions(False, True, "αₙ falls geometrically")


def conditions(spec, base_lr: float) -> Conditions:
    """Which of Σαₙ = ∞ and Σαₙ² < ∞ the schedule ``spec`` from ``base_lr`` satisfies as epochs → ∞."""
    entry, p = SCHEDULES.resolve(spec)
    name = entry.name
    if base_lr == 0:
        return Conditions(False, True, "α = 0: no step is taken")
    if name == "constant":
        return CONSTANT
    if name == "inverse_time":
        return Conditions(True, True, "αₙ ∝ 1/n") if p["decay"] > 0 else CONSTANT
    if name == "step":
        return CONSTANT if p["t"] == 0 else (ZERO if p["t"] == 1 else GEOMETRIC)
    if name == "exponential":
        return CONSTANT if p["gamma"] == 1 else (ZERO if p["gamma"] == 0 else GEOMETRIC)
    if name == "inverse_sqrt":
        return Conditions(True, False, "αₙ ∝ 1/√n") if p["t"] > 0 else ZERO
    if name == "cosine":
        return CONSTANT if p["eta_min"] > 0 else ZERO
    if name == "manual":
        return CONSTANT if p["factors"][-1] > 0 else ZERO
    if name == "warmup":  # a finite warm-up changes no sum's finiteness: the schedule after it decides
        then = p["then"] if p["then"] is not None else "constant"
        return conditions(then, base_lr)
    if name == "reduce_on_plateau":
        if p["factor"] == 1:
            return CONSTANT
        if p["min_lr"] > 0:  # αₙ ≥ min_lr > 0 for ever: both sums diverge, whatever the validation loss does
            return Conditions(True, False, f"αₙ drops when the validation loss stalls, never below {p['min_lr']:g}")
        return Conditions(None, None, "αₙ drops when the validation loss stalls")
    return Conditions(None, None, f"schedule {name!r}")
