"""Curvature at the current weights (lecture 001: critical points, saddles, poor conditioning) against formulas."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import Run
from engine.curvature import curvature, line_profile
from engine.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def regression(layers, n=120, lr=0.01, batch_size=None):
    doc = json.loads((ROOT / "resources/examples/plane_regression.json").read_text())
    doc["graph"]["layers"] = [doc["graph"]["layers"][0], *layers, {"id": "output", "type": "Output"}]
    doc["dataset"]["params"]["n"] = n
    doc["optimizer"] = {"type": "sgd", "params": {"lr": lr}}
    if batch_size:
        doc["training"]["batch_size"] = batch_size
    return Run(doc, path="torch")


def linear(n=120, lr=0.01, batch_size=None):
    return regression([{"id": "d", "type": "Dense", "params": {"units": 1, "activation": "identity"}}], n, lr,
                      batch_size)


def design(run):
    with run.snapshot() as tr:
        x = np.asarray(tr.data.x_train, dtype=np.float64)
        y = np.asarray(tr.data.y_train, dtype=np.float64).reshape(-1)
    return np.c_[x, np.ones(len(x))], y


def test_linear_regression_hessian_is_two_over_n_xtx():
    """L = mean (w·x + b − y)²: H = (2/N)·XᵀX with a column of ones, whatever the weights."""
    run = linear()
    xa, y = design(run)
    c = curvature(run)
    expected = np.linalg.eigvalsh(2.0 / len(xa) * xa.T @ xa)
    np.testing.assert_allclose(c.eigenvalues, expected, rtol=1e-10)
    assert c.n_params == 3 and c.n_rows == len(xa)
    assert c.condition == pytest.approx(expected[-1] / expected[0], rel=1e-10)
    assert c.kind() == "not a critical point"  # untrained: the gradient is not zero
    with run.snapshot() as tr:  # ∇L = (2/N) Xᵀ(Xθ − y), independently
        w = tr.model.state_dict()
        theta = np.r_[w["layers.d.weight"].numpy().ravel(), w["layers.d.bias"].numpy()].astype(np.float64)
    g = 2.0 / len(xa) * xa.T @ (xa @ theta - y)
    assert c.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-6)


def test_the_minimum_of_least_squares_is_a_local_minimum():
    run = linear()
    xa, y = design(run)
    theta = np.linalg.lstsq(xa, y, rcond=None)[0]
    with run.snapshot() as tr:
        tr.model.layers["d"].weight.data[:] = torch.tensor(theta[:-1], dtype=torch.float32)
        tr.model.layers["d"].bias.data[:] = float(theta[-1])
    c = curvature(run)
    assert c.grad_norm < 1e-5 and c.kind() == "local minimum" and c.counts() == (0, 0, 3)


def test_zero_weights_of_a_deep_linear_net_are_a_saddle_point():
    """f = w₂w₁x (no biases) at w = 0: ∇L = 0 and H = [[0, −2·mean(xy)], [−2·mean(xy), 0]], eigenvalues ±2|mean(xy)|."""
    run = regression([{"id": "a", "type": "Dense", "params": {"units": 1, "activation": "identity", "use_bias": False}},
                      {"id": "b", "type": "Dense", "params": {"units": 1, "activation": "identity", "use_bias": False}}])
    with run.snapshot() as tr:
        for p in tr.model.parameters():
            p.data.zero_()
        x = np.asarray(tr.data.x_train, dtype=np.float64)
        y = np.asarray(tr.data.y_train, dtype=np.float64).reshape(-1)
    c = curvature(run)
    # parameters: w₁ (1×2) and w₂ (1×1); H's off-diagonal block is ∂²L/∂w₁∂w₂ = −2·mean(x y)
    m = -2.0 * (x * y[:, None]).mean(axis=0)
    h = np.zeros((3, 3))
    h[0, 2] = h[2, 0] = m[0]
    h[1, 2] = h[2, 1] = m[1]
    np.testing.assert_allclose(c.eigenvalues, np.linalg.eigvalsh(h), atol=1e-9)
    assert c.grad_norm == 0.0 and c.kind() == "saddle point" and c.counts() == (1, 1, 1)
    assert "a critical point — saddle point" in c.verdict()


def test_gradient_descent_is_stable_below_two_over_lambda_max_and_diverges_above():
    """Full-batch GD on a quadratic: η = 0.9·2/λ_max converges, η = 1.1·2/λ_max blows up along the top eigenvector."""
    probe = linear(n=60)
    bound = curvature(probe).gd_lr_bound
    finals = {}
    for factor in (0.9, 1.1):
        run = linear(n=60, lr=factor * bound, batch_size=100_000)
        run.fit(epochs=60)
        c = curvature(run)
        finals[factor] = c.loss
        assert ("below" if factor < 1 else "above") in c.verdict()
        if factor < 1:
            assert c.kind() == "local minimum" or c.grad_norm < 1e-3
    assert finals[0.9] < 0.1 and (not math.isfinite(finals[1.1]) or finals[1.1] > 1e3)


def test_line_profile_curves_as_the_eigenvalue_says():
    """Along eigenvector v of λ, L(θ + t v) on a quadratic is L(θ) + t·g·v + ½λt²: its second difference is λ."""
    run = linear()
    c = curvature(run)
    for k in (0, -1):
        t, loss = line_profile(run, c.eigenvectors[:, k], radius=0.5, points=5)
        h = t[1] - t[0]
        second = (loss[3] - 2 * loss[2] + loss[1]) / h ** 2
        assert second == pytest.approx(c.eigenvalues[k], rel=1e-4)
        assert loss[2] == pytest.approx(c.loss, rel=1e-6)


def test_refusals_are_one_line():
    run = regression([{"id": "d", "type": "Dense", "params": {"units": 1000, "activation": "tanh"}},
                      {"id": "e", "type": "Dense", "params": {"units": 1, "activation": "identity"}}], n=40)
    with pytest.raises(InvalidInput, match="computed up to 2,000 trainable parameters"):
        curvature(run)
    small = linear(n=40)
    with pytest.raises(InvalidInput, match="one finite entry per trainable parameter"):
        line_profile(small, [1.0, 0.0], radius=1.0)
    with pytest.raises(InvalidInput, match="finite radius"):
        line_profile(small, [1.0, 0.0, 0.0], radius=float("nan"))
