"""Helpers shared by the command-line tests: a tiny session, and "exactly one error line" checks."""
from __future__ import annotations

import json
from pathlib import Path

from cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def small_session(tmp_path, filename="s.json", **changes):
    """A plain 2-input classifier on 40 XOR points: every run here trains in a blink."""
    d = {"name": "files", "seed": 3,
         "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                              {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                              {"id": "out", "type": "Dense", "params": {"units": 1}},
                              {"id": "output", "type": "Output"}]},
         "dataset": {"type": "xor", "params": {"n": 40}}, "loss": "bce_logits",
         "optimizer": {"type": "sgd", "params": {"lr": 0.1}}, "training": {"epochs": 2, "batch_size": 8}}
    d.update(changes)
    p = tmp_path / filename
    p.write_text(json.dumps(d))
    return p


def assert_one_error(capsys, argv, *needles, code=2):
    assert run_cli([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _strict_json(line):
    def refuse(name):
        raise AssertionError(f"{name} in a JSON line: {line}")
    return json.loads(line, parse_constant=refuse)
