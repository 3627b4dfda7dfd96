"""A session: everything a person configured, as one versioned JSON document.

The format is documented in docs/session-format.md. Old versions are migrated
forward by ``MIGRATIONS`` (kept forever); a newer version is refused with a
clear message. Loading never executes anything from the file.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field

from . import __version__
from .errors import InvalidInput, SessionError
from .params import Param, schema
from .spec import GraphSpec

FORMAT_VERSION = 1
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_SEED = 2**63 - 1  # numpy and torch both take it, with room for the per-stream offsets (seed + 1, + 2, ...)

TRAINING_SCHEMA = schema(
    Param("epochs", "int", 100, min=1, max=1_000_000, doc="Passes over the training split."),
    Param("batch_size", "int", 10, min=0, max=1_000_000,
          doc="Samples per step; 0 means full batch (one step per epoch), 1 is single-sample SGD."),
    Param("shuffle", "bool", True, doc="Reshuffle the training split every epoch (seeded)."),
    Param("device", "choice", "auto", choices=("auto", "cpu", "cuda", "mps")),
    Param("clip", "choice", "none", choices=("none", "norm", "value"), doc="Gradient clipping."),
    Param("clip_value", "float", 1.0, min=0),
    Param("max_norm", "float", None, min=0, optional=True, doc="Max-norm constraint on each unit's incoming weights."),
    Param("early_stopping", "any", None, optional=True,
          doc='null, or {"patience": 10, "min_delta": 0.0, "restore_best": true}.'),
    Param("stats_every", "int", 10, min=1, doc="Steps between weight/gradient statistics and histograms."),
    Param("cache_frozen", "bool", True,
          doc="Compute the outputs of the frozen layers once per split and train the rest of the network on them "
              "(lecture 004: cache the outputs of frozen layers); the same results, fewer multiply-adds a step."),
)

DEFAULT_GRAPH = {
    "layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "dense1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
        {"id": "dense2", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
        {"id": "dense3", "type": "Dense", "params": {"units": 1, "activation": "identity"}},
        {"id": "output", "type": "Output"},
    ]
}


@dataclass
class Session:
    name: str = "Untitled"
    seed: int = 0
    graph: GraphSpec = field(default_factory=lambda: GraphSpec.from_dict(DEFAULT_GRAPH))
    dataset: dict = field(default_factory=lambda: {"type": "spiral", "params": {}})
    loss: dict = field(default_factory=lambda: {"type": "bce_logits", "params": {}})
    optimizer: dict = field(default_factory=lambda: {"type": "sgd", "params": {"lr": 0.03}})
    schedule: dict = field(default_factory=lambda: {"type": "constant", "params": {}})
    regularizers: list = field(default_factory=list)
    training: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)  # GUI layout; opaque to the engine
    notes: str = ""

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "app_version": __version__,
            "name": self.name,
            "seed": self.seed,
            "graph": self.graph.to_dict(),
            "dataset": copy.deepcopy(self.dataset),
            "loss": copy.deepcopy(self.loss),
            "optimizer": copy.deepcopy(self.optimizer),
            "schedule": copy.deepcopy(self.schedule),
            "regularizers": copy.deepcopy(self.regularizers),
            "training": TRAINING_SCHEMA.validate(self.training, owner="training"),
            "view": copy.deepcopy(self.view),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Session":
        if not isinstance(d, dict):
            raise SessionError(f"a session must be a JSON object, got {type(d).__name__}")
        d = migrate(d)
        known = {"format_version", "app_version", "name", "seed", "graph", "dataset", "loss", "optimizer",
                 "schedule", "regularizers", "training", "view", "notes"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SessionError(f"unknown session key {unknown[0]!r}")

        def typed(key, types, default):
            v = d.get(key, default)
            if not isinstance(v, types) or isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
                raise SessionError(f"session '{key}' has the wrong type: expected {_tname(types)}, got {type(v).__name__}")
            return v

        s = cls()
        s.name = typed("name", str, "Untitled")
        s.seed = typed("seed", int, 0)
        if not 0 <= s.seed <= MAX_SEED:
            raise SessionError(f"session 'seed' must be between 0 and {MAX_SEED:,}, got {_quote(s.seed)}")
        if "graph" not in d:
            raise SessionError("session has no 'graph'")
        try:
            s.graph = GraphSpec.from_dict(d["graph"])
        except InvalidInput as e:
            raise SessionError(f"graph: {e}") from None
        s.dataset = typed("dataset", dict, s.dataset)
        s.loss = typed("loss", (dict, str), s.loss)
        s.optimizer = typed("optimizer", (dict, str), s.optimizer)
        s.schedule = typed("schedule", (dict, str), s.schedule)
        s.regularizers = typed("regularizers", list, [])
        s.training = typed("training", dict, {})
        s.view = typed("view", dict, {})
        s.notes = typed("notes", str, "")
        try:
            s.training = TRAINING_SCHEMA.validate(s.training, owner="training")
            check_early_stopping(s.training.get("early_stopping"))
        except InvalidInput as e:
            raise SessionError(str(e)) from None
        return s

    def copy(self) -> "Session":
        return Session.from_dict(self.to_dict())

    def canonicalize(self) -> "Session":
        """Resolve every registry reference (filling defaults); raises InvalidInput on a bad name or value."""
        from .data import dataset_canonical
        from .losses import LOSSES
        from .optimizers import OPTIMIZERS
        from .regularizers import REGULARIZERS
        from .schedules import SCHEDULES

        self.loss = LOSSES.canonical(self.loss)
        self.optimizer = OPTIMIZERS.canonical(self.optimizer)
        self.schedule = SCHEDULES.canonical(self.schedule)
        self.regularizers = [REGULARIZERS.canonical(r) for r in self.regularizers]
        self.dataset = dataset_canonical(self.dataset)
        self.training = TRAINING_SCHEMA.validate(self.training, owner="training")
        return self


EARLY_STOPPING_KEYS = ("patience", "min_delta", "restore_best", "monitor", "mode")


def check_early_stopping(es):
    """``training.early_stopping`` is null or an object EarlyStopping accepts: refused at load, not at epoch one."""
    if es is None:
        return
    example = '{"patience": 10, "min_delta": 0.0, "restore_best": true}'
    if not isinstance(es, dict):
        raise SessionError(f"training.early_stopping must be null or an object like {example}, got {_quote(es)}")
    unknown = sorted(set(es) - set(EARLY_STOPPING_KEYS))
    if unknown:
        raise SessionError(f"training.early_stopping has no setting {_quote(unknown[0])}; "
                           f"known: {', '.join(EARLY_STOPPING_KEYS)}")
    if "patience" not in es:
        raise SessionError(f"training.early_stopping needs a 'patience' (epochs without improvement), e.g. {example}")
    if "restore_best" in es and not isinstance(es["restore_best"], bool):
        raise SessionError(f"training.early_stopping.restore_best must be true or false, got {_quote(es['restore_best'])}")
    from .early_stopping import EarlyStopping

    EarlyStopping(**es)  # its own checks: patience an integer >= 0, min_delta finite >= 0, mode, monitor


def _quote(v, limit: int = 80) -> str:
    """A bad value as the user typed it, cut short: a message is one readable line."""
    try:
        text = json.dumps(v, allow_nan=True, ensure_ascii=False)  # as it is written in the file: true, null, NaN
    except (TypeError, ValueError, RecursionError):
        text = repr(v)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


def _tname(types):
    types = types if isinstance(types, tuple) else (types,)
    names = {dict: "an object", str: "a string", int: "an integer", list: "a list", float: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in types)


# -- versions ---------------------------------------------------------------
def migrate_v0_to_v1(d: dict) -> dict:
    """Version 0 (pre-release) called the graph 'network' and had no 'schedule'."""
    d = dict(d)
    if "network" in d and "graph" not in d:
        d["graph"] = d.pop("network")
    d.setdefault("schedule", {"type": "constant", "params": {}})
    d["format_version"] = 1
    return d


MIGRATIONS = {0: migrate_v0_to_v1}


def migrate(d: dict) -> dict:
    v = d.get("format_version", 0)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise SessionError(f"format_version must be a non-negative integer, got {v!r}")
    if v > FORMAT_VERSION:
        raise SessionError(
            f"this session was made by a newer version of NN Playground (format {v}; this build reads up to "
            f"{FORMAT_VERSION}{', app ' + str(d.get('app_version')) if d.get('app_version') else ''}); please update"
        )
    while v < FORMAT_VERSION:
        d = MIGRATIONS[v](d)
        v = d["format_version"]
    return d


# -- files ----------------------------------------------------------------
MAX_DEPTH = 64  # sessions nest a few levels; more is a damaged or hostile file (and would exhaust the stack)


def check_depth(doc, where: str, limit: int = MAX_DEPTH):
    """Refuse JSON nested deeper than ``limit`` (iteratively: the check itself never recurses)."""
    stack = [(doc, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > limit:
                raise SessionError(f"{where} is nested more than {limit} levels deep; a session needs far fewer")
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))


def parse_session_json(data: bytes, where: str):
    """bytes -> JSON document, every failure a one-line SessionError (bad UTF-8, syntax, nesting, NaN literals kept)."""
    try:
        d = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SessionError(f"{where} is not a UTF-8 JSON session file") from None
    except json.JSONDecodeError as e:
        raise SessionError(f"{where} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise SessionError(f"{where} is nested too deeply to be a session") from None
    check_depth(d, where)
    return d


def load_session(path) -> Session:
    """Load a ``.json`` session (``.nnp`` archives are handled by engine.archive)."""
    path = os.fspath(path)
    if path.endswith(".nnp"):
        from .archive import load_archive

        return load_archive(path).session
    from .safe_io import read_bytes_limited  # a hard limit: /dev/zero reports size 0, a FIFO never ends

    d = parse_session_json(read_bytes_limited(path, MAX_JSON_BYTES, what="session file", error=SessionError), path)
    session = Session.from_dict(d)
    from .archive import check_session_limits  # refuse absurd sizes before anything is allocated

    check_session_limits(session, where=path)
    from .data.dataset import resolve_data_file  # a CSV named by path is read now, relative to this file

    session.dataset = resolve_data_file(session.dataset, os.path.dirname(os.path.abspath(path)))
    return session


def atomic_write_bytes(path, data: bytes) -> str:
    """Write beside the target, fsync, then rename (see engine.safe_io: modes, symlinks, stale temporaries)."""
    from .safe_io import atomic_write_bytes as write

    return write(path, data)


def save_session_json(session: Session, path):
    from .data.arrays import json_default
    from .data.dataset import dataset_for_json

    d = session.to_dict()
    d["dataset"] = dataset_for_json(d["dataset"])  # a CSV read from a path is written as that path, not its rows
    atomic_write_bytes(path, (json.dumps(d, indent=2, default=json_default) + "\n").encode("utf-8"))
