"""main.py evaluate / explain: the numbers of engine.evaluation / engine.explain, and one-line refusals."""
import json
import zipfile

import numpy as np
import pytest

from cli import run_cli
from engine import Run
from engine.evaluation import evaluate_run

from tests.engine.analysis_helpers import auc_by_pairs, session


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r = Run(session(), path="torch")
    r.fit(3)
    path = str(d / "c.nnp")
    r.save(path)
    untrained = str(d / "u.nnp")
    Run(session(), build=False).save(untrained)
    return path, untrained, r


def test_evaluate_json_is_the_report(trained, capsys):
    path, _, run = trained
    assert run_cli(["evaluate", path, "--json", "--per-sample", "--threshold", "0.4"]) == 0
    rep = json.loads(capsys.readouterr().out)
    y, s = np.array(rep["y"]), np.array(rep["scores"])
    assert rep["auc"] == pytest.approx(auc_by_pairs(y, s))
    assert np.allclose(s, run.predict(run.data.raw_x("test"))[:, 0], atol=1e-6)
    t = rep["at_threshold"]
    assert t["threshold"] == 0.4 and t["tp"] == int(np.sum((s >= 0.4) & (y == 1)))
    assert set(rep) >= {"per_class", "macro", "confusion", "roc", "completeness_efficiency"}
    assert run_cli(["evaluate", path, "--json", "--split", "val"]) == 0
    val = json.loads(capsys.readouterr().out)
    assert "scores" not in val and val["accuracy"] == pytest.approx(evaluate_run(run, "val")["accuracy"])


def test_evaluate_table(trained, capsys):
    assert run_cli(["evaluate", trained[0]]) == 0
    out = capsys.readouterr().out
    assert "AUC" in out and "completeness" in out and "contamination" in out and "efficiency" in out


def test_explain_json_and_table(trained, capsys):
    path, _, run = trained
    assert run_cli(["explain", path, "--json", "--boot", "4", "--grid", "5", "--at", "median"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [i["feature"] for i in rep["importance"]] == ["x1", "x2"]
    for i in rep["importance"]:
        assert i["lower"] <= i["mean"] <= i["upper"]
    c = rep["curves"]["x1"]
    x = run.data.raw_x("test")
    rows = np.tile(np.median(x, 0), (5, 1))
    rows[:, 0] = c["grid"]
    assert np.allclose(c["pdp"], run.predict(rows)[:, 0], atol=1e-6) and "ice" not in c
    assert run_cli(["explain", path, "--boot", "3", "--grid", "3"]) == 0
    assert "bootstrap interval" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "{json}"], "no trained weights"),
    (["evaluate", "{untrained}"], "before any training"),
    (["evaluate", "{missing}"], "is not a file"),
    (["evaluate", "{garbage}"], ""),
    (["explain", "{nnp}", "--boot", "1"], "--boot must be at least 2"),
    (["evaluate", "{nnp}", "--split", "dev"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(trained, tmp_path, capsys, argv, message):
    path, untrained, _ = trained
    js = tmp_path / "s.json"
    js.write_text(json.dumps(session().to_dict()))
    garbage = tmp_path / "g.nnp"
    with zipfile.ZipFile(garbage, "w") as z:
        z.writestr("hello.txt", "not a session")
    names = {"json": str(js), "untrained": untrained, "missing": str(tmp_path / "none.nnp"), "garbage": str(garbage),
             "nnp": path}
    assert run_cli([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and message in err
