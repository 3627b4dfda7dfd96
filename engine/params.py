"""Typed parameter schemas shared by every registry.

A schema drives three things at once: validation with messages quoting the bad
value, defaults for the session file, and the editors the GUI inspector shows.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidInput

KINDS = ("int", "float", "bool", "str", "choice", "ints", "floats", "any")
FLOAT_LIMIT = 3.4e38  # float32's largest finite value (rounded down): every tensor is float32
INT_LIMIT = 2 ** 53  # the largest integer every JSON reader holds exactly
QUOTE_LIMIT = 200  # characters of a bad value quoted in a message (a 6 MB line helps nobody)


def brief(value, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a bad value for a message: at most ``limit`` characters, numpy scalars as plain numbers.

    Messages quote what the user typed so they can find it; a value pasted from a huge
    list, or ``np.float64(nan)``, would only hide the sentence around it.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")  # as JSON spells them
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        text = f"an integer of {len(str(abs(value)))} digits"
    else:
        try:
            text = reprlib_repr(value, limit)
        except Exception:  # a value whose repr fails must not turn a clear message into a traceback
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def reprlib_repr(value, limit):
    """repr without building the whole text of a huge container first (a 10⁶-sample list)."""
    if isinstance(value, (list, tuple, dict, set)) and len(value) > limit:
        head = list(value.items())[:limit] if isinstance(value, dict) else list(value)[:limit]
        return repr(type(value)(head) if not isinstance(value, dict) else dict(head))[:limit] + "..."
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def _num(v):
    return f"{int(v):,}" if float(v) == int(v) and abs(v) >= 10_000 else f"{v:g}" if isinstance(v, float) else str(v)


def _integer(value, where) -> int:
    """An int, or a float with an integral value; NaN, Infinity and 2.5 are refused with one line."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"{where} must be an integer, got {brief(value)}")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise InvalidInput(f"{where} must be an integer, got {brief(value)}")
    value = int(value)
    if abs(value) > INT_LIMIT:  # beyond this JSON readers disagree and numpy/torch overflow
        raise InvalidInput(f"{where} must be at most {INT_LIMIT:,} in size, got {brief(value)}")
    return value


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    doc: str = ""
    optional: bool = False  # None is allowed as a value
    max_items: int | None = 64  # lists ("ints"/"floats"): a 10⁶-entry shape is a typo, not a tensor
    max_why: str = ""  # said after a refused maximum, e.g. " (a larger layer would not fit in memory)"
    # Extra check after the kind's own: (value, "owner.name") -> value; raises InvalidInput.
    validate: Any = None

    def check(self, value, owner=""):
        where = f"{owner}.{self.name}" if owner else self.name
        if value is None:
            if self.optional:
                return None
            raise InvalidInput(f"{where} is required")
        k = self.kind
        if k == "int":
            value = _integer(value, where)
        elif k == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInput(f"{where} must be a number, got {brief(value)}")
            try:
                value = float(value)
            except OverflowError:  # an integer beyond float range
                raise InvalidInput(f"{where} must be at most {FLOAT_LIMIT:g}, got {brief(value)}") from None
            if not math.isfinite(value):
                raise InvalidInput(f"{where} must be finite, got {brief(value)}")
            if abs(value) > FLOAT_LIMIT:  # everything runs in float32: 1e300 would overflow at the first step
                raise InvalidInput(f"{where} must be between -{FLOAT_LIMIT:g} and {FLOAT_LIMIT:g} "
                                   f"(the float32 range), got {brief(value)}")
        elif k == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"{where} must be true or false, got {brief(value)}")
        elif k == "str":
            if not isinstance(value, str):
                raise InvalidInput(f"{where} must be a string, got {brief(value)}")
        elif k == "choice":
            if isinstance(value, (list, dict)) or value not in self.choices:
                raise InvalidInput(f"{where} must be one of {', '.join(map(str, self.choices))}; got {brief(value)}")
        elif k in ("ints", "floats"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise InvalidInput(f"{where} must be a list of numbers, got {brief(value)}")
            if self.max_items is not None and len(value) > self.max_items:
                raise InvalidInput(f"{where} may have at most {self.max_items} entries, got {len(value)}")
            item = Param(self.name, k[:-1], min=self.min, max=self.max, max_why=self.max_why)
            value = tuple(item.check(v, owner) for v in value)
        if k in ("int", "float"):
            if self.min is not None and value < self.min:
                raise InvalidInput(f"{where} must be ≥ {self.min}, got {brief(value)}")
            if self.max is not None and value > self.max:
                raise InvalidInput(f"{where} must be ≤ {_num(self.max)}{self.max_why}, got {brief(value)}")
        if self.validate is not None:
            value = self.validate(value, where)
        return value


@dataclass(frozen=True)
class Schema:
    params: tuple[Param, ...] = ()

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def names(self):
        return [p.name for p in self.params]

    def validate(self, given: dict | None, owner="") -> dict:
        """Return a complete, typed copy of ``given`` with defaults filled in."""
        if given is not None and not isinstance(given, dict):
            raise InvalidInput(f"{owner} parameters must be an object, got {brief(given)}")
        given = given or {}
        known = self._names
        if not known.issuperset(given):
            unknown = sorted(set(given) - known, key=str)
            raise InvalidInput(
                f"{owner} has no parameter {brief(unknown[0])} (known: {', '.join(self.names()) or 'none'})"
            )
        return {p.name: p.check(given.get(p.name, p.default), owner) for p in self.params}

    @functools.cached_property
    def _names(self) -> frozenset:
        return frozenset(p.name for p in self.params)


def schema(*params: Param) -> Schema:
    return Schema(tuple(params))


@dataclass(frozen=True)
class Entry:
    """One named thing in a registry: a factory plus its parameter schema and help."""

    name: str
    factory: Any
    schema: Schema = field(default_factory=Schema)
    doc: str = ""
    aliases: tuple = ()
    group: str = ""
