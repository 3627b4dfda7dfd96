"""PCA (engine/pca.py) against numpy's own SVD and eigendecomposition, and the unsupervised report."""
import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.pca import pca


def data(seed=0, n=80):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4)) * [5.0, 2.0, 1.0, 0.3]
    rot, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    return z @ rot.T + [1.0, -2.0, 3.0, 0.5]


def signed(v):
    """Flip each row so its largest-magnitude entry is positive (PCA's signs are arbitrary)."""
    top = np.abs(v).argmax(1)
    return v * np.sign(v[np.arange(len(v)), top])[:, None]


def test_components_are_the_covariance_eigenvectors():
    x = data()
    r = pca(x)
    vals, vecs = np.linalg.eigh(np.cov(x, rowvar=False))
    order = np.argsort(vals)[::-1]
    assert np.allclose(r.explained_variance, vals[order], rtol=1e-10)
    assert np.allclose(r.components, signed(vecs[:, order].T), atol=1e-10)
    _, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    assert np.allclose(r.components, signed(vt), atol=1e-10)
    assert np.allclose(r.explained_variance, s ** 2 / (len(x) - 1))
    assert r.explained_variance_ratio.sum() == pytest.approx(1.0, abs=1e-12)
    assert r.explained_variance_ratio[0] == pytest.approx(vals.max() / np.trace(np.cov(x, rowvar=False)))
    assert np.all(np.diff(r.cumulative_ratio) >= 0) and r.cumulative_ratio[-1] == pytest.approx(1.0)


def test_signs_are_normalised():
    x = data(seed=1)
    a, b = pca(x), pca(-x + 7.0)  # negating the data flips every singular vector
    assert np.allclose(a.components, b.components, atol=1e-10)
    assert np.all(a.components[np.arange(4), np.abs(a.components).argmax(1)] > 0)


def test_projection_reconstruction_and_error_curve():
    x = data(seed=2)
    r = pca(x)
    z = r.transform(x)
    assert np.allclose(np.cov(z, rowvar=False), np.diag(r.explained_variance), atol=1e-9)  # uncorrelated scores
    assert np.allclose(r.reconstruct(x), x, atol=1e-10)  # all components: exact
    x1 = r.mean + np.outer((x - r.mean) @ r.components[0], r.components[0])
    assert np.allclose(r.reconstruct(x, 1), x1)
    curve = r.error_curve(x)
    n = len(x)
    left_out = [(n - 1) / n * r.explained_variance[m:].sum() for m in range(5)]
    assert np.allclose(curve, left_out, rtol=1e-9, atol=1e-12) and curve[-1] == pytest.approx(0.0, abs=1e-18)
    assert curve[0] == pytest.approx(float(((x - x.mean(0)) ** 2).sum(1).mean()))


def test_loadings_are_covariances_with_the_standardised_scores():
    x = data(seed=3)
    r = pca(x)
    z = r.transform(x)
    for i in range(4):
        for j in range(4):
            cov = np.cov(x[:, j], z[:, i] / z[:, i].std(ddof=1))[0, 1]
            assert r.loadings[j, i] == pytest.approx(cov, rel=1e-8, abs=1e-10)


def test_wide_data_and_kept_components():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 12))  # fewer samples than inputs: at most n − 1 = 4 non-zero variances
    r = pca(x)
    assert len(r.components) == 5 and r.explained_variance[-1] == pytest.approx(0.0, abs=1e-20)
    assert r.explained_variance_ratio.sum() == pytest.approx(1.0)
    two = pca(x, 2)
    assert two.components.shape == (2, 12) and np.allclose(two.components, r.components[:2])


@pytest.mark.parametrize("x, words", [
    (np.ones((4, 3)), "same point"),
    (np.array([[1.0, 2.0]]), "single sample"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or infinite"),
])
def test_bad_inputs(x, words):
    with pytest.raises(InvalidInput, match=words):
        pca(x)
    with pytest.raises(InvalidInput, match="1 to 2 components"):
        pca(np.eye(2) * [1, 2], 3)


def test_session_report_keeps_the_labels_out_until_the_end():
    from engine.data import make_dataset
    from engine.unsupervised import analyse, dataset_inputs

    spec = {"type": "blobs", "params": {"n": 300, "classes": 3, "std": 0.3}, "preprocess": {"scale": "standardize"}}
    ds = make_dataset(spec, seed=0)
    inp = dataset_inputs(ds)
    assert "after the session's scaling (standardize)" in inp.description
    assert np.allclose(inp.x, ds.x_train) and np.array_equal(inp.labels, ds.y_train)
    raw = dataset_inputs(ds, "raw")
    assert np.allclose(raw.x, ds.raw_x("train")) and "raw" in raw.description
    rep = analyse(inp, 3, seed=0, n_pca=2)
    km = rep["_objects"]["kmeans"]
    table = np.array(rep["agreement"]["table"])  # rows the true classes, columns the clusters
    assert rep["agreement"]["ari"] == pytest.approx(1.0) and table.sum() == len(inp.x)
    assert np.array_equal(np.sort(table, 1)[:, :-1], np.zeros((3, 2))) and not rep["labels_used"]
    assert table.sum(0).tolist() == km.sizes
    assert rep["inertia"] == pytest.approx(float(((inp.x - km.centroids[km.labels]) ** 2).sum()))
    assert [e["k"] for e in rep["elbow"]] == list(range(1, 11))
    inertias = [e["inertia"] for e in rep["elbow"]]
    assert inertias[0] == pytest.approx(float(((inp.x - inp.x.mean(0)) ** 2).sum()))  # k = 1: the total SS
    assert inertias[2] < 0.1 * inertias[1]  # the elbow at the true k = 3
    assert len(rep["pca"]["explained_variance_ratio"]) == 2
    with pytest.raises(InvalidInput, match="no-such"):
        dataset_inputs(ds, "no-such")
