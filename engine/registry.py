"""Name → factory tables (losses, optimizers, schedules, initializers, ...).

Mirrors Keras' ``get()``: a registry accepts a name, an alias, or a
``{"type": name, "params": {...}}`` dict, validates the parameters against the
entry's schema and returns ``(entry, params)``. Session files only ever refer to
these names, never to class paths.
"""
from __future__ import annotations

from .errors import InvalidInput
from .params import Entry, Schema, brief


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name, *, schema: Schema | None = None, doc="", aliases=(), group=""):
        """Decorator: ``@REG.register("mse", schema=..., aliases=("l2",))``."""

        def deco(factory):
            self.add(Entry(name, factory, schema or Schema(), doc or (factory.__doc__ or "").strip(), tuple(aliases), group))
            return factory

        return deco

    def add(self, entry: Entry):
        if entry.name in self._entries or entry.name in self._aliases:
            raise ValueError(f"{self.kind} {entry.name!r} registered twice")
        self._entries[entry.name] = entry
        for a in entry.aliases:
            self._aliases[a] = entry.name

    def names(self):
        return list(self._entries)

    def entries(self):
        return list(self._entries.values())

    def __contains__(self, name):
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def entry(self, name) -> Entry:
        if not isinstance(name, str):
            raise InvalidInput(f"{self.kind} must be named by a string, got {brief(name)}")
        key = self._aliases.get(name, name)
        if key not in self._entries:
            raise InvalidInput(f"unknown {self.kind} {brief(name)}; choose one of: {', '.join(self._entries)}")
        return self._entries[key]

    def resolve(self, spec) -> tuple[Entry, dict]:
        """Accept ``"name"`` or ``{"type": "name", "params": {...}}``; return (entry, full params)."""
        if isinstance(spec, str):
            name, params = spec, {}
        elif isinstance(spec, dict):
            if "type" not in spec:
                raise InvalidInput(f"{self.kind} needs a 'type' (one of: {', '.join(self._entries)})")
            extra = set(spec) - {"type", "params"}
            if extra:
                raise InvalidInput(f"{self.kind} {brief(spec.get('type'))} has unexpected key {brief(sorted(extra, key=str)[0])}")
            name, params = spec["type"], spec.get("params") or {}
            if not isinstance(params, dict):
                raise InvalidInput(f"{self.kind} {brief(name)} params must be an object, got {brief(params)}")
        else:
            raise InvalidInput(f"{self.kind} must be a name or an object with 'type', got {brief(spec)}")
        entry = self.entry(name)
        return entry, entry.schema.validate(params, owner=f"{self.kind} {entry.name!r}")

    def canonical(self, spec) -> dict:
        """The ``{"type", "params"}`` form with every default filled in (what sessions store)."""
        entry, params = self.resolve(spec)
        return {"type": entry.name, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}}

    def create(self, spec, *args, **kwargs):
        """Resolve ``spec`` and call the factory with ``(*args, **params, **kwargs)``."""
        entry, params = self.resolve(spec)
        return entry.factory(*args, **params, **kwargs)
