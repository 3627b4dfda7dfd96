"""Activations: torch forward and autograd gradient against closed-form numpy, on a grid."""
import math

import numpy as np
import pytest
import torch

from engine.activations import ACTIVATIONS, activation_param_count, activation_shape, numpy_activation
from engine.errors import InvalidInput

# Avoid the kinks at 0 and ±1 except where a test aims at them.
GRID = np.linspace(-4.0, 4.0, 161) + 0.0137

ELEMENTWISE = [
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    {"type": "leaky_relu", "params": {"slope": 0.2}},
    "leaky_relu",
    "prelu",
    {"type": "prelu", "params": {"init": -0.5}},
    "elu",
    {"type": "elu", "params": {"alpha": 0.5}},
    "selu",
    "gelu",
    "softplus",
    {"type": "softplus", "params": {"beta": 3.0}},
    "swish",
    {"type": "step", "params": {"grad": "ste"}},
    {"type": "step", "params": {"grad": "zero"}},
    {"type": "sign", "params": {"grad": "ste"}},
    {"type": "sign", "params": {"grad": "zero"}},
]


def torch_value_and_grad(spec, z):
    m = ACTIVATIONS.create(spec).double()
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    y = m(t.reshape(1, -1)).reshape(-1)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda s: s if isinstance(s, str) else f"{s['type']}-{list(s['params'].values())[0]}")
def test_forward_and_gradient_match_numpy(spec):
    value, grad = torch_value_and_grad(spec, GRID)
    ref_v, ref_d = numpy_activation(spec, GRID)
    np.testing.assert_allclose(value, ref_v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, ref_d, rtol=1e-9, atol=1e-12)


def test_reference_spot_values():
    """Hand values so the numpy reference itself is checked against the lecture formulas."""
    z = np.array([-2.0, 0.5])
    v, d = numpy_activation("sigmoid", z)
    np.testing.assert_allclose(v, [1 / (1 + math.e**2), 1 / (1 + math.exp(-0.5))])
    np.testing.assert_allclose(d, v * (1 - v))
    v, d = numpy_activation({"type": "leaky_relu", "params": {"slope": 0.1}}, z)
    np.testing.assert_allclose(v, [-0.2, 0.5])
    np.testing.assert_allclose(d, [0.1, 1.0])
    v, d = numpy_activation("elu", z)
    np.testing.assert_allclose(v, [math.exp(-2) - 1, 0.5])
    v, _ = numpy_activation("gelu", np.array([1.0]))
    np.testing.assert_allclose(v, [0.8413447460685429])  # 1·Φ(1)
    v, _ = numpy_activation("selu", np.array([1.0]))
    np.testing.assert_allclose(v, [1.0507009873554805])


def test_kinks_follow_torch_conventions():
    z = np.array([-1.0, 0.0, 1.0])
    for spec in ["relu", "leaky_relu", "prelu", "elu"]:
        value, grad = torch_value_and_grad(spec, z)
        ref_v, ref_d = numpy_activation(spec, z)
        np.testing.assert_allclose(value, ref_v, atol=1e-12)
        np.testing.assert_allclose(grad, ref_d, atol=1e-12)


def test_step_forward_and_both_gradient_modes():
    z = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    v, g = torch_value_and_grad({"type": "step", "params": {"grad": "ste"}}, z)
    assert v.tolist() == [0, 0, 0, 0, 1, 1, 1]  # Heaviside: 0 for z <= 0
    assert g.tolist() == [0, 1, 1, 1, 1, 1, 0]  # straight through where |z| <= 1
    v, g = torch_value_and_grad("step", z)  # default: the true (zero) gradient
    assert v.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert g.tolist() == [0] * 7


def test_sign_is_the_perceptrons_minus_one_plus_one_threshold():
    """Lecture 004: heaviside(z) = 0 for z ≤ 0, else 1; or sign(z): −1 for z ≤ 0, else +1."""
    z = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    v, g = torch_value_and_grad({"type": "sign", "params": {"grad": "ste"}}, z)
    h, hg = torch_value_and_grad({"type": "step", "params": {"grad": "ste"}}, z)
    assert v.tolist() == [-1, -1, -1, -1, 1, 1, 1] and np.array_equal(v, 2 * h - 1)
    assert g.tolist() == [0, 2, 2, 2, 2, 2, 0]  # straight through 2·step − 1: twice the step's slope
    v, g = torch_value_and_grad("sign", z)
    assert g.tolist() == [0] * 7
    with torch.no_grad():
        assert ACTIVATIONS.create("sign")(torch.tensor([[0.0, 3.0]])).tolist() == [[-1.0, 1.0]]


def test_step_zero_gradient_keeps_upstream_in_the_graph():
    w = torch.ones(3, requires_grad=True)
    y = ACTIVATIONS.create("step")(w.reshape(1, 3) * 2.0)
    y.sum().backward()
    assert w.grad is not None and w.grad.abs().sum().item() == 0.0


def test_step_without_grad_is_a_plain_threshold():
    with torch.no_grad():
        y = ACTIVATIONS.create({"type": "step", "params": {"grad": "ste"}})(torch.tensor([[-0.1, 0.0, 0.1]]))
    assert y.tolist() == [[0.0, 0.0, 1.0]] and y.grad_fn is None


def test_maxout_takes_max_over_consecutive_groups():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6))
    m = ACTIVATIONS.create({"type": "maxout", "params": {"pieces": 3}})
    t = torch.tensor(x, requires_grad=True)
    y = m(t)
    assert tuple(y.shape) == (5, 2)
    np.testing.assert_allclose(y.detach().numpy(), x.reshape(5, 2, 3).max(axis=2))
    y.sum().backward()  # gradient flows to the winning piece only
    win = (x.reshape(5, 2, 3) == x.reshape(5, 2, 3).max(axis=2, keepdims=True)).reshape(5, 6)
    np.testing.assert_array_equal(t.grad.numpy(), win.astype(float))
    img = torch.tensor(rng.normal(size=(2, 4, 3, 3)))
    y = ACTIVATIONS.create("maxout")(img)
    assert tuple(y.shape) == (2, 2, 3, 3)
    np.testing.assert_allclose(y.numpy(), img.numpy().reshape(2, 2, 2, 3, 3).max(axis=2))


def test_maxout_shape_rules():
    assert activation_shape({"type": "maxout", "params": {"pieces": 3}}, (9,)) == (3,)
    assert activation_shape({"type": "maxout", "params": {"pieces": 2}}, (4, 5, 5)) == (2, 5, 5)
    assert activation_shape("relu", (4, 5, 5)) == (4, 5, 5)
    with pytest.raises(InvalidInput, match=r"\(7,\)"):
        activation_shape({"type": "maxout", "params": {"pieces": 2}}, (7,))
    with pytest.raises(InvalidInput, match="pieces.*1"):
        activation_shape({"type": "maxout", "params": {"pieces": 1}}, (4,))


def test_softmax_rows_sum_to_one_and_match_numpy():
    x = np.random.default_rng(2).normal(size=(4, 5)) * 3
    y = ACTIVATIONS.create("softmax").double()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y.sum(axis=1), np.ones(4), atol=1e-12)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), atol=1e-12)
    with pytest.raises(InvalidInput, match="not elementwise"):
        numpy_activation("softmax", x)


def test_prelu_has_one_learnable_slope():
    m = ACTIVATIONS.create({"type": "prelu", "params": {"init": 0.3}})
    ps = list(m.parameters())
    assert len(ps) == 1 and ps[0].numel() == 1 and ps[0].item() == pytest.approx(0.3)
    assert activation_param_count("prelu", (8,)) == 1
    assert activation_param_count("relu", (8,)) == 0
    assert all(sum(p.numel() for p in ACTIVATIONS.create(n).parameters()) == activation_param_count(n) for n in ACTIVATIONS.names())


def test_aliases_and_registry_entries():
    assert ACTIVATIONS.resolve("linear")[0].name == "identity"
    assert ACTIVATIONS.resolve("logistic")[0].name == "sigmoid"
    assert ACTIVATIONS.resolve("silu")[0].name == "swish"
    assert set(ACTIVATIONS.names()) == {
        "identity", "step", "sign", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "softplus", "swish", "maxout", "softmax"
    }
    for e in ACTIVATIONS.entries():
        assert e.doc and e.doc[0].isupper() and len(e.doc) > 30, e.name
    assert "ste" in ACTIVATIONS.entry("step").doc and "zero" in ACTIVATIONS.entry("step").doc
    with pytest.raises(InvalidInput, match="'rleu'.*relu"):
        ACTIVATIONS.resolve("rleu")
    with pytest.raises(InvalidInput, match="'fast'"):
        ACTIVATIONS.resolve({"type": "step", "params": {"grad": "fast"}})
