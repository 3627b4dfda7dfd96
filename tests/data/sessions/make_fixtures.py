"""Regenerate the session fixtures in this folder: ``python tests/data/sessions/make_fixtures.py``.

The JSON fixtures are literal snapshots of each format version and must never be
edited once released (the migration tests rely on them); the ``.nnp`` files are a
small valid archive plus deliberately broken or hostile variants of it, each one
defect per file. The pickle payloads only create a marker file named
``PICKLE_RAN.txt`` in the current directory -- the tests assert it never appears.
"""
from __future__ import annotations

import io
import json
import pickle
import struct
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

MARKER = "PICKLE_RAN.txt"

LAYERS_V0 = [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "hidden", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
    {"id": "out", "type": "Dense", "params": {"units": 1}},
    {"id": "output", "type": "Output"},
]

# Format 0 (pre-release): the graph was called "network"; there was no "schedule".
V0 = {
    "format_version": 0,
    "name": "xor from version 0",
    "seed": 3,
    "network": {"layers": LAYERS_V0},
    "dataset": {"type": "xor", "params": {"n": 40}},
    "loss": "bce_logits",
    "optimizer": {"type": "sgd", "params": {"lr": 0.1}},
    "training": {"epochs": 2, "batch_size": 10},
}

V1 = {
    "format_version": 1,
    "app_version": "0.1.0",
    "name": "xor",
    "seed": 3,
    "graph": {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}, "pos": [0.0, 0.0]},
            {"id": "hidden", "type": "Dense", "params": {"units": 3, "activation": "tanh"},
             "init": {"bias": {"type": "constant", "params": {"value": 0.1}}}, "pos": [150.0, 0.0]},
            {"id": "out", "type": "Dense", "params": {"units": 1}, "regularizers": [{"type": "l2", "params": {"lambda": 0.001}}]},
            {"id": "output", "type": "Output"},
        ],
        "edges": [{"from": "input", "to": "hidden"}, {"from": "hidden", "to": "out"}, {"from": "out", "to": "output"}],
    },
    "dataset": {"type": "xor", "params": {"n": 40, "noise": 0.0}, "split": {"train": 0.5, "val": 0.25, "test": 0.25},
                "preprocess": {"scale": "standardize"}},
    "loss": {"type": "bce_logits", "params": {}},
    "optimizer": {"type": "adam", "params": {"lr": 0.01}},
    "schedule": {"type": "step", "params": {"every": 1, "factor": 0.5}},
    "regularizers": [],
    "training": {"epochs": 2, "batch_size": 10, "shuffle": True, "device": "cpu"},
    "view": {"zoom": 1.0},
    "notes": "format 1 fixture",
}

FUTURE = dict(V1, format_version=99, app_version="9.0.0")


class _Pwn:
    """Unpickling this creates the marker file: proof that a loader ran pickle."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _with(base: dict, **changes) -> bytes:
    m = dict(base)
    for name, data in changes.items():
        name = name.replace("__", ".").replace("_SLASH_", "/")
        if data is None:
            m.pop(name, None)
        else:
            m[name] = data
    return _zip(m)


def _session_json(base: dict, edit) -> bytes:
    d = json.loads(base["session.json"])
    edit(d)
    return json.dumps(d).encode()


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size the central directory declares for ``member``."""
    b = bytearray(data)
    pos = 0
    while True:
        pos = b.index(b"PK\x01\x02", pos)
        name_len = struct.unpack_from("<H", b, pos + 28)[0]
        name = bytes(b[pos + 46: pos + 46 + name_len]).decode()
        if name == member:
            struct.pack_into("<I", b, pos + 24, size)
            return bytes(b)
        pos += 4


def _flip_member_byte(data: bytes, member: str) -> bytes:
    """Damage one byte inside a stored member's data: the zip still opens, the CRC check fails."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    b = bytearray(data)
    name_len, extra_len = struct.unpack_from("<HH", b, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    b[start + info.compress_size // 2] ^= 0xFF
    return bytes(b)


def main():
    import torch
    from safetensors.torch import save as save_tensors

    from engine.archive import build_archive_bytes
    from engine.session import Session
    from engine.trainer import Trainer

    torch.set_num_threads(1)
    for name, d in (("v0_session.json", V0), ("v1_session.json", V1), ("future_v99_session.json", FUTURE)):
        (HERE / name).write_text(json.dumps(d, indent=2) + "\n")

    session = Session.from_dict(json.loads(json.dumps(V1)))
    trainer = Trainer(session)
    for _ in trainer.run(2):
        pass
    good = bytes(build_archive_bytes(trainer.session, trainer))
    base = _members(good)
    hist = sorted(n for n in base if n.startswith("history/"))[0]

    def graph_edit(fn):
        return _session_json(base, fn)

    def huge(d):
        d["graph"]["nodes"][1]["params"]["units"] = 10_000_000_000

    def unknown(d):
        d["graph"]["nodes"][1]["type"] = "Quantum"

    def bad_shape_weights():
        from safetensors.torch import load

        t = load(base["weights.safetensors"])
        t["model.layers.hidden.weight"] = torch.zeros(2, 3)
        return save_tensors(t)

    evil_pickle = pickle.dumps({"model.layers.hidden.weight": _Pwn()}, protocol=2)
    tbuf = io.BytesIO()
    torch.save({"model.layers.hidden.weight": _Pwn()}, tbuf)
    obj_npy = io.BytesIO()
    import numpy as np

    np.save(obj_npy, np.array([_Pwn(), 1], dtype=object), allow_pickle=True)
    lie_npy = base[hist].replace(b"'shape': (", b"'shape': (1000000000000, ", 1)
    header = json.dumps({"model.layers.hidden.weight": {"dtype": "F32", "shape": [100000, 100000],
                                                        "data_offsets": [0, 40000000000]}}).encode()
    absurd_st = struct.pack("<Q", len(header)) + header + b"\0" * 16
    bomb = json.dumps(V1).encode()[:-1] + b" " * (24 << 20) + b"}"

    files = {
        "good.nnp": good,
        "v0_untrained.nnp": _zip({"session.json": json.dumps(V0).encode()}),
        "not_a_zip.nnp": b"this is a plain text file, not an archive\n",
        "truncated.nnp": good[: len(good) // 2],
        "missing_weights.nnp": _with(base, weights__safetensors=None),
        "missing_session.nnp": _with(base, session__json=None),
        "session_not_object.nnp": _with(base, session__json=b"[1, 2, 3]"),
        "session_bad_json.nnp": _with(base, session__json=b'{"name": "x",'),
        "session_wrong_types.nnp": _with(base, session__json=graph_edit(lambda d: d.update(seed="three"))),
        "unknown_layer.nnp": _with(base, session__json=graph_edit(unknown)),
        "future.nnp": _with(base, session__json=json.dumps(FUTURE).encode()),
        "huge_dense.nnp": _with(base, session__json=graph_edit(huge)),
        "declared_huge.nnp": _declare_size(good, "session.json", 3 << 30),
        "corrupt_member.nnp": _flip_member_byte(good, "weights.safetensors"),
        "zip_bomb.nnp": _with(base, session__json=bomb),
        "bad_shape.nnp": _with(base, weights__safetensors=bad_shape_weights()),
        "pickle_weights.nnp": _with(base, weights__safetensors=evil_pickle),
        "torch_pickle_weights.nnp": _with(base, weights__safetensors=tbuf.getvalue()),
        "pickle_npy.nnp": _zip({**base, hist: obj_npy.getvalue()}),
        "npy_shape_lie.nnp": _zip({**base, hist: lie_npy}),
        "safetensors_absurd.nnp": _with(base, weights__safetensors=absurd_st),
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files) + 3} fixtures to {HERE}")


if __name__ == "__main__":
    main()
