"""Loading never executes code and refuses every bad file with a clear SessionError.

Fixtures come from tests/data/sessions/make_fixtures.py. The pickle payloads in
them create PICKLE_RAN.txt in the working directory when unpickled; the tests
first prove that they really would, then that loading never lets them.
"""
import hashlib
import io
import json
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.archive as archive_mod
from engine.archive import MAX_PARAMS, check_session_limits, load_archive
from engine.errors import SessionError
from engine.session import FORMAT_VERSION, Session, load_session

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "sessions"
MARKER = "PICKLE_RAN.txt"

BAD = {
    "not_a_zip.nnp": "not_a_zip.nnp is not a valid .nnp archive (not a zip file, or truncated)",
    "truncated.nnp": "truncated.nnp is not a valid .nnp archive (not a zip file, or truncated)",
    "corrupt_member.nnp": "corrupt_member.nnp is damaged (BadZipFile: Bad CRC-32 for file 'weights.safetensors')",
    "missing_weights.nnp": "missing_weights.nnp is incomplete: member 'weights.safetensors' is missing",
    "missing_session.nnp": "missing_session.nnp is incomplete: member 'session.json' is missing",
    "session_not_object.nnp": "session.json must hold a JSON object, got list",
    "session_bad_json.nnp": "session.json is not valid JSON (line 1, column 14",
    "session_wrong_types.nnp": "session 'seed' has the wrong type: expected an integer, got str",
    "unknown_layer.nnp": "node 'hidden': unknown layer type 'Quantum'",
    "future.nnp": "made by a newer version of NN Playground (format 99",
    # refused by the parameter-count limit, or earlier by Dense's own bound on units: either way, before allocating
    "huge_dense.nnp": ("the network would have 40,000,000,001 parameters (limit 500,000,000)",
                       "Dense.units must be ≤ 1,000,000 (a larger size would not fit in memory), got 10000000000"),
    "declared_huge.nnp": "session.json declares 3.0 GiB, over the 64.0 MiB limit",
    "zip_bomb.nnp": "refusing a possible zip bomb",
    "bad_shape.nnp": "tensor 'model.layers.hidden.weight' in weights.safetensors has shape (2, 3) but the network needs (3, 2)",
    "pickle_weights.nnp": "weights.safetensors is not a valid safetensors file",
    "torch_pickle_weights.nnp": "weights.safetensors is not a valid safetensors file",
    "safetensors_absurd.nnp": "weights.safetensors is not a valid safetensors file",
    "pickle_npy.nnp": "history/0000-step_loss.x.npy holds object values; only plain numbers are allowed",
    "npy_shape_lie.nnp": "claims shape (1000000000000, 4) (32000000000000 bytes) but holds",
}


@pytest.fixture
def no_pickle(monkeypatch):
    """Any use of pickle or torch.load during a load is a test failure."""

    def forbidden(*a, **k):
        raise AssertionError("the loader used pickle / torch.load")

    for mod, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(mod, name, forbidden)


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_is_refused_and_nothing_is_touched(name, tmp_path, monkeypatch, no_pickle):
    shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    before = _digest(tmp_path)
    with pytest.raises(SessionError) as e:
        load_session(tmp_path / name)
    wanted = BAD[name] if isinstance(BAD[name], tuple) else (BAD[name],)
    assert any(w in str(e.value) for w in wanted), str(e.value)
    assert _digest(tmp_path) == before  # no marker, no temp files, the file unchanged


def test_the_pickle_payloads_are_real(tmp_path, monkeypatch):
    """Positive control: unpickled the ordinary way, each payload does create the marker."""
    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile(FIXTURES / "pickle_weights.nnp") as zf:
        pickle.loads(zf.read("weights.safetensors"))
    assert (tmp_path / MARKER).exists()
    (tmp_path / MARKER).unlink()
    with zipfile.ZipFile(FIXTURES / "torch_pickle_weights.nnp") as zf:
        torch.load(io.BytesIO(zf.read("weights.safetensors")), weights_only=False)
    assert (tmp_path / MARKER).exists()
    (tmp_path / MARKER).unlink()
    with zipfile.ZipFile(FIXTURES / "pickle_npy.nnp") as zf:
        np.load(io.BytesIO(zf.read("history/0000-step_loss.x.npy")), allow_pickle=True)
    assert (tmp_path / MARKER).exists()


def test_good_fixture_loads_without_pickle(no_pickle):
    a = load_archive(FIXTURES / "good.nnp")
    assert a.trained and a.session.name == "xor" and a.session.optimizer["type"] == "adam"
    assert tuple(a.tensors["model.layers.hidden.weight"].shape) == (3, 2)
    assert a.tensors["model.layers.hidden.weight"].dtype == torch.float32
    assert a.meta["epoch"] == 2 and a.meta["step"] == 4  # 20 training samples, batch 10
    assert a.history.n_epochs == 2 and a.summary["epochs"] == 2
    assert a.history.epochs["lr"] == pytest.approx([0.01, 0.005])  # step schedule, every 1 epoch, factor 0.5


def test_v0_session_is_migrated():
    s = load_session(FIXTURES / "v0_session.json")
    assert s.name == "xor from version 0" and s.seed == 3
    assert [n.id for n in s.graph.nodes] == ["input", "hidden", "out", "output"]
    assert s.graph.node("hidden").params == {"units": 3, "activation": "tanh"}
    assert s.schedule == {"type": "constant", "params": {}}
    assert s.to_dict()["format_version"] == FORMAT_VERSION == 1
    a = load_archive(FIXTURES / "v0_untrained.nnp")
    assert a.session.to_dict() == s.to_dict() and not a.trained


def test_v1_session_reads_every_field():
    s = load_session(FIXTURES / "v1_session.json")
    hidden, out = s.graph.node("hidden"), s.graph.node("out")
    assert hidden.init == {"bias": {"type": "constant", "params": {"value": 0.1}}} and hidden.pos == (150.0, 0.0)
    assert out.regularizers == [{"type": "l2", "params": {"lambda": 0.001}}]
    assert [(e.src, e.dst) for e in s.graph.edges] == [("input", "hidden"), ("hidden", "out"), ("out", "output")]
    assert s.dataset["split"] == {"train": 0.5, "val": 0.25, "test": 0.25}
    assert s.schedule == {"type": "step", "params": {"every": 1, "factor": 0.5}}
    assert s.training["epochs"] == 2 and s.training["batch_size"] == 10 and s.training["clip"] == "none"
    assert s.view == {"zoom": 1.0} and s.notes == "format 1 fixture"
    assert json.loads(json.dumps(s.to_dict())) == s.to_dict()


def test_future_json_session_is_refused():
    with pytest.raises(SessionError, match=re.escape("made by a newer version of NN Playground (format 99; "
                                                     "this build reads up to 1, app 9.0.0); please update")):
        load_session(FIXTURES / "future_v99_session.json")


def test_parameter_limit_is_checked_before_building():
    s = Session.from_dict({"graph": {"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "wide", "type": "Dense", "params": {"units": 10**6}},
        {"id": "wider", "type": "Dense", "params": {"units": 10**6}},
        {"id": "out", "type": "Dense", "params": {"units": 1}},
    ]}})
    n = (2 * 10**6 + 10**6) + (10**12 + 10**6) + (10**6 + 1)  # weights+biases of the three layers, by hand
    with pytest.raises(SessionError, match=re.escape(f"the network would have {n:,} parameters (limit {MAX_PARAMS:,})")):
        check_session_limits(s)
    assert check_session_limits(Session()).total_params == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1


def _rezip(src: Path, dst: Path, edit):
    with zipfile.ZipFile(src) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    doc = json.loads(members["session.json"])
    members = edit(members, doc) or members
    members.setdefault("session.json", json.dumps(doc).encode())
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


@pytest.mark.parametrize("edit, message", [
    (lambda m, d: {**m, "session.json": json.dumps(dict(d, history_files={"../escape.npy": "step_loss.x"})).encode()},
     "history member name '../escape.npy' is not allowed"),
    (lambda m, d: {**m, "session.json": json.dumps(dict(d, history_files={"history/9-x.npy": "step_loss.x"})).encode()},
     "member 'history/9-x.npy' is missing"),
    (lambda m, d: {**m, "session.json": json.dumps(dict(d, training_state=[1])).encode()},
     "'training_state' must be an object or null, got list"),
    (lambda m, d: {k: v for k, v in m.items() if "step_lr.meta" not in k},
     "member 'history/0005-step_lr.meta.npy' is missing"),
])
def test_inconsistent_archive_contents(tmp_path, edit, message):
    bad = _rezip(FIXTURES / "good.nnp", tmp_path / "bad.nnp", edit)
    with pytest.raises(SessionError, match=re.escape(message)):
        load_archive(bad)


def test_total_size_and_ratio_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_mod, "TOTAL_LIMIT", 10_000)
    with pytest.raises(SessionError, match=r"good.nnp (is|would unpack to) .* over the 10000 bytes limit"):
        load_archive(FIXTURES / "good.nnp")


def test_duplicate_member_is_refused(tmp_path):
    path = tmp_path / "dup.nnp"
    with zipfile.ZipFile(FIXTURES / "good.nnp") as src, zipfile.ZipFile(path, "w") as zf:
        for i in src.infolist():
            zf.writestr(i.filename, src.read(i))
        with pytest.warns(UserWarning):
            zf.writestr("session.json", b"{}")
    with pytest.raises(SessionError, match="member 'session.json' appears twice"):
        load_archive(path)


def test_missing_file_is_a_session_error(tmp_path):
    with pytest.raises(SessionError, match=re.escape(f"cannot open {tmp_path / 'nope.nnp'}: No such file")):
        load_archive(tmp_path / "nope.nnp")
