"""The width setting of side-by-side variants ("units"): which layer it widens, and what it refuses."""
import pytest

from engine.errors import InvalidInput
from engine.graph import GraphSpec
from engine.variants import SETTINGS, parse_value, variant_sessions, with_variant
from tests.engine.experiments_helpers import tiny


def _two_hidden(s):
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "a", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
        {"id": "b", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
        {"id": "out", "type": "Dense", "params": {"units": 1}}]})
    return s


def test_units_widens_the_first_hidden_layer_only():
    s = _two_hidden(tiny())
    wide = with_variant(s, "units", 70).graph
    assert [wide.node(k).params["units"] for k in ("a", "b", "out")] == [70, 4, 1]
    assert s.graph.node("a").params["units"] == 3  # the original is untouched
    labels = [label for label, _ in variant_sessions(s, "units", [5, 60])]
    assert labels == ["units 5", "units 60"] and "units" in SETTINGS


def test_units_refuses_what_it_cannot_vary():
    s = tiny()
    s.graph = GraphSpec.from_dict({"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                                              {"id": "out", "type": "Dense", "params": {"units": 1}}]})
    with pytest.raises(InvalidInput, match="no hidden Dense layer whose width"):
        with_variant(s, "units", 10)
    s = _two_hidden(tiny())
    s.graph.node("a").init = {"weight": {"type": "values", "params": {"values": [[1, 1]] * 3}}}
    with pytest.raises(InvalidInput, match="layer 'a' has explicit weight values"):
        with_variant(s, "units", 10)


@pytest.mark.parametrize("text, frag", [("0", "at least 1"), ("1.5", "whole number"), ("2000000", "at most 1,000,000")])
def test_units_values_are_checked(text, frag):
    with pytest.raises(InvalidInput, match=frag):
        parse_value("units", text)
    assert parse_value("units", " 64 ") == 64
