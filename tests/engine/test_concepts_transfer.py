"""Transfer learning (lecture 004): reuse trained layers, freeze them, add a new output layer."""
import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.session import Session
from engine.trainer import Trainer
from engine.transfer import layer_weights, transfer


def source():
    s = Session.from_dict({
        "seed": 1,
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "h2", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}, {"id": "out", "type": "Output"}]},
        "dataset": {"type": "xor", "params": {"n": 60}},
        "optimizer": {"type": "adam", "params": {"lr": 0.05}}, "training": {"epochs": 3, "batch_size": 10},
    })
    tr = Trainer(s)
    list(tr.run())
    return tr


def target():
    return Session.from_dict({
        "seed": 7,
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "h2", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "new_head", "type": "Dense", "params": {"units": 3}}, {"id": "out", "type": "Output"}]},
        "dataset": {"type": "blobs", "params": {"n": 60, "classes": 3}}, "loss": "cross_entropy",
        "optimizer": {"type": "adam", "params": {"lr": 0.05}}, "training": {"epochs": 2, "batch_size": 10},
    })


def test_layer_weights_from_a_trainer_and_from_saved_state_agree():
    tr = source()
    w = layer_weights(tr)
    assert set(w) == {"h1", "h2", "head"} and w["h1"]["weight"].shape == (8, 2)
    np.testing.assert_array_equal(w["h2"]["bias"], tr.model.layers["h2"].bias.detach().double().numpy())
    tensors, _ = tr.state()
    saved = layer_weights(tensors)
    assert set(saved) == set(w)
    for node in w:
        for p in w[node]:
            np.testing.assert_array_equal(saved[node][p], w[node][p])


def test_frozen_layers_keep_the_source_weights_while_the_new_head_learns():
    src = source()
    w = layer_weights(src)
    new = transfer(target(), w, ["h1", "h2"])
    assert [new.graph.node(n).trainable for n in ("h1", "h2", "new_head")] == [False, False, True]
    tr = Trainer(new)
    for n in ("h1", "h2"):
        np.testing.assert_allclose(tr.model.layers[n].weight.detach().numpy(), w[n]["weight"], atol=1e-7)
        assert not tr.model.layers[n].weight.requires_grad
    head0 = tr.model.layers["new_head"].weight.detach().clone()
    list(tr.run())
    for n in ("h1", "h2"):
        np.testing.assert_allclose(tr.model.layers[n].weight.detach().numpy(), w[n]["weight"], atol=1e-7)
    assert not torch.equal(tr.model.layers["new_head"].weight.detach(), head0)
    assert tr.n_params == 8 * 2 + 8 + 6 * 8 + 6 + 3 * 6 + 3 and tr.model.count_trainable() == 3 * 6 + 3


def test_fine_tuning_and_renamed_layers():
    w = layer_weights(source())
    tuned = transfer(target(), w, {"h1": "h1"}, freeze=False)
    tr = Trainer(tuned)
    list(tr.run())
    assert tuned.graph.node("h1").trainable
    assert not np.allclose(tr.model.layers["h1"].weight.detach().numpy(), w["h1"]["weight"], atol=1e-4)
    renamed = transfer(target(), w, {"h2": "h2", "h1": "h1"})
    np.testing.assert_allclose(Trainer(renamed).model.layers["h2"].bias.detach().numpy(), w["h2"]["bias"], atol=1e-7)


def test_transfer_errors_name_the_problem():
    w = layer_weights(source())
    with pytest.raises(InvalidInput, match="'nope'"):
        transfer(target(), w, ["nope"])
    with pytest.raises(InvalidInput, match="'ghost'"):
        transfer(target(), w, {"h1": "ghost"})
    with pytest.raises(InvalidInput, match=r"\[6, 8\].*\[3, 6\]|\[3, 6\].*\[6, 8\]"):
        transfer(target(), w, {"new_head": "h2"})  # a (6, 8) weight cannot start a (3, 6) layer
    with pytest.raises(InvalidInput, match="non-empty"):
        transfer(target(), w, [])
