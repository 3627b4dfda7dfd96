"""Graph validation and shape inference: every error names what is wrong, every shape and count is exact."""
import pytest

from engine.errors import GraphError
from engine.graph import analyze, validate
from engine.spec import GraphSpec


def chain(*layers, shape=(2,)):
    return GraphSpec.sequential([{"type": "Input", "params": {"shape": list(shape)}}, *layers, {"type": "Output"}])


def dense(units, act="identity", **kw):
    return {"type": "Dense", "params": {"units": units, "activation": act, **kw}}


def graph(nodes, edges):
    return GraphSpec.from_dict(
        {"nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes], "edges": [{"from": a, "to": b} for a, b in edges]}
    )


def messages(rep):
    return " | ".join(str(e) for e in rep.errors)


def test_sequential_shorthand_builds_a_chain_with_auto_ids():
    spec = GraphSpec.from_dict({"layers": [{"type": "Input", "params": {"shape": [2]}}, dense(4), dense(1), {"type": "Output"}]})
    assert spec.ids() == ["input1", "dense1", "dense2", "output1"]
    assert [(e.src, e.dst) for e in spec.edges] == [("input1", "dense1"), ("dense1", "dense2"), ("dense2", "output1")]
    rep = validate(spec)
    assert rep.order == spec.ids()
    assert (rep.input_id, rep.output_id) == ("input1", "output1")


def test_dense_stack_shapes_and_param_counts():
    widths = [2, 8, 8, 1]
    rep = validate(chain(*[dense(m) for m in widths[1:]], shape=(widths[0],)))
    expected = sum(widths[i] * widths[i - 1] + widths[i] for i in range(1, len(widths)))
    assert expected == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 1 + 1 == 105
    assert rep.total_params == expected
    assert [rep.param_counts[f"dense{i}"] for i in (1, 2, 3)] == [24, 72, 9]
    assert [rep.shapes[f"dense{i}"] for i in (1, 2, 3)] == [(8,), (8,), (1,)]
    assert rep.shapes["output1"] == (1,)
    assert rep.in_shapes["dense2"] == [(8,)]


def test_no_bias_drops_bias_params():
    rep = validate(chain(dense(3, use_bias=False), shape=(4,)))
    assert rep.param_counts["dense1"] == 12


def test_cycle_error_names_the_nodes():
    spec = graph(
        [("x", "Input", {"shape": [2]}), ("a", "Dense", {"units": 2}), ("b", "Dense", {"units": 2}), ("o", "Output", {})],
        [("x", "a"), ("a", "b"), ("b", "a"), ("b", "o")],
    )
    rep = analyze(spec)
    assert not rep.ok
    msg = messages(rep)
    assert "cycle" in msg and "a" in rep.errors[0].node and "a, b" in msg


def test_dangling_port_is_reported_on_the_node():
    spec = graph(
        [("x", "Input", {"shape": [2]}), ("d", "Dense", {"units": 2}), ("s", "Add", {}), ("o", "Output", {})],
        [("x", "s"), ("d", "s"), ("s", "o")],
    )
    rep = analyze(spec)
    errs = rep.errors_for("d")
    assert errs and "dangling" in str(errs[0]) and "'in'" in str(errs[0])


def test_add_with_mismatched_shapes_names_every_shape():
    spec = graph(
        [("x", "Input", {"shape": [2]}), ("a", "Dense", {"units": 3}), ("b", "Dense", {"units": 5}), ("s", "Add", {}), ("o", "Output", {})],
        [("x", "a"), ("x", "b"), ("a", "s"), ("b", "s"), ("s", "o")],
    )
    with pytest.raises(GraphError) as e:
        validate(spec)
    assert e.value.node == "s"
    assert "(3,)" in str(e.value) and "(5,)" in str(e.value)


def test_concatenate_sums_the_feature_axis_in_edge_order():
    spec = graph(
        [("x", "Input", {"shape": [2]}), ("a", "Dense", {"units": 3}), ("b", "Dense", {"units": 5}), ("c", "Concatenate", {}), ("o", "Output", {})],
        [("x", "a"), ("x", "b"), ("a", "c"), ("b", "c"), ("x", "c"), ("c", "o")],
    )
    rep = validate(spec)
    assert rep.shapes["c"] == (10,)
    assert rep.in_shapes["c"] == [(3,), (5,), (2,)]
    assert rep.param_counts["c"] == 0


def test_concatenate_channels_and_mismatch():
    ok = graph(
        [("x", "Input", {"shape": [1, 8, 8]}), ("a", "Conv2d", {"filters": 2, "padding": 1}), ("c", "Concatenate", {}), ("o", "Output", {})],
        [("x", "a"), ("x", "c"), ("a", "c"), ("c", "o")],
    )
    assert validate(ok).shapes["c"] == (3, 8, 8)
    bad = graph(
        [("x", "Input", {"shape": [1, 8, 8]}), ("a", "Conv2d", {"filters": 2}), ("c", "Concatenate", {}), ("o", "Output", {})],
        [("x", "a"), ("x", "c"), ("a", "c"), ("c", "o")],
    )
    with pytest.raises(GraphError, match=r"\(1, 8, 8\), \(2, 6, 6\)"):
        validate(bad)


def test_unknown_layer_type_lists_choices():
    rep = analyze(chain({"type": "Dence", "params": {}}))
    msg = messages(rep)
    assert "'Dence'" in msg and "Dense" in msg and "Conv2d" in msg and "Dropout" in msg


def test_bad_param_message_quotes_the_value():
    rep = analyze(chain(dense(-3)))
    assert "-3" in messages(rep) and "units" in messages(rep)
    rep = analyze(chain(dense("many")))
    assert "'many'" in messages(rep)
    rep = analyze(chain({"type": "Dense", "params": {"units": 2, "colour": "red"}}))
    assert "'colour'" in messages(rep)
    rep = analyze(chain(dense(2, act="rleu")))
    assert "'rleu'" in messages(rep) and "relu" in messages(rep)


def test_conv_pool_flatten_chain_on_an_image():
    spec = chain(
        {"type": "Conv2d", "params": {"filters": 4, "kernel_size": 3}},
        {"type": "MaxPool", "params": {"pool_size": 2}},
        {"type": "Flatten"},
        dense(10),
        shape=(1, 8, 8),
    )
    rep = validate(spec)
    assert rep.shapes["conv2d1"] == (4, 6, 6)
    assert rep.shapes["maxpool1"] == (4, 3, 3)
    assert rep.shapes["flatten1"] == (36,)
    assert rep.shapes["dense1"] == (10,)
    assert rep.param_counts["conv2d1"] == 4 * 1 * 3 * 3 + 4
    assert rep.param_counts["dense1"] == 36 * 10 + 10
    assert rep.total_params == 40 + 370


def test_dense_after_image_suggests_flatten():
    rep = analyze(chain(dense(4), shape=(1, 8, 8)))
    msg = messages(rep)
    assert "(1, 8, 8)" in msg and "(n,)" in msg and "Flatten" in msg
    assert rep.errors[0].node == "dense1"


def test_two_inputs_is_an_error():
    spec = graph(
        [("x", "Input", {"shape": [2]}), ("y", "Input", {"shape": [2]}), ("s", "Add", {}), ("o", "Output", {})],
        [("x", "s"), ("y", "s"), ("s", "o")],
    )
    rep = analyze(spec)
    assert "exactly one Input" in messages(rep) and "found 2" in messages(rep)


def test_errors_are_collected_per_node():
    rep = analyze(chain(dense(0), {"type": "Dropout", "params": {"p": 1.5}}))
    assert rep.errors_for("dense1") and rep.errors_for("dropout1")
