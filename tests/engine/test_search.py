"""engine.search (Optuna studies) and the experiment commands: new --csv, cv, sweep, sweep-worker."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli import run_cli
from engine.errors import InvalidInput
from engine.session import save_session_json
from tests.engine.experiments_helpers import tiny

optuna = pytest.importorskip("optuna")
from engine import search  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPACE = {"optimizer.lr": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
         "graph.h.units": {"type": "int", "low": 2, "high": 6}}


@pytest.mark.parametrize("doc, frag", [
    ([], "JSON object"), ({"optimizer.lr": {"type": "flot"}}, "float, int or categorical"),
    ({"optimizer.lr": {"type": "float", "low": 1, "high": 0}}, "above high"),
    ({"optimizer.lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "low > 0"),
    ({"x": {"type": "categorical", "choices": []}}, "non-empty"),
    ({"x": {"type": "int", "low": 1.5, "high": 3}}, "whole number"),
    ({"x": {"type": "int", "low": 1, "high": 3, "lo": 2}}, "unknown key 'lo'")])
def test_bad_space_documents_are_refused(doc, frag):
    with pytest.raises(InvalidInput, match=frag):
        search.parse_space(doc)


@pytest.mark.parametrize("path, spec, frag", [
    ("graph.nope.units", {"type": "int", "low": 1, "high": 2}, "unknown node 'nope'"),
    ("graph.h.unitz", {"type": "int", "low": 1, "high": 2}, "no parameter 'unitz'"),
    ("optimizer.type", {"type": "categorical", "choices": ["sgd", "warp"]}, "warp"),
    ("colour", {"type": "int", "low": 1, "high": 2}, "unknown setting")])
def test_unknown_parameters_are_refused_before_any_trial(path, spec, frag):
    with pytest.raises(InvalidInput, match=frag):
        search.check_space(tiny(), search.parse_space({path: spec}))


def test_grid_values_and_shorthands():
    assert search.grid_values({"type": "float", "low": 0.001, "high": 0.1, "log": True, "n": 3}) == \
        pytest.approx([0.001, 0.01, 0.1])
    assert search.grid_values({"type": "int", "low": 2, "high": 8, "log": False, "step": 3}) == [2, 5, 8]
    s = search.apply_params(tiny(), {"optimizer.lr": 0.2, "regularizers.l2": 0.001, "graph.hidden_layers": 3,
                                     "graph.units": 5})
    assert s.optimizer["params"]["lr"] == 0.2 and s.regularizers == [{"type": "l2", "params": {"lambda": 0.001}}]
    dense = [n for n in s.graph.nodes if n.type == "Dense"]
    assert len(dense) == 4 and [n.params["units"] for n in dense[:3]] == [5, 5, 5]
    chain = [(e.src, e.dst) for e in s.graph.edges]
    assert chain[0][0] == "in" and chain[-1][1] == "out" and len(chain) == 4
    assert all(a[1] == b[0] for a, b in zip(chain, chain[1:]))  # one unbroken stack
    back = search.apply_params(s, {"graph.hidden_layers": 1})
    assert [n.id for n in back.graph.nodes if n.type == "Dense"] == ["h", "out"]


def _storage(tmp_path):
    return search.open_storage(str(tmp_path / "s.optuna.journal"))


def test_best_trial_is_the_best_score_and_applies_to_the_session(tmp_path):
    st = _storage(tmp_path)
    study = search.create_study(st, "a", tiny(), search.parse_space(SPACE), sampler="random", path="torch")
    search.enqueue(study, 3)
    study, d = search.load_study(st, "a", seed=1)
    assert search.work(study, d) == 3
    rows = search.trial_rows(study)
    assert sorted(r["number"] for r in rows) == [0, 1, 2] and all(r["state"] == "complete" for r in rows)
    best = search.best_row(study, d)
    assert best["value"] == min(r["value"] for r in rows)
    # the score is the validation loss of the session with those settings, trained alone
    from engine import Run

    run = Run(search.apply_params(tiny(), best["params"]), path="torch")
    run.fit()
    assert run.evaluate("val")["loss"] == pytest.approx(best["value"], rel=1e-5)


def test_the_median_pruner_stops_hopeless_trials(tmp_path):
    st = _storage(tmp_path)
    space = {"optimizer.lr": {"type": "categorical", "choices": [0.5, 1e-6]}}
    study = search.create_study(st, "p", tiny(epochs=6), search.parse_space(space), sampler="random",
                                pruner="median", path="torch")
    for lr in (0.5, 0.5, 0.5, 1e-6):  # three learning trials first: the median has company
        study.enqueue_trial({"optimizer.lr": lr})
    study, d = search.load_study(st, "p", seed=0)
    search.work(study, d)
    rows = search.trial_rows(study)
    assert [r["state"] for r in rows] == ["complete"] * 3 + ["pruned"]
    assert rows[3]["params"]["optimizer.lr"] == 1e-6


def test_a_grid_queues_its_combinations_once(tmp_path):
    st = _storage(tmp_path)
    space = search.parse_space({"optimizer.lr": {"type": "categorical", "choices": [0.05, 0.2]},
                                "graph.h.units": {"type": "int", "low": 2, "high": 3}})
    study = search.create_study(st, "g", tiny(epochs=1), space, sampler="grid", path="torch")
    assert search.enqueue(study, 3, space, "grid") == 3
    assert search.enqueue(study, 5, space, "grid") == 1  # only one combination was left
    study, d = search.load_study(st, "g")
    assert search.work(study, d) == 4
    got = sorted((r["params"]["optimizer.lr"], r["params"]["graph.h.units"]) for r in search.trial_rows(study))
    assert got == [(0.05, 2), (0.05, 3), (0.2, 2), (0.2, 3)]


def test_an_existing_study_with_another_space_is_refused(tmp_path):
    st = _storage(tmp_path)
    search.create_study(st, "a", tiny(), search.parse_space(SPACE))
    with pytest.raises(InvalidInput, match="another space"):
        search.create_study(st, "a", tiny(), search.parse_space({"seed": {"type": "int", "low": 0, "high": 3}}))
    with pytest.raises(InvalidInput, match="no study 'b'"):
        search.load_study(st, "b")


def test_two_workers_on_one_storage_run_every_queued_trial_once(tmp_path):
    st = search.open_storage(str(tmp_path / "s.optuna.journal"))  # as `sweep --trials 0` creates it (torch path:
    study = search.create_study(st, "s", tiny(epochs=1), search.parse_space(SPACE), sampler="random",  # no compile
                                path="torch")  # wait in the workers)
    search.enqueue(study, 6)
    procs = [subprocess.Popen([sys.executable, str(ROOT / "main.py"), "sweep-worker", "--storage", "s.optuna.journal",
                               "--study", "s", "--json"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    lines = [json.loads(x) for o in outs for x in o[0].splitlines()]
    ran = [x["number"] for x in lines if x["event"] == "trial"]
    assert sorted(ran) == [0, 1, 2, 3, 4, 5]  # none lost, none run twice
    rows = search.trial_rows(study)
    assert len(rows) == 6 and all(r["state"] == "complete" for r in rows)
    assert sum(x["ran"] for x in lines if x["event"] == "done") == 6


def test_sweep_json_lines_and_bad_inputs(tmp_path, capsys):
    save_session_json(tiny(epochs=1), tmp_path / "s.json")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    s, sp = str(tmp_path / "s.json"), str(tmp_path / "space.json")
    assert run_cli(["sweep", s, "--space", sp, "--trials", "2", "--sampler", "tpe", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    trials = [x for x in lines if x["event"] == "trial"]
    assert len(trials) == 2 and lines[-1]["event"] == "done" and lines[-1]["ran"] == 2
    assert lines[-1]["best"]["value"] == min(t["value"] for t in trials)
    (tmp_path / "bad.json").write_text("{nope")
    assert run_cli(["sweep", s, "--space", str(tmp_path / "bad.json"), "--trials", "1"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    (tmp_path / "unk.json").write_text(json.dumps({"graph.zz.units": {"type": "int", "low": 1, "high": 2}}))
    assert run_cli(["sweep", s, "--space", str(tmp_path / "unk.json"), "--trials", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown node 'zz'" in err and len(err.strip().splitlines()) == 1
    assert run_cli(["sweep", s, "--space", sp, "--trials", "1", "--storage", "sqlite:////no/such/dir/x.db"]) == 2
    assert "cannot reach the storage" in capsys.readouterr().err
    assert run_cli(["sweep-worker", "--storage", str(tmp_path / "s.optuna.journal"), "--study", "zz"]) == 2
    assert "no study 'zz'" in capsys.readouterr().err


def test_new_from_csv_sizes_the_network_and_picks_the_loss(tmp_path, capsys):
    from engine.session import load_session

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    cases = {"bin.csv": (x[:, 0] > 0).astype(int), "multi.csv": np.digitize(x[:, 0], [-0.5, 0.5]),
             "reg.csv": x @ [1.0, 2.0, -1.0]}
    for name, y in cases.items():
        rows = ["f1,f2,f3,target"] + [",".join(f"{v:.4f}" for v in r) + f",{t}" for r, t in zip(x, y)]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
        out = tmp_path / (name + ".json")
        assert run_cli(["new", "--csv", str(tmp_path / name), "--out", str(out)]) == 0, capsys.readouterr().err
        s = load_session(out)
        dense = [n for n in s.graph.nodes if n.type == "Dense"]
        assert s.graph.node("input").params["shape"] == [3] and dense[0].params["units"] == 32
        assert s.dataset["preprocess"]["scale"] == "standardize"
        assert json.loads(out.read_text())["dataset"]["params"]["path"] == name  # the file, not its rows
        want = {"bin.csv": ("bce_logits", 1), "multi.csv": ("cross_entropy", 3), "reg.csv": ("mse", 1)}[name]
        assert (s.loss["type"], dense[-1].params["units"]) == want
    assert run_cli(["new", "--csv", str(tmp_path / "bin.csv"), "--out", str(tmp_path / "bin.csv.json")]) == 2
    assert "--out" in capsys.readouterr().err  # never over a file it was not asked to replace... (it wrote it: json)


def test_cv_json_lines_end_with_mean_and_std(tmp_path, capsys):
    save_session_json(tiny(epochs=1), tmp_path / "s.json")
    assert run_cli(["cv", str(tmp_path / "s.json"), "--folds", "3", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    folds = [x for x in lines if x["event"] == "fold"]
    done = lines[-1]
    assert len(folds) == 3 and done["event"] == "done" and done["metric"] == "accuracy"
    accs = [f["accuracy"] for f in folds]
    assert done["mean"] == pytest.approx(np.mean(accs)) and done["std"] == pytest.approx(np.std(accs))
    assert run_cli(["cv", str(tmp_path / "s.json"), "--folds", "1"]) == 2


def test_a_worker_with_a_trial_count_runs_that_many_queued_first(tmp_path):
    st = _storage(tmp_path)
    study = search.create_study(st, "w", tiny(epochs=1), search.parse_space(SPACE), sampler="random", path="torch")
    search.enqueue(study, 1)
    study, d = search.load_study(st, "w", seed=2)
    assert search.work(study, d, 3) == 3  # the queued one, then two new ones
    rows = search.trial_rows(study)
    assert [r["number"] for r in rows] == [0, 1, 2] and all(r["state"] == "complete" for r in rows)
    assert search.work(study, d) == 0  # the queue is empty: nothing to do


def test_without_optuna_every_entry_point_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(InvalidInput, match=r"pip install 'nn-playground\[sweep\]'"):
        search.open_storage(str(tmp_path / "x.journal"))
    save_session_json(tiny(), tmp_path / "s.json")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    assert run_cli(["sweep", str(tmp_path / "s.json"), "--space", str(tmp_path / "space.json"), "--trials", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: hyperparameter search needs Optuna") and len(err.splitlines()) == 1
