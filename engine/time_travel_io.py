"""A Recorder's checkpoints as ``.nnp`` members: safetensors for every number, one JSON index for the rest.

Why a module of its own: the archive must stay the only place that reads a zip, and the Recorder must
stay free of file formats. ``checkpoint_members`` turns checkpoints into ``(name, bytes)`` pairs the
archive writes; ``load_checkpoints`` reads them back through a ``read(name)`` callable the archive
gives it. Nothing here executes anything from the file: the index is JSON, weights and optimizer
tensors are safetensors, every name is matched against a fixed pattern and every shape against the
network's. A checkpoint whose member is damaged is left out with a one-line reason and the others
are kept; a damaged index loses the checkpoints only, never the session.

Members (docs/session-format.md): ``checkpoints/index.json``, ``checkpoints/NNNN-weights.safetensors``
(the model's state_dict, numpy float arrays) and ``checkpoints/NNNN-optimizer.safetensors`` (the
optimizer state's tensors, flattened as ``engine.checkpoint`` does for the training state, with the
non-tensor part in the index).
"""
from __future__ import annotations

import json
import re

import numpy as np

from .errors import SessionError
from .time_travel import Checkpoint, Recorder, _state_bytes

PREFIX = "checkpoints/"
INDEX = "checkpoints/index.json"
FORMAT = 1
MEMBER_RE = re.compile(r"^checkpoints/(\d{4,6})-(weights|optimizer)\.safetensors$")
MiB, GiB = 1 << 20, 1 << 30
INDEX_LIMIT = 16 * MiB
TENSORS_LIMIT = 2 * GiB
MAX_CHECKPOINTS = 10_000


def member_limit(name: str) -> int:
    """Bytes a checkpoint member may declare (0: not one of ours, ignored by the archive)."""
    if name == INDEX:
        return INDEX_LIMIT
    return TENSORS_LIMIT if MEMBER_RE.match(name) else 0


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    raise TypeError(f"{type(o).__name__} cannot be written to JSON")


def checkpoint_members(recorder: Recorder) -> list:
    """``[(member name, bytes)]`` for every checkpoint of ``recorder`` and the index (empty without any).

    An optimizer state that holds something other than tensors and plain numbers (none of the
    product's optimizers do today) is left out: a branch from that checkpoint starts the optimizer fresh.
    """
    from safetensors.numpy import save as save_numpy
    from safetensors.torch import save as save_torch

    from .checkpoint import _flatten_optimizer

    cps = list(recorder.checkpoints)
    if not cps:
        return []
    members, entries = [], []
    for i, cp in enumerate(cps):
        wname = f"{PREFIX}{i:04d}-weights.safetensors"
        members.append((wname, save_numpy({k: np.ascontiguousarray(v) for k, v in cp.weights.items()})))
        entry = {"step": int(cp.step), "epoch": int(cp.epoch), "epoch_end": bool(cp.epoch_end), "weights": wname,
                 "optimizer": None, "optimizer_state": None}
        if cp.optimizer_state:
            tensors: dict = {}
            try:
                meta = _jsonable(_flatten_optimizer(cp.optimizer_state, tensors))
            except TypeError:
                meta = None
            if meta is not None:
                oname = f"{PREFIX}{i:04d}-optimizer.safetensors"
                members.append((oname, save_torch({k: v.detach().cpu().contiguous() for k, v in tensors.items()})))
                entry["optimizer"], entry["optimizer_state"] = oname, meta
        entries.append(entry)
    index = {"format": FORMAT, "budget_bytes": int(recorder.budget), "dense": int(recorder.dense),
             "growth": float(recorder.growth), "checkpoints": entries}
    members.insert(0, (INDEX, json.dumps(index, indent=1).encode("utf-8")))
    return members


def _fail(where, text):
    return SessionError(f"{where}: {text}; the session opens without its checkpoints")


def _index(raw: bytes, where: str) -> dict:
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail(where, f"{INDEX} is not valid JSON ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT or not isinstance(d.get("checkpoints"), list):
        raise _fail(where, f"{INDEX} is not a checkpoint index of format {FORMAT}")
    if len(d["checkpoints"]) > MAX_CHECKPOINTS:
        raise _fail(where, f"{INDEX} lists {len(d['checkpoints'])} checkpoints (limit {MAX_CHECKPOINTS})")
    return d


def _whole(v, name):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"'{name}' must be a whole number ≥ 0")
    return v


def _one(entry, read, shapes: dict | None, where: str) -> Checkpoint:
    """One checkpoint from its index entry; ValueError/SessionError say what is wrong with it."""
    from safetensors.numpy import load as load_numpy
    from safetensors.torch import load as load_torch

    from .checkpoint import _unflatten_optimizer

    if not isinstance(entry, dict):
        raise ValueError("its index entry is not an object")
    step, epoch = _whole(entry.get("step"), "step"), _whole(entry.get("epoch"), "epoch")
    wname = entry.get("weights")
    if not isinstance(wname, str) or not MEMBER_RE.match(wname) or not wname.endswith("-weights.safetensors"):
        raise ValueError(f"weights member name {wname!r} is not allowed")
    try:
        weights = load_numpy(read(wname))
    except SessionError:
        raise
    except Exception as e:  # noqa: BLE001 - safetensors raises its own types for a bad header
        raise ValueError(f"{wname} is not a valid safetensors file ({type(e).__name__}: {str(e)[:120]})") from None
    for k, v in weights.items():
        if v.dtype.kind not in "fiub":
            raise ValueError(f"{wname}: tensor {k!r} holds {v.dtype} values")
    if shapes is not None:
        got = {k: tuple(v.shape) for k, v in weights.items()}
        if got != shapes:
            diff = sorted(set(got) ^ set(shapes)) or [k for k in shapes if got[k] != shapes[k]]
            raise ValueError(f"{wname} does not fit the network (tensor {diff[0]!r})")
    opt = {}
    oname = entry.get("optimizer")
    if oname is not None:
        if not isinstance(oname, str) or not MEMBER_RE.match(oname) or not oname.endswith("-optimizer.safetensors"):
            raise ValueError(f"optimizer member name {oname!r} is not allowed")
        try:
            tensors = load_torch(read(oname))
            opt = _unflatten_optimizer(entry["optimizer_state"], tensors)
        except SessionError:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged member or index entry: this checkpoint only
            raise ValueError(f"{oname} is damaged ({type(e).__name__}: {str(e)[:120]})") from None
    nbytes = sum(a.nbytes for a in weights.values()) + (_state_bytes(opt) if opt else 0)
    return Checkpoint(step, epoch, weights, opt, bool(entry.get("epoch_end", False)), nbytes)


def load_checkpoints(read, where: str, shapes: dict | None = None) -> tuple[Recorder | None, str | None]:
    """``(Recorder with the saved checkpoints, None)``, or with a one-line note of what could not be read.

    ``read(name)`` returns a member's bytes (the archive's checked reader); ``shapes``: ``{state_dict key:
    shape}`` every checkpoint's weights must have (the saved training's). A damaged index gives
    ``(None, note)``; a damaged checkpoint is left out and named in the note.
    """
    try:
        d = _index(read(INDEX), where)
    except SessionError as e:
        return None, str(e)
    budget = d.get("budget_bytes")
    try:
        rec = Recorder(budget_bytes=budget if isinstance(budget, int) and budget > 0 else 64 * MiB,
                       dense=d.get("dense", 20), growth=d.get("growth", 1.25))
    except Exception:  # noqa: BLE001 - odd policy numbers: the defaults
        rec = Recorder()
    bad, cps = [], []
    for i, entry in enumerate(d["checkpoints"]):
        try:
            cps.append(_one(entry, read, shapes, where))
        except (ValueError, SessionError, KeyError, TypeError) as e:
            bad.append(f"checkpoint {i + 1}: {str(e).removeprefix(where + ': ')}")
    cps.sort(key=lambda c: c.step)
    rec.checkpoints = cps
    rec.budget = max(rec.budget, rec.nbytes)  # what was saved fits, whatever the number in the index says
    if cps:
        rec.resume_after(cps[-1].step)
    note = None
    if bad:
        note = (f"{where}: {len(bad)} of {len(d['checkpoints'])} checkpoints could not be read ({bad[0]}); "
                f"the others are kept")
    return rec, note
