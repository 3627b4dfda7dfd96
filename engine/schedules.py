"""Learning-rate schedules by name: lr as a function of epoch and step.

Goal from the notes: a high learning rate early, a lower one later. Pure Python
(no torch): the trainer asks ``lr(epoch, step)`` before every optimizer step and
writes the answer with ``optimizers.set_lr``. ``epoch`` is 0-based; ``step`` is the
number of optimizer steps already taken (0 for the very first update).
``state_dict`` holds plain JSON types so a saved session resumes identically.
"""
from __future__ import annotations

import math

from .errors import InvalidInput
from .params import Param, Schema, schema
from .registry import Registry

SCHEDULES = Registry("schedule")


class Schedule:
    """Base: stateless schedules only override ``lr``."""

    name = ""

    def __init__(self, base_lr: float, **params):
        if isinstance(base_lr, bool) or not isinstance(base_lr, (int, float)) or not math.isfinite(base_lr) or base_lr < 0:
            raise InvalidInput(f"base learning rate must be a finite number ≥ 0, got {base_lr!r}")
        self.base_lr = float(base_lr)
        self.params = params

    def lr(self, epoch: int, step: int = 0) -> float:
        raise NotImplementedError  # pragma: no cover

    def observe(self, epoch: int, val_loss) -> None:
        """Told the monitored loss at the end of each epoch; only reduce_on_plateau reacts."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise InvalidInput(f"schedule {self.name!r} has no state, got {state!r}")

    def __repr__(self):
        return f"{type(self).__name__}(base_lr={self.base_lr}, {self.params})"


def _epoch(epoch):
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise InvalidInput(f"epoch must be an integer ≥ 0, got {epoch!r}")
    return epoch


class _Formula(Schedule):
    def __init__(self, base_lr, fn, **params):
        super().__init__(base_lr, **params)
        self._fn = fn

    def lr(self, epoch, step=0):
        return float(self._fn(self.base_lr, _epoch(epoch)))


@SCHEDULES.register("constant", schema=schema())
def _constant(base_lr):
    """The learning rate never changes."""
    s = _Formula(base_lr, lambda lr0, e: lr0)
    s.name = "constant"
    return s


@SCHEDULES.register("inverse_time", schema=schema(
    Param("decay", "float", 0.1, min=0.0, doc="t in lr = lr0 / (1 + t·epoch)."),
))
def _inverse_time(base_lr, decay):
    """lr = lr0 / (1 + decay·epoch): the notes' "learning rate decay" (default t = 0.1)."""
    s = _Formula(base_lr, lambda lr0, e: lr0 / (1.0 + decay * e), decay=decay)
    s.name = "inverse_time"
    return s


class _StepSchema(Schema):
    """Step decay's parameters; older sessions gave the multiplier ``factor`` (= 1 − t) instead of the notes' t."""

    def validate(self, given, owner=""):
        given = dict(given or {})
        if "factor" in given and "t" not in given:
            f = given.pop("factor")
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 <= f <= 1.0:
                raise InvalidInput(f"{owner}.factor (the old multiplier, now t = 1 − factor) must be a number in "
                                   f"[0, 1], got {f!r}")
            given["t"] = round(1.0 - float(f), 12)  # 0.8 -> 0.2, not 0.19999999999999996
        elif "factor" in given:
            raise InvalidInput(f"{owner} takes t (the notes' α ← α − t·α), not both t and the old factor (= 1 − t)")
        return super().validate(given, owner)


@SCHEDULES.register("step", schema=_StepSchema((
    Param("every", "int", 10, min=1, doc="Number of epochs between drops."),
    Param("t", "float", 0.5, min=0.0, max=1.0,
          doc="The notes' t in α ← α − t·α at each drop (default 0.5 halves it); the lr is multiplied by 1 − t."),
)))
def _step(base_lr, every, t):
    """Step decay as in the notes: every ``every`` epochs α ← α − t·α, i.e. lr = lr0 · (1 − t)^⌊epoch / every⌋.

    Type the notes' t directly (t = 0.2 keeps 80% at each drop). Older sessions' ``factor``
    (the multiplier) is read as t = 1 − factor.
    """
    keep = 1.0 - t
    s = _Formula(base_lr, lambda lr0, e: lr0 * keep ** (e // every), every=every, t=t)
    s.name = "step"
    return s


@SCHEDULES.register("exponential", schema=schema(
    Param("gamma", "float", 0.95, min=0.0, max=1.0, doc="t < 1 in lr = t^epoch · lr0."),
))
def _exponential(base_lr, gamma):
    """Exponential decay: lr = lr0 · gamma^epoch."""
    s = _Formula(base_lr, lambda lr0, e: lr0 * gamma ** e, gamma=gamma)
    s.name = "exponential"
    return s


@SCHEDULES.register("inverse_sqrt", schema=schema(
    Param("t", "float", 1.0, min=0.0, doc="Scale t in lr = lr0 · t / √epoch (epochs counted from 0; epoch 0 uses √1)."),
))
def _inverse_sqrt(base_lr, t):
    """lr = lr0 · t / √epoch, the notes' formula, with epochs counted from 0 like every other schedule.

    √0 would divide by zero, so the first epoch (epoch 0) uses epoch 1's value: the rates are
    t·lr0, t·lr0, t·lr0/√2, t·lr0/√3, ...
    """
    s = _Formula(base_lr, lambda lr0, e: lr0 * t / math.sqrt(max(e, 1)), t=t)
    s.name = "inverse_sqrt"
    return s


@SCHEDULES.register("cosine", schema=schema(
    Param("t_max", "int", 50, min=1, doc="Epochs to go from lr0 down to eta_min; it stays there afterwards."),
    Param("eta_min", "float", 0.0, min=0.0, doc="Final learning rate."),
))
def _cosine(base_lr, t_max, eta_min):
    """Cosine annealing: lr = eta_min + (lr0 − eta_min)·(1 + cos(π·min(epoch, t_max)/t_max))/2."""
    def fn(lr0, e):
        return eta_min + (lr0 - eta_min) * (1.0 + math.cos(math.pi * min(e, t_max) / t_max)) / 2.0

    s = _Formula(base_lr, fn, t_max=t_max, eta_min=eta_min)
    s.name = "cosine"
    return s


class ReduceOnPlateau(Schedule):
    """Multiply lr by ``factor`` after ``patience`` epochs in a row without improvement.

    The state keeps the reduction as a multiplier of base_lr, so a session whose
    base lr is changed mid-training keeps its reductions relative to the new lr.
    """

    name = "reduce_on_plateau"

    def __init__(self, base_lr, **params):
        super().__init__(base_lr, **params)
        self.scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0

    def lr(self, epoch, step=0):
        _epoch(epoch)
        return self.base_lr * self.scale

    def observe(self, epoch, val_loss):
        if val_loss is None:
            return
        v = float(val_loss)
        if math.isfinite(v) and v < self.best - self.params["min_delta"]:
            self.best, self.bad_epochs = v, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.params["patience"]:
            self.bad_epochs = 0
            if self.base_lr > 0:
                lowered = max(self.base_lr * self.scale * self.params["factor"], self.params["min_lr"])
                self.scale = min(self.scale, lowered / self.base_lr)  # min_lr above the lr never raises it

    def state_dict(self):
        return {"scale": self.scale, "best": self.best if math.isfinite(self.best) else None,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        try:
            self.scale = float(state["scale"])
            self.best = math.inf if state["best"] is None else float(state["best"])
            self.bad_epochs = int(state["bad_epochs"])
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"bad reduce_on_plateau state {state!r}: {e}") from None


@SCHEDULES.register("reduce_on_plateau", schema=schema(
    Param("factor", "float", 0.1, min=0.0, max=1.0, doc="Multiplier applied at each reduction."),
    Param("patience", "int", 10, min=0, doc="Epochs without improvement tolerated; the lr drops on the patience-th."),
    Param("min_delta", "float", 1e-4, min=0.0, doc="A loss must beat the best by more than this to count as improvement."),
    Param("min_lr", "float", 0.0, min=0.0, doc="The lr is never reduced below this."),
))
def _plateau(base_lr, factor, patience, min_delta, min_lr):
    """Reduce lr when the validation loss (training loss if there is no validation set) stops improving."""
    return ReduceOnPlateau(base_lr, factor=factor, patience=patience, min_delta=min_delta, min_lr=min_lr)


class Warmup(Schedule):
    """Linear warm-up over the first steps, then another schedule (constant by default)."""

    name = "warmup"

    def __init__(self, base_lr, warmup_steps, start_factor, then):
        super().__init__(base_lr, warmup_steps=warmup_steps, start_factor=start_factor, then=then)
        if isinstance(then, dict) and then.get("type") == "warmup" or then == "warmup":
            raise InvalidInput("warmup cannot be followed by another warmup")
        self.after = SCHEDULES.create("constant" if then is None else then, base_lr)

    def lr(self, epoch, step=0):
        _epoch(epoch)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise InvalidInput(f"step must be an integer ≥ 0, got {step!r}")
        n, f0 = self.params["warmup_steps"], self.params["start_factor"]
        if step < n:
            return self.base_lr * (f0 + (1.0 - f0) * step / n)
        return self.after.lr(epoch, step)

    def observe(self, epoch, val_loss):
        self.after.observe(epoch, val_loss)

    def state_dict(self):
        return {"then": self.after.state_dict()}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or "then" not in state:
            raise InvalidInput(f"bad warmup state {state!r}")
        self.after.load_state_dict(state["then"])


@SCHEDULES.register("warmup", schema=schema(
    Param("warmup_steps", "int", 100, min=0, doc="Optimizer steps over which lr rises linearly to lr0."),
    Param("start_factor", "float", 0.0, min=0.0, max=1.0, doc="The first step uses start_factor·lr0."),
    Param("then", "any", None, optional=True,
          doc="Schedule after the warm-up (a name or {type, params}); none means constant lr0."),
))
def _warmup(base_lr, warmup_steps, start_factor, then):
    """lr = lr0·(start_factor + (1 − start_factor)·step/warmup_steps) for step < warmup_steps, then `then`."""
    return Warmup(base_lr, warmup_steps, start_factor, then)


@SCHEDULES.register("manual", schema=schema(
    Param("every", "int", 10, min=1, doc="Epochs each value lasts."),
    Param("factors", "floats", (1.0, 0.1, 0.01), min=0.0,
          doc="lr = lr0·factors[k] during the k-th block of epochs; the last factor then stays."),
))
def _manual(base_lr, every, factors):
    """Training schedule set by hand: every n epochs the learning rate takes the next listed value (× lr0)."""
    if not factors:
        raise InvalidInput("the manual schedule needs at least one factor, got an empty list")
    fs = tuple(factors)
    s = _Formula(base_lr, lambda lr0, e: lr0 * fs[min(e // every, len(fs) - 1)], every=every, factors=fs)
    s.name = "manual"
    return s


def get(spec, base_lr: float) -> Schedule:
    """Name or ``{"type", "params"}`` → Schedule starting from ``base_lr``."""
    return SCHEDULES.create(spec, base_lr)
