"""The true function and the noise of the generated regression sets, for the bias–variance decomposition.

Lecture 004: expected test error = bias² + variance + irreducible error. Bias² compares the average fitted
function with the *true* one, and the irreducible error is the noise that no model can predict; both need
what a dataset file never holds: the noise-free function and the noise level. For the generators below we
know them, because we wrote the noise model. ``true_function(spec)`` gives a ``Truth``:

* ``f(x)``: the conditional mean E[y | x], the best any model can do under squared error. For ``sine`` and
  ``plane`` the noise is additive and zero-mean, so this is the noise-free target. ``multi_gauss`` (TF
  Playground's) puts its noise on the *position* before the target is computed, y = g(x + δ), so its
  E[y | x] is g averaged over the noise square, not g(x); it is computed by quadrature.
* ``noise_var(x)``: Var[y | x], the irreducible error at x (constant for sine and plane).
* ``sample(x, rng)``: fresh noisy targets at given inputs, drawn exactly as the generator draws them (the
  tests check bit for bit), so "measured" test errors use the generator's own noise.

Nothing here changes a generator's draws: existing sessions rebuild the same data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InvalidInput
from .generators import DATASETS, SINE_RANGE, multi_gauss_target

UNKNOWN = ("has no known true function; choose a generated regression dataset such as sine, plane or multi_gauss "
           "(Dataset panel)")
QUADRATURE = 40  # multi_gauss: 40 × 40 midpoint nodes over the noise square (g is Lipschitz, error ≪ 1e-3)


@dataclass(frozen=True)
class Truth:
    """What the generator knows about its regression target (see the module docstring)."""

    name: str
    low: tuple  # the box the inputs are drawn from (uniformly, for every set here)
    high: tuple
    f: Callable  # raw x (N, d) -> (N,) E[y | x]
    noise_var: Callable  # raw x (N, d) -> (N,) Var[y | x]
    sample: Callable  # (raw x (N, d), numpy Generator) -> (N,) float64 noisy targets, as the generator draws them
    slice_axis: int = 0  # the 1-D slice the window plots: this input varies ...
    slice_at: tuple = ()  # ... the others are held at these values (one per input, the varied one ignored)
    noise_text: str = ""

    @property
    def dim(self) -> int:
        return len(self.low)

    def grid(self, per_axis: int) -> np.ndarray:
        """A regular grid over the input box, cell midpoints (their mean is the uniform input distribution's)."""
        axes = [lo + (hi - lo) * (np.arange(per_axis) + 0.5) / per_axis for lo, hi in zip(self.low, self.high)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def slice(self, points: int) -> tuple:
        """``(t, x)``: ``points`` values of the varied input end to end, and the inputs (points, d) along it."""
        a = self.slice_axis
        t = np.linspace(self.low[a], self.high[a], points)
        x = np.tile(np.asarray(self.slice_at if self.slice_at else [0.0] * self.dim, dtype=np.float64), (points, 1))
        x[:, a] = t
        return t, x

    def slice_label(self, names) -> str:
        if self.dim == 1:
            return names[0] if names else "x"
        others = [f"{names[j]} = {self.slice_at[j]:g}" for j in range(self.dim) if j != self.slice_axis]
        return f"{names[self.slice_axis]} (slice at {', '.join(others)})"


def _sine(params) -> Truth:
    sigma = float(params["noise"])
    return Truth(
        "sine", (-SINE_RANGE,), (SINE_RANGE,),
        f=lambda x: np.sin(np.asarray(x, np.float64)[:, 0]),
        noise_var=lambda x: np.full(len(x), sigma * sigma),
        sample=lambda x, rng: np.sin(np.asarray(x, np.float64)[:, 0]) + sigma * rng.standard_normal(len(x)),
        noise_text=f"y = sin(x) + ε, ε ~ N(0, {sigma:g}²)")


def _plane(params) -> Truth:
    noise = float(params["noise"])
    # y = (x1 + δ1 + x2 + δ2) / 10 with δ ~ U(-6, 6)·noise: Var = 2 · noise² · 12² / 12 / 100
    var = 2 * noise * noise * 144.0 / 12.0 / 100.0

    def sample(x, rng):
        x = np.asarray(x, np.float64)
        return (x + rng.uniform(-6.0, 6.0, (len(x), 2)) * noise).sum(axis=1) / 10.0

    return Truth("plane", (-6.0, -6.0), (6.0, 6.0), f=lambda x: np.asarray(x, np.float64).sum(axis=1) / 10.0,
                 noise_var=lambda x: np.full(len(x), var), sample=sample, slice_axis=0, slice_at=(0.0, 0.0),
                 noise_text=f"y = (x1 + x2 + δ1 + δ2) / 10, δ ~ U(-6, 6)·{noise:g}")


def _multi_gauss(params) -> Truth:
    noise = float(params["noise"])
    nodes = -6.0 + 12.0 * (np.arange(QUADRATURE) + 0.5) / QUADRATURE
    du, dv = (a.ravel() * noise for a in np.meshgrid(nodes, nodes, indexing="ij"))

    def moments(x):
        x = np.asarray(x, np.float64)
        if noise == 0.0:
            g = multi_gauss_target(x)
            return g, np.zeros(len(x))
        m1, m2 = np.empty(len(x)), np.empty(len(x))
        for i0 in range(0, len(x), 256):  # 256 points × 1,600 nodes at a time
            xs = x[i0:i0 + 256]
            pts = np.stack([(xs[:, :1] + du).ravel(), (xs[:, 1:] + dv).ravel()], axis=1)
            g = multi_gauss_target(pts).reshape(len(xs), -1)
            m1[i0:i0 + 256], m2[i0:i0 + 256] = g.mean(axis=1), (g * g).mean(axis=1)
        return m1, np.maximum(m2 - m1 * m1, 0.0)

    def sample(x, rng):
        x = np.asarray(x, np.float64)
        return multi_gauss_target(x + rng.uniform(-6.0, 6.0, (len(x), 2)) * noise)

    return Truth("multi_gauss", (-6.0, -6.0), (6.0, 6.0), f=lambda x: moments(x)[0], noise_var=lambda x: moments(x)[1],
                 sample=sample, slice_axis=0, slice_at=(0.0, 2.5),
                 noise_text=f"y = g(x + δ), δ ~ U(-6, 6)²·{noise:g} (noise on the position)")


TRUTHS = {"sine": _sine, "plane": _plane, "multi_gauss": _multi_gauss}


def true_function(spec) -> Truth:
    """The ``Truth`` of a dataset spec (a name or ``{"type", "params"}``), or a one-line ``InvalidInput``."""
    return truth_from(spec, TRUTHS)


def truth_from(spec, makers: dict, unknown: str = UNKNOWN):
    """``makers[name](canonical params)`` for a dataset spec (a name or ``{"type", "params"}``): the lookup
    ``true_function`` and ``class_truth.class_truth`` share; a name without a maker is a one-line ``InvalidInput``
    ending in ``unknown``."""
    if isinstance(spec, str):
        spec = {"type": spec}
    name = spec.get("type") if isinstance(spec, dict) else None
    if name not in makers:
        raise InvalidInput(f"dataset {name!r} {unknown}")
    canon = DATASETS.canonical({"type": name, "params": spec.get("params") or {}})
    return makers[name](canon["params"])


def has_truth(spec) -> bool:
    name = spec if isinstance(spec, str) else (spec.get("type") if isinstance(spec, dict) else None)
    return name in TRUTHS
