"""A 2-parameter optimizer sandbox: classic surfaces, the product's own optimizers, their paths.

Each surface is f(θ) for θ = (x, y), written once in torch so the same expression gives the
value, the gradient (autograd) and Newton's Hessian. ``paths`` runs every chosen optimizer
from ``engine.optimizers`` (the registry the trainer uses, so these are the product's paths)
on one float64 parameter of shape (2,) from a common start point. The update rules are in
``FORMULAS``, in the notes' symbols (seed 003's optimizer section).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput


@dataclass(frozen=True)
class Surface:
    name: str
    title: str
    formula: str
    extent: tuple  # (xmin, xmax, ymin, ymax) shown by default
    start: tuple  # a start point that shows the surface's trouble
    minimum: tuple | None


SURFACES = {
    "bowl": Surface("bowl", "Quadratic bowl", "f = ½(x² + κ·y²)   (condition number κ)", (-2, 2, -2, 2), (-1.8, 1.2), (0.0, 0.0)),
    "rosenbrock": Surface("rosenbrock", "Rosenbrock", "f = (1 − x)² + 100·(y − x²)²", (-2, 2, -1, 3), (-1.5, 2.0), (1.0, 1.0)),
    "saddle": Surface("saddle", "Saddle", "f = x² − y² (+ y⁴/4 keeps it bounded)", (-2, 2, -2, 2), (1.5, 0.01), None),
    "valley": Surface("valley", "Narrow valley", "f = 10·(y − 0.5·x)² + 0.01·x²   (a long, tilted ravine)",
                      (-4, 4, -3, 3), (-3.5, 1.0), (0.0, 0.0)),
}

FORMULAS = {
    "sgd": "θ ← θ − η·∇f",
    "momentum": "b ← α·b + ∇f;  θ ← θ − η·b   (torch's form)",
    "momentum_velocity": "v ← γ·v + η·∇f;  θ ← θ − v   (the notes' form)",
    "nesterov": "v ← γ·v + η·∇f(θ − γ·v);  θ ← θ − v   (gradient at the look-ahead point)",
    "adagrad": "r ← r + ∇f²;  θ ← θ − η·∇f / (δ + √r)",
    "rmsprop": "r ← ρ·r + (1−ρ)·∇f²;  θ ← θ − η·∇f / (√r + δ)",
    "adam": "m ← β₁m + (1−β₁)∇f;  v ← β₂v + (1−β₂)∇f²;  θ ← θ − η·m̂/(√v̂ + δ),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)",
    "newton": "θ ← θ − t·(H + λI)⁻¹∇f   (t from backtracking, λ keeps H + λI positive definite)",
}

# name → (optimizer spec, label); learning rates that show each method's character on these surfaces
DEFAULTS = {
    "sgd": ({"type": "sgd", "params": {"lr": 0.1}}, "SGD"),
    "momentum": ({"type": "momentum", "params": {"lr": 0.02, "momentum": 0.9}}, "Momentum"),
    "momentum_velocity": ({"type": "momentum", "params": {"lr": 0.02, "momentum": 0.9, "form": "velocity"}},
                          "Momentum (velocity form)"),
    "nesterov": ({"type": "nesterov", "params": {"lr": 0.02, "momentum": 0.9, "form": "notes"}}, "Nesterov"),
    "adagrad": ({"type": "adagrad", "params": {"lr": 0.5}}, "AdaGrad"),
    "rmsprop": ({"type": "rmsprop", "params": {"lr": 0.05}}, "RMSProp"),
    "adam": ({"type": "adam", "params": {"lr": 0.1}}, "Adam"),
    "newton": ({"type": "newton", "params": {"lr": 1.0}}, "Newton"),
}


# learning rates per surface that keep each first-order method stable there and show its character
LRS = {  # sgd, momentum, momentum_velocity, nesterov, adagrad, rmsprop, adam, newton
    "bowl": (0.1, 0.02, 0.02, 0.02, 0.5, 0.05, 0.1, 1.0),
    "rosenbrock": (1e-3, 2e-4, 2e-4, 2e-4, 0.5, 0.01, 0.05, 1.0),
    "saddle": (0.1, 0.02, 0.02, 0.02, 0.5, 0.05, 0.1, 1.0),
    "valley": (0.04, 0.01, 0.01, 0.01, 0.5, 0.05, 0.1, 1.0),
}


def default_specs(surface: str) -> dict:
    """{name: optimizer spec} with ``LRS``' learning rate for the surface."""
    if surface not in LRS:
        raise InvalidInput(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
    out = {}
    for (name, (spec, _)), lr in zip(DEFAULTS.items(), LRS[surface]):
        out[name] = {"type": spec["type"], "params": dict(spec["params"], lr=lr)}
    return out


def f_torch(surface: str, p, kappa: float = 10.0):
    """The surface at p (a torch tensor with last dim 2), as a torch expression (autograd and Hessian work)."""
    x, y = p[..., 0], p[..., 1]
    if surface == "bowl":
        return 0.5 * (x * x + kappa * y * y)
    if surface == "rosenbrock":
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2
    if surface == "saddle":
        return x * x - y * y + 0.25 * y ** 4
    if surface == "valley":
        return 10 * (y - 0.5 * x) ** 2 + 0.01 * x * x
    raise InvalidInput(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")


def grid(surface: str, extent=None, n: int = 120, kappa: float = 10.0):
    """(xs, ys, values[n_y, n_x]) over the extent, for the contour/heatmap."""
    import torch

    x0, x1, y0, y1 = extent or SURFACES[surface].extent
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    P = torch.as_tensor(np.stack([X, Y], axis=-1), dtype=torch.float64)
    return xs, ys, f_torch(surface, P, kappa).numpy()


def _check(surface, start, steps, kappa):
    if surface not in SURFACES:
        raise InvalidInput(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
    if len(start) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in start):
        raise InvalidInput(f"the start point must be two finite numbers (x, y), got {start!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise InvalidInput(f"steps must be a whole number from 1 to 10000, got {steps!r}")
    if not (isinstance(kappa, (int, float)) and math.isfinite(kappa) and kappa > 0):
        raise InvalidInput(f"the condition number κ must be a number > 0, got {kappa!r}")


def path(surface: str, spec: dict, start, steps: int = 100, kappa: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(points[steps+1, 2], f at each point) for one optimizer spec; stops early where θ stops being finite."""
    import torch

    from .optimizers import OPTIMIZERS, needs_closure
    from .second_order import bind_batch

    _check(surface, start, steps, kappa)
    p = torch.nn.Parameter(torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64))
    opt = OPTIMIZERS.create(spec, [p])
    fn = lambda: f_torch(surface, p, kappa)  # noqa: E731

    def closure():
        opt.zero_grad()
        loss = fn()
        loss.backward()
        return loss

    bind_batch(opt, total_fn=fn, output_fn=lambda: p, target=None, loss=None)
    pts, vals = [p.detach().numpy().copy()], [float(fn().detach())]
    for _ in range(steps):
        if needs_closure(opt):
            opt.step(closure)
        else:
            closure()
            opt.step()
        q = p.detach().numpy().copy()
        if not np.all(np.isfinite(q)) or np.max(np.abs(q)) > 1e6:
            break
        moved = float(np.max(np.abs(q - pts[-1])))
        pts.append(q)
        vals.append(float(fn().detach()))
        g = p.grad
        if moved < 1e-15 and g is not None and float(g.abs().max()) < 1e-13:  # at rest on a stationary point:
            pts += [q] * (steps + 1 - len(pts))  # every later step is the same (Newton reaches this in a few)
            vals += [vals[-1]] * (steps + 1 - len(vals))
            break
    return np.array(pts), np.array(vals)


def paths(surface: str, start, names=None, steps: int = 100, kappa: float = 10.0, specs: dict | None = None) -> dict:
    """{name: (points, values)} for each optimizer name (keys of ``DEFAULTS``, at the surface's ``LRS``) or ``specs``."""
    if specs is None:
        base = default_specs(surface)
        specs = {n: base[n] for n in (names or DEFAULTS)}
    unknown = [n for n in specs if not isinstance(specs[n], dict)]
    if unknown:
        raise InvalidInput(f"optimizer {unknown[0]!r} needs a spec such as {{'type': 'sgd', 'params': {{'lr': 0.1}}}}")
    return {n: path(surface, spec, start, steps, kappa) for n, spec in specs.items()}
