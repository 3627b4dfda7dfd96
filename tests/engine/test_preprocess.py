"""Preprocessing: statistics after fitting, JSON-ready state, TF feature expansion."""
import json

import numpy as np
import pytest

from engine.data.preprocess import apply_preprocess, expand_features, fit_preprocess, preprocess_canonical
from engine.errors import InvalidInput


@pytest.fixture
def correlated():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(800, 3))
    mix = np.array([[3.0, 0.0, 0.0], [2.0, 0.5, 0.0], [-1.0, 1.0, 0.2]])
    return (z @ mix.T + [10.0, -5.0, 2.0]).astype(np.float32)


def test_standardize_matches_numpy_and_uses_train_statistics(correlated):
    train, test = correlated[:600], correlated[600:]
    st = fit_preprocess(train, {"scale": "standardize"})
    t64 = train.astype(np.float64)
    assert np.allclose(st["mean"], t64.mean(0), rtol=0, atol=1e-9) and np.allclose(st["std"], t64.std(0), atol=1e-9)
    out = apply_preprocess(train, st)
    assert out.dtype == np.float32
    assert np.allclose(out.mean(0), 0, atol=1e-5) and np.allclose(out.std(0), 1, atol=1e-5)
    expected = (test.astype(np.float64) - t64.mean(0)) / t64.std(0)
    assert np.allclose(apply_preprocess(test, st), expected, atol=1e-5)


def test_standardize_constant_column_is_centred_not_divided_by_zero():
    x = np.array([[1.0, 5.0], [3.0, 5.0]], np.float32)
    out = apply_preprocess(x, fit_preprocess(x, "standardize"))
    assert out.tolist() == [[-1.0, 0.0], [1.0, 0.0]]


def test_minmax_maps_train_range_to_unit_interval():
    train = np.array([[0.0, -2.0], [4.0, 2.0], [2.0, 0.0]], np.float32)
    st = fit_preprocess(train, {"scale": "minmax"})
    assert st["min"] == [0.0, -2.0] and st["range"] == [4.0, 4.0]
    assert apply_preprocess(train, st).tolist() == [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]
    assert apply_preprocess(np.array([[8.0, -4.0]]), st).tolist() == [[2.0, -0.5]]  # unseen data is not clipped


def test_pca_whitening_gives_identity_covariance(correlated):
    st = fit_preprocess(correlated, {"scale": "pca_whiten"})
    out = apply_preprocess(correlated, st).astype(np.float64)
    assert np.abs(out.mean(0)).max() < 1e-6
    cov = np.cov(out.T, bias=True)
    assert np.abs(cov - np.eye(3)).max() < 1e-6
    comps = np.asarray(st["components"])
    assert np.allclose(comps @ comps.T, np.eye(3), atol=1e-10)
    # eigenvalues (1/scale^2) come largest first and match numpy's covariance spectrum
    eig = 1 / np.asarray(st["scales"]) ** 2
    assert np.allclose(eig, np.sort(np.linalg.eigvalsh(np.cov(correlated.astype(np.float64).T, bias=True)))[::-1])


def test_pca_whitening_rank_deficient_data_stays_finite(correlated):
    x = np.concatenate([correlated[:, :2], correlated[:, :1]], axis=1)  # third column repeats the first
    out = apply_preprocess(x, fit_preprocess(x, "pca_whiten")).astype(np.float64)
    assert np.isfinite(out).all()
    assert np.allclose(np.diag(np.cov(out.T, bias=True)), [1, 1, 0], atol=1e-5)


def test_state_is_plain_json_and_round_trips(correlated):
    for scale in ("none", "standardize", "minmax", "pca_whiten"):
        st = fit_preprocess(correlated, {"scale": scale})
        again = json.loads(json.dumps(st))
        assert np.array_equal(apply_preprocess(correlated, again), apply_preprocess(correlated, st))


def test_images_keep_their_shape():
    x = np.random.default_rng(0).uniform(size=(20, 1, 4, 4)).astype(np.float32)
    out = apply_preprocess(x, fit_preprocess(x, "standardize"))
    assert out.shape == (20, 1, 4, 4)
    assert np.allclose(out.reshape(20, -1).mean(0), 0, atol=1e-6)


def test_expand_features_values():
    x = np.array([[1.0, 2.0], [-0.5, 3.0]], np.float32)
    names = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    out = expand_features(x, names)
    expected = [[1, 2, 1, 4, 2, np.sin(1.0), np.sin(2.0)], [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3.0)]]
    assert out.shape == (2, 7) and np.allclose(out, expected, atol=1e-6)
    assert x.tolist() == [[1.0, 2.0], [-0.5, 3.0]]  # input untouched
    st = fit_preprocess(x, {"scale": "none", "features": ["x1*x2", "x1^2"]})
    assert apply_preprocess(x, st).tolist() == [[2.0, 1.0], [-1.5, 0.25]]


def test_expand_features_errors():
    with pytest.raises(InvalidInput, match=r"'x3'.*x1, x2, x1\^2"):
        expand_features(np.zeros((2, 2)), ["x1", "x3"])
    with pytest.raises(InvalidInput, match=r"\(3,\)"):
        expand_features(np.zeros((2, 3)), ["x1"])
    with pytest.raises(InvalidInput, match="twice"):
        preprocess_canonical({"features": ["x1", "x1"]})


def test_canonical_and_bad_specs():
    assert preprocess_canonical(None) == {"scale": "none", "features": None}
    assert preprocess_canonical("minmax") == {"scale": "minmax", "features": None}
    with pytest.raises(InvalidInput, match="'zscore'"):
        preprocess_canonical({"scale": "zscore"})
    with pytest.raises(InvalidInput, match="'center'"):
        preprocess_canonical({"center": True})


def test_apply_rejects_mismatched_inputs(correlated):
    st = fit_preprocess(correlated, "standardize")
    with pytest.raises(InvalidInput, match=r"\(2,\).*\(3,\)"):
        apply_preprocess(correlated[:, :2], st)
    with pytest.raises(InvalidInput):
        apply_preprocess(correlated, {"scale": "bogus"})
