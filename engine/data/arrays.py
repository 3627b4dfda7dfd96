"""Imported data held as arrays, not JSON lists: copied for free, fingerprinted by content hash.

A CSV of 100,000 rows × 10 columns used to live in the session as nested lists:
every session copy deep-copied a million Python floats (~0.5 s) and every
fingerprint serialised them (~0.4 s), on the GUI thread. A ``DataArray`` is an
immutable numpy array with a cached SHA-256 of its dtype, shape and bytes:
``copy.deepcopy`` returns the same object, ``str()`` is the hash (so any
``json.dumps(..., default=str)`` key compares content), and archives store it
as a ``.npy`` member (``pack``/``unpack``), never pickled. Plain ``.json``
sessions still write lists, so they stay readable by hand and by older builds.
"""
from __future__ import annotations

import hashlib
import io

import numpy as np

from ..errors import InvalidInput

ALLOWED_KINDS = "biuf"  # booleans, integers, floats: nothing that could hold an object
PLACEHOLDER = "$npy"  # {"$npy": member name, "sha256": hex, "shape": [...], "dtype": "float64"} in session.json
MEMBER_PREFIX = "data/"


class DataArray:
    """A read-only numeric array with a content hash; behaves enough like a sequence for ``len`` and indexing."""

    __slots__ = ("array", "_digest")

    def __init__(self, array):
        a = np.array(array, copy=True) if not isinstance(array, np.ndarray) else np.ascontiguousarray(array)
        if a.dtype.kind not in ALLOWED_KINDS:
            raise InvalidInput(f"data arrays hold numbers only, got {a.dtype}")
        if a is array:  # never freeze the caller's own array
            a = a.copy()
        a.setflags(write=False)
        self.array = a
        self._digest = None

    @property
    def digest(self) -> str:
        """SHA-256 of dtype, shape and bytes: equal digests mean equal data (computed once)."""
        if self._digest is None:
            h = hashlib.sha256()
            h.update(f"{self.array.dtype.str}{self.array.shape}".encode("ascii"))
            h.update(memoryview(self.array).cast("B"))
            self._digest = h.hexdigest()
        return self._digest

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.array.dtype:
            return self.array.astype(dtype)
        return self.array.copy() if copy else self.array

    def __len__(self):
        return len(self.array)

    def __bool__(self):
        return self.array.size > 0

    def __getitem__(self, index):
        return self.array[index]

    def __iter__(self):
        return iter(self.array)

    def tolist(self):
        return self.array.tolist()

    def __eq__(self, other):
        if isinstance(other, DataArray):
            return self is other or self.digest == other.digest
        if isinstance(other, (list, tuple)):  # the same data written as lists (a .json session) is equal
            return self.array.tolist() == list(other)
        return NotImplemented

    def __hash__(self):
        return hash(self.digest)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self  # immutable: a session copy shares it

    def __repr__(self):
        return f"DataArray(shape={tuple(self.array.shape)}, dtype={self.array.dtype}, sha256={self.digest})"

    __str__ = __repr__  # json.dumps(default=str) in fingerprints: the content hash, not a million numbers


def as_array(value):
    """The numpy array behind a DataArray or ndarray, else None (a list is left to the list code)."""
    if isinstance(value, DataArray):
        return value.array
    if isinstance(value, np.ndarray):
        return value
    return None


def json_default(o):
    """``json.dumps`` hook for plain ``.json`` sessions: arrays are written as nested lists."""
    if isinstance(o, DataArray):
        return o.tolist()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def pack(doc, members: dict, prefix: str = MEMBER_PREFIX):
    """Copy of ``doc`` with every DataArray replaced by a placeholder; ``members`` gets ``{name: .npy bytes}``.

    Names are ``data/<sha256>.npy``: equal arrays are stored once.
    """
    if isinstance(doc, DataArray):
        name = f"{prefix}{doc.digest}.npy"
        members.setdefault(name, npy_bytes(doc.array))
        return {PLACEHOLDER: name, "sha256": doc.digest, "shape": list(doc.shape), "dtype": doc.dtype.str}
    if isinstance(doc, dict):
        return {k: pack(v, members, prefix) for k, v in doc.items()}
    if isinstance(doc, list):
        return [pack(v, members, prefix) for v in doc]
    return doc


def is_placeholder(v) -> bool:
    return isinstance(v, dict) and PLACEHOLDER in v


def unpack(doc, load_member, where="the archive"):
    """Replace placeholders by DataArrays; ``load_member(name) -> np.ndarray`` reads a checked ``.npy``.

    The stored hash is checked against the bytes read, so a damaged member is refused, not trained on.
    """
    if is_placeholder(doc):
        name, digest = doc.get(PLACEHOLDER), doc.get("sha256")
        if not isinstance(name, str) or not name.startswith(MEMBER_PREFIX) or not name.endswith(".npy"):
            raise InvalidInput(f"{where}: data member name {str(name)[:80]!r} is not allowed")
        arr = DataArray(load_member(name))
        if digest is not None and arr.digest != digest:
            raise InvalidInput(f"{where}: {name} does not match its recorded SHA-256 (the archive is damaged)")
        return arr
    if isinstance(doc, dict):
        return {k: unpack(v, load_member, where) for k, v in doc.items()}
    if isinstance(doc, list):
        return [unpack(v, load_member, where) for v in doc]
    return doc


def placeholders(doc) -> list:
    """Member names the placeholders in ``doc`` refer to."""
    out, stack = [], [doc]
    while stack:
        v = stack.pop()
        if is_placeholder(v):
            out.append(v.get(PLACEHOLDER))
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out
