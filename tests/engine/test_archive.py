"""The .nnp archive: members, round trip, atomic save, and resume identity (train 20 == train 10, save, load, train 10)."""
import errno
import json
import os
import re
import zipfile

import numpy as np
import pytest
import torch

import engine.archive as archive_mod
from engine.archive import (HISTORY_NAME_RE, build_archive_bytes, history_file_name, load_archive,
                            save_archive)
from engine.data import make_dataset
from engine.errors import SessionError
from engine.session import Session, load_session
from engine.trainer import Trainer

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
EPOCH_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc", "lr")


def _session(optimizer=None, schedule=None, layers=None, regularizers=(), **training):
    s = Session()
    s.seed = 5
    s.dataset = {"type": "moons", "params": {"n": 120, "noise": 0.25}}
    s.graph = s.graph.from_dict({"layers": layers or [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "dense1", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
        {"id": "dense2", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"},
    ]})
    s.optimizer = optimizer or {"type": "sgd", "params": {"lr": 0.1}}
    s.schedule = schedule or {"type": "constant", "params": {}}
    s.regularizers = list(regularizers)
    s.training = {"epochs": 20, "batch_size": 16, "shuffle": True, "device": "cpu", "stats_every": 5, **training}
    return s


def _train(trainer, epochs=None, **kw):
    return list(trainer.run(epochs, **kw))


def _assert_same_run(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    for k in EPOCH_KEYS:
        assert np.array_equal(a.history.epoch_array(k), b.history.epoch_array(k), equal_nan=True), k
    assert np.array_equal(a.history.step_loss.data()[1], b.history.step_loss.data()[1])
    assert (a.epoch, a.step, a.batch_in_epoch) == (b.epoch, b.step, b.batch_in_epoch)
    for k, v in a.optimizer.state_dict()["state"].items():
        for name, t in v.items():
            if torch.is_tensor(t):
                assert torch.equal(t, b.optimizer.state_dict()["state"][k][name]), (k, name)


def test_members_manifest_and_round_trip(tmp_path):
    tr = Trainer(_session())
    _train(tr, 3)
    path = tmp_path / "run.nnp"
    assert save_archive(path, tr.session, tr, thumbnail_png=PNG) == str(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        doc = json.loads(zf.read("session.json"))
        assert zf.getinfo("weights.safetensors").compress_type == zipfile.ZIP_STORED
    assert names[0] == "session.json" and "weights.safetensors" in names and "thumbnail.png" in names
    history_names = [n for n in names if n.startswith("history/")]
    assert all(HISTORY_NAME_RE.match(n) for n in history_names)
    arrays = tr.history.to_arrays()
    assert sorted(doc["history_files"]) == sorted(history_names)
    assert sorted(doc["history_files"].values()) == sorted(arrays)
    assert "stats.dense1.weight.x" in doc["history_files"].values()
    # the summary, against numbers computed here
    val = tr.history.epoch_array("val_loss")
    assert doc["history_summary"]["epochs"] == 3
    assert doc["history_summary"]["steps"] == tr.step == 3 * 6  # 84 training samples / 16 -> 6 steps
    assert doc["history_summary"]["best_epoch"] == int(np.argmin(val)) + 1
    assert doc["history_summary"]["last"]["train_loss"] == pytest.approx(tr.history.epochs["train_loss"][-1])
    assert doc["training_state"]["epoch"] == 3 and doc["training_state"]["step"] == 18

    a = load_archive(path)
    assert a.trained and a.thumbnail == PNG
    assert a.session.to_dict() == tr.session.to_dict()
    tensors, meta = tr.state()
    assert sorted(a.tensors) == sorted(tensors)
    for k in tensors:
        assert torch.equal(a.tensors[k], tensors[k]), k
    assert a.meta == json.loads(json.dumps(meta))
    back = a.history.to_arrays()
    assert sorted(back) == sorted(arrays)
    for k in arrays:
        assert back[k].dtype == arrays[k].dtype and np.array_equal(back[k], arrays[k], equal_nan=True), k
    assert a.history.epoch_metrics == json.loads(json.dumps(tr.history.epoch_metrics))
    assert sorted(a.model_tensors()) == sorted(tr.model.state_dict())


def test_untrained_archive_has_only_the_session(tmp_path):
    s = _session()
    save_archive(tmp_path / "s.nnp", s)
    with zipfile.ZipFile(tmp_path / "s.nnp") as zf:
        assert zf.namelist() == ["session.json"]
        assert json.loads(zf.read("session.json"))["training_state"] is None
    a = load_archive(tmp_path / "s.nnp")
    assert not a.trained and a.tensors == {} and a.history is None and a.thumbnail is None
    tr = Trainer(a.session)
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    a.restore_into(tr)  # nothing to restore: the fresh weights stay
    assert all(torch.equal(before[k], v) for k, v in tr.model.state_dict().items())
    assert load_session(tmp_path / "s.nnp").to_dict() == s.to_dict()


def test_imported_csv_data_travels_inside_session_json(tmp_path):
    s = _session()
    x = [[0.5, 1.0], [1.5, -2.0], [2.5, 0.25], [-1.0, 3.0], [0.0, 0.0], [4.0, 1.0]]
    s.dataset = {"type": "csv", "params": {"x": x, "y": [0, 1, 0, 1, 0, 1], "source": str(tmp_path / "gone.csv")},
                 "split": {"train": 1.0}}
    before = make_dataset(s.dataset, seed=s.seed)
    save_archive(tmp_path / "csv.nnp", s)  # the CSV file itself never existed: the data is embedded
    after = make_dataset(load_archive(tmp_path / "csv.nnp").session.dataset, seed=s.seed)
    assert np.array_equal(before.x_train, after.x_train) and np.array_equal(before.y_train, after.y_train)
    assert after.x_train.shape == (6, 2) and after.y_train.tolist() == [0, 1, 0, 1, 0, 1]


def test_history_file_names_are_flat_safe_and_unique():
    names = [history_file_name(i, k) for i, k in enumerate(["stats.dense-1.weight.x", "../../etc/passwd", "a b/c", "a b/c"])]
    assert names[0] == "history/0000-stats.dense-1.weight.x.npy"
    assert names[1] == "history/0001-.._.._etc_passwd.npy"
    assert names[2] == "history/0002-a_b_c.npy" and len(set(names)) == 4
    assert all(HISTORY_NAME_RE.match(n) and n.count("/") == 1 for n in names)


@pytest.mark.parametrize("fail_at", ["replace", "fsync"])
def test_atomic_save_keeps_old_file_when_disk_is_full(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "keep.nnp"
    save_archive(path, _session(), None)
    old = path.read_bytes()

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, fail_at, boom)
    s = _session()
    s.name = "changed"
    with pytest.raises(SessionError) as e:
        save_archive(path, s, None, thumbnail_png=PNG)
    assert f"cannot save {path}: disk full" in str(e.value)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["keep.nnp"]  # the temporary file was removed


def test_save_refuses_members_over_the_load_limits(tmp_path, monkeypatch):
    tr = Trainer(_session())
    monkeypatch.setitem(archive_mod.LIMITS, "weights.safetensors", 100)
    with pytest.raises(SessionError, match=r"cannot save: weights.safetensors would be \d+ bytes, over the 100 bytes limit"):
        save_archive(tmp_path / "big.nnp", tr.session, tr)
    assert not (tmp_path / "big.nnp").exists()


def test_resume_identity_adam_shuffle_schedule(tmp_path):
    def make():
        return Trainer(_session({"type": "adam", "params": {"lr": 0.02}},
                                {"type": "step", "params": {"every": 4, "factor": 0.5}}))

    straight = make()
    _train(straight, 20)
    first = make()
    _train(first, 10)
    save_archive(tmp_path / "half.nnp", first.session, first)
    a = load_archive(tmp_path / "half.nnp")
    resumed = Trainer(a.session)
    a.restore_into(resumed)
    assert resumed.epoch == 10 and resumed.history.n_epochs == 10
    _train(resumed, 20)
    _assert_same_run(straight, resumed)
    lrs = straight.history.epoch_array("lr")
    assert lrs[0] == pytest.approx(0.02) and lrs[-1] == pytest.approx(0.02 * 0.5 ** 4)  # the schedule really ran


def test_resume_identity_mid_epoch_with_dropout_noise_and_early_stopping(tmp_path):
    layers = [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "dense1", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "drop", "type": "Dropout", "params": {"p": 0.3}},
        {"id": "dense2", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"},
    ]

    def make():
        return Trainer(_session({"type": "momentum", "params": {"lr": 0.05}}, layers=layers,
                                regularizers=[{"type": "weight_noise", "params": {"std": 0.01}},
                                              {"type": "label_noise", "params": {"p": 0.1}}],
                                early_stopping={"patience": 100}))

    straight = make()
    _train(straight, 8)
    first = make()
    _train(first, 3)
    _train(first, 8, max_steps=4)  # stop inside epoch 4
    assert (first.epoch, first.batch_in_epoch) == (3, 4)
    save_archive(tmp_path / "mid.nnp", first.session, first)
    a = load_archive(tmp_path / "mid.nnp")
    resumed = Trainer(a.session)
    a.restore_into(resumed)
    assert (resumed.epoch, resumed.batch_in_epoch, resumed.step) == (3, 4, 22)
    _train(resumed, 8)
    _assert_same_run(straight, resumed)
    assert resumed.early.best_epoch == straight.early.best_epoch
    assert all(torch.equal(straight.early.best_state[k], resumed.early.best_state[k]) for k in straight.early.best_state)


def test_restore_into_a_different_network_names_the_tensor(tmp_path):
    tr = Trainer(_session())
    _train(tr, 1)
    save_archive(tmp_path / "a.nnp", tr.session, tr)
    a = load_archive(tmp_path / "a.nnp")
    other = _session()
    other.graph.node("dense1").params["units"] = 4
    with pytest.raises(SessionError, match=re.escape("tensor 'model.layers.dense1.weight' in weights.safetensors "
                                                     "has shape (6, 2) but the network needs (4, 2)")):
        a.restore_into(Trainer(other))


def test_build_archive_bytes_is_a_zip_the_loader_accepts(tmp_path):
    data = build_archive_bytes(_session(), None)
    (tmp_path / "b.nnp").write_bytes(data)
    assert load_archive(tmp_path / "b.nnp").session.seed == 5


def test_expected_shapes_match_the_built_model_without_allocating():
    from engine.archive import check_session_limits, expected_shapes
    from engine.builder import build_model

    s = _session(layers=[
        {"id": "input", "type": "Input", "params": {"shape": [16]}},
        {"id": "rs", "type": "Reshape", "params": {"shape": [1, 4, 4]}},
        {"id": "conv", "type": "Conv2d", "params": {"filters": 3, "kernel_size": 3, "activation": "prelu"}},
        {"id": "bn", "type": "BatchNorm"},
        {"id": "flat", "type": "Flatten"},
        {"id": "ln", "type": "LayerNorm"},
        {"id": "head", "type": "Dense", "params": {"units": 4, "activation": "maxout", "activation_params": {"pieces": 2}}},
    ])
    shapes = expected_shapes(s.graph, check_session_limits(s, strict=True))
    assert shapes == {k: tuple(v.shape) for k, v in build_model(s.graph).state_dict().items()}
    assert shapes["layers.conv.weight"] == (3, 1, 3, 3) and shapes["layers.conv.act.weight"] == (1,)
    assert shapes["layers.bn.running_var"] == (3,) and shapes["layers.head.weight"] == (8, 12)
