"""Lecture 001's black-box tools: permutation importance, partial dependence/ICE, bootstrap intervals."""
import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.interpret import (bootstrap_interval, bootstrap_predictions, default_score, ice_curves, partial_dependence,
                              permutation_importance, predictor)
from engine.session import Session

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 2))


def neg_mse(y, out):
    return -float(np.mean((np.asarray(out).reshape(-1) - np.asarray(y).reshape(-1)) ** 2))


def test_permutation_importance_of_a_known_function():
    predict = lambda x: 3.0 * x[:, 0]  # noqa: E731  x1 is ignored
    y = 3.0 * X[:, 0]
    res = permutation_importance(predict, X, y, neg_mse, n_repeats=4, seed=9)
    rng = np.random.default_rng(9)
    want = np.empty((2, 4))
    for j in range(2):
        for r in range(4):
            perm = rng.permutation(50)
            want[j, r] = np.mean((3.0 * X[perm, 0] - y) ** 2) if j == 0 else 0.0
    assert res["baseline"] == 0.0
    np.testing.assert_allclose(res["importances"], want, atol=1e-12)
    assert res["mean"][1] == 0.0 and res["mean"][0] == pytest.approx(want[0].mean())
    with pytest.raises(InvalidInput, match="0"):
        permutation_importance(predict, X, y, neg_mse, n_repeats=0)


def test_partial_dependence_at_the_mean_and_ice_for_every_observation():
    predict = lambda x: 2 * x[:, 0] + x[:, 0] * x[:, 1] + 1  # noqa: E731
    g = np.array([-1.0, 0.0, 2.0])
    grid, pd = partial_dependence(predict, X, 0, g)
    np.testing.assert_allclose(pd[:, 0], 2 * g + g * X[:, 1].mean() + 1, atol=1e-12)
    _, pdm = partial_dependence(predict, X, 0, g, at="median")
    np.testing.assert_allclose(pdm[:, 0], 2 * g + g * np.median(X[:, 1]) + 1, atol=1e-12)
    _, ice = ice_curves(predict, X, 0, g)
    assert ice.shape == (50, 3, 1)
    np.testing.assert_allclose(ice[:, :, 0], 2 * g + np.outer(X[:, 1], g) + 1, atol=1e-12)
    np.testing.assert_allclose(ice.mean(0), pd, atol=1e-12)  # x1 enters linearly, so the mean ICE is the PD
    grid, _ = partial_dependence(predict, X, 1, n_grid=5)
    np.testing.assert_allclose(grid, np.linspace(X[:, 1].min(), X[:, 1].max(), 5))
    with pytest.raises(InvalidInput, match="2"):
        partial_dependence(predict, X, 2)
    with pytest.raises(InvalidInput, match="'mean_value'"):
        partial_dependence(predict, X, 0, at="mean_value")


def test_bootstrap_interval_of_a_least_squares_line():
    y = 1.5 * X[:, 0] - 0.5 + 0.3 * np.random.default_rng(1).normal(size=50)
    xq = np.array([[-1.0], [0.0], [2.0]])

    def fit_predict(xb, yb):
        a = np.c_[xb[:, :1], np.ones(len(xb))]
        coef = np.linalg.lstsq(a, yb, rcond=None)[0]
        return np.c_[xq, np.ones(3)] @ coef

    res = bootstrap_interval(fit_predict, X, y, xq, n_boot=40, level=0.9, seed=3)
    rng = np.random.default_rng(3)
    preds = np.stack([fit_predict(X[i], y[i]) for i in (rng.integers(0, 50, 50) for _ in range(40))])[:, :, None]
    np.testing.assert_allclose(res["predictions"], preds)
    np.testing.assert_allclose(res["lower"], np.percentile(preds, 5, axis=0))
    np.testing.assert_allclose(res["upper"], np.percentile(preds, 95, axis=0))
    width = (res["upper"] - res["lower"])[:, 0]
    assert width[1] < width[2]  # the interval widens away from the data's centre
    with pytest.raises(InvalidInput, match="1.5"):
        bootstrap_interval(fit_predict, X, y, xq, level=1.5)


def xor_session(**kw):
    return Session.from_dict({
        "seed": 5,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                             {"type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "xor", "params": {"n": 60}, "preprocess": {"scale": "standardize"}},
        "optimizer": {"type": "adam", "params": {"lr": 0.05}}, "training": {"epochs": 2, "batch_size": 10, **kw},
    })


def test_predictor_and_default_score_on_a_trainer():
    from engine.data import apply_preprocess
    from engine.trainer import Trainer

    tr = Trainer(xor_session())
    list(tr.run())
    raw = tr.data.raw_x("val")
    p = predictor(tr)(raw)
    z = tr.predict(apply_preprocess(raw, tr.data.preprocess_state))[:, 0]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), atol=1e-6)
    acc = default_score("classification", tr.loss_name)(tr.data.y_val, tr.predict(tr.data.x_val))
    assert acc == tr.evaluate_split("val")[1]["accuracy"]


def test_trained_net_ranks_the_informative_feature_first():
    from engine.trainer import Trainer

    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 2))
    s = xor_session(epochs=30)
    s.dataset = {"type": "inline", "params": {"x": x.tolist(), "y": (x[:, 0] > 0).astype(int).tolist(),
                                              "task": "classification"}}
    tr = Trainer(s)
    list(tr.run())
    res = permutation_importance(tr.predict, x, (x[:, 0] > 0).astype(int), default_score("classification", tr.loss_name))
    assert res["baseline"] > 0.95
    assert res["mean"][0] > 0.3 and abs(res["mean"][1]) < 0.05


def test_bootstrap_predictions_retrain_on_resampled_training_splits():
    from dataclasses import replace

    from engine.data import make_dataset
    from engine.trainer import Trainer

    xq = np.array([[0.5, 0.5], [-3.0, 3.0]])
    res = bootstrap_predictions(xor_session(), xq, n_boot=3, seed=4)
    assert res["predictions"].shape == (3, 2, 1)
    data = make_dataset(xor_session().dataset, seed=5)
    idx = np.random.default_rng(4).integers(0, len(data.y_train), len(data.y_train))
    tr = Trainer(xor_session(), dataset=replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx]))
    list(tr.run())
    np.testing.assert_allclose(res["predictions"][0], predictor(tr)(xq).reshape(2, 1), atol=1e-7)
    np.testing.assert_allclose(res["lower"], np.percentile(res["predictions"], 2.5, axis=0))
    assert np.all(res["lower"] <= res["median"]) and np.all(res["median"] <= res["upper"])
