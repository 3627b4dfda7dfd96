"""Numbers a schema refuses in one line: NaN/Infinity in integer fields, huge values, absurd sizes; short quotes."""
import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from cli import run_cli
from engine.errors import InvalidInput
from engine.params import INT_LIMIT, QUOTE_LIMIT, Param, brief

ROOT = Path(__file__).resolve().parents[2]
CIRCLE = json.loads((ROOT / "resources" / "examples" / "circle_playground.json").read_text())


@pytest.mark.parametrize("value,shown", [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
                                         (2.5, "2.5"), ("8", "'8'"), (True, "True"), ([3], "[3]"),
                                         (np.float64("nan"), "NaN")])
def test_integer_fields_refuse_non_integers_in_one_line(value, shown):
    with pytest.raises(InvalidInput) as e:
        Param("units", "int", min=1).check(value, "Dense")
    assert str(e.value) == f"Dense.units must be an integer, got {shown}"


def test_integral_floats_and_numpy_integers_are_integers():
    p = Param("units", "int", min=1)
    assert p.check(4.0) == 4 and type(p.check(4.0)) is int
    assert p.check(np.int64(7)) == 7 and type(p.check(np.int64(7))) is int


def test_huge_integers_are_refused_and_shown_by_their_length():
    with pytest.raises(InvalidInput) as e:
        Param("n", "int", min=1).check(10 ** 400, "dataset")
    assert str(e.value) == f"dataset.n must be at most {INT_LIMIT:,} in size, got an integer of 401 digits"
    assert Param("n", "int").check(INT_LIMIT) == INT_LIMIT


@pytest.mark.parametrize("value", [1e300, -1e39, 10 ** 400])
def test_floats_beyond_float32_are_refused(value):
    with pytest.raises(InvalidInput, match=r"^adam\.lr must be"):
        Param("lr", "float", min=None).check(value, "adam")
    assert Param("lr", "float").check(3e38) == 3e38  # still inside float32


def test_brief_quotes_at_most_200_characters():
    assert len(brief("x" * 10_000)) <= QUOTE_LIMIT
    assert len(brief(list(range(1_000_000)))) <= QUOTE_LIMIT
    assert brief(np.float32(0.5)) == "0.5" and brief({"a": 1}) == "{'a': 1}"
    assert brief(np.float64("inf")) == "Infinity"


def test_list_parameters_have_a_length_cap():
    with pytest.raises(InvalidInput, match="at most 8 entries, got 9"):
        Param("shape", "ints", min=1, max_items=8).check([1] * 9, "Input")


def _write(tmp_path, d):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(d, allow_nan=True))  # NaN and Infinity literals, as Python's json writes them
    return str(p)


def _layer(d, index):
    return d["graph"]["layers"][index]["params"]


CASES = {
    "units NaN": (lambda d: _layer(d, 1).update(units=math.nan), "units must be an integer, got NaN"),
    "units Infinity": (lambda d: _layer(d, 1).update(units=math.inf), "units must be an integer, got Infinity"),
    "units 10^9": (lambda d: _layer(d, 1).update(units=10 ** 9), "units must be ≤ 1,000,000"),
    "shape NaN": (lambda d: _layer(d, 0).update(shape=[math.nan]), "shape must be an integer, got NaN"),
    "batch_size Infinity": (lambda d: d["training"].update(batch_size=math.inf), "batch_size must be an integer"),
    "dataset n NaN": (lambda d: d["dataset"]["params"].update(n=math.nan), "n must be an integer, got NaN"),
    "inline huge integer": (lambda d: d.update(dataset={"type": "inline", "params": {"x": [[10 ** 400, 1], [0, 1]],
                                                                                       "y": [0, 1]}}),
                            "too large for float32"),
    "adam lr 1e300": (lambda d: d.update(optimizer={"type": "adam", "params": {"lr": 1e300}}), "float32 range"),
    "early_stopping true": (lambda d: d["training"].update(early_stopping=True), "early_stopping must be null"),
    "filters 10^9": (lambda d: d["graph"]["layers"].insert(1, {"type": "Reshape", "params": {"shape": [1, 2]}})
                     or d["graph"]["layers"].insert(2, {"type": "Conv1d", "params": {"filters": 10 ** 9}}),
                     "filters must be ≤ 1,000,000"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "train"])
def test_the_issue_cases_exit_2_with_one_line(tmp_path, capsys, case, command):
    d = copy.deepcopy(CIRCLE)
    mutate, needle = CASES[case]
    mutate(d)
    argv = [command, _write(tmp_path, d)] + (["--epochs", "1"] if command == "train" else [])
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert len(lines[0]) < 400 and "np.float64" not in lines[0]


def test_a_huge_bad_value_is_quoted_short(tmp_path, capsys):
    d = copy.deepcopy(CIRCLE)
    d["dataset"] = {"type": "inline", "params": {"x": [["a" * 100] * 2] * 20_000, "y": [0] * 20_000}}
    assert run_cli(["validate", _write(tmp_path, d)]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and len(line) < 400


LONG = "q" * 100_000
LONG_CASES = {
    "optimizer name": lambda d: d.update(optimizer=LONG),
    "loss name": lambda d: d.update(loss={"type": LONG}),
    "dataset type": lambda d: d.update(dataset={"type": LONG}),
    "activation": lambda d: _layer(d, 1).update(activation=LONG),
    "layer type": lambda d: d["graph"]["layers"][1].update(type=LONG),
    "unknown parameter": lambda d: _layer(d, 1).update({LONG: 1}),
    "units list": lambda d: _layer(d, 1).update(units=list(range(100_000))),
    "edge port": lambda d: d.update(graph={"nodes": [{"id": "a", "type": "Input"}, {"id": "b", "type": "Dense"}],
                                           "edges": [{"from": "a", "to": "b", "port": LONG}]}),
}


@pytest.mark.parametrize("case", sorted(LONG_CASES))
def test_long_bad_values_are_quoted_in_at_most_200_characters(tmp_path, capsys, case):
    d = copy.deepcopy(CIRCLE)
    LONG_CASES[case](d)
    assert run_cli(["validate", _write(tmp_path, d)]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line
    runs = [len(m) for m in __import__("re").findall(r"q{10,}|(?:\d+, ){20,}", line)]
    assert runs and max(runs) <= QUOTE_LIMIT, line  # the bad value is there, and short
