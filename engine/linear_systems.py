"""The linear systems Ax = b that the solvers in ``engine.linear_solvers`` are shown on.

Three sources, as in lecture 003:

* ``least_squares`` — the normal equations (XᵀX + λI)θ = Xᵀy of a linear least-squares fit of the
  session's training split (§2.3.3, θ = (XᵀX)⁻¹Xᵀy). X holds the preprocessed inputs the network sees,
  flattened, plus a column of ones for the intercept (λ does not penalise the intercept). The target
  is one column of y: for regression the chosen target, for classification the chosen column of the
  one-hot targets, i.e. the indicator "is class c" (class 1 for a binary task).
* ``newton_system`` — H·Δ = −g, the step of Newton's method (§4.3.8) for the current network at its
  current weights: the exact Hessian and gradient of the training loss over the training split (data
  term only, as in ``engine.curvature``), optionally damped to (H + λI)Δ = −g as Levenberg does.
* ``synthetic`` — seeded matrices that show the methods apart: an SPD matrix with a chosen condition
  number κ, a badly *scaled* SPD one (diagonal-dominated: Jacobi preconditioning undoes the scaling,
  so PCG needs far fewer iterations than CG) and an SPD matrix that is not diagonally dominant
  (Jacobi diverges, Gauss-Seidel and CG still converge).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput
from .linear_solvers import MAX_N

MAX_ROWS = 100_000  # rows of the training split used for XᵀX (the first ones)
SYNTHETIC = {
    "spd": "SPD with condition number κ (random rotation of eigenvalues 1 … κ)",
    "scaled": "SPD, badly scaled: D·S·D with a well-conditioned S and diag(A) spanning κ/4 (PCG helps)",
    "nondominant": "SPD but not diagonally dominant: 1 on the diagonal, ≈0.5 off it (Jacobi diverges for n ≥ 4)",
}


@dataclass(frozen=True)
class LinearSystem:
    """A, b and what they are; ``x_true`` where the exact solution is known by construction."""

    name: str
    a: np.ndarray
    b: np.ndarray
    description: str
    x_true: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.b)


def _check_lambda(lam, what):
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise InvalidInput(f"{what} λ must be a finite number ≥ 0, got {lam!r}")
    return float(lam)


def design_matrix(data, column=None):
    """(X with a ones column, y, the target's description) from a Dataset's training split."""
    x = np.asarray(data.x_train[:MAX_ROWS], dtype=np.float64).reshape(min(len(data.x_train), MAX_ROWS), -1)
    if len(x) == 0:
        raise InvalidInput("the training split is empty: there is nothing to fit")
    y_all = np.asarray(data.y_train[:MAX_ROWS])
    if data.task == "classification":
        c = (1 if data.n_classes == 2 else 0) if column is None else int(column)
        if not 0 <= c < data.n_classes:
            raise InvalidInput(f"class {c} does not exist: the dataset has classes 0–{data.n_classes - 1}")
        y = (y_all == c).astype(np.float64)
        name = data.class_names[c] if c < len(data.class_names) else str(c)
        what = f"indicator of class {c} ({name}): column {c} of the one-hot targets"
    else:
        c = 0 if column is None else int(column)
        if not 0 <= c < y_all.shape[1]:
            raise InvalidInput(f"target {c} does not exist: the dataset has targets 0–{y_all.shape[1] - 1}")
        y = y_all[:, c].astype(np.float64)
        what = f"regression target {c}"
    return np.hstack([x, np.ones((len(x), 1))]), y, what


def least_squares(data, ridge=0.0, column=None) -> LinearSystem:
    """(XᵀX + λI')θ = Xᵀy for the training split of ``data`` (an ``engine.data.Dataset``); I' skips the intercept."""
    lam = _check_lambda(ridge, "the ridge")
    x, y, what = design_matrix(data, column)
    n = x.shape[1]
    if n > MAX_N:
        raise InvalidInput(f"{n - 1:,} input features make XᵀX {n:,}×{n:,}: the solvers stop at n = {MAX_N:,}")
    a = x.T @ x
    a[np.arange(n - 1), np.arange(n - 1)] += lam
    b = x.T @ y
    desc = (f"normal equations (XᵀX{' + λI' if lam else ''})θ = Xᵀy of a linear least-squares fit: {len(x):,} "
            f"training rows, {n - 1} features + intercept; target = {what}" + (f"; λ = {lam:g}" if lam else ""))
    flat = int((np.ptp(x[:, :-1], axis=0) == 0).sum())  # a constant feature duplicates the intercept column
    if flat and not lam:
        desc += (f"; {flat} feature{'s are' if flat > 1 else ' is'} constant on the training split, so XᵀX is "
                 f"singular: add a ridge λ > 0")
    return LinearSystem("least_squares", a, b, desc,
                        meta={"rows": len(x), "target": what, "lambda": lam, "constant_features": flat})


def newton_system(source, damping=0.0) -> LinearSystem:
    """(H + λI)Δ = −g at the current weights of ``source`` (a Run or a Trainer), loss over the training split."""
    from .curvature import loss_hessian
    from .second_order import MAX_PARAMS

    lam = _check_lambda(damping, "the damping")
    h, g, loss, rows, _ = loss_hessian(source, limit=min(MAX_PARAMS, MAX_N), purpose="the Newton system is built")
    n = len(g)
    a = h.copy()
    a[np.diag_indices(n)] += lam
    desc = (f"Newton step {'(H + λI)' if lam else 'H'}·Δ = −g of this network at its current weights: {n} "
            f"parameters, loss {loss:.4g} over {rows:,} training rows" + (f"; λ = {lam:g}" if lam else ""))
    return LinearSystem("newton", a, -g.copy(), desc,
                        meta={"loss": loss, "grad_norm": float(np.linalg.norm(g)), "lambda": lam})


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_N:
        raise InvalidInput(f"n must be a whole number from 2 to {MAX_N:,}, got {n!r}")
    return int(n)


def _rotation(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def synthetic(kind="spd", n=50, kappa=100.0, seed=0) -> LinearSystem:
    """A seeded n×n system with known solution x_true (b = A·x_true); see ``SYNTHETIC`` for the kinds."""
    n = _check_n(n)
    if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not math.isfinite(kappa) \
            or not 1.0 <= kappa <= 1e12:
        raise InvalidInput(f"κ must be a number from 1 to 1e12, got {kappa!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInput(f"the seed must be a whole number ≥ 0, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    if kind == "spd":
        q = _rotation(n, rng)
        a = (q * np.geomspace(1.0, kappa, n)) @ q.T
    elif kind == "scaled":
        q = _rotation(n, rng)
        s = (q * np.geomspace(1.0, 4.0, n)) @ q.T  # κ(S) = 4
        d = np.sqrt(np.geomspace(1.0, max(kappa / 4.0, 1.0), n))  # diag(A) spans κ/4: κ(A) of the order of κ
        rng.shuffle(d)
        a = d[:, None] * s * d[None, :]
    elif kind == "nondominant":  # 0.5·(11ᵀ + I) plus symmetric noise of spread ~0.2 in the spectrum: λ_min ≈ 0.3
        w = 0.5 + (0.2 / math.sqrt(n)) * rng.uniform(-1.0, 1.0, (n, n))
        w = np.triu(w, 1) + np.triu(w, 1).T
        a = w + np.eye(n)
    else:
        raise InvalidInput(f"unknown synthetic system {kind!r}; choose from: {', '.join(SYNTHETIC)}")
    a = 0.5 * (a + a.T)
    x_true = rng.standard_normal(n)
    if kind == "spd":
        k = float(kappa)  # by construction
    else:
        vals = np.linalg.eigvalsh(a)
        k = float(vals[-1] / vals[0]) if vals[0] > 0 else math.inf
    desc = f"synthetic {SYNTHETIC[kind]}: n = {n}, κ(A) = {k:.3g}, seed {seed}"
    return LinearSystem(f"synthetic_{kind}", a, a @ x_true, desc, x_true, {"kappa": k, "kind": kind})
