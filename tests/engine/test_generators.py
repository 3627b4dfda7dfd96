"""Generators: shapes, class balance, seeds, and the geometry of each picture."""
import math

import numpy as np
import pytest

from engine.data.generators import DATASETS, multi_gauss_target
from engine.errors import InvalidInput

TWO_D = ["circle", "xor", "gauss", "spiral", "plane", "multi_gauss", "moons", "blobs", "spirals"]


def gen(name, seed=0, **params):
    return DATASETS.create({"type": name, "params": params}, np.random.default_rng(seed))


@pytest.mark.parametrize("name", TWO_D)
def test_shapes_dtypes_and_task(name):
    g = gen(name, n=101)
    assert g.x.shape == (101, 2) and g.x.dtype == np.float32
    assert g.feature_names == ["x1", "x2"]
    if name in ("plane", "multi_gauss"):
        assert (g.task, g.n_classes, g.class_names) == ("regression", 0, [])
        assert g.y.shape == (101, 1) and g.y.dtype == np.float32
    else:
        assert g.task == "classification" and g.y.shape == (101,) and g.y.dtype == np.int64
        assert len(g.class_names) == g.n_classes and set(np.unique(g.y)) <= set(range(g.n_classes))


@pytest.mark.parametrize("name", TWO_D)
def test_same_seed_same_points_other_seed_other_points(name):
    extra = {} if name == "blobs" else {"noise": 0.2}  # noise-free spirals and moons are the same for any seed
    a, b, c = gen(name, 7, n=60, **extra), gen(name, 7, n=60, **extra), gen(name, 8, n=60, **extra)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral", "moons"])
def test_two_class_sets_are_balanced_like_tf(name):
    g = gen(name, n=101, noise=0.0)
    assert sorted(np.bincount(g.y).tolist()) == [50, 51]


def test_circle_geometry_without_noise():
    g = gen("circle", n=1000)
    r = np.hypot(g.x[:, 0], g.x[:, 1])
    assert r[g.y == 1].max() <= 2.5 + 1e-6  # positive: the inner disc (TF's blue)
    assert r[g.y == 0].min() >= 3.5 - 1e-6 and r[g.y == 0].max() <= 5.0 + 1e-6
    assert np.bincount(g.y).tolist() == [500, 500]


def test_circle_noise_flips_labels_but_not_positions():
    g = gen("circle", n=2000, noise=0.5)
    r = np.hypot(g.x[:, 0], g.x[:, 1])
    inner = r <= 2.5
    assert r.max() <= 5.0 + 1e-6
    assert 0.05 < np.mean(g.y != inner) < 0.6


def test_xor_rule_without_noise():
    g = gen("xor", n=1000)
    x1, x2 = g.x[:, 0].astype(float), g.x[:, 1].astype(float)
    assert np.array_equal(g.y, (np.sign(x1 * x2) >= 0).astype(np.int64))
    assert np.abs(g.x).min() >= 0.3 - 1e-6 and np.abs(g.x).max() <= 5.3 + 1e-6  # TF's padding off the axes
    noisy = gen("xor", n=1000, noise=0.5)
    flipped = noisy.y != (noisy.x[:, 0] * noisy.x[:, 1] >= 0)
    assert 0.05 < flipped.mean() < 0.5


def test_gauss_centres_and_variance():
    g = gen("gauss", n=4000)
    pos, neg = g.x[g.y == 1].astype(float), g.x[g.y == 0].astype(float)
    assert np.allclose(pos.mean(0), [2, 2], atol=0.1) and np.allclose(neg.mean(0), [-2, -2], atol=0.1)
    assert np.allclose(pos.var(0), 0.5, rtol=0.15)  # TF: noise 0 -> variance 0.5
    wide = gen("gauss", n=4000, noise=0.5)
    assert np.allclose(wide.x[wide.y == 1].astype(float).var(0), 4.0, rtol=0.15)  # noise 0.5 -> variance 4


def test_spiral_points_lie_on_tf_arms():
    n = 400
    g = gen("spiral", n=n)
    x = g.x.astype(float)
    for label, offset in ((1, 0.0), (0, math.pi)):
        arm = x[g.y == label]
        r = np.hypot(arm[:, 0], arm[:, 1])
        assert np.allclose(np.sort(r), np.arange(n // 2) / (n // 2) * 5, atol=1e-5)
        t = 1.75 * 2 * math.pi * r / 5 + offset
        assert np.allclose(arm[:, 0], r * np.sin(t), atol=1e-4) and np.allclose(arm[:, 1], r * np.cos(t), atol=1e-4)


def test_plane_target_is_scaled_sum():
    g = gen("plane", n=300)
    assert np.abs(g.x).max() <= 6.0
    assert np.allclose(g.y[:, 0], (g.x[:, 0].astype(float) + g.x[:, 1]) / 10, atol=1e-6)


def test_multi_gauss_matches_hand_rule():
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]

    def rule(px, py):
        best = 0.0
        for cx, cy, s in centres:
            v = s * min(1.0, max(0.0, 1 - math.hypot(px - cx, py - cy) / 2))
            best = v if abs(v) > abs(best) else best
        return best

    pts = np.array([[-4, 2.5], [0, 2.5], [4, -2.5], [6, 6], [1, 2.5], [-2, 0]], float)
    assert np.allclose(multi_gauss_target(pts), [1, -1, -1, 0, -0.5, 0])
    g = gen("multi_gauss", n=200)
    assert np.allclose(g.y[:, 0], [rule(a, b) for a, b in g.x.astype(float)], atol=1e-6)


def test_moons_geometry_without_noise():
    g = gen("moons", n=200, noise=0.0)
    outer, inner = g.x[g.y == 0].astype(float), g.x[g.y == 1].astype(float)
    assert np.allclose(np.hypot(outer[:, 0], outer[:, 1]), 1, atol=1e-6) and outer[:, 1].min() >= -1e-6
    assert np.allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1, atol=1e-6) and inner[:, 1].max() <= 0.5 + 1e-6


def test_blobs_classes_centres_and_spread():
    g = gen("blobs", n=3000, classes=5, std=0.5)
    assert g.n_classes == 5 and g.class_names == [f"class {i}" for i in range(5)]
    assert np.bincount(g.y).tolist() == [600] * 5
    for c in range(5):
        a = 2 * math.pi * c / 5
        pts = g.x[g.y == c].astype(float)
        assert np.allclose(pts.mean(0), [4 * math.cos(a), 4 * math.sin(a)], atol=0.08)
        assert np.allclose(pts.std(0), 0.5, rtol=0.1)
    assert np.bincount(gen("blobs", n=10, classes=3).y).tolist() == [4, 3, 3]


def test_multi_class_spirals():
    g = gen("spirals", n=300, classes=4)
    assert g.n_classes == 4 and np.bincount(g.y).tolist() == [75] * 4
    x = g.x.astype(float)
    for c in range(4):
        arm = x[g.y == c]
        r = np.hypot(arm[:, 0], arm[:, 1])
        t = 1.75 * 2 * math.pi * r / 5 + 2 * math.pi * c / 4
        assert np.allclose(arm[:, 0], r * np.sin(t), atol=1e-4)


def test_digits():
    g = gen("digits")
    assert g.x.shape == (1797, 1, 8, 8) and g.x.dtype == np.float32
    assert g.x.min() == 0.0 and g.x.max() == 1.0
    assert g.n_classes == 10 and g.class_names == [str(d) for d in range(10)]
    assert np.bincount(g.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # first image of the UCI file is a 0 whose top row reads 0 0 5 13 9 1 0 0
    assert g.y[0] == 0 and np.array_equal(g.x[0, 0, 0] * 16, [0, 0, 5, 13, 9, 1, 0, 0])
    flat = gen("digits", flat=True)
    assert flat.x.shape == (1797, 64) and np.array_equal(flat.x, g.x.reshape(1797, 64))
    assert len(flat.feature_names) == 64


def test_inline_lecture_xor_example_and_regression():
    g = gen("inline", x=[[1, 0]], y=[1])
    assert g.x.tolist() == [[1.0, 0.0]] and g.y.tolist() == [1] and g.n_classes == 2
    r = gen("inline", x=[0.0, 1.0, 2.0], y=[[1, 2], [3, 4], [5, 6]], task="regression")
    assert r.x.shape == (3, 1) and r.y.shape == (3, 2) and r.y.dtype == np.float32
    named = gen("inline", x=[[0, 0], [1, 1]], y=[0, 2], class_names=["a", "b", "c"], feature_names=["u", "v"])
    assert named.n_classes == 3 and named.feature_names == ["u", "v"]


@pytest.mark.parametrize("params, quoted", [
    ({"x": [[1, 2], [3]], "y": [0, 1]}, "[[1, 2], [3]]"),
    ({"x": [[1, 2]], "y": [0, 1]}, "[0, 1]"),
    ({"x": [[1, 2]], "y": [-1]}, "-1"),
    ({"x": [[1, 2]], "y": [0.5]}, "0.5"),
    ({"x": [[1, float("nan")]], "y": [0]}, "nan"),
    ({"x": [["a", 2]], "y": [0]}, "'a'"),
    ({"x": [], "y": []}, "[]"),
    ({"x": [[]], "y": [0]}, "[[]]"),
    ({"x": [[1, 2]], "y": [0], "feature_names": ["only one"]}, "['only one']"),
    ({"x": [[1, 2]], "y": [3], "class_names": ["a", "b"]}, "['a', 'b']"),
])
def test_inline_rejects_bad_data_quoting_it(params, quoted):
    with pytest.raises(InvalidInput) as e:
        gen("inline", **params)
    assert quoted in str(e.value)


@pytest.mark.parametrize("spec, quoted", [
    ({"type": "swirl"}, "'swirl'"),
    ({"type": "xor", "params": {"noise": 2}}, "2"),
    ({"type": "xor", "params": {"n": 0}}, "0"),
    ({"type": "xor", "params": {"colour": 1}}, "'colour'"),
    ({"type": "blobs", "params": {"n": 2, "classes": 3}}, "n=2"),
])
def test_bad_generator_specs(spec, quoted):
    with pytest.raises(InvalidInput) as e:
        DATASETS.create(spec, np.random.default_rng(0))
    assert quoted in str(e.value)
