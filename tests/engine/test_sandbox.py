"""The optimizer sandbox's paths against numpy recurrences with hand-written gradients."""
import math

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.sandbox import SURFACES, default_specs, grid, path, paths


def grad_rosen(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def grad_valley(p):
    x, y = p
    return np.array([-10 * (y - 0.5 * x) + 0.02 * x, 20 * (y - 0.5 * x)])


def test_sgd_on_the_bowl_is_the_closed_form():
    kappa, lr = 10.0, 0.15
    pts, vals = path("bowl", {"type": "sgd", "params": {"lr": lr}}, (1.0, 1.0), steps=20, kappa=kappa)
    k = np.arange(21)
    np.testing.assert_allclose(pts[:, 0], (1 - lr) ** k, atol=1e-15)
    np.testing.assert_allclose(pts[:, 1], (1 - lr * kappa) ** k, atol=1e-15)  # |1 − ηκ| = 0.5: zig-zag
    np.testing.assert_allclose(vals, 0.5 * (pts[:, 0] ** 2 + kappa * pts[:, 1] ** 2), atol=1e-15)


def test_momentum_on_rosenbrock_matches_numpy():
    pts, _ = path("rosenbrock", {"type": "momentum", "params": {"lr": 2e-4, "momentum": 0.9}}, (-1.5, 2.0), steps=50)
    p, b, ref = np.array([-1.5, 2.0]), np.zeros(2), [np.array([-1.5, 2.0])]
    for k in range(50):
        g = grad_rosen(p)
        b = g if k == 0 else 0.9 * b + g
        p = p - 2e-4 * b
        ref.append(p)
    np.testing.assert_allclose(pts, np.array(ref), atol=1e-12)


def test_velocity_form_equals_classic_at_constant_lr():
    a = path("valley", {"type": "momentum", "params": {"lr": 0.01, "momentum": 0.9}}, (-3.5, 1.0), steps=80)[0]
    b = path("valley", {"type": "momentum", "params": {"lr": 0.01, "momentum": 0.9, "form": "velocity"}},
             (-3.5, 1.0), steps=80)[0]
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_adam_on_the_valley_matches_numpy():
    pts, _ = path("valley", {"type": "adam", "params": {"lr": 0.1}}, (-3.5, 1.0), steps=40)
    p, m, v = np.array([-3.5, 1.0]), np.zeros(2), np.zeros(2)
    for t in range(1, 41):
        g = grad_valley(p)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        p = p - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(pts[t], p, atol=1e-12)


def test_nesterov_notes_takes_the_lookahead_gradient():
    pts, _ = path("rosenbrock", {"type": "nesterov", "params": {"lr": 2e-4, "momentum": 0.9, "form": "notes"}},
                  (-1.5, 2.0), steps=30)
    p, v = np.array([-1.5, 2.0]), np.zeros(2)
    for k in range(30):
        v = 0.9 * v + 2e-4 * grad_rosen(p - 0.9 * v)
        p = p - v
        np.testing.assert_allclose(pts[k + 1], p, atol=1e-12)


def test_newton_solves_a_quadratic_in_one_step_and_finds_rosenbrocks_minimum():
    pts, vals = path("bowl", {"type": "newton", "params": {"lr": 1.0}}, (1.3, -0.7), steps=3, kappa=100.0)
    np.testing.assert_allclose(pts[1], [0, 0], atol=1e-3)  # damping λ = 1e-4 leaves (λ/(h+λ))·θ
    assert pts[1][0] == pytest.approx(1.3 * 1e-4 / (1 + 1e-4), abs=1e-12)
    rp, rv = paths("rosenbrock", SURFACES["rosenbrock"].start, names=["newton", "sgd"], steps=300).values()
    assert np.allclose(rp[0][-1], [1, 1], atol=1e-6) and rv[1][-1] > 1.0  # SGD is still in the valley


def test_saddle_escape_grows_geometrically():
    lr = 0.05
    pts, vals = path("saddle", {"type": "sgd", "params": {"lr": lr}}, (1.0, 1e-6), steps=30)
    # near y = 0 the y⁴ term is negligible: y_k = (1 + 2η)^k y_0, x_k = (1 − 2η)^k
    np.testing.assert_allclose(pts[:20, 1], 1e-6 * (1 + 2 * lr) ** np.arange(20), rtol=1e-9)
    np.testing.assert_allclose(pts[:, 0], (1 - 2 * lr) ** np.arange(31), atol=1e-15)
    assert np.all(np.diff(vals) < 0)


def test_grid_values_and_defaults():
    xs, ys, z = grid("rosenbrock", n=5)
    assert z.shape == (5, 5) and z[2, 2] == pytest.approx((1 - xs[2]) ** 2 + 100 * (ys[2] - xs[2] ** 2) ** 2)
    specs = default_specs("rosenbrock")
    assert specs["sgd"]["params"]["lr"] == 1e-3 and specs["nesterov"]["params"]["form"] == "notes"
    out = paths("valley", (-3.5, 1.0), steps=200)
    assert all(len(p) == 201 and math.isfinite(v[-1]) for p, v in out.values())  # every default stays stable


@pytest.mark.parametrize("args,msg", [(("moon", (0, 0)), "unknown surface"), (("bowl", (0, float("nan"))), "two finite"),
                                      (("bowl", (0, 0), 0), "steps must")])
def test_bad_inputs(args, msg):
    with pytest.raises(InvalidInput, match=msg):
        path(args[0], {"type": "sgd", "params": {"lr": 0.1}}, *args[1:])
