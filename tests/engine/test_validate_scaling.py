"""Validation is linear in the graph's size, and the indexed GraphSpec lookups follow every edit."""
import time

from engine.graph import analyze, validate
from engine.memory import estimate
from engine.spec import Edge, GraphSpec, Node


def chain(n) -> GraphSpec:
    layers = [{"type": "Input", "params": {"shape": [2]}}]
    layers += [{"type": "Dense", "params": {"units": 2, "activation": "tanh"}} for _ in range(n - 2)]
    return GraphSpec.from_dict({"layers": layers + [{"type": "Output"}]})


def best(fn, rounds=3):
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def test_a_5000_node_chain_validates_fast_and_linearly():
    small, big = chain(1000), chain(5000)
    rep = validate(big)
    assert len(rep.order) == 5000 and rep.order[0] == "input1" and rep.order[-1] == "output1"
    assert rep.total_params == 4998 * (2 * 2 + 2)
    assert big.node("dense4998").id == "dense4998"  # auto ids stay sequential
    t_small = best(lambda: estimate_of(small))
    t_big = best(lambda: estimate_of(big))
    assert t_big < 2.0  # was ~5 s (quadratic); ~0.1 s on an idle laptop
    assert t_big / t_small < 12  # 5× the nodes: linear gives ~5×, quadratic 25×


def estimate_of(spec):
    from engine.session import Session

    s = Session()
    s.graph = spec
    estimate(s, validate(spec))


def test_indexes_follow_edits_in_place_and_by_assignment():
    g = GraphSpec.from_dict({"layers": [{"type": "Input"}, {"type": "Dense"}, {"type": "Output"}]})
    assert g.inputs_of("dense1") == ["input1"] and g.outputs_of("dense1") == ["output1"]
    g.edges.append(Edge("input1", "output1"))
    assert g.inputs_of("output1") == ["dense1", "input1"]  # edge order kept (Concatenate depends on it)
    g.edges.remove(Edge("dense1", "output1"))
    assert g.inputs_of("output1") == ["input1"] and g.outputs_of("dense1") == []
    g.edges = [Edge("input1", "dense1"), Edge("dense1", "output1")]
    assert g.inputs_of("output1") == ["dense1"]
    g.nodes[1].id = "hidden"  # renamed in place
    assert g.node("hidden").type == "Dense"
    try:
        g.node("dense1")
        raise AssertionError("a renamed node must not be found under its old id")
    except Exception as e:
        assert "no such node" in str(e)
    g.nodes.append(Node("extra", "Dense"))
    assert g.node("extra").type == "Dense"
    del g.nodes[-1]
    assert "extra" not in g.ids()
    try:
        g.node("extra")
        raise AssertionError("a deleted node must not be found")
    except Exception as e:
        assert "no such node" in str(e)
    assert g.copy() == g and g.copy().inputs_of("output1") == ["dense1"]


def test_a_long_cycle_names_only_the_loop():
    g = chain(2000)
    g.edges.append(Edge("dense1500", "dense1000"))  # a loop through dense1000..dense1500; the rest hangs below it
    rep = analyze(g)
    msg = str(rep.errors[0])
    assert msg.startswith("node 'dense1000': the graph has a cycle through dense1000, dense1001,")
    assert "dense1600" not in msg and msg.endswith(", ...")  # only the loop, at most 20 names
