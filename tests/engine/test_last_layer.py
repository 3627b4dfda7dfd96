"""One rule for the activation the loss sees (engine.graph.final_activation), shared by the trainer and the window.

The nets below are ones where the window's old walk (through any one-input layer) and the engine's old walk
(through Output, Dropout, Flatten, Reshape) disagreed, or where the new rule differs from both.
"""
import pytest
import torch

from engine.graph import final_activation, last_activation, last_layer, validate
from engine.preflight import preflight
from engine.session import Session
from engine.spec import GraphSpec

SOFTMAX_CE_PROBS = "cross_entropy with from_logits false needs softmax probabilities"
TWICE = "applies the softmax itself"


def net(*middle, last_act="softmax", units=3, shape=(2,)):
    layers = [{"id": "input", "type": "Input", "params": {"shape": list(shape)}},
              {"id": "last", "type": "Dense", "params": {"units": units, "activation": last_act}}]
    layers += [{"id": f"m{i}", "type": t, "params": p} for i, (t, p) in enumerate(middle)]
    layers.append({"id": "output", "type": "Output"})
    return GraphSpec.from_dict({"layers": layers})


def session(graph, loss, dataset=None):
    s = Session()
    s.graph = graph
    s.dataset = dataset or {"type": "blobs", "params": {"classes": 3, "n": 60}}
    s.loss = loss
    return s


@pytest.mark.parametrize("middle, want", [
    ((), ("softmax", "last")),
    ((("Dropout", {"p": 0.3}),), ("softmax", "last")),
    ((("Dropout", {"p": 0.3}), ("Reshape", {"shape": [3]}), ("Flatten", {})), ("softmax", "last")),
    ((("BatchNorm", {}),), ("identity", "m0")),  # the window used to say softmax here
    ((("LayerNorm", {}),), ("identity", "m0")),
    ((("BatchNorm", {}), ("Activation", {"activation": "sigmoid"})), ("sigmoid", "m1")),
    ((("Dropout", {"p": 0.1}), ("Activation", {"activation": "tanh"}), ("Dropout", {"p": 0.1})), ("tanh", "m1")),
])
def test_final_activation_walks_only_through_value_keeping_nodes(middle, want):
    g = net(*middle)
    rep = validate(g)
    assert final_activation(g, rep) == want
    assert last_activation(g, rep) == want[0]
    node = last_layer(g)
    assert (node.id if node is not None else None) == (want[1] if want[1] in ("last", "m1") else None)


def test_batchnorm_after_a_softmax_does_not_keep_probabilities():
    """Why the walk stops at BatchNorm: its outputs are negative somewhere and their rows do not sum to 1."""
    torch.manual_seed(0)
    p = torch.softmax(torch.randn(64, 3) * 3, dim=1)
    bn = torch.nn.BatchNorm1d(3).train()
    q = bn(p).detach()
    assert torch.allclose(p.sum(1), torch.ones(64))
    assert (q < 0).any() and not torch.allclose(q.sum(1), torch.ones(64), atol=0.1)
    m = torch.nn.Dropout(0.5).eval()  # Dropout at evaluation: the very same probabilities
    assert torch.equal(m(p), p)


def test_max_pool_selects_values_so_a_sigmoid_survives_it_but_avg_pool_mixes():
    layers = [{"id": "input", "type": "Input", "params": {"shape": [1, 4, 4]}},
              {"id": "conv", "type": "Conv2d", "params": {"filters": 2, "kernel_size": 3, "padding": 1,
                                                          "activation": "sigmoid"}},
              {"id": "pool", "type": "MaxPool", "params": {"pool_size": 2}},
              {"id": "flat", "type": "Flatten"}, {"id": "output", "type": "Output"}]
    g = GraphSpec.from_dict({"layers": layers})
    assert final_activation(g, validate(g)) == ("sigmoid", "conv")
    layers[2] = {"id": "pool", "type": "AvgPool", "params": {"pool_size": 2}}
    g = GraphSpec.from_dict({"layers": layers})
    assert final_activation(g, validate(g)) == ("identity", "pool")
    assert last_layer(g) is None


def test_engine_warnings_follow_the_rule_where_the_old_walks_disagreed():
    bn = net(("BatchNorm", {}))
    probs = {"type": "cross_entropy", "params": {"from_logits": False}}
    logits = {"type": "cross_entropy", "params": {"from_logits": True}}
    # softmax → BatchNorm: the loss sees unbounded scores, so a loss on probabilities is wrong ...
    w = preflight(session(bn, probs), build=False)
    assert any(SOFTMAX_CE_PROBS in x and "the output is linear" in x for x in w), w
    # ... and a loss on logits is fine (the window used to warn "softmax applied twice" here).
    assert not preflight(session(bn, logits), build=False)
    # softmax → Dropout → Output: the loss does see the softmax.
    drop = net(("Dropout", {"p": 0.2}))
    assert any(TWICE in x for x in preflight(session(drop, logits), build=False))
    assert not preflight(session(drop, probs), build=False)
    from engine.run import Run

    run = Run(session(bn, probs), path="torch")
    assert any(SOFTMAX_CE_PROBS in x for x in run.trainer.warnings)
