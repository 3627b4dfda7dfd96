"""engine.rules_of_thumb: each of the notes' rules fires on a graph that breaks it and not on one that keeps it."""
import pytest

from engine.errors import InvalidInput
from engine.graph import analyze
from engine.rules_of_thumb import NOTE, QUOTES, chain_params, deeper_equivalent, report_text, rules_of_thumb
from engine.session import Session


def net(widths, n_in=2, n_out=1, dataset="circle", dropout_after=None, features=None, regularizers=(), **training):
    layers = [{"id": "in", "type": "Input", "params": {"shape": [n_in]}}]
    for i, w in enumerate(widths):
        layers.append({"id": f"h{i + 1}", "type": "Dense", "params": {"units": w, "activation": "relu"}})
        if dropout_after == i + 1:
            layers.append({"id": "drop", "type": "Dropout", "params": {"p": 0.2}})
    layers.append({"id": "out", "type": "Dense", "params": {"units": n_out, "activation": "sigmoid"}})
    ds = {"type": dataset, "params": {}}
    if features:
        ds["preprocess"] = {"features": features}
    return Session.from_dict({"graph": {"layers": layers}, "dataset": ds, "loss": "bce",
                              "regularizers": list(regularizers), "training": dict(training)})


def verdicts(session):
    return {a.key: a.verdict for a in rules_of_thumb(session)}


def item(session, key):
    return next(a for a in rules_of_thumb(session) if a.key == key)


def test_every_item_quotes_its_rule_and_says_it_is_a_heuristic():
    items = rules_of_thumb(net([16]))
    assert [a.key for a in items] == ["first_layer", "twice_inputs", "between", "deep", "funnel", "stretch"]
    assert all(a.quote == QUOTES[a.key][1] and a.seed == QUOTES[a.key][0] for a in items)
    assert "heuristics, not laws" in NOTE


def test_first_layer_boundaries_against_the_datasets_minimum():
    assert item(net([2]), "first_layer").verdict == "consider"  # the circle needs 3 lines to enclose the disc
    assert "at least 3 units" in item(net([2]), "first_layer").suggestion
    assert item(net([3]), "first_layer").verdict == "ok"
    assert item(net([1], dataset="xor"), "first_layer").verdict == "consider"
    assert item(net([2], dataset="xor"), "first_layer").verdict == "ok"
    assert item(net([], dataset="gauss"), "first_layer").verdict == "ok"  # one line: the output unit's
    assert item(net([8], dataset="spiral"), "first_layer").verdict == "info"  # the notes give no number
    crossed = net([1], dataset="xor", features=["x1", "x2", "x1x2"])
    assert item(crossed, "first_layer").verdict == "info"  # with x1·x2 as a feature one unit can do XOR
    assert "2 units = 2 linear boundaries (lines in the input plane)" in item(net([2]), "first_layer").has


def test_first_layer_on_regression_speaks_of_bends_not_decision_boundaries():
    plane = item(net([2], dataset="plane"), "first_layer")  # a built-in regression set
    assert plane.verdict == "info" and "linear boundaries" not in plane.has
    assert plane.has == "first hidden layer h1: 2 units = 2 lines in the input plane across which the fit can bend"
    assert "decision boundaries" in plane.suggestion and "regression" in plane.suggestion
    sine = item(net([5], n_in=1, dataset="sine"), "first_layer")
    assert "5 points on the input line across which the fit can bend" in sine.has
    assert item(net([], dataset="plane"), "first_layer").has == ("no hidden layer: the output is a linear "
                                                                 "function of the 2 inputs")
    table = net([4])
    table.dataset = {"type": "inline", "params": {"x": [[0.0, 1.0]], "y": [0.5], "task": "regression"}}
    assert "bend" in item(table, "first_layer").has
    table.dataset["params"]["task"] = "classification"
    assert "linear boundaries" in item(table, "first_layer").has


def test_astroml_fewer_than_twice_the_inputs_and_between_inputs_and_outputs():
    assert verdicts(net([3], n_in=2))["twice_inputs"] == "ok"  # 3 < 4
    assert verdicts(net([4], n_in=2))["twice_inputs"] == "consider"  # 4 is not fewer than 2 × 2
    v = verdicts(net([5, 3], n_in=6, n_out=2, dataset="spiral"))
    assert v["twice_inputs"] == "ok" and v["between"] == "ok"  # 2 ≤ 5, 3 ≤ 6
    assert verdicts(net([7], n_in=6, n_out=2, dataset="spiral"))["between"] == "consider"  # 7 > 6
    assert verdicts(net([1], n_in=6, n_out=2, dataset="spiral"))["between"] == "consider"  # 1 < 2
    a = item(net([8, 2], n_in=2), "twice_inputs")
    assert a.suggestion == "h1 (8) has 4 or more" and "2 → 8 → 2 → 1" in a.has


def test_deep_beats_wide_suggests_two_layers_of_the_same_parameter_count():
    a = item(net([16]), "deep")
    assert a.verdict == "consider"
    w, q = deeper_equivalent(2, 16, 1)
    assert chain_params([2, 16, 1]) == 2 * 16 + 16 + 16 + 1 == 65
    assert (w, q) == (6, 67)  # 2·6+6 + 6·6+6 + 6+1 = 67, the closest to 65 (w = 5: 51, w = 7: 85)
    assert "(2 → 6 → 6 → 1) have 67 parameters" in a.suggestion
    assert item(net([8, 8]), "deep").verdict == "ok"
    assert item(net([1]), "deep").verdict == "info"  # too small to split
    assert item(net([]), "deep").verdict == "info"


def test_funnel_fires_when_a_hidden_layer_widens():
    assert item(net([8, 4, 2]), "funnel").verdict == "ok"
    f = item(net([4, 8]), "funnel")
    assert f.verdict == "consider" and f.suggestion == "wider than the layer before: h2 (8) after h1 (4)"
    assert item(net([8]), "funnel").verdict == "info"


def test_stretch_pants_wants_wide_layers_regularized():
    assert item(net([16]), "stretch").verdict == "consider"  # wide, nothing regularizes
    assert item(net([16], dropout_after=1), "stretch").verdict == "ok"
    assert "Dropout (drop)" in item(net([16], dropout_after=1), "stretch").has
    assert item(net([16], regularizers=[{"type": "l2", "params": {"lambda": 1e-3}}]), "stretch").verdict == "ok"
    assert item(net([16], early_stopping={"patience": 5}), "stretch").verdict == "ok"
    assert item(net([3]), "stretch").verdict == "info"  # not wide: nothing to regularize away


def test_other_graphs_and_the_cli_lines():
    s = net([4])
    s.graph.nodes[1].params["units"] = 0
    with pytest.raises(InvalidInput, match="fix the network first"):
        rules_of_thumb(s)
    conv = Session.from_dict({"graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                                                   {"id": "a", "type": "Activation", "params": {"activation": "tanh"}}]},
                              "dataset": {"type": "circle"}, "loss": "mse"})
    only = rules_of_thumb(conv)
    assert [a.verdict for a in only] == ["info"] and "dense" in only[0].has
    lines = report_text(rules_of_thumb(net([16])))
    assert len(lines) == 6 and lines[3].startswith("consider  deep beats wide (004)")
    assert rules_of_thumb(net([16]), analyze(net([16]).graph)) == rules_of_thumb(net([16]))


def test_a_dense_head_after_learned_features_is_not_read_as_the_first_hidden_layer():
    """The shipped RNN example ends in a Dense head on an LSTM's state: the rules (about dense networks on the
    input features) are not applied to it, and one info item names the layers it reads."""
    from pathlib import Path

    from engine.session import load_session

    s = load_session(Path(__file__).resolve().parents[2] / "resources" / "examples" / "rnn_sequence.json")
    items = rules_of_thumb(s)
    recurrent = [n.id for n in s.graph.nodes if n.type in ("SimpleRNN", "LSTM")]
    assert recurrent and [a.verdict for a in items] == ["info"]
    assert all(r in items[0].has for r in recurrent) and "not the inputs" in items[0].has
    assert len(rules_of_thumb(net([16]))) == 6  # a plain dense net still gets every rule
