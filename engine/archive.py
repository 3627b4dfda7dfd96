"""The ``.nnp`` archive: a zip of session.json, weights.safetensors, history/*.npy and a thumbnail.

Loading never executes anything from the file: zipfile + json + safetensors +
a hand-checked ``.npy`` reader (no pickle, no ``torch.load``). Every declared
size is checked against a limit before a byte is inflated, and the network's
parameter count is checked before a weight is allocated. Any defect becomes a
``SessionError`` naming the member at fault. Layout: docs/session-format.md.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput, SessionError
from .data.arrays import pack as pack_arrays
from .history import History
from .session import Session, atomic_write_bytes, parse_session_json

MiB, GiB = 1 << 20, 1 << 30
SESSION_MEMBER = "session.json"
WEIGHTS_MEMBER = "weights.safetensors"
THUMBNAIL_MEMBER = "thumbnail.png"
LIMITS = {SESSION_MEMBER: 64 * MiB, WEIGHTS_MEMBER: 2 * GiB, THUMBNAIL_MEMBER: 16 * MiB}
NPY_LIMIT = 512 * MiB
TOTAL_LIMIT = 4 * GiB
MAX_MEMBERS = 20_000
# A member this large may not inflate more than MAX_RATIO times (honest files: weights are stored, not deflated).
RATIO_FLOOR, MAX_RATIO = 16 * MiB, 200
MAX_PARAMS = 500_000_000
ARCHIVE_KEYS = ("training_state", "history_summary", "history_files")
HISTORY_NAME_RE = re.compile(r"^history/[A-Za-z0-9_.\-]{1,120}\.npy$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Archive:
    """A loaded ``.nnp``; ``tensors``/``meta`` are empty/None when it was saved before any training."""

    session: Session
    tensors: dict = field(default_factory=dict)
    meta: dict | None = None
    history: History | None = None
    thumbnail: bytes | None = None
    runs: list = field(default_factory=list)  # engine.runs.RunRecord s kept with the session (runs/ members)
    summary: dict | None = None
    path: str | None = None
    checkpoints: object | None = None  # engine.time_travel.Recorder of the saved training (checkpoints/ members)
    checkpoint_note: str | None = None  # one line: checkpoints that could not be read (the rest opened)

    @property
    def trained(self) -> bool:
        return self.meta is not None

    def model_tensors(self) -> dict:
        """The model's state_dict (``model.`` prefix stripped)."""
        return {k[len("model."):]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def restore_into(self, trainer) -> None:
        """Put weights, optimizer, schedule, RNG, position and history back into a fresh ``Trainer(self.session)``."""
        if self.meta is None:
            return
        where = os.path.basename(self.path) if self.path else "the archive"
        check_model_tensors(trainer.model, self.tensors, where=where)
        from .state_check import check_state_fits  # a damaged state is refused now, not as a "divergence" later

        check_state_fits(trainer, self.tensors, self.meta, where)
        try:
            trainer.load_state(self.tensors, self.meta)
        except SessionError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, NotImplementedError, AttributeError,
                OverflowError) as e:
            raise SessionError(f"{where}: the saved training state is damaged ({type(e).__name__}: "
                               f"{str(e)[:160]})") from None
        if self.history is not None:
            trainer.history = self.history
        else:
            trainer.history = History()


# -- limits shared with plain .json sessions ---------------------------------------------------
def check_session_limits(session: Session, *, strict: bool = False, where: str | None = None):
    """Refuse a graph whose parameter count is absurd (before any allocation); ``strict`` also refuses any graph error.

    Returns the GraphReport. Unknown layer types are always refused: nothing could show or build them.
    """
    from .graph import analyze

    pre = f"{where}: " if where else ""
    rep = analyze(session.graph)
    for e in rep.errors:
        if strict or "unknown layer type" in str(e):
            raise SessionError(f"{pre}the network is invalid: {e}")
    total = rep.total_params
    if total > MAX_PARAMS:
        raise SessionError(f"{pre}the network would have {total:,} parameters (limit {MAX_PARAMS:,})")
    return rep


def check_model_tensors(model_or_shapes, tensors: dict, where="the archive"):
    """Clear messages for a weights file that does not fit the network (instead of torch's multi-line one).

    ``model_or_shapes``: a model, or ``{state_dict key: shape}`` as ``expected_shapes`` gives.
    """
    if isinstance(model_or_shapes, dict):
        want = {f"model.{k}": tuple(v) for k, v in model_or_shapes.items()}
    else:
        want = {f"model.{k}": tuple(v.shape) for k, v in model_or_shapes.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in tensors.items() if k.startswith("model.")}
    for k, shape in want.items():
        if k not in have:
            raise SessionError(f"{where}: {WEIGHTS_MEMBER} has no tensor {k!r}, "
                               f"which the network needs (shape {_shape(shape)})")
        if have[k] != shape:
            raise SessionError(f"{where}: tensor {k!r} in {WEIGHTS_MEMBER} has shape {_shape(have[k])} "
                               f"but the network needs {_shape(shape)}")
    extra = sorted(set(have) - set(want))
    if extra:
        raise SessionError(f"{where}: {WEIGHTS_MEMBER} has tensor {extra[0]!r}, which the network does not have")


def expected_shapes(spec, report) -> dict:
    """The model's state_dict shapes, from each node's module built on torch's meta device (allocates nothing).

    Mirrors GraphModule's layout (``layers.<node id>.<name>``) without initializing anything.
    """
    import torch

    from .layers import get_layer

    out = {}
    with torch.device("meta"):
        for nid in report.order:
            lt = get_layer(spec.node(nid).type, node=nid)
            module = lt.build(report.in_shapes.get(nid, []), report.params[nid])
            for k, v in module.state_dict().items():
                out[f"layers.{nid}.{k}"] = tuple(v.shape)
    return out


def _shape(s):
    return "(" + ", ".join(map(str, s)) + ("," if len(s) == 1 else "") + ")"


# -- saving -------------------------------------------------------------------------------------
def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _finite(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def history_summary(history: History, steps: int | None = None) -> dict:
    """Epochs run, best epoch and the last losses: readable without loading the arrays."""
    n = history.n_epochs
    best = None
    for key in ("val_loss", "train_loss"):
        arr = history.epoch_array(key)
        if len(arr) and np.isfinite(arr).any():
            best = int(np.nanargmin(np.where(np.isfinite(arr), arr, np.nan))) + 1
            break
    last = {k: _finite(history.epochs[k][-1]) for k in ("train_loss", "val_loss", "train_acc", "val_acc", "lr")} if n else {}
    return {"epochs": n, "steps": steps, "best_epoch": best, "last": last}


def history_file_name(index: int, key: str) -> str:
    """A flat, portable member name for a history key (the manifest maps it back)."""
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", key)[:100]
    return f"history/{index:04d}-{safe}.npy"


def _npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def build_archive_bytes(session: Session, trainer=None, *, thumbnail_png: bytes | None = None, runs=None,
                        checkpoints=None):
    """The archive as a buffer (a memoryview of the zip), checked against the load limits.

    ``checkpoints``: an ``engine.time_travel.Recorder`` of the training, saved with it (time travel).
    """
    check_session_limits(session)  # never write what load_archive would refuse
    d = session.to_dict()
    data_members: dict = {}  # imported data (DataArrays) as data/<sha256>.npy members, never JSON lists
    d["dataset"] = pack_arrays(d["dataset"], data_members)
    members = []  # (name, bytes, compress)
    if trainer is not None:
        from safetensors.torch import save as save_tensors

        tensors, meta = trainer.state()
        d["training_state"] = meta
        d["history_summary"] = history_summary(trainer.history, trainer.step)
        files = {}
        for i, (key, arr) in enumerate(trainer.history.to_arrays().items()):
            name = history_file_name(i, key)
            files[name] = key
            members.append((name, _npy_bytes(arr), True))
        d["history_files"] = files
        members.append((WEIGHTS_MEMBER, save_tensors(tensors), False))
        if checkpoints is not None:  # numbers are stored like the weights, the JSON index deflated
            from .time_travel_io import INDEX, checkpoint_members

            members += [(name, data, name == INDEX) for name, data in checkpoint_members(checkpoints)]
    else:
        d["training_state"] = None
    if thumbnail_png is not None:
        if not isinstance(thumbnail_png, (bytes, bytearray)) or not bytes(thumbnail_png[:8]) == PNG_SIGNATURE:
            raise InvalidInput("the thumbnail must be PNG bytes")
        members.append((THUMBNAIL_MEMBER, bytes(thumbnail_png), False))
    if runs:  # the session's kept runs (engine/runs.py); their imported data shares the data/ members
        from .runs import archive_members

        members += archive_members(runs, lambda ds: pack_arrays(ds, data_members))
    text = json.dumps(d, indent=1, default=_jsonable).encode("utf-8")
    members.insert(0, (SESSION_MEMBER, text, True))
    members[1:1] = [(name, data, False) for name, data in sorted(data_members.items())]  # stored, as weights: numbers deflate little
    for name, data, _ in members:
        limit = _limit_for(name)
        if len(data) > limit:
            raise SessionError(f"cannot save: {name} would be {_size(len(data))}, "
                               f"over the {_size(limit)} limit of a .nnp archive")
    total = sum(len(data) for _, data, _ in members)
    if total > TOTAL_LIMIT:
        raise SessionError(f"cannot save: the archive would hold {_size(total)}, over the {_size(TOTAL_LIMIT)} limit")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, compress in members:
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
    return buf.getbuffer()


def save_archive(path, session: Session, trainer=None, *, thumbnail_png: bytes | None = None, runs=None,
                 checkpoints=None) -> str:
    """Write ``path`` atomically: on any failure the previous file is left byte-for-byte intact."""
    path = os.fspath(path)
    data = build_archive_bytes(session, trainer, thumbnail_png=thumbnail_png, runs=runs, checkpoints=checkpoints)
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        reason = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
        raise SessionError(f"cannot save {path}: {reason} (the previous file, if any, is unchanged)") from None
    return path


# -- loading ------------------------------------------------------------------------------------
def _limit_for(name):
    if name.startswith("runs/"):
        from .runs import member_limit

        return member_limit(name)
    if name.startswith("checkpoints/"):
        from .time_travel_io import member_limit as checkpoint_limit

        return checkpoint_limit(name)
    if name in LIMITS:
        return LIMITS[name]
    return NPY_LIMIT if name.endswith(".npy") else 0


def _size(n):
    for unit, scale in (("GiB", GiB), ("MiB", MiB)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _check_members(zf: zipfile.ZipFile, where: str) -> dict:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SessionError(f"{where} has {len(infos)} members (limit {MAX_MEMBERS})")
    by_name, total = {}, 0
    for info in infos:
        name = info.filename
        if name in by_name:
            raise SessionError(f"{where}: member {name!r} appears twice")
        by_name[name] = info
        limit = _limit_for(name)
        if limit == 0:
            continue  # unknown members (from a later minor version) are ignored, never read
        if info.file_size > limit:
            raise SessionError(f"{where}: {name} declares {_size(info.file_size)}, over the {_size(limit)} limit")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SessionError(f"{where}: {name} would inflate {info.file_size // max(info.compress_size, 1)}-fold "
                               f"(limit {MAX_RATIO}); refusing a possible zip bomb")
        total += info.file_size
    if total > TOTAL_LIMIT:
        raise SessionError(f"{where} would unpack to {_size(total)}, over the {_size(TOTAL_LIMIT)} limit")
    return by_name


def _read(zf, members, name, where) -> bytes:
    if name not in members:
        raise SessionError(f"{where} is incomplete: member {name!r} is missing")
    info = members[name]
    with zf.open(info) as f:  # zipfile stops at the declared size and checks the CRC
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise SessionError(f"{where}: {name} is {len(data)} bytes but declares {info.file_size}")
    return data


def _load_npy(data: bytes, name: str, where: str) -> np.ndarray:
    """Parse the .npy header by hand and check it against the bytes present before building the array."""
    fmt = np.lib.format
    f = io.BytesIO(data)
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=10_000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=10_000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, SyntaxError, TypeError, EOFError) as e:
        raise SessionError(f"{where}: {name} is not a valid .npy array ({e})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise SessionError(f"{where}: {name} holds {dtype} values; only plain numbers are allowed")
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = len(data) - f.tell()
    if need != have:
        raise SessionError(f"{where}: {name} claims shape {_shape(shape)} ({need} bytes) but holds {have} bytes")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=f.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def _load_weights(data: bytes, where: str) -> dict:
    from safetensors.torch import load as load_tensors

    try:
        tensors = load_tensors(data)
    except Exception as e:  # safetensors raises its own error type (and others) for a bad header
        raise SessionError(f"{where}: {WEIGHTS_MEMBER} is not a valid safetensors file ({type(e).__name__}: {e})") from None
    return tensors


def _meta_check_model(session, report, tensors: dict, where: str):
    try:
        shapes = expected_shapes(session.graph, report)
    except InvalidInput as e:
        raise SessionError(f"{where}: the network cannot be built: {e}") from None
    check_model_tensors(shapes, tensors, where)


def _open_regular(path, where):
    """Open for reading only a regular file within the size limit (a FIFO or device would block or never end)."""
    import stat

    from .safe_io import kind_of

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise SessionError(f"{path} is {kind_of(st.st_mode)}, not a .nnp archive")
        if st.st_size > TOTAL_LIMIT:
            raise SessionError(f"{where} is {_size(st.st_size)}, over the {_size(TOTAL_LIMIT)} limit")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise SessionError(f"cannot open {path}: {e.strerror or e}") from None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the stat and the open
        f.close()
        raise SessionError(f"{path} is not a regular file, not a .nnp archive")
    return f


def load_archive(path) -> Archive:
    """Read and check a ``.nnp``; raises ``SessionError`` naming what is wrong and touches nothing else."""
    path = os.fspath(path)
    where = os.path.basename(path)
    f = _open_regular(path, where)
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        f.close()
        raise SessionError(f"{where} is not a valid .nnp archive (not a zip file, or truncated): {e}") from None
    except OSError as e:
        f.close()
        raise SessionError(f"cannot open {path}: {e.strerror or e}") from None
    with f, zf:
        try:
            members = _check_members(zf, where)
            return _load_members(zf, members, path, where)
        except SessionError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError, zipfile.LargeZipFile,
                zlib.error) as e:
            raise SessionError(f"{where} is damaged ({type(e).__name__}: {e})") from None


def _load_members(zf, members, path, where) -> Archive:
    raw = _read(zf, members, SESSION_MEMBER, where)
    d = parse_session_json(raw, f"{where}: {SESSION_MEMBER}")
    if not isinstance(d, dict):
        raise SessionError(f"{where}: {SESSION_MEMBER} must hold a JSON object, got {type(d).__name__}")
    extra = {k: d.pop(k) for k in ARCHIVE_KEYS if k in d}
    d["dataset"] = _load_data_arrays(zf, members, d.get("dataset"), where)
    try:
        session = Session.from_dict(d)
    except SessionError as e:
        raise SessionError(f"{where}: {e}") from None
    meta = extra.get("training_state")
    if meta is not None and not isinstance(meta, dict):
        raise SessionError(f"{where}: 'training_state' must be an object or null, got {type(meta).__name__}")
    report = check_session_limits(session, strict=meta is not None, where=where)
    summary = extra.get("history_summary")
    archive = Archive(session=session, meta=meta, path=path,
                      summary=summary if isinstance(summary, dict) else None)
    if "runs/index.json" in members:  # saved runs (engine/runs.py); archives before them have none
        from .runs import load_records

        archive.runs = load_records(lambda name: _read(zf, members, name, where),
                                    lambda data, name: _load_npy(data, name, where),
                                    lambda ds: _load_data_arrays(zf, members, ds, where), where)
    if THUMBNAIL_MEMBER in members:
        png = _read(zf, members, THUMBNAIL_MEMBER, where)
        archive.thumbnail = png if png.startswith(PNG_SIGNATURE) else None
    if meta is None:
        return archive
    archive.tensors = _load_weights(_read(zf, members, WEIGHTS_MEMBER, where), where)
    _meta_check_model(session, report, archive.tensors, where)
    archive.history = _load_history(zf, members, extra.get("history_files"), meta, where)
    from .time_travel_io import INDEX, load_checkpoints

    if INDEX in members:  # time travel's checkpoints; archives before them have none
        shapes = {k[len("model."):]: tuple(v.shape) for k, v in archive.tensors.items() if k.startswith("model.")}
        archive.checkpoints, archive.checkpoint_note = load_checkpoints(
            lambda name: _read_apart(zf, members, name, where), where, shapes)
    return archive


def _read_apart(zf, members, name, where) -> bytes:
    """``_read`` for a member whose damage must not stop the rest of the archive from opening."""
    try:
        return _read(zf, members, name, where)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError, zlib.error) as e:
        raise SessionError(f"{where}: {name} is damaged ({type(e).__name__}: {e})") from None


def _load_data_arrays(zf, members, dataset, where):
    """Replace the dataset's ``{"$npy": "data/<sha256>.npy"}`` placeholders by the checked arrays."""
    from .data.arrays import unpack

    try:
        return unpack(dataset, lambda name: _load_npy(_read(zf, members, name, where), name, where), where)
    except SessionError:
        raise
    except InvalidInput as e:
        raise SessionError(str(e)) from None


def _load_history(zf, members, files, meta, where) -> History | None:
    if files is None:
        return None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise SessionError(f"{where}: 'history_files' must map member names to history keys")
    arrays = {}
    for name, key in files.items():
        if not HISTORY_NAME_RE.match(name):
            raise SessionError(f"{where}: history member name {name!r} is not allowed")
        arrays[key] = _load_npy(_read(zf, members, name, where), name, where)
    metrics = meta.get("epoch_metrics")
    if metrics is not None and not (isinstance(metrics, list) and all(isinstance(m, dict) for m in metrics)):
        raise SessionError(f"{where}: 'training_state.epoch_metrics' must be a list of objects")
    try:
        return History.from_arrays(arrays, epoch_metrics=metrics)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise SessionError(f"{where}: the training history is incomplete or damaged ({type(e).__name__}: {e})") from None
