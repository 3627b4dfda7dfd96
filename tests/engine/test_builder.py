"""The built torch model against hand-written numpy forward passes."""
import numpy as np
import pytest
import torch

from engine.builder import GraphModule, build_model
from engine.errors import GraphError, InvalidInput
from engine.graph import analyze
from engine.spec import GraphSpec


def sig(z):
    return 1 / (1 + np.exp(-z))


def vals(w):
    return {"type": "values", "params": {"values": np.asarray(w).tolist()}}


def xor_net():
    """The lecture's worked XOR example: logistic hidden and output units, W in torch layout [out][in]."""
    return {
        "layers": [
            {"id": "x", "type": "Input", "params": {"shape": [2]}},
            {"id": "z", "type": "Dense", "params": {"units": 2, "activation": "sigmoid"},
             "init": {"weight": vals([[-0.07, 0.22], [0.94, 0.46]]), "bias": vals([-0.46, 0.1])}},
            {"id": "f", "type": "Dense", "params": {"units": 1, "activation": "logistic"},
             "init": {"weight": vals([[-0.22, 0.58]]), "bias": vals([0.78])}},
            {"id": "out", "type": "Output"},
        ]
    }


def test_lecture_xor_forward_pass():
    m = build_model(xor_net(), dtype="float64")
    out, rec = m.forward_record(torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert rec["z"]["pre"].tolist()[0] == pytest.approx([-0.53, 1.04], abs=1e-12)
    assert rec["z"]["post"].tolist()[0] == pytest.approx([0.3705, 0.7389], abs=5e-5)
    # The notes print f_in = 1.1122 and f_out = 0.7525, an arithmetic slip: their own sum gives 1.12705.
    f_in = 0.3705 * -0.22 + 0.7389 * 0.58 + 0.78
    assert rec["f"]["pre"].item() == pytest.approx(f_in, abs=5e-5)
    z = sig(np.array([-0.53, 1.04]))
    assert rec["f"]["pre"].item() == pytest.approx(z @ [-0.22, 0.58] + 0.78, abs=1e-12)
    assert out.item() == pytest.approx(sig(z @ [-0.22, 0.58] + 0.78), abs=1e-12)
    assert rec["x"]["pre"] is None and rec["out"]["pre"] is None
    assert torch.equal(rec["out"]["post"], out)


def test_output_equals_numpy_forward_on_a_batch():
    rng = np.random.default_rng(0)
    w1, b1, w2, b2, w3, b3 = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=(4, 5)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    spec = {"layers": [
        {"type": "Input", "params": {"shape": [3]}},
        {"type": "Dense", "params": {"units": 5, "activation": "relu"}, "init": {"weight": vals(w1), "bias": vals(b1)}},
        {"type": "Dense", "params": {"units": 4, "activation": "tanh"}, "init": {"weight": vals(w2), "bias": vals(b2)}},
        {"type": "Dense", "params": {"units": 2, "activation": "softmax"}, "init": {"weight": vals(w3), "bias": vals(b3)}},
        {"type": "Output"},
    ]}
    x = rng.normal(size=(7, 3))
    h = np.maximum(x @ w1.T + b1, 0)
    h = np.tanh(h @ w2.T + b2)
    z = h @ w3.T + b3
    ref = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    m = build_model(spec, dtype=torch.float64)
    np.testing.assert_allclose(m(torch.from_numpy(x)).detach().numpy(), ref, atol=1e-12)


def test_forward_record_pre_post_and_gradients():
    spec = {"layers": [
        {"type": "Input", "params": {"shape": [2]}},
        {"id": "d", "type": "Dense", "params": {"units": 3}},
        {"id": "a", "type": "Activation", "params": {"activation": "tanh"}},
        {"id": "e", "type": "Dense", "params": {"units": 1, "activation": "sigmoid"}},
    ]}
    m = build_model(spec, seed=3, dtype="float64")
    x = torch.randn(4, 2, dtype=torch.float64)
    out, rec = m.forward_record(x)
    assert torch.equal(out, m(x))
    assert rec["d"]["pre"] is None  # no fused activation
    assert rec["a"]["pre"] is rec["d"]["post"]
    assert torch.allclose(rec["a"]["post"], torch.tanh(rec["a"]["pre"]))
    assert torch.allclose(rec["e"]["post"], torch.sigmoid(rec["e"]["pre"]))
    for r in rec.values():
        for t in (r["pre"], r["post"]):
            if t is not None and t.requires_grad:
                t.retain_grad()
    out.sum().backward()
    s = rec["e"]["post"].detach()
    # chain rule by hand: dL/dz = dL/df * f'(z)
    assert torch.allclose(rec["e"]["pre"].grad, s * (1 - s))
    assert torch.allclose(rec["a"]["pre"].grad, rec["a"]["post"].grad * (1 - rec["a"]["post"].detach() ** 2))


def test_frozen_nodes_get_no_gradient():
    spec = {"layers": [
        {"type": "Input", "params": {"shape": [2]}},
        {"id": "frozen", "type": "Dense", "params": {"units": 3, "activation": "relu"}, "trainable": False},
        {"id": "live", "type": "Dense", "params": {"units": 1}},
    ]}
    m = build_model(spec)
    before = m.layers["frozen"].weight.detach().clone()
    opt = torch.optim.SGD(m.trainable_parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        m(torch.randn(8, 2)).pow(2).mean().backward()
        opt.step()
    assert m.layers["frozen"].weight.grad is None and m.layers["frozen"].bias.grad is None
    assert m.layers["live"].weight.grad is not None and m.layers["live"].weight.grad.abs().sum() > 0
    assert torch.equal(m.layers["frozen"].weight, before)
    assert {id(p) for p in m.trainable_parameters()} == {id(m.layers["live"].weight), id(m.layers["live"].bias)}
    assert [(n, k) for n, k, _ in m.weight_params()] == [("live", "weight")]
    assert [(n, k) for n, k, _ in m.weight_params(trainable_only=False)] == [("frozen", "weight"), ("live", "weight")]
    assert m.count_trainable() == 4


def test_frozen_batchnorm_keeps_its_running_stats():
    spec = {"layers": [{"type": "Input", "params": {"shape": [3]}}, {"id": "bn", "type": "BatchNorm", "trainable": False}]}
    m = build_model(spec).train()
    assert not m.layers["bn"].training
    m(torch.randn(16, 3) + 5)
    assert m.layers["bn"].running_mean.tolist() == [0.0, 0.0, 0.0]


def skip_spec(merge):
    return {
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3]}},
            {"id": "a", "type": "Dense", "params": {"units": 3, "activation": "relu"}},
            {"id": "b", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
            {"id": "m", "type": merge},
            {"id": "c", "type": "Dense", "params": {"units": 2}},
            {"id": "o", "type": "Output"},
        ],
        "edges": [{"from": "x", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "m"}, {"from": "x", "to": "m"},
                  {"from": "m", "to": "c"}, {"from": "c", "to": "o"}],
    }


@pytest.mark.parametrize("merge", ["Add", "Concatenate"])
def test_skip_connection_graph_equals_manual(merge):
    m = build_model(skip_spec(merge), seed=5, dtype="float64")
    assert m._chain is None  # the general (non-chain) path is exercised
    p = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    x = np.random.default_rng(1).normal(size=(6, 3))
    a = np.maximum(x @ p["layers.a.weight"].T + p["layers.a.bias"], 0)
    b = np.tanh(a @ p["layers.b.weight"].T + p["layers.b.bias"])
    j = b + x if merge == "Add" else np.concatenate([b, x], axis=1)  # edge order: b first
    ref = j @ p["layers.c.weight"].T + p["layers.c.bias"]
    np.testing.assert_allclose(m(torch.from_numpy(x)).detach().numpy(), ref, atol=1e-12)
    out, rec = m.forward_record(torch.from_numpy(x))
    np.testing.assert_allclose(rec["m"]["post"].detach().numpy(), j, atol=1e-12)
    assert torch.equal(out, m(torch.from_numpy(x)))


def test_chain_and_general_paths_agree():
    m = build_model({"layers": [{"type": "Input", "params": {"shape": [4]}}, {"type": "Dense", "params": {"units": 3, "activation": "elu"}},
                                {"type": "Dropout", "params": {"p": 0.0}}, {"type": "Dense", "params": {"units": 2}}, {"type": "Output"}]}).eval()
    assert m._chain is not None and len(m._chain) == 3  # Input/Output are not on the hot path
    x = torch.randn(5, 4)
    fast = m(x)
    m._chain = None
    assert torch.equal(fast, m(x))


def test_dropout_modes_numerically():
    def dropout_net(mode):
        return build_model({"layers": [{"type": "Input", "params": {"shape": [20000]}}, {"type": "Dropout", "params": {"p": 0.25, "mode": mode}}]})

    x = torch.full((1, 20000), 2.0)
    torch.manual_seed(0)
    m = dropout_net("inverted").train()
    y = m(x)
    assert sorted(y.unique().tolist()) == pytest.approx([0.0, 2.0 / 0.75])
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.015)
    assert y.mean().item() == pytest.approx(2.0, rel=0.03)  # expectation preserved while training
    assert torch.equal(m.eval()(x), x)
    m = dropout_net("weight_scaling").train()
    y = m(x)
    assert sorted(y.unique().tolist()) == [0.0, 2.0]
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.015)
    assert torch.allclose(m.eval()(x), x * 0.75)  # scaled at test time, like the lecture
    torch.manual_seed(1)
    a = dropout_net("inverted").train()(x)
    torch.manual_seed(1)
    assert torch.equal(a, dropout_net("inverted").train()(x))  # masks follow the global seed


def test_batchnorm_train_and_eval_differ():
    m = build_model({"layers": [{"type": "Input", "params": {"shape": [3]}}, {"id": "bn", "type": "BatchNorm", "params": {"momentum": 0.1}}]}, dtype="float64")
    x = torch.randn(64, 3, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) + 4
    y = m.train()(x)
    assert torch.allclose(y.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(y.var(0, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-3)
    assert torch.allclose(m.layers["bn"].running_mean, 0.1 * x.mean(0))
    ye = m.eval()(x)
    ref = (x - 0.1 * x.mean(0)) / torch.sqrt(0.9 + 0.1 * x.var(0, unbiased=True) + 1e-5)
    assert torch.allclose(ye, ref)
    assert not torch.allclose(y, ye)


GRAPHS = [
    {"layers": [{"type": "Input", "params": {"shape": [2]}}, {"type": "Dense", "params": {"units": 8, "activation": "prelu"}},
                {"type": "Dense", "params": {"units": 4, "activation": "maxout", "activation_params": {"pieces": 3}}},
                {"type": "BatchNorm"}, {"type": "Dense", "params": {"units": 1, "use_bias": False}}]},
    {"layers": [{"type": "Input", "params": {"shape": [1, 8, 8]}}, {"type": "Conv2d", "params": {"filters": 4, "activation": "relu"}},
                {"type": "BatchNorm"}, {"type": "MaxPool"}, {"type": "Conv2d", "params": {"filters": 6, "kernel_size": 2, "padding": 1}},
                {"type": "AvgPool"}, {"type": "Flatten"}, {"type": "LayerNorm"}, {"type": "Dropout"}, {"type": "Dense", "params": {"units": 10}}]},
    {"layers": [{"type": "Input", "params": {"shape": [2, 12]}}, {"type": "Conv1d", "params": {"filters": 3, "stride": 2}},
                {"type": "Activation", "params": {"activation": "prelu"}}, {"type": "Flatten"}, {"type": "Reshape", "params": {"shape": [3, -1]}},
                {"type": "Flatten"}, {"type": "Dense", "params": {"units": 2}}]},
    {"layers": [{"type": "Input", "params": {"shape": [5]}}, {"type": "Embedding", "params": {"num_embeddings": 7, "embedding_dim": 3}},
                {"type": "Flatten"}, {"type": "Dense", "params": {"units": 2}}]},
    skip_spec("Concatenate"),
]


@pytest.mark.parametrize("i", range(len(GRAPHS)))
def test_report_param_count_equals_torch(i):
    m = build_model(GRAPHS[i])
    assert m.report.total_params == m.count_trainable() == sum(p.numel() for p in m.parameters())
    for nid in m.order:
        assert m.report.param_counts[nid] == sum(p.numel() for p in m.layers[nid].parameters()), nid
    x = torch.randint(0, 7, (3, *m.in_shape)).float() if i == 3 else torch.randn(3, *m.in_shape)
    assert tuple(m.train()(x).shape) == (3, *m.out_shape)
    out, rec = m.forward_record(x)
    assert all(tuple(rec[n]["post"].shape[1:]) == m.report.shapes[n] for n in m.order)


def test_reinitialize_restores_the_built_state():
    m = build_model(GRAPHS[0], seed=11)
    start = {k: v.clone() for k, v in m.state_dict().items()}
    opt = torch.optim.SGD(m.trainable_parameters(), lr=0.1)
    m.train()
    for _ in range(3):
        opt.zero_grad()
        m(torch.randn(8, 2)).pow(2).mean().backward()
        opt.step()
    assert not torch.equal(m.state_dict()["layers.dense1.weight"], start["layers.dense1.weight"])
    assert m.state_dict()["layers.batchnorm1.num_batches_tracked"].item() == 3
    m.reinitialize()
    assert all(torch.equal(m.state_dict()[k], v) for k, v in start.items())
    m.reinitialize(12)
    assert m.seed == 12 and not torch.equal(m.state_dict()["layers.dense1.weight"], start["layers.dense1.weight"])


def test_default_init_looks_through_a_following_activation_node():
    m = build_model({"layers": [{"type": "Input", "params": {"shape": [2]}}, {"id": "d", "type": "Dense", "params": {"units": 3}},
                                {"type": "Activation", "params": {"activation": "relu"}}, {"id": "e", "type": "Dense", "params": {"units": 1}}]})
    assert m.init_spec("d", "weight")["type"] == "he_uniform"
    assert m.init_spec("e", "weight")["type"] == "xavier_uniform"


def test_node_ids_that_shadow_module_methods():
    spec = {"layers": [{"id": "train", "type": "Input", "params": {"shape": [2]}}, {"id": "keys", "type": "Dense", "params": {"units": 2}},
                       {"id": "forward", "type": "Output"}]}
    m = build_model(spec)
    assert isinstance(m.layers["keys"], torch.nn.Module) and "layers.keys.weight" in m.state_dict()
    assert tuple(m(torch.randn(3, 2)).shape) == (3, 2)
    m.train()  # the method still works


def test_init_errors_name_the_node_and_target():
    base = xor_net()
    base["layers"][1]["init"] = {"gamma": "zeros"}
    with pytest.raises(GraphError, match="'gamma'.*weight, bias") as e:
        build_model(base)
    assert e.value.node == "z"
    base["layers"][1]["params"]["use_bias"] = False
    base["layers"][1]["init"] = {"bias": "zeros"}
    with pytest.raises(GraphError, match="use_bias"):
        build_model(base)
    base["layers"][1]["init"] = {"weight": "glorious"}
    with pytest.raises(GraphError, match="'glorious'"):
        build_model(base)


def test_invalid_graph_and_bad_arguments():
    with pytest.raises(GraphError, match="Flatten"):
        build_model({"layers": [{"type": "Input", "params": {"shape": [1, 4, 4]}}, {"type": "Dense"}]})
    with pytest.raises(InvalidInput, match="'int8'"):
        build_model(xor_net(), dtype="int8")
    m = build_model(xor_net())
    with pytest.raises(InvalidInput, match=r"\(2,\).*\(3,\)"):
        m.check_input(torch.zeros(4, 3))
    m.check_input(torch.zeros(4, 2))


def test_graphmodule_accepts_spec_objects_and_keeps_a_copy():
    spec = GraphSpec.from_dict(xor_net())
    m = build_model(spec)
    spec.nodes[1].params["units"] = 99
    assert m.spec.node("z").params["units"] == 2
    assert isinstance(m, GraphModule) and m.order == analyze(m.spec).order
    assert (m.input_id, m.output_id) == ("x", "out")
    assert m.layers["z"].weight.dtype == torch.float32


def test_step_activation_network_trains_only_with_ste():
    spec = {"layers": [{"type": "Input", "params": {"shape": [2]}}, {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "step"}},
                       {"type": "Dense", "params": {"units": 1}}]}
    x = torch.tensor([[0.2, -0.3], [0.5, 0.1]])
    m = build_model(spec)
    m(x).sum().backward()
    assert m.layers["h"].weight.grad.abs().sum().item() == 0.0
    spec["layers"][1]["params"]["activation_params"] = {"grad": "ste"}
    m = build_model(spec)
    m(x).sum().backward()
    assert m.layers["h"].weight.grad.abs().sum().item() > 0.0
