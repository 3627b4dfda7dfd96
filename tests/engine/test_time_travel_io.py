"""Checkpoints in a .nnp (bit-identical, no pickle, damage contained) and the views of a past checkpoint."""
import json
import zipfile

import numpy as np
import pytest
import torch

from engine import Run
from engine.archive import load_archive, save_archive
from engine.session import Session
from engine.time_travel import Recorder
from engine.time_travel_io import INDEX


def _session(epochs=3):
    return Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 5, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 60, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": {"type": "adam", "params": {"lr": 0.05}},
        "training": {"epochs": epochs, "batch_size": 10}})


@pytest.fixture(scope="module")
def recorded():
    run = Run(_session(), path="torch")
    rec = Recorder(dense=4, growth=2.0)
    for _ in rec.watch(run, run.events()):
        pass
    return run, rec


def _save(tmp_path, run, rec, name="s.nnp"):
    path = tmp_path / name
    with run.snapshot() as tr:
        save_archive(path, run.session, tr, checkpoints=rec)
    return path


def test_checkpoints_round_trip_bit_identical(tmp_path, recorded):
    run, rec = recorded
    a = load_archive(_save(tmp_path, run, rec))
    assert a.checkpoint_note is None
    got = a.checkpoints.checkpoints
    assert [(c.step, c.epoch, c.epoch_end) for c in got] == [(c.step, c.epoch, c.epoch_end) for c in rec.checkpoints]
    for c, d in zip(rec.checkpoints, got):
        for k, v in c.weights.items():
            assert d.weights[k].dtype == v.dtype and d.weights[k].tobytes() == v.tobytes()
        for idx, st in c.optimizer_state["state"].items():  # Adam's m, v and step survive exactly
            for key, t in st.items():
                assert torch.equal(d.optimizer_state["state"][idx][key], t)
        assert d.optimizer_state["param_groups"][0]["lr"] == c.optimizer_state["param_groups"][0]["lr"]
        assert d.nbytes == c.nbytes
    assert a.checkpoints.budget == rec.budget
    # the continued spacing: a restored recorder does not re-take steps it already passed
    assert not a.checkpoints.wants(rec.checkpoints[-1].step)


def test_archive_without_checkpoints_still_opens(tmp_path, recorded):
    run, _ = recorded
    path = tmp_path / "old.nnp"
    with run.snapshot() as tr:
        save_archive(path, run.session, tr)
    a = load_archive(path)
    assert a.trained and a.checkpoints is None and a.checkpoint_note is None
    with zipfile.ZipFile(path) as zf:
        assert not [n for n in zf.namelist() if n.startswith("checkpoints/")]


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)


def test_a_corrupt_checkpoint_member_is_left_out_with_one_line(tmp_path, recorded):
    run, rec = recorded
    src = _save(tmp_path, run, rec)
    dst = tmp_path / "bad.nnp"
    _rewrite(src, dst, lambda n, d: b"\x00garbage" + d[:7] if n == "checkpoints/0002-weights.safetensors" else d)
    a = load_archive(dst)
    assert a.trained and len(a.history.epoch_array("train_loss")) == run.epoch  # the session opens whole
    assert len(a.checkpoints.checkpoints) == len(rec.checkpoints) - 1
    assert rec.checkpoints[2].step not in [c.step for c in a.checkpoints.checkpoints]
    note = a.checkpoint_note
    assert "\n" not in note and "1 of" in note and "0002-weights.safetensors" in note and "others are kept" in note


def test_a_corrupt_index_or_missing_member_loses_only_checkpoints(tmp_path, recorded):
    run, rec = recorded
    src = _save(tmp_path, run, rec)
    bad = tmp_path / "idx.nnp"
    _rewrite(src, bad, lambda n, d: b"{not json" if n == INDEX else d)
    a = load_archive(bad)
    assert a.trained and a.checkpoints is None and "index.json" in a.checkpoint_note and "\n" not in a.checkpoint_note
    gone = tmp_path / "gone.nnp"
    _rewrite(src, gone, lambda n, d: None if n == "checkpoints/0000-optimizer.safetensors" else d)
    a = load_archive(gone)
    assert len(a.checkpoints.checkpoints) == len(rec.checkpoints) - 1 and "missing" in a.checkpoint_note
    wrong = tmp_path / "shape.nnp"  # weights of another network shape are refused, not loaded
    from safetensors.numpy import save as save_numpy

    other = save_numpy({"layers.h.weight": np.zeros((3, 2), np.float32)})
    _rewrite(src, wrong, lambda n, d: other if n == "checkpoints/0001-weights.safetensors" else d)
    a = load_archive(wrong)
    assert len(a.checkpoints.checkpoints) == len(rec.checkpoints) - 1 and "does not fit" in a.checkpoint_note


def test_index_names_outside_the_pattern_are_refused(tmp_path, recorded):
    run, rec = recorded
    src = _save(tmp_path, run, rec)
    dst = tmp_path / "names.nnp"

    def change(n, d):
        if n != INDEX:
            return d
        idx = json.loads(d)
        idx["checkpoints"][0]["weights"] = "weights.safetensors"  # another member than its own
        return json.dumps(idx).encode()

    _rewrite(src, dst, change)
    a = load_archive(dst)
    assert len(a.checkpoints.checkpoints) == len(rec.checkpoints) - 1 and "not allowed" in a.checkpoint_note


def test_past_views_equal_an_independent_evaluation(recorded):
    from engine.time_travel_views import PastViews
    from engine.views import ViewComputer, describe

    run, rec = recorded
    cp = rec.checkpoints[3]
    with run.snapshot() as tr:
        meta = describe(tr)
        pv = PastViews(tr, meta)
    live = run.weights()
    m = pv.moment(cp)
    assert all(np.array_equal(run.weights()[k], live[k]) for k in live)  # the live run is untouched
    # independent: a fresh run of the same session with the checkpoint's weights loaded
    other = Run(run.session, path="torch")
    with other.snapshot() as tr:
        tr.model.load_state_dict({k: torch.as_tensor(v) for k, v in cp.weights.items()})
        ref = ViewComputer(tr, describe(tr)).boundary(cp.step)
    np.testing.assert_allclose(m.boundary.values, ref.values, atol=1e-6)
    for nid in ref.neurons:
        np.testing.assert_allclose(m.boundary.neurons[nid], ref.neurons[nid], atol=1e-6)
    assert other.evaluate("train")["loss"] == pytest.approx(m.metrics["train_loss"], rel=1e-6)
    assert other.evaluate("val")["accuracy"] == pytest.approx(m.metrics["val_acc"])
    w = cp.weights["layers.h.weight"].astype(np.float64).ravel()
    (ls,) = [s for s in m.stats.layers if (s.node, s.param) == ("h", "weight")]
    assert ls.mean == pytest.approx(w.mean()) and ls.std == pytest.approx(w.std())
    assert sum(ls.hist_counts) == w.size and ls.hist_edges[0] == pytest.approx(w.min())
    assert np.isnan(ls.grad_norm)
    # and a later checkpoint shows something else (the test would catch views stuck at one moment)
    assert not np.allclose(pv.moment(rec.checkpoints[-1]).boundary.values, m.boundary.values, atol=1e-4)
