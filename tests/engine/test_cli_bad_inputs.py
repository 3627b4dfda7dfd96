"""A teacher's bad inputs: each gives one clear line on stderr and exit 2, never a traceback."""
import copy
import json
from pathlib import Path

import pytest

from cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "resources" / "examples" / "xor_playground.json"
BASE = json.loads(XOR.read_text())


def session(tmp_path, **changes):
    d = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key == "training":
            d["training"].update(value)
        else:
            d[key] = value
    p = tmp_path / "s.json"
    p.write_text(json.dumps(d))
    return str(p)


def fails(capsys, argv, *needles):
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def test_cycle_names_only_the_nodes_on_the_loop(tmp_path, capsys):
    graph = {"nodes": [{"id": "input", "type": "Input", "params": {"shape": [3]}},
                       {"id": "a", "type": "Dense", "params": {"units": 4}},
                       {"id": "b", "type": "Dense", "params": {"units": 4}},
                       {"id": "c", "type": "Dense", "params": {"units": 1}},
                       {"id": "output", "type": "Output"}],
             "edges": [{"from": "input", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"},
                       {"from": "b", "to": "c"}, {"from": "c", "to": "output"}]}
    line = fails(capsys, ["validate", session(tmp_path, graph=graph)], "cycle through a, b")
    assert line.endswith("cycle through a, b")  # not c or output, which merely hang below the loop


def test_ragged_inline_rows_name_the_odd_sample(tmp_path, capsys):
    ds = {"type": "inline", "params": {"x": [[0, 0], [0, 1], [1, 0, 1], [1, 1]], "y": [0, 1, 1, 0]}}
    fails(capsys, ["validate", session(tmp_path, dataset=ds)], "x[2] has 3 values but x[0] has 2 values")


def test_ragged_csv_row_that_is_a_single_number(tmp_path, capsys):
    ds = {"type": "csv", "params": {"x": [[0, 0], 5], "y": [0, 1], "source": "class.csv"}}
    fails(capsys, ["train", session(tmp_path, dataset=ds)], "class.csv", "x[1] has a single number")


@pytest.mark.parametrize("epochs", ["0", "-3"])
def test_epochs_flag_below_one_is_refused(tmp_path, capsys, epochs):
    fails(capsys, ["train", str(XOR), "--epochs", epochs], f"--epochs must be at least 1, got {epochs}")


@pytest.mark.parametrize("lr", ["-1", "nan", "inf"])
def test_trace_rejects_a_negative_or_non_finite_lr(capsys, lr):
    fails(capsys, ["trace", str(XOR), "--lr", lr], "learning rate", "≥ 0")


def test_trace_lr_zero_leaves_parameters_unchanged(capsys):
    assert run_cli(["trace", str(XOR), "--lr", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["updated"] == doc["parameters"] and doc["loss_after"] == pytest.approx(doc["loss"])


@pytest.mark.parametrize("changes, needle", [
    ({"optimizer": {"type": "adam", "params": {"momentum": 0.9}}}, "no parameter 'momentum'"),
    ({"optimizer": {"type": "sgd", "params": {"lr": -0.1}}}, "-0.1"),
    ({"training": {"epochs": 0}}, "training.epochs"),
    ({"training": {"batch_size": "ten"}}, "'ten'"),
    ({"dataset": {"type": "xor", "params": {}, "split": {"train": 0.8, "val": 0.2, "test": 0.2}}}, "1.2"),
    ({"dataset": {"type": "inline", "params": {"x": [[0, 0], [1, 1]], "y": [0]}}}, "one entry per sample (2)"),
])
def test_bad_session_values(tmp_path, capsys, changes, needle):
    fails(capsys, ["train", session(tmp_path, **changes), "--epochs", "1"], needle)


def test_diverged_summary_has_no_dangling_colon(tmp_path, capsys):
    d = json.loads((ROOT / "resources" / "examples" / "plane_regression.json").read_text())
    d["optimizer"] = {"type": "sgd", "params": {"lr": 1000.0}}
    p = tmp_path / "div.json"
    p.write_text(json.dumps(d))
    assert run_cli(["train", str(p), "--epochs", "5"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    summary = [ln for ln in err.splitlines() if ln.startswith("diverged")]
    assert summary and not summary[0].rstrip().endswith(":")
    assert "diagnosis:" in err and "learning rate" in err


def test_a_loss_that_zigzags_upward_gets_a_note(tmp_path, capsys):
    d = json.loads((ROOT / "resources" / "examples" / "spiral_playground.json").read_text())
    d["optimizer"] = {"type": "sgd", "params": {"lr": 1000.0}}
    p = tmp_path / "hot.json"
    p.write_text(json.dumps(d))
    code = run_cli(["train", str(p), "--epochs", "12"])
    err = capsys.readouterr().err
    assert code in (0, 2)  # finite but wild, or NaN: either way the user is told about the learning rate
    assert ("note:" in err or "diagnosis:" in err) and "learning rate" in err
