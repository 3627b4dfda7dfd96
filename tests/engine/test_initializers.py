"""Initializers: exact explicit values, correct variance scaling, and seed determinism."""
import math

import numpy as np
import pytest
import torch

from engine.builder import build_model, node_seed
from engine.errors import GraphError, InvalidInput
from engine.initializers import INITIALIZERS, default_init, fans, initialize


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def filled(spec, shape, seed=0, **fan):
    t = torch.empty(shape, dtype=torch.float64)
    initialize(t, spec, generator=gen(seed), **fan)
    return t.numpy()


def test_fans():
    assert fans((30, 20)) == (20, 30)  # Dense weight [out][in]
    assert fans((8, 3, 5, 5)) == (75, 200)  # Conv2d: channels × receptive field
    assert fans((8, 3, 5)) == (15, 40)
    assert fans((7,)) == (7, 7)


def test_explicit_values_land_exactly():
    vals = [[0.1, -0.2, 0.3], [1e-7, 2.5, -3.0]]
    t = torch.empty(2, 3)
    initialize(t, {"type": "values", "params": {"values": vals}}, generator=gen())
    assert t.tolist() == torch.tensor(vals, dtype=torch.float32).tolist()
    t64 = filled({"type": "values", "params": {"values": vals}}, (2, 3))
    assert t64.tolist() == vals


def test_explicit_values_wrong_shape_names_both_shapes():
    with pytest.raises(InvalidInput) as e:
        filled({"type": "values", "params": {"values": [[1, 2], [3, 4], [5, 6]]}}, (2, 3))
    assert "[3, 2]" in str(e.value) and "[2, 3]" in str(e.value) and "[units][inputs]" in str(e.value)
    with pytest.raises(InvalidInput, match="'a'"):
        filled({"type": "values", "params": {"values": [["a", 1]]}}, (1, 2))
    with pytest.raises(InvalidInput, match="required"):
        filled("values", (1, 2))


def test_constants():
    assert (filled("zeros", (3, 4)) == 0).all()
    assert (filled("ones", (3,)) == 1).all()
    assert (filled({"type": "constant", "params": {"value": 0.01}}, (2, 2)) == 0.01).all()


BIG = (500, 800)  # fan_in 800, fan_out 500: 400k samples, so moments are within ~1%


@pytest.mark.parametrize(
    "spec,bound,var",
    [
        ("xavier_uniform", math.sqrt(6 / 1300), 2 / 1300),
        ("glorot_uniform", math.sqrt(6 / 1300), 2 / 1300),
        ("he_uniform", math.sqrt(6 / 800), 2 / 800),
        ("lecun_uniform", math.sqrt(3 / 800), 1 / 800),
        ({"type": "uniform", "params": {"low": -0.3, "high": 0.1}}, None, 0.4**2 / 12),
        ("xavier_normal", None, 2 / 1300),
        ("he_normal", None, 2 / 800),
        ("kaiming_normal", None, 2 / 800),
        ("lecun_normal", None, 1 / 800),
        ({"type": "normal", "params": {"mean": 0.5, "std": 0.2}}, None, 0.04),
        ({"type": "xavier_normal", "params": {"gain": 2.0}}, None, 4 * 2 / 1300),
    ],
)
def test_scaled_initializers_statistics(spec, bound, var):
    w = filled(spec, BIG)
    assert w.var() == pytest.approx(var, rel=0.02)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # really uses the whole range
        assert abs(w.mean()) < 0.01 * bound
    if isinstance(spec, dict) and spec["type"] == "normal":
        assert w.mean() == pytest.approx(0.5, abs=0.002)


def test_fans_given_by_caller_override_the_tensor():
    w = filled("he_normal", (1000,), fan_in=50)
    assert w.var() == pytest.approx(2 / 50, rel=0.1)


def test_orthogonal_rows_or_columns_are_orthonormal():
    w = filled("orthogonal", (4, 10))
    np.testing.assert_allclose(w @ w.T, np.eye(4), atol=1e-12)
    w = filled("orthogonal", (10, 4))
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-12)
    w = filled({"type": "orthogonal", "params": {"gain": 2.0}}, (6, 6))
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(6), atol=1e-12)
    k = filled("orthogonal", (3, 2, 2, 2)).reshape(3, 8)
    np.testing.assert_allclose(k @ k.T, np.eye(3), atol=1e-12)
    with pytest.raises(InvalidInput, match=r"\[5\]"):
        filled("orthogonal", (5,))


def test_sparse_gives_each_unit_k_nonzero_inputs():
    w = filled({"type": "sparse", "params": {"k": 6, "std": 0.5}}, (20, 50))
    assert ((w != 0).sum(axis=1) == 6).all()  # the notes: k non-zero weights in each unit (a row)
    assert w[w != 0].std() == pytest.approx(0.5, rel=0.2)


def test_same_generator_seed_same_values_on_any_dtype():
    a = filled("he_uniform", (16, 8), seed=3)
    b = filled("he_uniform", (16, 8), seed=3)
    c = filled("he_uniform", (16, 8), seed=4)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    t32 = torch.empty(16, 8)
    initialize(t32, "he_uniform", generator=gen(3))
    np.testing.assert_allclose(t32.numpy(), a, rtol=1e-6)


def test_default_init_follows_the_lecture():
    assert default_init("Dense", "relu", "weight")["type"] == "he_uniform"
    assert default_init("Dense", "leaky_relu", "weight")["type"] == "he_uniform"
    assert default_init("Conv2d", "elu", "weight")["type"] == "he_uniform"
    assert default_init("Dense", "selu", "weight")["type"] == "lecun_normal"
    assert default_init("Dense", "tanh", "weight")["type"] == "xavier_uniform"
    assert default_init("Dense", "logistic", "weight")["type"] == "xavier_uniform"
    assert default_init("Dense", None, "weight")["type"] == "xavier_uniform"
    assert default_init("Dense", "relu", "bias") == {"type": "zeros", "params": {}}
    assert default_init("Embedding", None, "weight") == {"type": "normal", "params": {"mean": 0.0, "std": 1.0}}


def test_registry_names_and_docs():
    names = set(INITIALIZERS.names())
    assert {"zeros", "ones", "constant", "uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
            "lecun_uniform", "lecun_normal", "orthogonal", "sparse", "values"} == names
    for alias, name in [("glorot_uniform", "xavier_uniform"), ("glorot_normal", "xavier_normal"),
                        ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal")]:
        assert INITIALIZERS.entry(alias).name == name
    assert all(len(e.doc) > 30 for e in INITIALIZERS.entries())


# -- through the builder ------------------------------------------------------

def net(extra_first=False, init=None):
    layers = [{"type": "Input", "params": {"shape": [4]}}]
    if extra_first:
        layers.append({"id": "pre", "type": "Dense", "params": {"units": 4}})
    layers += [
        {"id": "h1", "type": "Dense", "params": {"units": 4, "activation": "tanh"}, **({"init": init} if init else {})},
        {"id": "h2", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
        {"type": "Output"},
    ]
    return {"layers": layers}


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_builder_determinism_per_node():
    a, b, c = build_model(net(), seed=1), build_model(net(), seed=1), build_model(net(), seed=2)
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["layers.h1.weight"], wc["layers.h1.weight"])
    # same shape, different node id -> different weights
    assert wa["layers.h1.weight"].shape == wa["layers.h2.weight"].shape
    assert not torch.equal(wa["layers.h1.weight"], wa["layers.h2.weight"])
    # adding a node elsewhere leaves other nodes' weights alone
    d = weights(build_model(net(extra_first=True), seed=1))
    assert "layers.pre.weight" in d
    assert all(torch.equal(d[k], wa[k]) for k in wa)
    assert node_seed(1, "h1", "weight") != node_seed(1, "h2", "weight")
    assert node_seed(1, "h1", "weight") == node_seed(1, "h1", "weight")


def test_builder_uses_explicit_values_and_rejects_wrong_shape():
    vals = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    m = build_model(net(init={"weight": {"type": "values", "params": {"values": vals}}, "bias": {"type": "constant", "params": {"value": 0.5}}}))
    assert m.layers["h1"].weight.tolist() == vals
    assert m.layers["h1"].bias.tolist() == [0.5] * 4
    with pytest.raises(GraphError) as e:
        build_model(net(init={"weight": {"type": "values", "params": {"values": [[1, 2, 3, 4]] * 3}}}))
    assert e.value.node == "h1" and "[3, 4]" in str(e.value) and "[4, 4]" in str(e.value)


def test_builder_default_weights_have_xavier_bound():
    m = build_model({"layers": [{"type": "Input", "params": {"shape": [300]}}, {"type": "Dense", "params": {"units": 200, "activation": "tanh"}}]})
    w = m.layers["dense1"].weight.detach().numpy()
    b = math.sqrt(6 / 500)
    assert np.abs(w).max() <= b and np.abs(w).max() > 0.99 * b
    assert (m.layers["dense1"].bias.detach().numpy() == 0).all()
