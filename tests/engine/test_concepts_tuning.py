"""Hyperparameter tuning (lectures 000, 003): grid search and random search over session settings."""
import math

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.session import Session
from engine.tuning import grid_search, random_search, run_trial, with_setting


def session():
    return Session.from_dict({
        "seed": 1,
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}, {"id": "out", "type": "Output"}]},
        "dataset": {"type": "multi_gauss", "params": {"n": 40}},
        "loss": "mse", "optimizer": "sgd", "training": {"epochs": 2, "batch_size": 8},
    })


def test_with_setting_paths():
    s = with_setting(session(), "optimizer.params.lr", 0.2)
    assert s.optimizer == {"type": "sgd", "params": {"lr": 0.2}}
    assert with_setting(session(), "graph.h.units", 7).graph.node("h").params["units"] == 7
    assert with_setting(session(), "training.batch_size", 0).training["batch_size"] == 0
    assert with_setting(session(), "loss.params.half", True).loss == {"type": "mse", "params": {"half": True}}
    assert session().optimizer == "sgd"  # the original is untouched
    with pytest.raises(InvalidInput, match="'nope'"):
        with_setting(session(), "graph.nope.units", 3)
    with pytest.raises(InvalidInput, match="'colour.x'"):
        with_setting(session(), "colour.x", 3)


def manual_score(lr, batch):
    from engine.trainer import Trainer

    s = with_setting(with_setting(session(), "optimizer.params.lr", lr), "training.batch_size", batch)
    tr = Trainer(s)
    list(tr.run())
    return tr.evaluate_split("val")[0]


def test_grid_search_tries_every_combination_and_keeps_the_lowest_val_loss():
    res = grid_search(session(), {"optimizer.params.lr": [0.001, 0.1], "training.batch_size": [4, 0]})
    assert [tuple(t["config"].values()) for t in res["trials"]] == [(0.001, 4), (0.001, 0), (0.1, 4), (0.1, 0)]
    for t in res["trials"]:
        lr, batch = t["config"].values()
        assert t["score"] == pytest.approx(manual_score(lr, batch), abs=1e-7) and t["split"] == "val"
    scores = [t["score"] for t in res["trials"]]
    assert res["mode"] == "min" and res["best"] is res["trials"][int(np.argmin(scores))]
    assert len(set(scores)) == 4


def test_random_search_draws_seeded_values_from_the_ranges():
    space = {"optimizer.params.lr": {"log_uniform": [1e-3, 1e-1]}, "graph.h.units": {"int": [2, 8]},
             "optimizer.type": ["sgd", "adam"]}
    res = random_search(session(), space, 3, seed=7)
    rng = np.random.default_rng(7)
    for t in res["trials"]:
        lr = math.exp(rng.uniform(math.log(1e-3), math.log(1e-1)))
        units = int(rng.integers(2, 9))
        opt = ["sgd", "adam"][int(rng.integers(2))]
        assert t["config"] == {"optimizer.params.lr": pytest.approx(lr), "graph.h.units": units, "optimizer.type": opt}
    assert random_search(session(), space, 3, seed=7)["trials"] == res["trials"]
    assert res["best"]["score"] == min(t["score"] for t in res["trials"])


def test_higher_is_better_metrics_and_bad_spaces():
    s = with_setting(with_setting(session(), "dataset", {"type": "xor", "params": {"n": 40}}), "loss", "bce_logits")
    t = run_trial(s, {}, metric="accuracy")
    assert 0.0 <= t["score"] <= 1.0 and t["score"] * 6 == pytest.approx(round(t["score"] * 6))  # 6 val samples
    res = grid_search(s, {"optimizer.params.lr": [0.0, 0.5]}, metric="accuracy")
    assert res["mode"] == "max" and res["best"]["score"] == max(r["score"] for r in res["trials"])
    with pytest.raises(InvalidInput, match="'auroc'"):
        run_trial(s, {}, metric="auroc")
    with pytest.raises(InvalidInput, match="log_uniform"):
        random_search(session(), {"optimizer.params.lr": {"log_uniform": [0, 1]}}, 2)
    with pytest.raises(InvalidInput, match="1001"):
        grid_search(session(), {"seed": list(range(1001))})
