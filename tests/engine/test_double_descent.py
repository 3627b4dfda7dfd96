"""Double descent: the preset's width sweep peaks at the interpolation threshold and comes down again.

The independent reference is numpy's pseudo-inverse on the run's own frozen features: the minimum-norm
least-squares fit of the head, which Gauss-Newton from a zero start must reach.
"""
import numpy as np
import pytest

from engine.phenomena import SWEEPS, feature_rank, final_losses, load, peak_ratios, presets, width_sweep

N_TRAIN = 60


def _min_norm(run):
    """(held-out MSE, train MSE, ‖θ‖) of the minimum-norm least-squares head on the run's frozen ReLU features."""
    w = {k: v.astype(np.float64) for k, v in run.weights().items()}
    W, b = w["layers.features.weight"], w["layers.features.bias"]
    d = run.data

    def feats(x):
        return np.c_[np.maximum(x.astype(np.float64) @ W.T + b, 0.0), np.ones(len(x))]

    theta = np.linalg.pinv(feats(d.x_train)) @ d.y_train.astype(np.float64)
    mse = [float(np.mean((feats(x) @ theta - y) ** 2)) for x, y in ((d.x_val, d.y_val), (d.x_train, d.y_train))]
    return mse[0], mse[1], float(np.linalg.norm(theta))


def _head_norm(run):
    w = run.weights()
    return float(np.linalg.norm(np.r_[w["layers.head.weight"].ravel(), w["layers.head.bias"].ravel()]))


@pytest.fixture(scope="module")
def sweep():
    return width_sweep(load("double_descent"), (20, 70, 1200), path="torch")


def test_the_preset_has_60_training_points_and_a_one_click_width_sweep():
    p = next(p for p in presets() if p.key == "double_descent")
    assert p.sweep is SWEEPS["double_descent"] and p.sweep.setting == "units" and 70 in p.sweep.values
    assert "Run the width sweep" in p.card and "Rocks & Mehta" in p.card
    s = load("double_descent")
    assert [n.trainable for n in s.graph.nodes if n.type == "Dense"] == [False, True]


def test_training_reaches_the_min_norm_interpolant_and_the_error_peaks_at_the_threshold(sweep):
    assert len(sweep[20].data.x_train) == N_TRAIN and len(sweep[20].data.x_val) == 940
    val, ref = final_losses(sweep), {p: _min_norm(r) for p, r in sweep.items()}
    for p, run in sweep.items():  # the trained head is numpy's minimum-norm solution, not just any fit
        assert val[p] == pytest.approx(ref[p][0], rel=0.02 if p == 70 else 1e-3)
        assert _head_norm(run) == pytest.approx(ref[p][2], rel=0.02 if p == 70 else 1e-3)
    assert ref[20][1] > 0.01 and ref[1200][1] < 1e-10  # underfit below, interpolation above
    for curve in (val, {p: r[0] for p, r in ref.items()}):  # the claim, on the runs and on the reference
        peak, over_small, over_large = peak_ratios(curve, N_TRAIN)
        assert peak == 70 and over_small >= 50 and over_large >= 50
    assert ref[70][2] > 20 * ref[1200][2]  # the threshold's fit needs huge weights; the wide one is smooth


def test_the_threshold_is_where_the_features_span_n_directions(sweep):
    assert feature_rank(sweep[20]) == 21 and feature_rank(sweep[70]) == N_TRAIN == feature_rank(sweep[1200])


def test_lbfgs_stops_short_of_the_interpolant_and_the_peak_is_gone():
    s = load("double_descent").copy()
    s.optimizer = {"type": "lbfgs", "params": {"lr": 1.0, "max_iter": 20}}
    run = width_sweep(s, (70, 1200), epochs=20, path="torch")[70]
    assert final_losses({70: run})[70] < 0.2 < _min_norm(run)[0] / 20


def test_peak_ratios_needs_both_sides():
    from engine.errors import InvalidInput

    assert peak_ratios({10: 1.0, 60: 8.0, 300: 2.0}, 60) == (60, 8.0, 4.0)
    with pytest.raises(InvalidInput, match="widths ≤ 30"):
        peak_ratios({60: 8.0, 300: 2.0}, 60)
