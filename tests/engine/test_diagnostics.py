"""Diagnostics on synthetic curves and statistics whose shape we know by construction."""
import dataclasses

import numpy as np
import pytest

from engine.diagnostics import (Diagnosis, activation_stats, diagnose_activations, diagnose_curves,
                                diagnose_gradients, diagnose_nan)
from engine.errors import InvalidInput

E30 = np.arange(30)
CLEAN = 0.05 + 0.95 * np.exp(-0.3 * E30)  # fast decay to a low floor
CLEAN_VAL = 1.1 * CLEAN + 0.02            # slightly above training: "the model is good"


def codes(diags):
    return [d.code for d in diags]


def one_sentence(d):
    m = d.message
    return m.endswith(".") and ". " not in m and (m[0].isupper() or m[0].isdigit())


# ------------------------------------------------------------------ clean curves
def test_clean_decreasing_curve_gives_nothing():
    assert diagnose_curves(CLEAN, CLEAN_VAL, np.full(30, 0.01)) == []
    assert diagnose_curves(CLEAN, None) == []


def test_clean_curve_with_minibatch_noise_gives_nothing_at_any_length():
    rng = np.random.default_rng(0)
    t = CLEAN * (1 + 0.01 * rng.standard_normal(30))
    v = CLEAN_VAL * (1 + 0.01 * rng.standard_normal(30))
    for n in range(1, 31):
        assert diagnose_curves(t, v, epochs_seen=n) == [], n


def test_nothing_said_before_five_epochs():
    exploding = 2.0 ** np.arange(10)
    assert diagnose_curves(exploding, epochs_seen=4) == []
    assert codes(diagnose_curves(exploding, epochs_seen=5)) == ["diverging"]


def test_missing_validation_epochs_are_allowed():
    v = CLEAN_VAL.copy()
    v[1::2] = np.nan  # validated every other epoch
    assert diagnose_curves(CLEAN, v) == []


# ---------------------------------------------------------------- each code
def test_diverging_exploding_loss():
    (d,) = diagnose_curves(0.5 * 2.0 ** np.arange(8), lr=np.full(8, 0.3))
    assert (d.code, d.severity) == ("diverging", "error")
    assert "0.3" in d.message and "too high" in d.message and "128 times" in d.message  # 64 / 0.5


def test_diverging_after_a_good_start():
    (d,) = diagnose_curves([1, 0.6, 0.4, 0.3, 0.5, 1.2, 3.0])
    assert d.code == "diverging" and "10 times" in d.message  # 3.0 / 0.3


def test_one_bad_last_epoch_is_not_yet_divergence():
    assert "diverging" not in codes(diagnose_curves([1, 0.5, 0.2, 0.1, 0.6]))


def test_oscillating():
    t = [1, 0.5, 0.9, 0.4, 0.8, 0.45, 0.85, 0.4, 0.8, 0.45]
    (d,) = diagnose_curves(t, lr=np.full(10, 0.5))
    assert (d.code, d.severity) == ("oscillating", "warning")
    assert "0.5" in d.message and "batch" in d.message


def test_slow_linear_decrease():
    rng = np.random.default_rng(1)
    t = 1 - 0.01 * E30 + 0.001 * rng.standard_normal(30)  # -30% in 30 epochs, a straight line
    (d,) = diagnose_curves(t, lr=np.full(30, 1e-4))
    assert (d.code, d.severity) == ("slow", "info")
    assert "too low" in d.message and "0.0001" in d.message


def test_slow_is_not_claimed_for_an_exponential_decay():
    assert diagnose_curves(0.05 + 0.95 * np.exp(-0.1 * E30)) == []


def test_plateau_from_the_start():
    rng = np.random.default_rng(2)
    t = 0.693 + 0.001 * rng.standard_normal(12)  # BCE stuck at chance level ln 2
    (d,) = diagnose_curves(t, t + 0.002)
    assert (d.code, d.severity) == ("plateau", "warning")
    assert "saturated" in d.message and "initialisation" in d.message


def test_overfitting_validation_rising():
    v = 0.3 + 0.002 * (np.arange(20) - 10.0) ** 2  # minimum at index 10 = epoch 11
    t = CLEAN[:20]
    (d,) = diagnose_curves(t, v)
    assert (d.code, d.severity) == ("overfitting", "warning")
    # 3-epoch averages: lowest (0.302 + 0.3 + 0.302) / 3 = 0.30133 around epoch 11,
    # last (0.398 + 0.428 + 0.462) / 3 = 0.42933: +42%
    assert "epoch 11" in d.message and "42%" in d.message
    assert "early stopping" in d.advice and "dropout" in d.advice and "L2" in d.advice


def test_overfitting_needs_several_rising_epochs():
    e = np.arange(18)
    t = 0.28 + 0.7 * np.exp(-0.3 * e)  # no big gap: ends near 0.29
    v = 0.3 + 0.002 * (e - 10.0) ** 2  # minimum at epoch 11
    assert diagnose_curves(t[:13], v[:13]) == []  # 2 epochs after the minimum: too early to say
    assert codes(diagnose_curves(t, v)) == ["overfitting"]  # 7 epochs after: +17% (smoothed)


def test_overfitting_large_gap():
    v = 0.5 + 0.45 * np.exp(-0.3 * E30)  # still falling, but 10x the training loss
    (d,) = diagnose_curves(CLEAN, v)
    assert d.code == "overfitting" and "gap" in d.message


def test_quick_drop_then_plateau_is_a_too_high_learning_rate():
    """Seed 003: "decrease very quickly at the beginning and then remain on plateaus" -> learning rate too big."""
    t = 0.6 + 0.4 * np.exp(-0.5 * np.arange(20))  # most of the fall in 4 epochs, then flat at 60 %
    (d,) = diagnose_curves(t, t * 1.02, np.full(20, 0.5))
    assert (d.code, d.severity) == ("lr_too_high", "warning")  # the old rules called this underfitting
    assert "too big" in d.message and "0.5" in d.message and "60%" in d.message and "first 4 epochs" in d.message
    assert "Lower the learning rate" in d.advice and "inconsistent" in d.advice
    assert one_sentence(d)


def test_a_gradual_fall_that_levels_off_high_is_a_model_too_simple():
    t = 1 - 0.5 * (1 - np.exp(-0.15 * np.arange(40)))  # 70 % of the fall in the first fifth: not "quick"
    (d,) = diagnose_curves(t, t * 1.02)
    assert (d.code, d.severity) == ("underfitting", "info")
    assert "50%" in d.message and "bigger model" in d.advice
    assert "about as high" in d.message and "no lower" not in d.message
    # with a clear generalisation gap the picture is not "both high": no underfitting claim
    assert diagnose_curves(t, t + 0.5) == []


def test_still_decreasing_at_the_end_of_training_is_underfitting():
    """Seed 003's underfitting: both losses "decrease even at the end of training" -> the model is still learning."""
    t = 0.3 + 0.7 * np.exp(-0.05 * E30)  # still 46 % of the first epoch's loss, and falling
    v = 1.05 * t + 0.01
    (d,) = diagnose_curves(t, v, planned=30)
    assert (d.code, d.severity) == ("underfitting", "info")
    assert "training and validation losses are still decreasing" in d.message and "still learning" in d.message
    # (0.3 + 0.7 e^-1.1) -> (0.3 + 0.7 e^-1.45): the last 7 epochs fell by 13 %
    assert f"{100 * (t[22] - t[29]) / t[22]:.0f}% over the last 7 epochs" in d.message
    assert "Train longer" in d.advice
    assert diagnose_curves(t, v, planned=100) == []  # epoch 30 of 100: still learning is expected mid-way
    assert diagnose_curves(t, v) == []  # nobody said where the end is
    assert diagnose_curves(t, v, planned=30, val_accuracy=0.99) == []  # solved: nothing left to learn
    low = 0.05 + 0.95 * np.exp(-0.1 * E30)  # still falling, but at 10 % of its start: converging
    assert diagnose_curves(low, 1.05 * low + 0.01, planned=30) == []
    v_up = v.copy()
    v_up[-8:] = v[-8] + 0.01 * np.arange(8)  # validation turned up: not this picture
    assert "underfitting" not in codes(diagnose_curves(t, v_up, planned=30))


def test_validation_below_training_is_reported_in_the_curve_reading():
    t = 0.25 + 0.75 * np.exp(-0.3 * E30)
    diags = diagnose_curves(t, 0.5 * t)  # a gap of 12.5 % of the first epoch's loss, for many epochs
    assert codes(diags) == ["val_below_train"]
    assert "easier validation set or a bug" in diags[0].message
    assert diagnose_curves(t, t - 0.05 * t[0]) == []  # a gap of 5 % of the scale: a small split's noise
    flat = 1 - 0.5 * (1 - np.exp(-0.15 * np.arange(40)))
    under, below = diagnose_curves(flat, 0.7 * flat)
    assert under.code == "underfitting" and "(the validation loss is lower, 0.351)" in under.message
    assert "no lower" not in under.message and below.code == "val_below_train"


def test_a_finite_loss_that_exploded_is_diverging_not_overfitting():
    """Issue 15: SGD lr 1e6 ran with losses ~2.8e29 and was told "overfitting" (validation 3x training)."""
    t = np.array([2.8e29, 1.0e29, 3.1e29, 2.2e29, 2.5e29, 2.7e29, 1.9e29])
    assert "overfitting" in codes(diagnose_curves(t, 3 * t))  # without the first step's loss: the old reading
    (d,) = diagnose_curves(t, 3 * t, np.full(7, 1e6), first_loss=0.69)
    assert (d.code, d.severity) == ("diverging", "error")
    assert "exploded" in d.message and "1e+06" in d.message and "far too high" in d.message
    assert f"{1.9e29 / 0.69:.3g} times" in d.message  # the lower of the last two epochs / the first step
    (d1,) = diagnose_curves(t[:1], None, first_loss=0.69)  # caught from the first epoch, not after five
    assert d1.code == "diverging"
    assert diagnose_curves(CLEAN, CLEAN_VAL, first_loss=1.0) == []  # an ordinary curve is not "exploded"


def test_the_trainer_reports_an_exploding_finite_loss_as_diverging():
    from engine.session import Session
    from engine.trainer import Trainer

    s = Session.from_dict({"seed": 0, "graph": {"layers": [
        {"type": "Input", "params": {"shape": [2]}}, {"type": "Dense", "params": {"units": 8, "activation": "tanh"}},
        {"type": "Dense", "params": {"units": 2}}, {"type": "Output"}]},
        "dataset": {"type": "spiral", "params": {"n": 100}}, "loss": "cross_entropy",
        "optimizer": {"type": "sgd", "params": {"lr": 1e6}}, "training": {"epochs": 2, "batch_size": 10, "device": "cpu"}})
    ends = [ev for ev in Trainer(s).run() if type(ev).__name__ == "EpochEnd"]
    assert all(np.isfinite(ev.train_loss) and ev.train_loss > 1e4 for ev in ends)
    assert [d.code for d in ends[0].diagnoses] == ["diverging"]


def test_nan_in_training_loss_is_reported_even_early():
    (d,) = diagnose_curves([1.0, 0.8, np.nan], lr=[0.01, 0.01, 0.01])
    assert (d.code, d.severity) == ("nan", "error") and "log of zero" in d.message


def test_bad_curve_input():
    with pytest.raises(InvalidInput, match=r"\(2, 2\)"):
        diagnose_curves(np.ones((2, 2)))
    with pytest.raises(InvalidInput, match="'x'"):
        diagnose_curves(CLEAN, epochs_seen="x")


# ---------------------------------------------------------------------- NaN
def test_nan_exploding_gradients():
    d = diagnose_nan(2.5, 0.01, [1.0, 1.2, 1.1, 50.0, 3000.0])
    assert d.code == "nan" and "exploding" in d.message and "3e+03" in d.message
    assert "Clip" in d.advice


def test_nan_learning_rate_too_high():
    d = diagnose_nan(5e4, 0.8, [1.0, 1.1])
    assert "learning rate (0.8)" in d.message and "5e+04" in d.message
    assert "learning rate" in diagnose_nan(0.7, 3.0, None).message


def test_nan_from_the_first_step():
    assert "first step" in diagnose_nan(None, 0.01, None).message
    assert "first step" in diagnose_nan(float("nan"), 0.01, []).message


def test_nan_with_moderate_loss_points_to_log_zero():
    d = diagnose_nan(0.7, 0.01, [1.0, 0.9, 1.1])
    assert "log of zero" in d.message and "bce_logits" in d.advice


# ---------------------------------------------------------------- gradients
def test_vanishing_gradients():
    norms = {"d1": np.full(10, 1e-6), "d2": np.full(10, 1e-4), "out": np.full(10, 0.5)}
    (d,) = diagnose_gradients(norms)
    assert (d.code, d.layer) == ("vanishing", "d1")
    assert "2e-06" in d.message and "ReLU" in d.advice and "batch" in d.advice


def test_healthy_and_borderline_gradients_give_nothing():
    assert diagnose_gradients({"d1": np.full(5, 0.3), "d2": np.full(5, 0.5), "out": np.ones(5)}) == []
    assert diagnose_gradients({"d1": np.full(5, 2e-3), "out": np.ones(5)}) == []  # ratio 2e-3
    assert diagnose_gradients({"only": np.full(5, 1e-9)}) == []  # nothing to compare with


def test_exploding_gradients_above_limit_is_an_error():
    norms = {"d1": np.geomspace(0.1, 1e4, 20), "out": np.geomspace(0.1, 1e2, 20)}
    (d,) = diagnose_gradients(norms)
    assert (d.code, d.severity, d.layer) == ("exploding", "error", "d1")


def test_gradient_growing_by_orders_of_magnitude_is_a_warning():
    (d,) = diagnose_gradients({"d1": np.geomspace(0.01, 5, 20), "out": np.geomspace(0.01, 5, 20)})
    assert (d.code, d.severity) == ("exploding", "warning")
    # the same growth at a tiny scale (1e-4 -> 5e-2) is not explosion
    assert diagnose_gradients({"d1": np.geomspace(1e-4, 5e-2, 20), "out": np.ones(20)}) == []


def test_non_finite_gradient_norm():
    (d,) = diagnose_gradients({"d1": np.array([1.0, 2.0, np.inf]), "out": np.ones(3)})
    assert d.code == "exploding" and "no longer finite" in d.message


def test_gradients_bad_input():
    with pytest.raises(InvalidInput, match="list"):
        diagnose_gradients([1, 2])


# --------------------------------------------------------------- activations
def test_activation_stats_dead_relu_units():
    post = np.array([[0, 0, 0, 1.0, 2.0],
                     [0, 0, 0, 0.5, 0.0],
                     [0, 0, 3, 0.2, 1.0],
                     [0, 0, 0, 0.1, 0.0]])
    # units 0 and 1 are zero for every sample; unit 2 fires once, so it lives
    assert activation_stats(post, "relu") == {"dead_fraction": 0.4, "saturated_fraction": 0.0,
                                              "activation": "relu"}


def test_activation_stats_conv_channels():
    post = np.ones((2, 3, 2, 2))
    post[:, 0] = 0  # channel 0 dead at every position of every sample
    post[0, 1, 0, 0] = 0  # channel 1 has one zero but lives
    assert activation_stats(post, "ReLU")["dead_fraction"] == pytest.approx(1 / 3)


def test_activation_stats_saturation():
    tanh = np.array([[0.99, 0.5], [-0.98, 0.97]])  # 0.97 itself is not beyond the limit
    assert activation_stats(tanh, "tanh")["saturated_fraction"] == 0.5
    sig = np.array([[0.01, 0.5], [0.99, 0.03], [0.5, 0.5]])
    assert activation_stats(sig, "sigmoid")["saturated_fraction"] == pytest.approx(2 / 6)
    assert activation_stats(sig, "sigmoid")["dead_fraction"] == 0.0
    assert activation_stats(tanh, "gelu") == {"dead_fraction": 0.0, "saturated_fraction": 0.0,
                                              "activation": "gelu"}


def test_large_init_saturates_sigmoid_and_is_diagnosed():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2000, 16))
    big = activation_stats(1 / (1 + np.exp(-10 * z)), "sigmoid")
    # sigmoid(10 z) > 0.97 <=> |z| > ln(0.97/0.03)/10 = 0.3476: P = 2 (1 - Phi(0.3476)) = 0.728
    assert big["saturated_fraction"] == pytest.approx(0.728, abs=0.02)
    small = activation_stats(1 / (1 + np.exp(-0.1 * z)), "sigmoid")
    assert small["saturated_fraction"] == 0.0
    diags = diagnose_activations({"h_big": big, "h_small": small})
    assert [(d.code, d.layer) for d in diags] == [("saturated", "h_big")]
    assert "73%" in diags[0].message and "Xavier" in diags[0].advice


def test_diagnose_activations_thresholds():
    stats = {
        "a": {"dead_fraction": 0.6, "saturated_fraction": 0.0, "activation": "relu"},
        "b": {"dead_fraction": 0.5, "saturated_fraction": 0.0, "activation": "relu"},
        "c": {"dead_fraction": 0.0, "saturated_fraction": 0.8, "activation": "tanh"},
        "d": {"dead_fraction": 0.0, "saturated_fraction": 0.8, "activation": "relu"},
    }
    diags = diagnose_activations(stats)
    assert [(d.code, d.layer) for d in diags] == [("dead_relu", "a"), ("saturated", "c")]
    assert "60%" in diags[0].message and "leaky ReLU" in diags[0].advice and "He" in diags[0].advice
    with pytest.raises(InvalidInput, match="1.5"):
        diagnose_activations({"x": {"dead_fraction": 1.5, "activation": "relu"}})


def test_activation_stats_bad_input():
    with pytest.raises(InvalidInput, match=r"\(0, 3\)"):
        activation_stats(np.zeros((0, 3)), "relu")


# ------------------------------------------------------------------- Diagnosis
def test_diagnosis_is_frozen_and_validated():
    d = Diagnosis("x", "info", "A message.", "Some advice.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.code = "y"
    with pytest.raises(InvalidInput, match="'fatal'"):
        Diagnosis("x", "fatal", "m", "a")
    assert str(d) == "A message. Some advice."


def test_every_message_is_one_sentence():
    t20 = 0.6 + 0.4 * np.exp(-0.5 * np.arange(20))
    diags = [
        *diagnose_curves(0.5 * 2.0 ** np.arange(8)),
        *diagnose_curves([1, 0.5, 0.9, 0.4, 0.8, 0.45, 0.85, 0.4, 0.8, 0.45]),
        *diagnose_curves(1 - 0.01 * E30),
        *diagnose_curves(np.full(10, 0.693)),
        *diagnose_curves(CLEAN[:20], 0.3 + 0.002 * (np.arange(20) - 10.0) ** 2),
        *diagnose_curves(CLEAN, 0.5 + 0.45 * np.exp(-0.3 * E30)),
        *diagnose_curves(t20, t20),
        *diagnose_curves(1 - 0.5 * (1 - np.exp(-0.15 * np.arange(40)))),
        *diagnose_curves(0.3 + 0.7 * np.exp(-0.05 * E30), planned=30),
        *diagnose_curves(0.25 + 0.75 * np.exp(-0.3 * E30), 0.125 + 0.375 * np.exp(-0.3 * E30)),
        *diagnose_curves(CLEAN, first_loss=1e-5),
        diagnose_nan(2.5, 0.01, [1.0, 3000.0]), diagnose_nan(5e4, 0.8), diagnose_nan(None, 0.1),
        diagnose_nan(0.7, 0.01),
        *diagnose_gradients({"d1": np.full(3, 1e-7), "out": np.ones(3)}),
        *diagnose_gradients({"d1": np.full(3, 1e5), "out": np.ones(3)}),
        *diagnose_activations({"h": {"dead_fraction": 0.9, "saturated_fraction": 0.9,
                                     "activation": "sigmoid"}}),
    ]
    assert sorted(set(codes(diags))) == sorted(
        ["diverging", "oscillating", "slow", "plateau", "lr_too_high", "overfitting", "underfitting", "val_below_train",
         "nan", "vanishing", "exploding", "dead_relu", "saturated"])
    for d in diags:
        assert one_sentence(d), d.message
        assert d.advice.endswith(".")
