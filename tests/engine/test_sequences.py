"""Sequence datasets: shapes, targets recomputed independently, and the seed reproduces them."""
import math

import numpy as np

from engine.data import make_dataset
from engine.data.generators import DATASETS


def make(name, rng, **params):
    return DATASETS.create({"type": name, "params": params}, rng)


def test_sine_next_targets_are_the_next_noise_free_value():
    g = make("sine_next", np.random.default_rng(7), n=50, length=12, noise=0.0)
    assert g.x.shape == (50, 12, 1) and g.y.shape == (50, 1) and g.task == "regression" and len(g.feature_names) == 12
    # noise-free windows obey sin(ω(t+1)) = 2cos(ω)·sin(ωt) − sin(ω(t−1)); ω is recovered from the first three values
    x = g.x[:, :, 0].astype(np.float64)
    cos_w = (x[:, 2] + x[:, 0]) / (2 * x[:, 1])
    ok = np.abs(x[:, 1]) > 0.3  # division is well conditioned
    pred = 2 * cos_w * x[:, -1] - x[:, -2]
    np.testing.assert_allclose(pred[ok], g.y[ok, 0], atol=1e-4)
    assert np.all((np.arccos(np.clip(cos_w[ok], -1, 1)) > 0.2 - 1e-3) & (np.arccos(np.clip(cos_w[ok], -1, 1)) < 0.8 + 1e-3))


def test_sine_next_noise_has_the_stated_std_and_spares_the_target():
    clean = make("sine_next", np.random.default_rng(3), n=2000, length=20, noise=0.0)
    noisy = make("sine_next", np.random.default_rng(3), n=2000, length=20, noise=0.2)
    np.testing.assert_array_equal(clean.y, noisy.y)  # same ω, φ draws; only the inputs get noise
    assert abs(float(np.std(noisy.x - clean.x)) - 0.2) < 0.005


def test_parity_labels_count_the_ones():
    g = make("parity", np.random.default_rng(0), n=300, length=5)
    assert g.x.shape == (300, 5, 1) and set(np.unique(g.x)) == {0.0, 1.0}
    bits = g.x[:, :, 0].astype(int)
    expect = [sum(row) % 2 for row in bits.tolist()]
    assert g.y.tolist() == expect and g.class_names == ["even", "odd"] and 0.4 < np.mean(expect) < 0.6
    assert math.prod(g.x.shape[1:]) == len(g.feature_names)


def test_a_session_dataset_gives_sequence_inputs():
    ds = make_dataset({"type": "sine_next", "params": {"n": 40, "length": 9}}, seed=1)
    assert tuple(ds.input_shape) == (9, 1)
    again = make_dataset({"type": "sine_next", "params": {"n": 40, "length": 9}}, seed=1)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    assert ds.x_train.shape[1:] == (9, 1)
