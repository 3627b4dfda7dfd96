"""main.py advise: the batch-size rule from counted outliers and the architecture rules, text and --json."""
import json

import numpy as np

from cli import run_cli
from engine.batch_advice import count_outliers
from tests.engine.cli_helpers import assert_one_error, small_session


def test_advise_prints_the_count_the_suggestion_and_every_rule(tmp_path, capsys):
    x = np.linspace(-1.0, 1.0, 60)[:, None].repeat(2, axis=1)
    x[[4, 9, 30, 44], 0] = [12.0, -9.0, 15.0, 20.0]
    y = (np.arange(60) % 2).tolist()
    ds = {"type": "inline", "params": {"x": x.tolist(), "y": y}, "split": {"train": 1.0, "val": 0.0, "test": 0.0}}
    path = small_session(tmp_path, dataset=ds)
    assert run_cli(["advise", str(path)]) == 0
    out = capsys.readouterr().out
    n = count_outliers(x).n_outliers  # the whole set is the training split here
    assert n == 4
    assert "b ≈ 1.5 × 4 outliers ≈ 6; current 8" in out  # 1.5 · 4 = 6
    assert "found in x1 4" in out
    assert out.count("\n  ok") + out.count("\n  consider") + out.count("\n  info") == 6
    assert "heuristics, not laws" in out
    assert run_cli(["advise", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["batch_size"]["suggested"] == 6 and doc["batch_size"]["outlier_rows"] == [4, 9, 30, 44]
    deep = next(a for a in doc["architecture"] if a["key"] == "deep")
    assert deep["verdict"] == "consider" and deep["seed"] == "004"


def test_advise_refuses_a_broken_graph_and_a_missing_file_in_one_line(tmp_path, capsys):
    bad = small_session(tmp_path, graph={"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                                                    {"id": "h", "type": "Dense", "params": {"units": -3}}]})
    assert_one_error(capsys, ["advise", bad], "fix the network first")
    assert_one_error(capsys, ["advise", tmp_path / "missing.json"], "missing.json")
