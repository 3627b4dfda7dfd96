"""Transfer learning end to end: import trained layers from a .nnp, freeze, new head, train, fine-tune."""
import numpy as np
import pytest

from engine import Run, Session
from engine.archive import load_archive
from engine.errors import InvalidInput
from engine.layer_import import fine_tune_optimizer, import_payload, importable_layers, last_of
from engine.spec import GraphSpec


def source_session():
    return Session.from_dict({
        "name": "source", "seed": 2,
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "h2", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "out", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 120}},
        "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": 0.2}},
        "training": {"epochs": 3, "batch_size": 16}})


@pytest.fixture(scope="module")
def trained_nnp(tmp_path_factory):
    run = Run(source_session(), path="torch")
    run.fit(3)
    path = str(tmp_path_factory.mktemp("src") / "source.nnp")
    run.save(path)
    return path, run.weights()


def target_with(payload, head_units=3):
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [2]}}] + payload["nodes"] + [
        {"id": "head", "type": "Dense", "params": {"units": head_units}}]
    first = payload["nodes"][0]["id"]
    edges = [{"from": "input", "to": first}] + payload["edges"] + [{"from": last_of(payload), "to": "head"}]
    return Session.from_dict({
        "name": "target", "seed": 9, "graph": {"nodes": nodes, "edges": edges},
        "dataset": {"type": "blobs", "params": {"n": 150, "classes": 3}},
        "loss": "cross_entropy", "optimizer": {"type": "momentum", "params": {"lr": 0.1}},
        "regularizers": [{"type": "l2", "params": {"lambda": 0.01}}],
        "training": {"epochs": 3, "batch_size": 16}})


def test_frozen_imported_layers_stay_bit_for_bit_and_the_head_learns(trained_nnp, tmp_path):
    path, src = trained_nnp
    archive = load_archive(path)
    assert [(r["id"], r["weights"]) for r in importable_layers(archive)] == [
        ("h1", ["bias", "weight"]), ("h2", ["bias", "weight"]), ("out", ["bias", "weight"])]
    payload = import_payload(archive, ["h2", "h1"], freeze=True)
    assert [n["id"] for n in payload["nodes"]] == ["h1", "h2"] and payload["edges"] == [{"from": "h1", "to": "h2"}]
    assert all(n["trainable"] is False for n in payload["nodes"]) and last_of(payload) == "h2"
    target = target_with(payload)
    run = Run(target, path="torch")
    start = run.weights()
    for k in ("h1.weight", "h1.bias", "h2.weight", "h2.bias"):
        assert np.array_equal(start[f"layers.{k}"], src[f"layers.{k}"])
    run.fit(3)
    after = run.weights()
    for k in ("h1.weight", "h1.bias", "h2.weight", "h2.bias"):  # frozen under momentum and L2: unchanged
        assert after[f"layers.{k}"].tobytes() == src[f"layers.{k}"].tobytes()
    assert not np.array_equal(after["layers.head.weight"], start["layers.head.weight"])
    # saved and reopened, the session alone rebuilds the imported weights
    saved = str(tmp_path / "target.nnp")
    run.save(saved)
    again = Run(saved, path="torch")
    assert again.weights()["layers.h1.weight"].tobytes() == src["layers.h1.weight"].tobytes()

    # fine-tune: unfreeze everything, learning rate ÷ 10; the imported layers now move, a little
    tuned = run.session.copy()
    for n in tuned.graph.nodes:
        n.trainable = True
    tuned.optimizer = fine_tune_optimizer(tuned.optimizer)
    assert tuned.optimizer["params"]["lr"] == pytest.approx(0.01)
    ft = Run(tuned, path="torch")
    ft.fit(2)
    w = ft.weights()["layers.h1.weight"]
    assert not np.array_equal(w, src["layers.h1.weight"])
    assert np.abs(w - src["layers.h1.weight"]).max() < 0.5


def test_unfrozen_import_trains_and_bad_requests_are_refused(trained_nnp):
    path, src = trained_nnp
    archive = load_archive(path)
    payload = import_payload(archive, ["h1"], freeze=False)
    assert "trainable" not in payload["nodes"][0]
    run = Run(target_with(payload), path="torch")
    run.fit(2)
    assert not np.array_equal(run.weights()["layers.h1.weight"], src["layers.h1.weight"])
    with pytest.raises(InvalidInput, match="no layer 'nope'"):
        import_payload(archive, ["nope"])
    with pytest.raises(InvalidInput, match="at least one"):
        import_payload(archive, [])
    with pytest.raises(InvalidInput, match="Input"):
        import_payload(archive, ["in"])
    bad = target_with(import_payload(archive, ["h2"]))  # h2 expects 8 inputs, the Input gives 2
    with pytest.raises(InvalidInput):
        Run(bad, path="torch")
    assert GraphSpec.from_dict({"nodes": payload["nodes"], "edges": []}).ids() == ["h1"]
