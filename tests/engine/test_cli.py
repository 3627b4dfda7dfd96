"""The headless command line: output formats and exit codes (0 ok, 2 bad input, 1 internal error)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli import run_cli
from engine import __version__

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "resources" / "examples"


def write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def test_main_entry_point_version_and_help():
    r = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"NN Playground {__version__}"
    r = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0
    for cmd in ("validate", "train", "trace", "export"):
        assert cmd in r.stdout


def test_validate_prints_shapes_and_counts(capsys):
    assert run_cli(["validate", str(EX / "spiral_playground.json")]) == 0
    out = capsys.readouterr().out
    assert "dense1" in out and "(8,)" in out
    assert "total trainable parameters: 105" in out  # 2*8+8 + 8*8+8 + 8*1+1


def test_validate_json(capsys):
    assert run_cli(["validate", str(EX / "three_four_one_worked_example.json"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total_params"] == 3 * 4 + 4 + 4 * 1 + 1
    assert [n["shape"] for n in doc["nodes"]] == [[3], [4], [1], [1]]


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["graph"]["layers"][1]["params"].update(units=0), "units"),
    (lambda d: d["graph"]["layers"][1].update(type="Dense9"), "unknown layer type 'Dense9'"),
    (lambda d: d.update(format_version=99), "newer version"),
    (lambda d: d.update(loss={"type": "msee"}), "unknown loss 'msee'"),
])
def test_bad_sessions_exit_2_with_one_line(tmp_path, capsys, mutate, needle):
    doc = json.loads((EX / "spiral_playground.json").read_text())
    mutate(doc)
    assert run_cli(["validate", write(tmp_path, "bad.json", doc)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err and "Traceback" not in err


def test_cycle_is_reported(tmp_path, capsys):
    doc = {"graph": {"nodes": [{"id": "i", "type": "Input", "params": {"shape": [2]}},
                               {"id": "a", "type": "Dense", "params": {"units": 2}},
                               {"id": "b", "type": "Dense", "params": {"units": 2}}],
                     "edges": [{"from": "i", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}}
    assert run_cli(["validate", write(tmp_path, "cyc.json", doc)]) == 2
    assert "cycle" in capsys.readouterr().err


def test_not_json_and_missing_file(tmp_path, capsys):
    p = tmp_path / "x.json"
    p.write_text("{nope")
    assert run_cli(["validate", str(p)]) == 2
    assert "not valid JSON (line 1" in capsys.readouterr().err
    assert run_cli(["train", str(tmp_path / "missing.json")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_train_json_lines(capsys):
    assert run_cli(["train", str(EX / "circle_playground.json"), "--epochs", "3", "--json", "--seed", "5"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["epoch"] for x in lines[:3]] == [1, 2, 3]
    assert set(lines[0]) == {"epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr"}
    assert 0 <= lines[0]["val_acc"] <= 1
    assert lines[0]["lr"] == json.loads((EX / "circle_playground.json").read_text())["optimizer"]["params"]["lr"]
    done = lines[-1]
    assert done["event"] == "done" and done["epochs_run"] == 3 and done["stop_reason"] == "completed"
    assert 1 <= done["best_epoch"] <= 3 and done["seconds"] > 0


def test_train_regression_has_null_accuracy(capsys):
    assert run_cli(["train", str(EX / "plane_regression.json"), "--epochs", "1", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["train_acc"] is None and first["val_acc"] is None


def test_train_diverging_exits_2_with_diagnosis(tmp_path, capsys):
    doc = json.loads((EX / "plane_regression.json").read_text())
    doc["optimizer"] = {"type": "sgd", "params": {"lr": 100.0}}
    assert run_cli(["train", write(tmp_path, "hot.json", doc), "--epochs", "20", "--json"]) == 2
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["stop_reason"] == "diverged" and "learning rate" in done["diagnosis"].lower()


def test_train_out_then_continue(tmp_path, capsys):
    out = str(tmp_path / "c.nnp")
    assert run_cli(["train", str(EX / "circle_playground.json"), "--epochs", "2", "--out", out, "--json"]) == 0
    capsys.readouterr()
    assert run_cli(["train", out, "--epochs", "4", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["epoch"] for x in lines[:-1]] == [3, 4]  # continues the same curves


def test_trace_json(capsys):
    assert run_cli(["trace", str(EX / "xor_worked_example.json"), "--json", "--lr", "0.5"]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["input"] == [1.0, 0.0] and t["lr"] == 0.5
    assert {"layers", "output", "loss", "gradients", "updated"} <= set(t)
    assert run_cli(["trace", str(EX / "xor_worked_example.json"), "--sample", "5"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_validate_warns_about_softmax_before_a_logits_loss(tmp_path, capsys):
    doc = json.loads((EX / "blobs_softmax.json").read_text())
    doc["graph"]["layers"][-2]["params"]["activation"] = "softmax"  # then cross_entropy on logits: applied twice
    assert run_cli(["validate", write(tmp_path, "sm.json", doc)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "softmax" in err.lower()
    assert run_cli(["validate", str(EX / "blobs_softmax.json")]) == 0
    assert "warning" not in capsys.readouterr().err
