"""Runs kept in a session: every training as a record of its settings, curves and final scores.

Comparing settings is the experimental half of the notes (lectures 000/003): a person changes the
learning rate, trains again and wants to see the two curves side by side, labelled by what differs
("lr 0.03 vs 0.1"), not remember them. A ``RunRecord`` is that memory: plain numbers and JSON only
(the settings dict, the per-epoch curves, the final metrics, optionally the weights), so it outlives
the ``engine.Run`` it came from, is saved in a ``.nnp`` (``runs/`` members, see ``archive_members``),
and is read back without executing anything (JSON, hand-checked ``.npy``, safetensors).
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput, SessionError

CURVES = ("train_loss", "val_loss", "train_acc", "val_acc", "lr")
INDEX_MEMBER = "runs/index.json"
MEMBER_RE = re.compile(r"^runs/[0-9]{4}-(curves|weights)\.(npy|safetensors)$")
MAX_RUNS = 500
_IGNORED = ("view", "name", "notes", "app_version", "format_version")
_SHORT = {"optimizer.params.lr": "lr", "optimizer.type": "optimizer", "training.batch_size": "batch size",
          "training.epochs": "epochs", "seed": "seed", "loss.type": "loss", "schedule.type": "schedule",
          "dataset.type": "dataset"}


@dataclass
class RunRecord:
    """One training as data: what it was (settings), how it went (curves), where it ended (metrics)."""

    name: str
    settings: dict  # Session.to_dict() without the view
    curves: dict = field(default_factory=dict)  # CURVES key -> float64 (epochs,)
    metrics: dict = field(default_factory=dict)  # {"val": {...}, "test": {...}} numbers only
    epochs: int = 0
    steps: int = 0
    engine_path: str = ""
    created: float = field(default_factory=time.time)
    weights: dict | None = None  # {"node.param": numpy array} when the user chose to keep them

    @classmethod
    def from_run(cls, run, name: str | None = None, *, keep_weights: bool = False) -> "RunRecord":
        """Record a built ``engine.Run`` between two of its steps (it may go on training afterwards)."""
        with run.snapshot() as tr:
            settings = tr.session.to_dict()
            h = tr.history
            curves = {k: h.epoch_array(k).copy() for k in CURVES}
            metrics = {}
            for split in ("val", "test"):
                if len(tr.x[split]):
                    loss, m, _ = tr.evaluate_split(split)
                    metrics[split] = _numbers(dict(m, loss=loss))
            weights = ({k: v.detach().cpu().numpy().copy() for k, v in tr.model.state_dict().items()}
                       if keep_weights else None)
            epochs, steps = tr.epoch, tr.step
        try:
            path = run.engine_path
        except Exception:  # noqa: BLE001 - a label only
            path = ""
        settings.pop("view", None)
        return cls(name or settings.get("name") or "run", settings, curves, metrics, epochs, steps, path,
                   weights=weights)

    def score(self, split: str = "val") -> tuple[str, float] | None:
        """The headline figure: accuracy for classification, R² for regression, else the loss."""
        m = self.metrics.get(split) or {}
        for key in ("accuracy", "r2", "loss"):
            if key in m:
                return key, m[key]
        return None

    def session(self):
        """The settings as a ``Session`` (what "restore" writes into the document)."""
        from .session import Session

        return Session.from_dict(dict(self.settings))


def _numbers(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            v = float(v)
            out[k] = v if math.isfinite(v) else None
    return out


# -- what differs -------------------------------------------------------------------------------
def _flat(settings: dict) -> dict:
    """``{"optimizer.params.lr": 0.1, "graph.h1.units": 8, ...}``: leaves addressed as engine.tuning does."""
    out = {}

    def walk(prefix, v):
        if isinstance(v, dict) and v:
            for k in v:
                walk(f"{prefix}.{k}" if prefix else str(k), v[k])
        else:
            out[prefix] = v

    for key, value in settings.items():
        if key in _IGNORED:
            continue
        if key == "graph" and isinstance(value, dict):
            for n in value.get("nodes", []):
                for part in ("params", "init"):
                    for p, pv in (n.get(part) or {}).items():
                        walk(f"graph.{n['id']}.{p}" if part == "params" else f"graph.{n['id']}.init.{p}", pv)
                out[f"graph.{n['id']}.type"] = n.get("type")
            out["graph.edges"] = json.dumps(value.get("edges", []), sort_keys=True)
            out["graph.nodes"] = ",".join(n["id"] for n in value.get("nodes", []))
        elif isinstance(value, (str, int, float)) and key in ("loss", "optimizer", "schedule"):
            walk(key + ".type", value)
        else:
            walk(key, value)
    return out


def _canonical(settings: dict) -> dict:
    """Settings with registry defaults filled in, so spelling a default out is no difference."""
    from .session import Session

    try:
        s = Session.from_dict({k: v for k, v in settings.items() if k != "view"})
        return s.canonicalize().to_dict()
    except Exception:  # noqa: BLE001 - an old or damaged record still compares as written
        return settings


def short_name(path: str) -> str:
    """``optimizer.params.lr`` → ``lr``; ``graph.h1.units`` → ``h1.units``; ``training.x`` → ``x``."""
    if path in _SHORT:
        return _SHORT[path]
    for prefix in ("optimizer.params.", "training.", "graph.", "dataset.params.", "schedule.params."):
        if path.startswith(prefix):
            return path[len(prefix):].replace("_", " ")
    return path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple, dict)):
        text = json.dumps(v, default=str)
        return text if len(text) <= 30 else text[:29] + "…"
    if isinstance(v, str) and len(v) > 40:
        return v[:39] + "…"
    return str(v)


def differing_paths(settings_list: list) -> list:
    """The setting paths whose values are not all equal across ``settings_list`` (in a stable order)."""
    flats = [_flat(_canonical(s)) for s in settings_list]
    keys = []
    for f in flats:
        keys += [k for k in f if k not in keys]
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flats}) > 1]


def diff_settings(a: dict, b: dict) -> list[str]:
    """What differs between two runs' settings, each as one phrase: ``["lr 0.03 vs 0.1", "seed 0 vs 1"]``."""
    fa, fb = _flat(_canonical(a)), _flat(_canonical(b))
    out = []
    for k in differing_paths([a, b]):
        out.append(f"{short_name(k)} {_fmt(fa.get(k, '—'))} vs {_fmt(fb.get(k, '—'))}")
    return out


def legend_labels(records: list, limit: int = 3) -> list[str]:
    """One legend entry per record naming its value of what differs across them: ``"lr 0.03, seed 1"``.

    Identical settings fall back to the record's name; more than ``limit`` differences end in "…".
    """
    paths = [p for p in differing_paths([r.settings for r in records]) if p not in ("graph.edges", "graph.nodes")]
    labels = []
    for r in records:
        f = _flat(_canonical(r.settings))
        parts = [f"{short_name(p)} {_fmt(f.get(p, '—'))}" for p in paths[:limit]]
        if len(paths) > limit:
            parts.append("…")
        labels.append(", ".join(parts) if parts else r.name)
    return labels


# -- the .nnp members --------------------------------------------------------------------------
def member_limit(name: str) -> int:
    """Size limit of a ``runs/`` member for the archive's checks (0: not a runs member)."""
    if name == INDEX_MEMBER:
        return 64 << 20
    if MEMBER_RE.match(name):
        return 2 << 30 if name.endswith(".safetensors") else 512 << 20
    return 0


def archive_members(records: list, pack_data) -> list:
    """``[(name, bytes, compress)]`` for ``records``: an index JSON, one curves ``.npy`` each, weights if kept.

    ``pack_data(dataset_dict)`` replaces imported arrays by the archive's shared ``data/`` placeholders
    (a run on a CSV stores no second copy of the data).
    """
    from .data.arrays import npy_bytes

    if len(records) > MAX_RUNS:
        raise InvalidInput(f"a session keeps at most {MAX_RUNS} runs, got {len(records)} (delete some)")
    index, members = [], []
    for i, r in enumerate(records):
        settings = dict(r.settings)
        if isinstance(settings.get("dataset"), dict):
            settings["dataset"] = pack_data(settings["dataset"])
        curves = np.stack([np.asarray(r.curves.get(k, []), dtype=np.float64) for k in CURVES]) \
            if r.epochs and all(len(r.curves.get(k, [])) == len(r.curves.get(CURVES[0], [])) for k in CURVES) \
            else np.zeros((len(CURVES), 0))
        cname = f"runs/{i:04d}-curves.npy"
        members.append((cname, npy_bytes(curves), True))
        entry = {"name": r.name, "settings": settings, "metrics": r.metrics, "epochs": int(r.epochs),
                 "steps": int(r.steps), "engine_path": r.engine_path, "created": float(r.created),
                 "curves": cname, "curve_keys": list(CURVES), "weights": None}
        if r.weights:
            from safetensors.numpy import save as save_np

            wname = f"runs/{i:04d}-weights.safetensors"
            members.append((wname, save_np({k: np.ascontiguousarray(v) for k, v in r.weights.items()}), False))
            entry["weights"] = wname
        index.append(entry)
    text = json.dumps({"runs": index}, default=_jsonable).encode("utf-8")
    return [(INDEX_MEMBER, text, True)] + members


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def load_records(read, load_npy, unpack_data, where: str) -> list:
    """The records of an archive: ``read(name) -> bytes`` (checked), ``load_npy(bytes, name)``, ``unpack_data``.

    An archive without ``runs/index.json`` (saved before runs existed) has none. A damaged index is
    a ``SessionError`` naming it.
    """
    try:
        doc = json.loads(read(INDEX_MEMBER).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SessionError(f"{where}: {INDEX_MEMBER} is not valid JSON ({e})") from None
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or len(runs) > MAX_RUNS:
        raise SessionError(f"{where}: {INDEX_MEMBER} must hold a list of at most {MAX_RUNS} runs")
    out = []
    for i, e in enumerate(runs):
        if not isinstance(e, dict) or not isinstance(e.get("settings"), dict) or not isinstance(e.get("name"), str):
            raise SessionError(f"{where}: {INDEX_MEMBER} run {i} needs a name and a settings object")
        settings = dict(e["settings"])
        if "dataset" in settings:
            settings["dataset"] = unpack_data(settings["dataset"])
        curves = {}
        cname = e.get("curves")
        if isinstance(cname, str):
            if not MEMBER_RE.match(cname):
                raise SessionError(f"{where}: run member name {cname[:80]!r} is not allowed")
            arr = load_npy(read(cname), cname)
            keys = e.get("curve_keys") or list(CURVES)
            if arr.ndim != 2 or arr.shape[0] != len(keys):
                raise SessionError(f"{where}: {cname} must hold one row per curve ({len(keys)})")
            curves = {str(k): arr[j].astype(np.float64) for j, k in enumerate(keys)}
        weights = None
        wname = e.get("weights")
        if isinstance(wname, str):
            if not MEMBER_RE.match(wname):
                raise SessionError(f"{where}: run member name {wname[:80]!r} is not allowed")
            from safetensors.numpy import load as load_np

            try:
                weights = dict(load_np(read(wname)))
            except Exception as err:  # noqa: BLE001 - safetensors has its own error types
                raise SessionError(f"{where}: {wname} is not a valid safetensors file ({err})") from None
        metrics = e.get("metrics") if isinstance(e.get("metrics"), dict) else {}
        out.append(RunRecord(e["name"], settings, curves, {k: _numbers(v) for k, v in metrics.items()
                                                           if isinstance(v, dict)},
                             _int(e.get("epochs")), _int(e.get("steps")), str(e.get("engine_path") or ""),
                             float(e["created"]) if isinstance(e.get("created"), (int, float)) else 0.0, weights))
    return out


def _int(v) -> int:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else 0
