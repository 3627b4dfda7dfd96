"""Bias–variance for classification (lecture 004): the Brier score splits exactly like the squared error with
the true class probability η(x) = P(y = 1 | x), the 0-1 loss as Domingos (2000) states it.

Each term against an independent computation: η against Monte Carlo of the generators' own noise and
against their labels, every term by explicit loops over the stored predictions, the sums against the
exact expected losses (another algebra), and against losses measured on fresh labels within 4 Monte-Carlo
standard errors (the tolerance ``mc_se`` states).
"""
import numpy as np
import pytest

from engine import Session
from engine.bias_variance import decompose, sweep
from engine.bias_variance_classification import ClassificationDecomposition
from engine.data import generators as gen
from engine.data.class_truth import class_truth, has_class_truth
from engine.errors import InvalidInput


def session(dataset="xor", noise=0.3, units=4, epochs=12, loss="bce_logits", out=1, n=40, seed=1):
    return Session.from_dict({
        "name": "bvc", "seed": seed,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": units, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": out}}]},
        "dataset": {"type": dataset, "params": {"n": n, "noise": noise}},
        "loss": loss, "optimizer": {"type": "adam", "params": {"lr": 0.03}},
        "training": {"epochs": epochs, "batch_size": 10}})


@pytest.mark.parametrize("name", ["xor", "circle"])
@pytest.mark.parametrize("noise", [0.1, 0.4])
def test_eta_is_the_frequency_of_class_1_under_the_generators_own_noise(name, noise):
    t = class_truth({"type": name, "params": {"noise": noise}})
    rng = np.random.default_rng(0)
    x0 = np.array([[1.0, 2.0], [2.4, 0.3], [-0.5, -3.0], [0.4, -0.6]])
    draws = 100_000
    for point, eta in zip(x0, t.p1(x0)):
        freq = t.sample(np.repeat(point[None], draws, 0), rng).mean()
        assert abs(freq - eta) <= 4 * np.sqrt(max(eta * (1 - eta), 1e-4) / draws) + 1e-4, (point, freq, eta)


@pytest.mark.parametrize("name, noise", [("xor", 0.3), ("circle", 0.3), ("gauss", 0.3), ("gauss", 0.0)])
def test_eta_matches_the_generators_labels(name, noise):
    """Calibration against the dataset as drawn: in each fifth of η the labels' mean is η's mean (4 SE)."""
    t = class_truth({"type": name, "params": {"noise": noise}})
    g = getattr(gen, name)(np.random.default_rng(5), 30_000, noise)
    eta, y = t.p1(np.asarray(g.x, np.float64)), g.y
    bins = np.clip((eta * 5).astype(int), 0, 4)
    for b in range(5):
        m = bins == b
        if m.sum() > 200:
            se = np.sqrt((eta[m] * (1 - eta[m])).mean() / m.sum())
            assert abs((y[m] - eta[m]).mean()) <= 4 * se + 1e-9, (b, m.sum())


def test_closed_forms_at_hand_picked_points():
    xor = class_truth({"type": "xor", "params": {"noise": 0.2}})  # δ ~ U(−1, 1): q = clip((x + 1)/2)
    q1, q2 = (0.5 + 1) / 2, (-0.2 + 1) / 2
    assert xor.p1(np.array([[0.5, -0.2]]))[0] == pytest.approx(q1 * q2 + (1 - q1) * (1 - q2))
    assert xor.p1(np.array([[3.0, -3.0]]))[0] == 0.0 and xor.p1(np.array([[3.0, 3.0]]))[0] == 1.0
    g = class_truth({"type": "gauss", "params": {"noise": 0.5}})  # v = 4: σ(x1 + x2)
    assert g.p1(np.array([[0.3, 0.2]]))[0] == pytest.approx(1 / (1 + np.exp(-0.5)))
    c = class_truth({"type": "circle", "params": {"noise": 0.0}})
    np.testing.assert_array_equal(c.p1(np.array([[0.0, 2.4], [2.0, 2.0]])), [1.0, 0.0])
    # a noise square far larger than the disc around the origin: η = disc area / square area
    big = class_truth({"type": "circle", "params": {"noise": 1.0}})  # δ ~ U(−5, 5)²
    assert big.p1(np.zeros((1, 2)))[0] == pytest.approx(np.pi * 2.5 ** 2 / 100, abs=2e-4)
    assert has_class_truth("xor") and has_class_truth({"type": "gauss"}) and not has_class_truth("spiral")


@pytest.fixture(scope="module")
def small():
    return decompose(session(), n_sets=5, epochs=12, seed=2, path="torch")


def test_brier_and_domingos_terms_by_explicit_loops(small):
    d = small
    assert isinstance(d, ClassificationDecomposition) and d.n_sets == 5 and d.predictions.shape == (5, 2000)
    k, m = d.predictions.shape
    for i in range(0, m, 97):
        ps, eta = [float(d.predictions[j, i]) for j in range(k)], float(d.eta[i])
        mean = sum(ps) / k
        var = sum((p - mean) ** 2 for p in ps) / k
        assert d.bias2[i] == pytest.approx((mean - eta) ** 2, abs=1e-12)
        assert d.variance[i] == pytest.approx(var, abs=1e-12)
        assert d.noise[i] == pytest.approx(eta * (1 - eta), abs=1e-12)
        hard = [1 if p >= 0.5 else 0 for p in ps]
        y_star = 1 if eta >= 0.5 else 0
        ones = sum(hard)
        main = 1 if 2 * ones > k else 0  # k is odd: no ties
        b = int(main != y_star)
        v = sum(h != main for h in hard) / k
        c1 = 2 * sum(h == y_star for h in hard) / k - 1
        assert d.main[i] == main and d.bias_01[i] == b and d.variance_01[i] == pytest.approx(v)
        assert d.net_variance_01[i] == pytest.approx(v if b == 0 else -v)
        assert d.total_01[i] == pytest.approx(c1 * min(eta, 1 - eta) + b + (v if b == 0 else -v), abs=1e-12)


def test_the_sums_are_the_exact_expected_losses(small):
    """Another algebra for the same expectations: E_y[(p − y)²] = η(1 − p)² + (1 − η)p², E_y[ŷ ≠ y] = η or 1 − η."""
    p, eta = small.predictions, small.eta
    brier = (eta * (1 - p) ** 2 + (1 - eta) * p ** 2).mean(axis=0)
    np.testing.assert_allclose(small.total, brier, atol=1e-12)
    zero_one = np.where(p >= 0.5, 1 - eta, eta).mean(axis=0)
    np.testing.assert_allclose(small.total_01, zero_one, atol=1e-12)
    # the variants a slip would give are different numbers here: N instead of c₁·N, +V at biased points
    assert np.abs(small.noise_01 + small.bias_01 + small.net_variance_01 - zero_one).max() > 1e-3
    assert np.abs(small.c1 * small.noise_01 + small.bias_01 + small.variance_01 - zero_one).max() > 1e-3
    s = small.summary()
    assert s["unbiased_variance_01"] - s["biased_variance_01"] == pytest.approx(s["net_variance_01"], abs=1e-12)
    assert s["biased_variance_01"] > 0 and s["bias_01"] > 0  # both signs of the variance occur in this test


@pytest.mark.parametrize("dataset, loss, out", [("xor", "bce_logits", 1), ("circle", "cross_entropy", 2),
                                                ("gauss", "bce_logits", 1)])
def test_the_sums_match_losses_measured_on_fresh_labels(dataset, loss, out):
    d = decompose(session(dataset, loss=loss, out=out), n_sets=4, epochs=10, path="torch")
    s = d.summary()
    assert abs(s["measured"] - s["total"]) <= 4 * s["mc_se"] and s["mc_se"] < 0.01
    assert abs(s["measured_01"] - s["total_01"]) <= 4 * s["mc_se_01"] and s["mc_se_01"] < 0.02
    assert s["bias2"] + s["variance"] + s["noise"] == pytest.approx(s["total"])
    assert 0 <= s["bayes_error"] <= 0.5 and s["noise"] <= s["bayes_error"]  # η(1−η) ≤ min(η, 1−η)


def test_a_two_way_softmax_gives_the_probability_of_class_1():
    from engine.bias_variance_classification import p_class1

    np.testing.assert_array_equal(p_class1(np.array([[0.2, 0.8], [0.9, 0.1]])), [0.8, 0.1])
    np.testing.assert_array_equal(p_class1(np.array([[0.3], [0.6]])), [0.3, 0.6])
    with pytest.raises(InvalidInput, match="1 or 2 values"):
        p_class1(np.zeros((2, 3)))
    d = decompose(session("circle", loss="cross_entropy", out=2), n_sets=2, epochs=3, path="torch")
    assert ((d.predictions >= 0) & (d.predictions <= 1)).all() and not np.allclose(d.predictions, 0.5)


def test_refusals_in_one_line():
    with pytest.raises(InvalidInput, match="margin scores, not probabilities"):
        decompose(session(loss="hinge"), n_sets=2, epochs=1, path="torch")
    s = session("spiral")
    with pytest.raises(InvalidInput, match="no known true function.*circle, xor or gauss"):
        decompose(s, n_sets=2, epochs=1, path="torch")
    with pytest.raises(InvalidInput, match="n_sets"):
        decompose(session(), n_sets=1)


def test_a_sweep_over_width_decomposes_each_value():
    pts = sweep(session(), "units", [1, 8], n_sets=3, epochs=8, path="torch")
    assert [v for v, _ in pts] == [1, 8] and all(isinstance(d, ClassificationDecomposition) for _, d in pts)
    assert pts[0][1].label == "units 1" and set(pts[0][1].summary()) >= {"bias2", "variance", "noise", "total"}
