"""Reading and writing the user's files without hanging, exhausting memory or destroying their work.

Why a module of its own: every file the program touches goes through the same
few rules, and they are easy to get subtly wrong one call site at a time.

Reading: only regular files, and never more than a hard byte limit, whatever
``stat`` claims (``/dev/zero`` reports size 0; a FIFO blocks forever on open).

Writing: beside the target, fsync, rename, so a crash leaves the old file
intact. The new file keeps the mode of the file it replaces (a new one follows
the umask, as any editor's would), a symlink is written through (its link is
never replaced), and non-regular targets (devices, FIFOs, folders) are refused.
Temporary files of ours that a crash left behind are removed on the next save.
``check_output`` adds the command line's rules on top: never over the input,
never over a file this program did not write, unless the user says ``--force``.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
import time
import zipfile

from .errors import InvalidInput

TMP_PREFIX = ".tmp-"
STALE_SECONDS = 3600  # a temporary file of a live process older than this is a leftover too
_TMP_RE = re.compile(r"^\.tmp-(\d+)-[A-Za-z0-9_]{6,}-(?P<name>.+)$")
_LEGACY_TMP_RE = re.compile(r"^\.tmp-[A-Za-z0-9_]{8}(?P<name>.+)$")  # before the pid was in the name


def kind_of(st_mode) -> str:
    """A word for what a non-regular path is, for messages."""
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(st_mode):
            return word
    return "not a regular file"


# -- reading --------------------------------------------------------------------------------------
def read_bytes_limited(path, limit: int, *, what: str = "file", error=InvalidInput) -> bytes:
    """The file's bytes, refusing non-regular files and anything over ``limit`` bytes (read, not just stat'ed)."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise error(f"cannot open {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path} is {kind_of(st.st_mode)}, not a {what}")
    if st.st_size > limit:
        raise error(f"{path} is {st.st_size:,} bytes, over the {limit:,}-byte limit for a {what}")
    try:  # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open must not block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise error(f"cannot open {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise error(f"{path} is not a regular file, not a {what}")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise error(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise error(f"{path} is over the {limit:,}-byte limit for a {what}")
    return data


# -- writing --------------------------------------------------------------------------------------
def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # no race-free way to read it elsewhere; restored at once
    os.umask(old)
    return old


def resolve_target(path) -> str:
    """The path to write for ``path``: a symlink's target (so the link survives); refuses non-regular files."""
    path = os.fspath(path)
    real = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as e:
        raise InvalidInput(f"cannot write {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"cannot write {path}: it is {kind_of(st.st_mode)}; refusing to replace it with a file")
    return real


def clean_stale_temps(folder: str, name: str, *, now: float | None = None) -> list:
    """Remove our own leftover temporaries for ``name`` in ``folder`` (their process is gone, or they are old)."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if not entry.startswith(TMP_PREFIX):
            continue
        m = _TMP_RE.match(entry)
        legacy = m is None
        m = m or _LEGACY_TMP_RE.match(entry)
        if m is None or m.group("name") != name:
            continue
        full = os.path.join(folder, entry)
        try:
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                continue
            old = now - st.st_mtime > STALE_SECONDS
            if not (old or (not legacy and not _alive(int(m.group(1))))):
                continue
            os.unlink(full)
            removed.append(full)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # our own: maybe another thread's save in progress; the age rule covers a real leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def atomic_write_bytes(path, data) -> str:
    """Write beside the target, fsync, then rename: a crash or full disk leaves the old file intact.

    Returns the path written (a symlink's target). Raises OSError for the file system's refusals
    and InvalidInput for a target that is not a regular file.
    """
    target = resolve_target(path)
    folder = os.path.dirname(os.path.abspath(target))
    name = os.path.basename(target)
    clean_stale_temps(folder, name)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=f"-{name}", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


# -- the command line's rules ---------------------------------------------------------------------
def _head(path, n=4096) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _is_nnp(path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "session.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return False


def _json_format(path, limit=64 << 20):
    try:
        d = json.loads(read_bytes_limited(path, limit).decode("utf-8"))
    except (InvalidInput, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return d.get("format") if isinstance(d, dict) else None


def _safetensors_format(path):
    head = _head(path, 1 << 20)
    if len(head) < 8:
        return None
    n = int.from_bytes(head[:8], "little")
    if not 2 <= n <= len(head) - 8:
        return None
    try:
        meta = json.loads(head[8:8 + n]).get("__metadata__") or {}
    except (ValueError, AttributeError, RecursionError):
        return None
    return meta.get("format") if isinstance(meta, dict) else None


def _is_torchscript(path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/constants.pkl") or n.endswith("/data.pkl") for n in zf.namelist()[:1000])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return False


# What each kind of file we write looks like, so "replace it" is only ever automatic for our own files.
OURS = {
    "nnp": _is_nnp,
    "json": lambda p: _json_format(p) == "nn-playground-weights",
    "session": lambda p: _json_format(p) is None and b'"format_version"' in _head(p, 1 << 16),
    "safetensors": lambda p: str(_safetensors_format(p) or "").startswith("nn-playground"),
    # ONNX is protobuf: ir_version (field 1), then producer_name (field 2) "pytorch", torch's exporter
    "onnx": lambda p: _head(p, 2)[:1] == b"\x08" and b"\x12\x07pytorch" in _head(p, 16),
    "torchscript": _is_torchscript,
    "pytorch": lambda p: re.match(rb'"""[^\n]{0,300}exported by NN Playground', _head(p, 400)) is not None,
    "report": lambda p: _head(p, 16).startswith(b"<!DOCTYPE html>") and b"NN Playground report</title>" in _head(p, 4096),
    "csv": lambda p: False,
}


KIND_NAMES = {"nnp": "a .nnp archive", "json": "an architecture file", "session": "a session",
              "safetensors": "a safetensors file", "onnx": "an ONNX model", "torchscript": "a TorchScript model",
              "pytorch": "a PyTorch source file", "report": "an HTML report", "csv": "a CSV file"}


def written_by_us(path, kind: str) -> bool:
    """Whether ``path`` looks like a ``kind`` file this program wrote (an empty file counts: nothing to lose)."""
    try:
        if os.path.getsize(path) == 0:
            return True
    except OSError:
        return False
    test = OURS.get(kind)
    return bool(test and test(path))


def same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path, kind: str, *, inputs=(), force: bool = False, flag: str = "--out", role: str = "") -> str:
    """Refuse a target the user would not want replaced; return the path to write (a symlink's target).

    Always refused: folders, devices, FIFOs and sockets, and a missing folder. Refused unless ``force``:
    one of ``inputs`` (the file being read), and an existing non-empty file that is not a ``kind`` file
    this program wrote. ``role`` names a companion file ("the architecture file") in messages.
    """
    path = os.fspath(path)
    what = f"{role} {path}" if role else f"{flag} {path}"
    if not path or path.endswith(os.sep):
        raise InvalidInput(f"{flag} must name a file, got {path!r}")
    try:
        target = resolve_target(path)
    except InvalidInput:
        st = os.stat(os.path.realpath(path))
        raise InvalidInput(f"{what} is {kind_of(st.st_mode)}; refusing to write over it") from None
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise InvalidInput(f"cannot write {path}: the folder {folder} does not exist")
    if not os.path.exists(target) or force:
        return target
    for src in inputs:
        if src is not None and same_file(target, src):
            raise InvalidInput(f"{what} is the session being read; choose another name (or add --force to replace it)")
    if not written_by_us(target, kind):
        raise InvalidInput(f"{what} exists and is not {KIND_NAMES.get(kind, 'a ' + kind + ' file')} written by "
                           f"NN Playground; refusing to replace it (choose another name, or add --force)")
    return target


def write_error(path, e: OSError) -> str:
    """One line for a failed write, naming the common causes plainly."""
    reason = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
    return f"cannot write {path}: {reason}"
