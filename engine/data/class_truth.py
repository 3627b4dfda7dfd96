"""The true class probability P(y = 1 | x) of the generated 2-class sets, for the classification bias–variance.

``engine.data.truth`` knows E[y | x] of the regression generators; this module is its classification twin.
The decomposition of lecture 004 needs what a dataset file never holds: the probability η(x) = P(y = 1 | x)
that the *generator* gives class 1 at x (the noise no model can remove is η(1 − η) under the Brier score,
min(η, 1 − η) under the 0-1 loss). We wrote the noise models, so we know η exactly:

* ``xor``: the label is [(x1 + δ1)(x2 + δ2) ≥ 0] with δ ~ U(−5a, 5a)² (a the noise). With
  q_i = P(x_i + δ_i ≥ 0) = clip((x_i + 5a) / 10a, 0, 1), η = q1·q2 + (1 − q1)(1 − q2) (independent signs).
* ``circle``: the label is [|x + δ| < 2.5] with δ ~ U(−5a, 5a)², so η is the share of the noise square
  inside the disc of radius 2.5 around −x: for each δ1 the δ2 inside the disc form one interval, so
  η = (1/10a)∫ |[−x2 − h, −x2 + h] ∩ [−5a, 5a]| dδ1 / 10a with h = √(6.25 − (x1 + δ1)²), a 1-D integral
  (midpoint rule, ``QUADRATURE`` nodes: error < 1e-4, checked against Monte Carlo in the tests).
* ``gauss``: two isotropic Gaussians of variance v = 0.5 + 7a at ±(2, 2), half the points each, so by
  Bayes η = σ(log N(x; μ1, v) − log N(x; μ0, v)) = σ(4(x1 + x2) / v), a logistic regression.

``ClassTruth.inputs(n, rng)`` draws test inputs from the generator itself (its input distribution; circle
and gauss are not uniform on a box), ``sample(x, rng)`` fresh labels at given inputs by the generator's own
noise mechanism (xor and circle shift the point, gauss draws y ~ Bernoulli(η)), so a measured test loss does
not lean on the formula for η. Nothing here changes a generator's draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import generators as gen
from .truth import truth_from

QUADRATURE = 1000  # circle: midpoint nodes over δ1
UNKNOWN = ("has no known class probability; choose circle, xor or gauss (Dataset panel) — their noise models "
           "give P(y = 1 | x) exactly")


@dataclass(frozen=True)
class ClassTruth:
    """What a 2-class generator knows about its labels (see the module docstring)."""

    name: str
    p1: Callable  # raw x (N, 2) -> (N,) P(y = 1 | x)
    sample: Callable  # (raw x (N, 2), numpy Generator) -> (N,) 0/1 labels drawn as the generator draws them
    inputs: Callable  # (n, numpy Generator) -> (n, 2) float64 inputs from the generator's input distribution
    low: tuple = (-6.0, -6.0)  # the plotted slice runs across this box
    high: tuple = (6.0, 6.0)
    slice_axis: int = 0
    slice_at: tuple = (0.0, 0.0)
    noise_text: str = ""

    @property
    def dim(self) -> int:
        return 2

    def slice(self, points: int) -> tuple:
        """``(t, x)``: ``points`` values of the varied input end to end, and the inputs (points, 2) along it."""
        t = np.linspace(self.low[self.slice_axis], self.high[self.slice_axis], points)
        x = np.tile(np.asarray(self.slice_at, dtype=np.float64), (points, 1))
        x[:, self.slice_axis] = t
        return t, x

    def slice_label(self, names) -> str:
        other = 1 - self.slice_axis
        return f"{names[self.slice_axis]} (slice at {names[other]} = {self.slice_at[other]:g})"


def _generated_inputs(fn, noise):
    return lambda n, rng: np.asarray(fn(rng, int(n), noise).x, np.float64)


def _xor(params) -> ClassTruth:
    a = float(params["noise"])
    half = 5.0 * a

    def q(v):  # P(v + δ ≥ 0), δ ~ U(−5a, 5a)
        return (v >= 0).astype(np.float64) if half == 0 else np.clip((v + half) / (2 * half), 0.0, 1.0)

    def p1(x):
        x = np.asarray(x, np.float64)
        q1, q2 = q(x[:, 0]), q(x[:, 1])
        return q1 * q2 + (1 - q1) * (1 - q2)

    def sample(x, rng):
        s = np.asarray(x, np.float64) + rng.uniform(-5.0, 5.0, (len(x), 2)) * a
        return (s[:, 0] * s[:, 1] >= 0).astype(np.int64)

    return ClassTruth("xor", p1, sample, _generated_inputs(gen.xor, a), slice_at=(0.0, 2.5),
                      noise_text=f"y = [(x1 + δ1)(x2 + δ2) ≥ 0], δ ~ U(−5, 5)²·{a:g}")


def _circle(params) -> ClassTruth:
    a = float(params["noise"])
    half, r2 = 5.0 * a, 2.5 ** 2

    def p1(x):
        x = np.asarray(x, np.float64)
        if half == 0:
            return (np.hypot(x[:, 0], x[:, 1]) < 2.5).astype(np.float64)
        u = -half + 2 * half * (np.arange(QUADRATURE) + 0.5) / QUADRATURE  # δ1 nodes
        out = np.empty(len(x))
        for i0 in range(0, len(x), 512):
            xs = x[i0:i0 + 512]
            w = xs[:, :1] + u[None, :]  # x1 + δ1
            h = np.sqrt(np.maximum(r2 - w * w, 0.0))
            c = -xs[:, 1:2]  # the chord's centre in δ2
            length = np.clip(np.minimum(half, c + h) - np.maximum(-half, c - h), 0.0, None)
            out[i0:i0 + 512] = length.mean(axis=1) / (2 * half)
        return out

    def sample(x, rng):
        s = np.asarray(x, np.float64) + rng.uniform(-5.0, 5.0, (len(x), 2)) * a
        return (np.hypot(s[:, 0], s[:, 1]) < 2.5).astype(np.int64)

    return ClassTruth("circle", p1, sample, _generated_inputs(gen.circle, a), slice_at=(0.0, 0.0),
                      noise_text=f"y = [|x + δ| < 2.5], δ ~ U(−5, 5)²·{a:g}")


def _gauss(params) -> ClassTruth:
    a = float(params["noise"])
    v = 0.5 + 7.0 * a

    def p1(x):
        x = np.asarray(x, np.float64)
        return 1.0 / (1.0 + np.exp(-4.0 * (x[:, 0] + x[:, 1]) / v))

    def sample(x, rng):
        return (rng.uniform(0.0, 1.0, len(x)) < p1(x)).astype(np.int64)

    return ClassTruth("gauss", p1, sample, _generated_inputs(gen.gauss, a), slice_axis=0, slice_at=(0.0, 0.0),
                      noise_text=f"x ~ N(±(2, 2), {v:g}·I), half each: P(y = 1 | x) = σ(4(x1 + x2)/{v:g})")


CLASS_TRUTHS = {"xor": _xor, "circle": _circle, "gauss": _gauss}


def class_truth(spec) -> ClassTruth:
    """The ``ClassTruth`` of a dataset spec (a name or ``{"type", "params"}``), or a one-line ``InvalidInput``."""
    return truth_from(spec, CLASS_TRUTHS, UNKNOWN)


def has_class_truth(spec) -> bool:
    name = spec if isinstance(spec, str) else (spec.get("type") if isinstance(spec, dict) else None)
    return name in CLASS_TRUTHS
