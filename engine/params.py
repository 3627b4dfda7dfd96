"""Typed parameter schemas shared by every registry.

A schema drives three things at once: validation with messages quoting the bad
value, defaults for the session file, and the editors the GUI inspector shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput

KINDS = ("int", "float", "bool", "str", "choice", "ints", "floats", "any")


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

    def check(self, value, owner=""):
        where = f"{owner}.{self.name}" if owner else self.name
        if value is None:
            if self.optional:
                return None
            raise InvalidInput(f"{where} is required")
        k = self.kind
        if k == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
                raise InvalidInput(f"{where} must be an integer, got {value!r}")
            value = int(value)
        elif k == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInput(f"{where} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise InvalidInput(f"{where} must be finite, got {value!r}")
        elif k == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"{where} must be true or false, got {value!r}")
        elif k == "str":
            if not isinstance(value, str):
                raise InvalidInput(f"{where} must be a string, got {value!r}")
        elif k == "choice":
            if value not in self.choices:
                raise InvalidInput(f"{where} must be one of {', '.join(map(str, self.choices))}; got {value!r}")
        elif k in ("ints", "floats"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise InvalidInput(f"{where} must be a list of numbers, got {value!r}")
            item = Param(self.name, k[:-1], min=self.min, max=self.max)
            return tuple(item.check(v, owner) for v in value)
        if k in ("int", "float"):
            if self.min is not None and value < self.min:
                raise InvalidInput(f"{where} must be ≥ {self.min}, got {value!r}")
            if self.max is not None and value > self.max:
                raise InvalidInput(f"{where} must be ≤ {self.max}, got {value!r}")
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
        given = dict(given or {})
        if not isinstance(given, dict):
            raise InvalidInput(f"{owner} parameters must be an object, got {given!r}")
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise InvalidInput(
                f"{owner} has no parameter {unknown[0]!r} (known: {', '.join(known) or 'none'})"
            )
        out = {}
        for p in self.params:
            out[p.name] = p.check(given.get(p.name, p.default), owner)
        return out


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
