"""Lecture 004's generalization error = bias² + variance + irreducible error, measured by training many networks.

Every term against an independent computation: explicit loops over the stored predictions, the generators'
own noise (bit for bit), Monte Carlo for the conditional mean and variance, a refit of one training set by hand,
and the textbook limits (a linear model on linear data is unbiased; a constant model's bias² is Var_x f).
"""
import hashlib

import numpy as np
import pytest

from engine import Run, Session
from engine.bias_variance import _set_seed, decompose, parse_values, sweep, with_axis
from engine.data import DATASETS, make_dataset
from engine.data.generators import multi_gauss_target
from engine.data.truth import has_truth, true_function
from engine.errors import InvalidInput

# make_dataset(spec, seed=3) of each generator, hashed before the truth registry and `sine` were added
BEFORE = [("plane", {"n": 200, "noise": 0.3}, "57dffb85dd1dc10a"),
          ("multi_gauss", {"n": 200, "noise": 0.2}, "1846252c2328417e"),
          ("circle", {"n": 100, "noise": 0.1}, "f94260ecd49d841f"),
          ("spiral", {"n": 100, "noise": 0.2}, "84b1798166829efa"),
          ("xor", {"n": 100, "noise": 0.1}, "e13d7657b7eff3c3"),
          ("gauss", {"n": 100, "noise": 0.1}, "492b81815764287c"),
          ("moons", {"n": 100}, "3eaab016acb0046a"),
          ("blobs", {"n": 90}, "fbfd967e480462d8"),
          ("spirals", {"n": 90, "noise": 0.1}, "ff4b13024b354594"),
          ("multi_label", {"n": 80, "noise": 0.1}, "f77af5a3222a0f2a")]


def session(dataset="sine", params=None, units=8, epochs=30, layers=None, lr=0.03, seed=1):
    dim = 1 if dataset == "sine" else 2
    layers = layers or [{"id": "h", "type": "Dense", "params": {"units": units, "activation": "tanh"}},
                        {"id": "head", "type": "Dense", "params": {"units": 1}}]
    return Session.from_dict({
        "name": "bv", "seed": seed,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [dim]}}, *layers]},
        "dataset": {"type": dataset, "params": params or {"n": 30, "noise": 0.3}},
        "loss": "mse", "optimizer": {"type": "adam", "params": {"lr": lr}},
        "training": {"epochs": epochs, "batch_size": 8}})


@pytest.mark.parametrize("name,params,digest", BEFORE)
def test_existing_generators_draw_exactly_as_before(name, params, digest):
    d = make_dataset({"type": name, "params": params}, seed=3)
    h = hashlib.sha256()
    for s in ("train", "val", "test"):
        x, y = d.split(s)
        h.update(x.tobytes())
        h.update(y.tobytes())
    assert h.hexdigest()[:16] == digest


def test_sine_dataset():
    g = DATASETS.create({"type": "sine", "params": {"n": 4000, "noise": 0.0}}, np.random.default_rng(0))
    assert g.x.shape == (4000, 1) and g.y.shape == (4000, 1) and g.task == "regression" and g.feature_names == ["x"]
    assert g.x.min() >= -3 and g.x.max() <= 3 and abs(g.x.mean()) < 0.1
    np.testing.assert_allclose(g.y[:, 0], np.sin(g.x[:, 0].astype(np.float64)), atol=1e-6)
    noisy = DATASETS.create({"type": "sine", "params": {"n": 4000, "noise": 0.5}}, np.random.default_rng(0))
    r = noisy.y[:, 0] - np.sin(noisy.x[:, 0].astype(np.float64))
    assert r.std() == pytest.approx(0.5, rel=0.05) and abs(r.mean()) < 0.03


@pytest.mark.parametrize("name,params,dim", [("sine", {"n": 64, "noise": 0.4}, 1), ("plane", {"n": 64, "noise": 0.3}, 2),
                                             ("multi_gauss", {"n": 64, "noise": 0.4}, 2)])
def test_truth_samples_exactly_as_the_generator_draws(name, params, dim):
    g = DATASETS.create({"type": name, "params": params}, np.random.default_rng(11))
    rng = np.random.default_rng(11)  # the same stream: first the inputs, as the generator draws them ...
    lo, hi = (-3.0, 3.0) if name == "sine" else (-6.0, 6.0)
    x = rng.uniform(lo, hi, (params["n"], dim))
    y = true_function({"type": name, "params": params}).sample(x, rng)  # ... then the noise
    assert np.array_equal(y.astype(np.float32), g.y[:, 0])


@pytest.mark.parametrize("name,noise", [("sine", 0.4), ("plane", 0.5), ("multi_gauss", 0.5)])
def test_truth_is_the_conditional_mean_and_variance(name, noise):
    t = true_function({"type": name, "params": {"noise": noise}})
    x = np.array([[-2.0], [0.5], [2.9]]) if name == "sine" else np.array([[-4.0, 2.5], [1.0, -1.0], [2.0, 2.4]])
    n = 100_000
    y = t.sample(np.repeat(x, n, axis=0), np.random.default_rng(2)).reshape(len(x), n)
    se_mean = y.std(axis=1) / np.sqrt(n)
    assert np.all(np.abs(y.mean(axis=1) - t.f(x)) < 5 * se_mean + 1e-9)
    np.testing.assert_allclose(y.var(axis=1), t.noise_var(x), rtol=0.03)
    if name == "multi_gauss":  # noise on the position: E[y|x] is not g(x) -- the naive truth would be biased
        assert np.max(np.abs(multi_gauss_target(x) - t.f(x))) > 20 * se_mean.max()
    if name == "plane":
        assert t.noise_var(x)[0] == pytest.approx(0.24 * noise ** 2)


def test_only_known_generators_have_a_truth():
    assert has_truth("sine") and has_truth({"type": "plane"}) and not has_truth({"type": "circle"})
    for spec in ({"type": "circle"}, {"type": "csv", "params": {}}, "digits"):
        with pytest.raises(InvalidInput, match="choose a generated regression dataset such as sine, plane or multi_gauss"):
            true_function(spec)
    s = session()
    s.dataset = {"type": "spiral", "params": {"n": 40}}  # circle has a class probability now (classification)
    with pytest.raises(InvalidInput, match="no known true function.*circle, xor or gauss"):
        decompose(s, n_sets=2, epochs=1)


@pytest.fixture(scope="module")
def small():
    return decompose(session(), n_sets=5, epochs=25, seed=3)


def test_terms_by_explicit_loops_over_the_predictions(small):
    d = small
    k, m = d.predictions.shape
    assert (k, m) == (5, 101) and d.x.shape == (101, 1)
    for i in (0, 37, 100):
        preds = [d.predictions[j, i] for j in range(k)]
        mean = sum(preds) / k
        assert d.bias2[i] == pytest.approx((mean - np.sin(d.x[i, 0])) ** 2, rel=1e-9, abs=1e-15)
        assert d.variance[i] == pytest.approx(sum((p - mean) ** 2 for p in preds) / k, rel=1e-9, abs=1e-15)
        assert d.noise[i] == pytest.approx(0.09)
    s = d.summary()
    assert s["bias2"] == pytest.approx(np.mean([(d.predictions[:, i].mean() - d.f[i]) ** 2 for i in range(m)]))
    assert s["total"] == pytest.approx(s["bias2"] + s["variance"] + s["noise"])
    # bias² + variance is each network's squared distance to f, averaged (the decomposition's algebra)
    assert s["bias2"] + s["variance"] == pytest.approx(np.mean((d.predictions - d.f) ** 2))
    np.testing.assert_allclose(d.slice_mean, d.slice_predictions.mean(axis=0))
    np.testing.assert_allclose(d.slice_f, np.sin(d.slice_t))


def test_each_network_is_the_session_trained_on_a_fresh_draw(small):
    s = session().canonicalize()
    n_train = len(make_dataset(s.dataset, seed=s.seed).y_train)
    assert small.n_train == n_train == 22
    data = make_dataset(dict(s.dataset, params=dict(s.dataset["params"], n=n_train), split={"train": 1.0}),
                        seed=_set_seed(3, 2))
    assert not np.array_equal(data.x_train, make_dataset(s.dataset, seed=s.seed).x_train[:n_train])
    run = Run(s, dataset=data)
    run.fit(25)
    np.testing.assert_allclose(small.predictions[2], run.predict(small.x.astype(np.float32))[:, 0], rtol=1e-5, atol=1e-6)
    mse = np.mean((run.predict(data.x_train, preprocessed=True)[:, 0] - data.y_train[:, 0]) ** 2)
    assert small.train_mse[2] == pytest.approx(mse, rel=1e-5)


@pytest.mark.parametrize("dataset,params", [("sine", {"n": 30, "noise": 0.3}),
                                            ("multi_gauss", {"n": 60, "noise": 0.5})])
def test_the_sum_is_the_measured_expected_test_error(dataset, params):
    d = decompose(session(dataset, params, epochs=15), n_sets=6, epochs=15, seed=0)
    s = d.summary()
    # measured − (bias² + variance + σ²) is pure Monte-Carlo noise of the fresh targets: within 4 standard errors,
    # and that error is small against the total
    assert abs(s["measured"] - s["total"]) < 4 * s["mc_se"]
    assert s["mc_se"] < 0.03 * s["total"]
    assert s["noise"] > 0.1 * s["total"]  # the irreducible part is really in it
    if dataset == "multi_gauss":  # the plotted slice: x1 end to end at x2 = 2.5, through three bumps' centres
        assert d.slice_label == "x1 (slice at x2 = 2.5)" and (d.slice_t[0], d.slice_t[-1]) == (-6.0, 6.0)
        xs = np.stack([d.slice_t, np.full_like(d.slice_t, 2.5)], axis=1)
        np.testing.assert_allclose(d.slice_f, true_function({"type": dataset, "params": params}).f(xs))


def test_a_linear_model_on_linear_data_has_no_bias():
    s = session("plane", {"n": 80, "noise": 0.5}, layers=[{"id": "head", "type": "Dense", "params": {"units": 1}}],
                lr=0.05, epochs=60)
    d = decompose(s, n_sets=8, epochs=60, seed=1)
    sm = d.summary()
    # least squares is unbiased: what is left of bias² is the mean's own sampling error, variance / K
    assert sm["bias2"] < 3 * sm["variance"] / d.n_sets
    assert sm["variance"] > 0 and sm["noise"] == pytest.approx(0.24 * 0.25)
    np.testing.assert_allclose(d.f, d.x.sum(axis=1) / 10)


def test_a_constant_model_has_bias2_equal_to_the_variance_of_f():
    # a frozen all-zero hidden layer: the head sees only zeros and learns its bias, the mean of y
    frozen = {"id": "h", "type": "Dense", "params": {"units": 2}, "trainable": False,
              "init": {"weight": "zeros", "bias": "zeros"}}
    s = session(layers=[frozen, {"id": "head", "type": "Dense", "params": {"units": 1}}], epochs=3,
                params={"n": 40, "noise": 0.3})
    # full-batch gradient descent at η = 0.5 on mean (c − y)²: c ← c − 0.5 · 2(c − ȳ) = ȳ in one step
    s.optimizer, s.training = {"type": "sgd", "params": {"lr": 0.5}}, dict(s.training, batch_size=64)
    d = decompose(s, n_sets=12, epochs=3, seed=2)
    assert np.max(np.std(d.predictions, axis=1)) < 1e-6  # constant in x
    c = d.predictions[:, 0]
    train_means = []
    for k in range(d.n_sets):
        canon = s.copy().canonicalize()
        data = make_dataset(dict(canon.dataset, params=dict(canon.dataset["params"], n=d.n_train),
                                 split={"train": 1.0}), seed=_set_seed(2, k))
        train_means.append(float(data.y_train.mean()))
    np.testing.assert_allclose(c, train_means, atol=1e-5)  # each set's mean of y
    var_f = float(np.var(d.f))
    assert var_f == pytest.approx(0.5 - np.sin(6) / 12, abs=0.01)  # Var sin(x) for x ~ U(-3, 3)
    sm = d.summary()
    assert sm["bias2"] == pytest.approx(var_f + (c.mean() - d.f.mean()) ** 2, rel=1e-6)
    assert sm["bias2"] == pytest.approx(var_f, abs=0.02)
    # a mean of n points varies by Var(y) / n
    assert sm["variance"] == pytest.approx((var_f + 0.09) / d.n_train, rel=0.6)


def test_variance_grows_and_bias_falls_with_width_on_small_data():
    s = session(params={"n": 20, "noise": 0.3}, epochs=400)
    pts = sweep(s, "units", [1, 32], n_sets=8, epochs=400, seed=0)
    (w1, narrow), (w32, wide) = pts
    assert (w1, w32) == (1, 32) and wide.label == "units 32"
    a, b = narrow.summary(), wide.summary()
    assert b["variance"] > 1.3 * a["variance"]
    assert a["bias2"] > 2 * b["bias2"]
    assert b["train_mse"] < a["train_mse"]  # the wide networks fit their training sets closer


def test_callbacks_stop_and_bootstrap():
    seen, stop_after = [], 3
    d = decompose(session(), n_sets=6, epochs=3, on_set=seen.append, should_stop=lambda: len(seen) >= stop_after)
    assert d.n_sets == 3 and [i["set"] for i in seen] == [1, 2, 3] and seen[0]["of"] == 6
    np.testing.assert_allclose(seen[1]["prediction"], d.slice_predictions[1])
    with pytest.raises(InvalidInput, match="at least two"):
        decompose(session(), n_sets=4, epochs=2, should_stop=lambda: True)
    b = decompose(session(), n_sets=3, epochs=3, sampling="bootstrap")
    assert b.sampling == "bootstrap" and b.n_train == 22 and not np.allclose(b.predictions[0], b.predictions[1])


def test_bad_inputs_say_what_is_wrong():
    for kw, msg in (({"n_sets": 1}, "n_sets"), ({"n_sets": 2, "epochs": 0}, "epochs"),
                    ({"n_sets": 2, "sampling": "jackknife"}, "sampling")):
        with pytest.raises(InvalidInput, match=msg):
            decompose(session(), **kw)
    assert parse_values("units", "1, 2,4 8") == [1, 2, 4, 8]
    assert parse_values("l2", "0, 0.01") == [0.0, 0.01]
    for axis, text, msg in (("units", "1, x", "whole number"), ("units", "0, 2", "at least 1"), ("l2", "1", "2 to 16"),
                            ("l2", "0.1, 0.1", "distinct"), ("depth", "1, 2", "axis")):
        with pytest.raises(InvalidInput, match=msg):
            parse_values(axis, text)


def test_sweep_axes_change_only_their_setting():
    s = session(units=8)
    s.regularizers = [{"type": "l2", "params": {"lambda": 0.5}}, {"type": "max_norm", "params": {"max_norm": 3.0}}]
    w = with_axis(s, "units", 3)
    assert w.graph.node("h").params["units"] == 3 and s.graph.node("h").params["units"] == 8
    r = with_axis(s, "l2", 0.01)
    assert [x["type"] for x in r.regularizers] == ["max_norm", "l2"] and r.regularizers[1]["params"]["lambda"] == 0.01
    assert [x["type"] for x in with_axis(s, "l2", 0).regularizers] == ["max_norm"]
    with pytest.raises(InvalidInput, match="L2"):
        with_axis(s, "l2", -1)
