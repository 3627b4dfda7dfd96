"""``main.py cluster``: numbers checked against the session's own data, and one-line refusals."""
import json

import numpy as np
import pytest

from cli import run_cli
from engine.data import make_dataset

from tests.engine.cli_helpers import assert_one_error, small_session

BLOBS = {"type": "blobs", "params": {"n": 200, "classes": 3, "std": 0.3}, "preprocess": {"scale": "standardize"}}


def blob_session(tmp_path):
    return small_session(tmp_path, dataset=BLOBS, loss="cross_entropy")


def test_json_report_matches_the_training_inputs(tmp_path, capsys):
    path = blob_session(tmp_path)
    assert run_cli(["cluster", str(path), "--k", "3", "--pca", "2", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    x = make_dataset(BLOBS, seed=3).x_train.astype(np.float64)
    c = np.array(rep["centroids"])
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    assert rep["inertia"] == pytest.approx(float(d2.min(1).sum()), rel=1e-9)  # converged: Σ nearest-centroid d²
    assert sorted(rep["sizes"]) == sorted(np.bincount(d2.argmin(1), minlength=3).tolist())
    assert sum(rep["sizes"]) == len(x) == rep["n"] and rep["agreement"]["ari"] == pytest.approx(1.0)
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
    assert rep["pca"]["explained_variance_ratio"] == pytest.approx((ev / ev.sum()).tolist(), rel=1e-6)
    assert "after the session's scaling (standardize)" in rep["inputs"] and rep["labels_used"] is False


def test_table_output_and_raw_inputs(tmp_path, capsys):
    path = blob_session(tmp_path)
    assert run_cli(["cluster", str(path), "--k", "2", "--pca", "1", "--raw"]) == 0
    out = capsys.readouterr().out
    assert "raw, before the session's scaling" in out and "k = 2" in out
    assert "agreement with the true classes (not used to cluster)" in out
    x = make_dataset(BLOBS, seed=3).raw_x("train").astype(np.float64)
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
    assert f"PCA explained variance ratio: {ev[0] / ev.sum():.4f}" in out


@pytest.mark.parametrize("args, needle", [
    (["--k", "999"], "more than the 140 samples"),
    (["--k", "0"], "--k must be at least 1"),
    (["--pca", "3"], "--pca must be 1 to 2 components"),
    (["--n-init", "x"], "--n-init must be a whole number"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, args, needle):
    assert_one_error(capsys, ["cluster", blob_session(tmp_path), *args], needle)


def test_a_missing_session_is_one_line(tmp_path, capsys):
    assert_one_error(capsys, ["cluster", tmp_path / "none.json"], "none.json")


def test_one_input_reports_one_component_by_default(tmp_path, capsys):
    """The noisy sine has one input: the default --pca 2 would be refused, so it reports the one there is."""
    path = small_session(tmp_path, dataset={"type": "sine", "params": {"n": 60}}, loss="mse")
    assert run_cli(["cluster", str(path), "--k", "2", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["pca"]["explained_variance_ratio"] == [1.0] and "agreement" not in rep and rep["d"] == 1
    x = make_dataset({"type": "sine", "params": {"n": 60}}, seed=3).x_train[:, 0].astype(np.float64)
    lo, hi = sorted(float(v[0]) for v in rep["centroids"])  # 1-D k-means splits the line at the midpoint
    mid = (lo + hi) / 2
    assert lo == pytest.approx(x[x < mid].mean()) and hi == pytest.approx(x[x >= mid].mean())
