"""Loss-landscape slices against closed forms on a two-weight least-squares model."""
import threading

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.landscape import filter_normalized, landscape, loss_slice, pca_directions, project
from engine.session import Session

X = np.array([[1.0, 0.5], [2.0, -1.0], [0.0, 1.5], [1.0, 1.0]])
Y = np.array([1.0, 0.0, 2.0, 1.5])


def _session():
    return Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "d", "type": "Dense", "params": {"units": 1, "use_bias": False},
                              "init": {"weight": {"type": "values", "params": {"values": [[0.3, -0.2]]}}}}]},
        "dataset": {"type": "inline", "params": {"x": X.tolist(), "y": Y.tolist(), "task": "regression"},
                    "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
        "loss": "mse", "optimizer": {"type": "sgd", "params": {"lr": 0.05}},
        "training": {"batch_size": 4, "shuffle": False}})


def L(w):
    return np.mean((X @ w - Y) ** 2)


def test_slice_values_are_the_loss_at_each_grid_point():
    center = {"layers.d.weight": np.array([[0.5, 0.4]])}
    d1 = {"layers.d.weight": np.array([[1.0, 0.0]])}
    d2 = {"layers.d.weight": np.array([[0.3, -0.7]])}
    sl = loss_slice(_session(), center, d1, d2, span=2.0, res=5)
    assert list(sl.alphas) == [-2, -1, 0, 1, 2]
    for j, b in enumerate(sl.betas):
        for i, a in enumerate(sl.alphas):
            w = np.array([0.5, 0.4]) + a * np.array([1.0, 0.0]) + b * np.array([0.3, -0.7])
            assert sl.losses[j, i] == pytest.approx(L(w), rel=1e-12)
    assert sl.complete


def test_filter_normalisation_matches_each_filters_norm_and_skips_biases():
    w = {"a.weight": np.arange(12.0).reshape(3, 4) - 5, "a.bias": np.ones(3), "c.weight": np.ones((2, 3, 2, 2))}
    d = filter_normalized(w, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(d["a.weight"], axis=1), np.linalg.norm(w["a.weight"], axis=1))
    np.testing.assert_allclose(np.linalg.norm(d["c.weight"].reshape(2, -1), axis=1), [np.sqrt(12)] * 2)
    assert not d["a.bias"].any()


def test_pca_of_a_planar_trajectory_and_least_squares_projection():
    c = {"w": np.zeros(3)}
    u, v = np.array([1.0, 2.0, 2.0]) / 3, np.array([2.0, -2.0, 1.0]) / 3  # orthonormal
    coords = np.array([[3.0, 0.5], [2.0, -0.4], [1.0, 0.2], [0.0, 0.0]])
    traj = [{"w": a * u + b * v} for a, b in coords]
    d1, d2, explained, scores = pca_directions(traj, c)
    assert sum(explained) == pytest.approx(1.0) and explained[0] > explained[1] > 0
    # scores reproduce the points up to the sign of each direction
    recon = np.outer(scores[:, 0], d1["w"]) + np.outer(scores[:, 1], d2["w"])
    np.testing.assert_allclose(recon, [t["w"] for t in traj], atol=1e-12)
    p = project(traj, c, {"w": u}, {"w": u + v})  # non-orthogonal basis: α u + β (u + v)
    np.testing.assert_allclose(p, np.stack([coords[:, 0] - coords[:, 1], coords[:, 1]], axis=1), atol=1e-12)
    with pytest.raises(InvalidInput, match="single direction"):
        pca_directions([{"w": k * u} for k in range(4)], c)


def test_landscape_trains_a_copy_and_ends_the_path_at_the_centre():
    sl = landscape(_session(), epochs=6, kind="pca", res=7)
    # the centre of the grid is θ_T: the loss after 6 full-batch GD steps, computed by numpy
    w = np.array([0.3, -0.2])
    for _ in range(6):
        w = w - 0.05 * (2 * X.T @ (X @ w - Y) / 4)
    assert sl.losses[3, 3] == pytest.approx(L(w), rel=1e-5)  # float32 training, float64 slice
    assert len(sl.path) == 7 and np.allclose(sl.path[-1], 0) and sl.alphas[-1] >= 1.25 * np.abs(sl.path).max() - 1e-12
    assert sl.losses[3, 3] <= sl.losses.max()


def test_stop_leaves_nan_rows_and_bad_settings_refused():
    stop = threading.Event()
    c = {"layers.d.weight": np.array([[0.5, 0.4]])}
    d = {"layers.d.weight": np.array([[1.0, 0.0]])}

    def progress(j, n):
        if j == 2:
            stop.set()

    sl = loss_slice(_session(), c, d, d, res=6, progress=progress, stop=stop)
    assert not sl.complete and np.isfinite(sl.losses[:2]).all() and np.isnan(sl.losses[2:]).all()
    with pytest.raises(InvalidInput, match="resolution"):
        loss_slice(_session(), c, d, d, res=2)
    with pytest.raises(InvalidInput, match="directions must be"):
        landscape(_session(), kind="sideways")


def test_compared_optimizers_start_together_on_one_plane():
    adam = {"type": "adam", "params": {"lr": 0.05}}
    sl = landscape(_session(), epochs=5, kind="pca", res=5, compare={"adam": adam})
    assert set(sl.others) == {"adam"} and len(sl.others["adam"]) == 6
    np.testing.assert_allclose(sl.others["adam"][0], sl.path[0], atol=1e-9)  # the same initial weights
    assert np.allclose(sl.path[-1], 0) and not np.allclose(sl.others["adam"][-1], 0)
    # PCA over both paths: the projection reproduces adam's points in the plane, up to what lies outside it
    w = np.array([0.3, -0.2])  # Adam by numpy on the full batch, 5 steps
    m = v = np.zeros(2)
    for t in range(1, 6):
        g = 2 * X.T @ (X @ w - Y) / 4
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w = w - 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    gd = np.array([0.3, -0.2])
    for _ in range(5):
        gd = gd - 0.05 * (2 * X.T @ (X @ gd - Y) / 4)
    # two weights: the plane is the whole space, so the distance between the path ends is preserved
    assert np.linalg.norm(sl.others["adam"][-1] - sl.path[-1]) == pytest.approx(np.linalg.norm(w - gd), rel=1e-4)


def test_recorded_runs_of_another_network_are_left_out_with_a_note():
    from engine.landscape import recorded_paths

    center = {"layers.d.weight": np.zeros((1, 2))}
    good = [{"layers.d.weight": np.ones((1, 2))}, {"layers.d.weight": np.full((1, 2), 2.0)}]
    other = [{"layers.d.weight": np.ones((1, 3))}]
    kept, notes = recorded_paths({"a": good, "b": other, "c": []}, center, ["layers.d.weight"])
    assert list(kept) == ["a"] and len(kept["a"]) == 2
    assert notes == ["b: a different network (its weights do not fit this slice)", "c: no checkpoints to draw"]
    sl = landscape(_session(), epochs=2, res=3, runs={"b": other})
    assert sl.others == {} and sl.notes == ("b: a different network (its weights do not fit this slice)",)
