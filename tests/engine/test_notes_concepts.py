"""Concepts of the notes that docs/concepts.md was missing, each checked against an independent computation.

Seed 002: "repeat until the difference in values of E between two consecutive iterations goes
below a pre-defined threshold"; tuning scored by k-fold cross-validation. Seed 001: predictions
at the "most common" value of the other predictors, and the prediction scatterplot Ŷ vs X_j.
"""
import numpy as np
import pytest

from engine.crossval import cross_validate
from engine.errors import InvalidInput
from engine.interpret import most_common, partial_dependence, prediction_scatter
from engine.session import Session
from engine.trainer import Trainer
from engine.tuning import grid_search, run_trial


def session(**training):
    return Session.from_dict({
        "seed": 1,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                             {"type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "plane", "params": {"n": 60}}, "loss": "mse",
        "optimizer": {"type": "sgd", "params": {"lr": 0.05}},
        "training": {"epochs": 200, "batch_size": 0, "device": "cpu", **training},
    })


def test_stop_when_the_change_in_E_falls_below_a_threshold():
    """early_stopping on train_loss with min_delta = ε and patience 1 is exactly the notes' stopping rule."""
    eps = 1e-3
    tr = Trainer(session(early_stopping={"patience": 1, "min_delta": eps, "monitor": "train_loss",
                                         "restore_best": False}))
    fin = list(tr.run())[-1]
    e = np.array(tr.history.epochs["train_loss"])
    drops = e[:-1] - e[1:]
    first_small = int(np.flatnonzero(drops <= eps)[0]) + 2  # the epoch whose change was below ε (1-based)
    assert fin.reason == "early_stopping" and fin.epochs_run == first_small < 200
    assert np.all(drops[:first_small - 2] > eps)  # every earlier epoch had lowered E by more than ε


def test_tuning_scored_by_k_fold_cross_validation():
    s = session(epochs=3)
    t = run_trial(s, {"optimizer.params.lr": 0.1}, folds=3)
    from engine.tuning import with_setting

    cv = cross_validate(with_setting(s, "optimizer.params.lr", 0.1), 3)
    assert t["split"] == "3-fold" and t["score"] == pytest.approx(np.mean([f["val_loss"] for f in cv["folds"]]))
    assert t["fold_scores"] == pytest.approx([f["val_loss"] for f in cv["folds"]])
    res = grid_search(s, {"optimizer.params.lr": [0.001, 0.1]}, folds=3)
    assert [tr["split"] for tr in res["trials"]] == ["3-fold", "3-fold"]
    assert res["best"]["config"] == {"optimizer.params.lr": 0.1}  # the faster rate after 3 epochs, on every fold
    with pytest.raises(InvalidInput, match="folds"):
        run_trial(s, {}, folds=1)


def test_partial_dependence_at_the_most_common_value():
    x = np.array([[0.0, 1.0], [5.0, 1.0], [2.0, 3.0], [9.0, 1.0]])
    assert most_common(x).tolist() == [0.0, 1.0]  # all-distinct column: the smallest value; else the mode
    seen = []

    def predict(rows):
        seen.append(rows.copy())
        return rows[:, 0] + 10 * rows[:, 1]

    g, out = partial_dependence(predict, x, 0, grid=[0.0, 4.0], at="mode")
    assert seen[-1][:, 1].tolist() == [1.0, 1.0]  # the other predictor held at its most common value, 1 (mean 1.5)
    assert out[:, 0].tolist() == [10.0, 14.0]
    with pytest.raises(InvalidInput, match="mode"):
        partial_dependence(predict, x, 0, at="max")


def test_prediction_scatter_is_yhat_against_x_j_for_every_observation():
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    xj, yhat = prediction_scatter(lambda r: r[:, 0] * r[:, 1], x, 1)
    assert xj.tolist() == [2.0, -1.0, 0.0] and yhat[:, 0].tolist() == [2.0, -3.0, 0.0]
