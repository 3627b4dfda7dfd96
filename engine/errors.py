"""Errors the engine raises for bad input.

Every user-facing failure is an ``InvalidInput`` (exit code 2 headless, an
inline message in the GUI). Anything else escaping the engine is a bug.
"""


class InvalidInput(ValueError):
    """Input the user can fix: a bad file, parameter, graph or dataset."""

    def __init__(self, message, *, where=None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class GraphError(InvalidInput):
    """The layer graph is invalid; ``node`` names the offending node when known."""

    def __init__(self, message, *, node=None):
        self.node = node
        super().__init__(message, where=f"node '{node}'" if node else None)


class DataError(InvalidInput):
    """A dataset or CSV file is unusable; ``row``/``column`` locate the problem (1-based)."""

    def __init__(self, message, *, row=None, column=None, path=None):
        self.row, self.column, self.path = row, column, path
        parts = [str(p) for p in (path,) if p]
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
        super().__init__(message, where=", ".join(parts) or None)


class SessionError(InvalidInput):
    """A session file cannot be loaded (corrupt, too new, unsafe, wrong types)."""


class TrainingDiverged(RuntimeError):
    """Loss or weights became NaN/inf; ``diagnosis`` says the likely cause."""

    def __init__(self, diagnosis, *, step=None):
        self.diagnosis, self.step = diagnosis, step
        super().__init__(diagnosis)
