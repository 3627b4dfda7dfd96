"""SimpleRNN and LSTM: shapes, parameter counts (ours and torch's convention), forward passes against numpy and torch."""
import math

import numpy as np
import pytest
import torch

from engine.builder import build_model
from engine.errors import InvalidInput
from engine.layers import get_layer
from engine.layers.recurrent import recurrent_module_classes


def infer(name, shape, **params):
    lt = get_layer(name)
    p = lt.schema.validate(params, owner=name)
    return lt.infer([shape], p), lt.count_params([shape], p), p


@pytest.mark.parametrize("name,shape,params,out,count", [
    ("SimpleRNN", (7, 3), {"units": 5}, (5,), 5 * (3 + 5 + 1)),
    ("SimpleRNN", (7, 3), {"units": 5, "return_sequences": True}, (7, 5), 45),
    ("SimpleRNN", (4, 1), {"units": 2, "activation": "prelu"}, (2,), 2 * 4 + 1),
    ("LSTM", (7, 3), {"units": 5}, (5,), 4 * 5 * (3 + 5 + 1)),
    ("LSTM", (9, 2), {"units": 4, "return_sequences": True}, (9, 4), 4 * 4 * 7),
])
def test_shapes_and_counts_follow_the_formulas(name, shape, params, out, count):
    got, n, p = infer(name, shape, **params)
    assert tuple(got) == out and n == count
    module = get_layer(name).build([shape], p)
    assert sum(q.numel() for q in module.parameters()) == count


def test_torch_counts_one_bias_more_per_gate_for_the_same_function():
    """torch.nn.RNN/LSTM keep bias_ih and bias_hh: units (4·units) more than our one-bias count."""
    f, u = 3, 5
    assert sum(q.numel() for q in torch.nn.RNN(f, u).parameters()) == u * (f + u + 2) == infer("SimpleRNN", (7, f), units=u)[1] + u
    assert sum(q.numel() for q in torch.nn.LSTM(f, u).parameters()) == 4 * u * (f + u + 2) == infer("LSTM", (7, f), units=u)[1] + 4 * u


@pytest.mark.parametrize("name,shape,params,needles", [
    ("SimpleRNN", (20,), {}, ["(20,)", "(time, features)", "Reshape to (20, 1)"]),
    ("LSTM", (1, 8, 8), {}, ["(1, 8, 8)", "(time, features)"]),
    ("SimpleRNN", (5, 2), {"units": 4, "activation": "maxout"}, ["maxout"]),
])
def test_shape_errors_are_one_clear_line(name, shape, params, needles):
    with pytest.raises(InvalidInput) as e:
        infer(name, shape, **params)
    msg = str(e.value)
    assert "\n" not in msg and all(s in msg for s in needles), msg


def test_a_dense_shaped_input_into_an_rnn_is_flagged_on_the_node():
    from engine.graph import analyze
    from engine.spec import GraphSpec

    spec = GraphSpec.from_dict({"layers": [{"id": "input", "type": "Input", "params": {"shape": [6]}},
                                           {"id": "rnn", "type": "SimpleRNN"}, {"id": "out", "type": "Dense"}]})
    rep = analyze(spec)
    assert [e.node for e in rep.errors] == ["rnn"] and "Reshape to (6, 1)" in str(rep.errors[0])


def numpy_rnn(x, wx, wh, b, f=np.tanh):
    h = np.zeros((x.shape[0], wh.shape[0]))
    out = []
    for t in range(x.shape[1]):
        h = f(x[:, t] @ wx.T + h @ wh.T + b)
        out.append(h)
    return np.stack(out, 1)


def _model(layer, units, shape, **params):
    return build_model({"layers": [{"id": "input", "type": "Input", "params": {"shape": list(shape)}},
                                   {"id": "r", "type": layer, "params": {"units": units, **params}}]},
                       seed=3, dtype="float64")


@pytest.mark.parametrize("act,f", [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))])
def test_simple_rnn_equals_a_numpy_loop_with_its_weights(act, f):
    m = _model("SimpleRNN", 4, (6, 3), activation=act, return_sequences=True)
    layer = m.layers["r"]
    with torch.no_grad():
        layer.bias.copy_(torch.linspace(-0.5, 0.5, 4, dtype=torch.float64))  # a non-zero bias must enter every step
    x = torch.randn(5, 6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    wx, wh, b = (t.detach().numpy() for t in (layer.weight, layer.weight_hh, layer.bias))
    ref = numpy_rnn(x.numpy(), wx, wh, b, f)
    np.testing.assert_allclose(m(x).detach().numpy(), ref, atol=1e-12)
    # a feed-forward layer (W_h ignored) would differ from the second step on
    assert np.abs(ref[:, 1:] - f(x.numpy()[:, 1:] @ wx.T + b)).max() > 1e-2
    last = recurrent_module_classes()[0](3, 4, False, layer.act).double()
    last.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(last(x).detach().numpy(), ref[:, -1], atol=1e-12)


def test_simple_rnn_equals_torch_rnn_with_copied_weights_and_a_zero_second_bias():
    m = _model("SimpleRNN", 5, (8, 2))
    layer = m.layers["r"]
    ref = torch.nn.RNN(2, 5, batch_first=True).double()
    with torch.no_grad():
        layer.bias.normal_(generator=torch.Generator().manual_seed(1))
        ref.weight_ih_l0.copy_(layer.weight)
        ref.weight_hh_l0.copy_(layer.weight_hh)
        ref.bias_ih_l0.copy_(layer.bias)
        ref.bias_hh_l0.zero_()
    x = torch.randn(3, 8, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    np.testing.assert_allclose(m(x).detach().numpy(), ref(x)[1][0].detach().numpy(), atol=1e-12)


def test_lstm_equals_torch_lstm_and_the_gate_equations():
    m = _model("LSTM", 3, (7, 2), return_sequences=True)
    layer = m.layers["r"]
    ref = torch.nn.LSTM(2, 3, batch_first=True).double()
    with torch.no_grad():
        layer.bias.uniform_(-1, 1, generator=torch.Generator().manual_seed(4))
        ref.weight_ih_l0.copy_(layer.weight)
        ref.weight_hh_l0.copy_(layer.weight_hh)
        ref.bias_ih_l0.copy_(layer.bias)
        ref.bias_hh_l0.zero_()
    x = torch.randn(4, 7, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    got = m(x).detach().numpy()
    np.testing.assert_allclose(got, ref(x)[0].detach().numpy(), atol=1e-12)

    def sig(z):
        return 1 / (1 + np.exp(-z))

    w, u, b = (t.detach().numpy() for t in (layer.weight, layer.weight_hh, layer.bias))
    h = c = np.zeros((4, 3))
    for t in range(7):
        z = x.numpy()[:, t] @ w.T + h @ u.T + b
        i, f, g, o = sig(z[:, :3]), sig(z[:, 3:6]), np.tanh(z[:, 6:9]), sig(z[:, 9:])
        c = f * c + i * g
        h = o * np.tanh(c)
        np.testing.assert_allclose(got[:, t], h, atol=1e-12)
    hs, cs = layer.states(x)
    np.testing.assert_allclose(cs[:, -1].detach().numpy(), c, atol=1e-12)


def test_default_initializers_glorot_for_w_x_orthogonal_for_w_h_zero_bias():
    m = _model("LSTM", 6, (5, 3))
    layer = m.layers["r"]
    wh = layer.weight_hh.detach().numpy()  # (24, 6): orthonormal columns
    np.testing.assert_allclose(wh.T @ wh, np.eye(6), atol=1e-10)
    bound = np.sqrt(6.0 / (3 + 24))  # Glorot uniform with fan_in 3, fan_out 4·6
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not layer.bias.detach().numpy().any()
    rnn = _model("SimpleRNN", 4, (5, 3)).layers["r"]
    np.testing.assert_allclose(rnn.weight_hh.detach().numpy() @ rnn.weight_hh.detach().numpy().T, np.eye(4), atol=1e-10)


def test_the_compiled_path_refuses_recurrent_layers_with_a_reason():
    from engine.compiled.support import supports
    from engine.session import Session

    s = Session.from_dict({"graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [20, 1]}},
                                                {"id": "r", "type": "SimpleRNN"}, {"id": "d", "type": "Dense", "params": {"units": 1}}]},
                           "dataset": {"type": "sine_next", "params": {"n": 20}}, "loss": {"type": "mse"},
                           "training": {"device": "cpu"}})
    assert supports(s, "cpu") == "SimpleRNN layers run on torch"


def test_explicit_values_give_a_hand_worked_recurrence():
    """One unit, w_x = 0.5, w_h = 0.8, b = 0.1 typed in; an impulse 1, 0, 0 decays through h: tanh(0.8·h + 0.1)."""
    m = build_model({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [3, 1]}},
        {"id": "r", "type": "SimpleRNN", "params": {"units": 1, "return_sequences": True},
         "init": {"weight": {"type": "values", "params": {"values": [[0.5]]}},
                  "weight_hh": {"type": "values", "params": {"values": [[0.8]]}},
                  "bias": {"type": "values", "params": {"values": [0.1]}}}}]}, dtype="float64")
    h1 = math.tanh(0.5 + 0.1)
    h2 = math.tanh(0.8 * h1 + 0.1)
    h3 = math.tanh(0.8 * h2 + 0.1)
    got = m(torch.tensor([[[1.0], [0.0], [0.0]]], dtype=torch.float64))[0, :, 0].tolist()
    assert got == pytest.approx([h1, h2, h3], abs=1e-12) and h1 == pytest.approx(0.537, abs=1e-3)


def test_l2_penalises_w_x_only_like_keras_kernel_regularizer():
    from engine.regularizers import REGULARIZERS

    m = _model("SimpleRNN", 3, (4, 2))
    layer = m.layers["r"]
    l2 = REGULARIZERS.create({"type": "l2", "params": {"lambda": 0.5}})
    with torch.no_grad():
        want = 0.5 * float((layer.weight ** 2).sum())
        assert float(l2.penalty(m)) == pytest.approx(want, rel=1e-12)
        assert float((layer.weight_hh ** 2).sum()) == pytest.approx(3.0)  # orthogonal W_h: Σw² = units, not counted


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
@pytest.mark.parametrize("layer,params", [("SimpleRNN", {"activation": "tanh"}), ("SimpleRNN", {"activation": "relu"}),
                                          ("SimpleRNN", {"activation": "sigmoid"}), ("LSTM", {}),
                                          ("LSTM", {"return_sequences": True})])
def test_the_fused_training_kernel_equals_the_written_out_loop_values_and_gradients(layer, params):
    """forward() (torch's fused kernel where it applies) and states() (the loop the exports trace) agree."""
    m = _model(layer, 4, (9, 3), **params)
    mod = m.layers["r"]
    with torch.no_grad():
        mod.bias.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(8))
    x = torch.randn(5, 9, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    fused = mod(x)
    seq = mod.states(x)
    seq = seq[0] if isinstance(seq, tuple) else seq
    loop = seq if mod.return_sequences else seq[:, -1]
    np.testing.assert_allclose(fused.detach().numpy(), loop.detach().numpy(), atol=1e-12)
    g_fused = torch.autograd.grad((fused ** 2).sum(), [mod.weight, mod.weight_hh, mod.bias])
    g_loop = torch.autograd.grad((loop ** 2).sum(), [mod.weight, mod.weight_hh, mod.bias])
    for a, b in zip(g_fused, g_loop):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    assert all(float(g.abs().sum()) > 0 for g in g_fused)
    traced = torch.jit.trace(mod.eval(), (x,), check_trace=False)  # exports trace the loop
    np.testing.assert_allclose(traced(x).detach().numpy(), loop.detach().numpy(), atol=1e-12)
    kinds = {n.kind() for n in traced.inlined_graph.nodes()}
    assert "aten::linear" in kinds and not kinds & {"aten::rnn_tanh", "aten::rnn_relu", "aten::lstm"}
