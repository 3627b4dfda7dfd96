"""Solvers for a linear system Ax = b, written out as in the textbook (lecture 003, §4.3.1 "Linear Systems").

The notes list LU, QR ("QU"), Cholesky, Jacobi, Gauss-Seidel, CG and PCG. Second-order training meets
them every step: Newton solves H·Δ = −g, Gauss-Newton and least squares the normal equations
XᵀXθ = Xᵀy. They are written here from scratch in numpy (no ``numpy.linalg.solve``) so each one's cost,
factors and failure modes can be shown side by side:

* direct methods factor A once and substitute: LU with partial pivoting (any non-singular A, 2n³/3
  flops), QR by Householder reflections (4n³/3, the most stable), Cholesky (symmetric positive
  definite only, n³/3: half of LU, and it refuses any other matrix);
* stationary iterations x ← Mx + c: Jacobi and Gauss-Seidel, which converge for every start exactly
  when the spectral radius ρ(M) < 1 (both do on a strictly diagonally dominant A; Gauss-Seidel also on
  any SPD A), and diverge when ρ ≥ 1;
* Krylov methods: conjugate gradients (SPD only; exact in ≤ n steps in exact arithmetic, and fast
  when κ(A) is small) and preconditioned CG, which runs CG on M⁻¹A with M ≈ A cheap to invert —
  Jacobi's M = diag(A), or an incomplete Cholesky factor — so the *effective* κ is smaller.

Every solver returns a ``Solution`` (iterative ones with the residual ‖Ax − b‖ after every iteration)
or raises ``InvalidInput`` with one line saying why the matrix does not suit it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput

MAX_N = 2000  # a dense 2000×2000 float64 matrix is 32 MB, and the O(n³) factorisations take seconds in numpy
FORM_Q_N = 500  # QR forms Q explicitly up to this n
EXACT_RHO_N = 500  # above this the spectral radius is estimated by power iteration (eigvals would take ~30 s)
SINGULAR_TOL = 1e-13  # a pivot below this times max|A| counts as zero


@dataclass(frozen=True)
class Solution:
    """What one method made of Ax = b. ``history[k]`` is ‖Ax_k − b‖ (k = 0 is the start x₀ = 0)."""

    method: str
    x: np.ndarray
    residual: float  # ‖Ax − b‖₂ of the returned x
    kind: str  # "direct" or "iterative"
    converged: bool
    status: str  # one line: "factored", "converged in 12 iterations", "diverged: ρ = 1.2 ≥ 1", ...
    flops_formula: str  # e.g. "n³/3 + 2n²" or "(2n² + 10n) per iteration"
    flops: float  # the formula at this n (times the iterations done)
    iterations: int = 0
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    factors: dict = field(default_factory=dict)
    spectral_radius: float | None = None  # Jacobi and Gauss-Seidel: ρ of the iteration matrix
    rho_exact: bool = True  # False: estimated by power iteration
    seconds: float = 0.0


# -- checks ------------------------------------------------------------------------------------------
def check_system(a, b) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) as float64, or InvalidInput: square, matching, finite, 1 ≤ n ≤ MAX_N."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InvalidInput(f"A must be a square matrix, got shape {a.shape}")
    n = a.shape[0]
    if n == 0:
        raise InvalidInput("the system is empty (n = 0)")
    if n > MAX_N:
        raise InvalidInput(f"n = {n:,} is too large: the solvers work on dense matrices up to n = {MAX_N:,}")
    if b.shape[0] != n:
        raise InvalidInput(f"b has {b.shape[0]} entries but A is {n}×{n}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInput("A or b contains NaN or inf")
    return a, b


def _scale(a) -> float:
    return max(float(np.abs(a).max()), 1e-300)


def is_symmetric(a, tol=1e-10) -> bool:
    return bool(np.abs(a - a.T).max() <= tol * _scale(a))


def _require_symmetric(a, who):
    if not is_symmetric(a):
        i, j = np.unravel_index(int(np.argmax(np.abs(a - a.T))), a.shape)
        raise InvalidInput(f"{who} needs a symmetric positive definite matrix; A is not symmetric "
                           f"(A[{i},{j}] = {a[i, j]:.4g} but A[{j},{i}] = {a[j, i]:.4g})")


def forward_substitution(lower, b, unit=False):
    """Solve L y = b for lower-triangular L, row by row: y_i = (b_i − Σ_{j<i} L_ij y_j) / L_ii (b a vector or matrix)."""
    n = len(b)
    y = np.empty(np.shape(b))
    for i in range(n):
        s = b[i] - lower[i, :i] @ y[:i]
        y[i] = s if unit else s / lower[i, i]
    return y


def back_substitution(upper, y):
    """Solve U x = y for upper-triangular U, from the last row up."""
    n = len(y)
    x = np.empty(np.shape(y))
    for i in range(n - 1, -1, -1):
        x[i] = (y[i] - upper[i, i + 1:] @ x[i + 1:]) / upper[i, i]
    return x


def _check_stop(stop, who, k, n):
    if stop is not None and stop():
        raise InvalidInput(f"{who} stopped at column {k + 1} of {n} before the factorisation finished")


def _direct(method, a, b, x, formula, flops, factors, t0):
    r = float(np.linalg.norm(a @ x - b))
    return Solution(method, x, r, "direct", bool(np.isfinite(r)), "factored and substituted", formula, flops,
                    factors=factors, seconds=time.perf_counter() - t0)


# -- direct methods ----------------------------------------------------------------------------------
def lu(a, b, *, stop=None) -> Solution:
    """Gaussian elimination with partial pivoting: A = P·L·U, then L y = Pᵀb and U x = y.

    At column k the row with the largest |a_ik| becomes the pivot row (so every multiplier |l_ik| ≤ 1,
    which keeps round-off in check); a pivot column that is all zero means A is singular.
    """
    a, b = check_system(a, b)
    t0 = time.perf_counter()
    n = len(b)
    u = a.copy()
    lower = np.eye(n)
    perm = np.arange(n)
    tol = SINGULAR_TOL * _scale(a)
    for k in range(n):
        _check_stop(stop, "LU", k, n)
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if abs(u[p, k]) <= tol:
            raise InvalidInput(f"LU: A is singular (no non-zero pivot in column {k + 1} of {n})")
        if p != k:
            u[[k, p], k:] = u[[p, k], k:]
            lower[[k, p], :k] = lower[[p, k], :k]
            perm[[k, p]] = perm[[p, k]]
        m = u[k + 1:, k] / u[k, k]
        lower[k + 1:, k] = m
        u[k + 1:, k:] -= np.outer(m, u[k, k:])
        u[k + 1:, k] = 0.0
    pmat = np.zeros((n, n))
    pmat[perm, np.arange(n)] = 1.0  # A = P L U: row perm[i] of A is row i of L·U
    x = back_substitution(u, forward_substitution(lower, b[perm], unit=True))
    return _direct("lu", a, b, x, "2n³/3 + 2n²", 2 * n**3 / 3 + 2 * n**2, {"P": pmat, "L": lower, "U": u}, t0)


def qr(a, b, *, stop=None) -> Solution:
    """Householder QR: A = Q·R with Q orthogonal, then R x = Qᵀb (Q is never needed to solve, only Qᵀb).

    Each reflection H_k = I − 2vvᵀ zeroes column k below the diagonal. Orthogonal transformations do not
    amplify errors, so QR is the most stable of the three (and, on a rectangular X, solves least squares
    without forming XᵀX, whose condition number is κ(X)²). Q itself is formed for n ≤ FORM_Q_N only (it
    would double the cost); above, the factors hold the reflectors v_k as the columns of "V".
    """
    a, b = check_system(a, b)
    t0 = time.perf_counter()
    n = len(b)
    r = a.copy()
    q = np.eye(n) if n <= FORM_Q_N else None
    vs = np.zeros((n, n))
    qtb = b.copy()
    for k in range(n - 1):
        _check_stop(stop, "QR", k, n)
        col = r[k:, k]
        alpha = -math.copysign(float(np.linalg.norm(col)), col[0] if col[0] != 0 else 1.0)
        v = col.copy()
        v[0] -= alpha
        vn = float(np.linalg.norm(v))
        if vn == 0.0:
            continue  # the column is already zero below the diagonal
        v /= vn
        r[k:, k:] -= 2.0 * np.outer(v, v @ r[k:, k:])
        r[k + 1:, k] = 0.0
        vs[k:, k] = v
        if q is not None:
            q[:, k:] -= 2.0 * np.outer(q[:, k:] @ v, v)
        qtb[k:] -= 2.0 * v * (v @ qtb[k:])
    tol = SINGULAR_TOL * _scale(a) * max(1.0, math.sqrt(n))
    small = np.flatnonzero(np.abs(np.diag(r)) <= tol)
    if small.size:
        raise InvalidInput(f"QR: A is singular (R[{small[0] + 1},{small[0] + 1}] ≈ 0)")
    x = back_substitution(r, qtb)
    factors = {"Q": q, "R": r} if q is not None else {"V": vs, "R": r}
    return _direct("qr", a, b, x, "4n³/3 + 3n²", 4 * n**3 / 3 + 3 * n**2, factors, t0)


def cholesky(a, b, *, stop=None) -> Solution:
    """A = L·Lᵀ for symmetric positive definite A (n³/3 flops), then L y = b and Lᵀ x = y.

    l_jj = √(a_jj − Σ_k l_jk²) needs a positive number under the root at every j: that is exactly
    positive definiteness, so a non-SPD matrix is refused at the first pivot that is ≤ 0.
    """
    a, b = check_system(a, b)
    _require_symmetric(a, "Cholesky")
    t0 = time.perf_counter()
    n = len(b)
    lower = np.zeros((n, n))
    for j in range(n):
        _check_stop(stop, "Cholesky", j, n)
        d = a[j, j] - lower[j, :j] @ lower[j, :j]
        if not d > SINGULAR_TOL * _scale(a):
            raise InvalidInput(f"Cholesky needs a symmetric positive definite matrix: pivot {j + 1} of {n} is "
                               f"{d:.3g} ≤ 0 (A has a negative or zero eigenvalue); use LU or QR")
        lower[j, j] = math.sqrt(d)
        lower[j + 1:, j] = (a[j + 1:, j] - lower[j + 1:, :j] @ lower[j, :j]) / lower[j, j]
    x = back_substitution(lower.T, forward_substitution(lower, b))
    return _direct("cholesky", a, b, x, "n³/3 + 2n²", n**3 / 3 + 2 * n**2, {"L": lower}, t0)


# -- stationary iterations ---------------------------------------------------------------------------
def spectral_radius(apply_m, n, *, matrix=None, seed=0) -> tuple[float, bool]:
    """(ρ, exact): max |eigenvalue| of the iteration matrix M.

    Exact (``numpy.linalg.eigvals``) when ``matrix`` is given and n ≤ EXACT_RHO_N; otherwise estimated by
    power iteration as the growth rate (‖M^60 v‖ / ‖M^30 v‖)^(1/30), which holds for complex pairs too.
    """
    if matrix is not None and n <= EXACT_RHO_N:
        return float(np.abs(np.linalg.eigvals(matrix)).max()), True
    v = np.random.default_rng(seed).standard_normal(n)
    log_growth, mark = 0.0, 0.0
    for k in range(1, 61):
        v = apply_m(v)
        nv = float(np.linalg.norm(v))
        if nv == 0.0 or not math.isfinite(nv):
            return (0.0 if nv == 0.0 else math.inf), False
        log_growth += math.log(nv)
        v /= nv
        if k == 30:
            mark = log_growth
    return math.exp((log_growth - mark) / 30), False


def _diag(a, who):
    d = np.diag(a).copy()
    if (d == 0).any():
        i = int(np.flatnonzero(d == 0)[0])
        raise InvalidInput(f"{who} divides by the diagonal, and A[{i},{i}] = 0")
    return d


def _stationary(method, a, b, step, rho, exact, tol, max_iter, stop, t0):
    """Run x ← step(x) from x₀ = 0 until ‖Ax − b‖ ≤ tol·‖b‖, divergence (×1e8 or non-finite) or max_iter."""
    n = len(b)
    x = np.zeros(n)
    bn = max(float(np.linalg.norm(b)), 1e-300)
    hist = [float(np.linalg.norm(b))]
    status, ok = f"stopped after {max_iter} iterations (tolerance not reached)", False
    for k in range(1, max_iter + 1):
        x = step(x)
        r = float(np.linalg.norm(a @ x - b))
        hist.append(r)
        if r <= tol * bn:
            status, ok = f"converged in {k} iterations", True
            break
        if not math.isfinite(r) or r > 1e8 * hist[0]:
            status = "diverged"
            break
        if stop is not None and stop():
            status = f"stopped after {k} iterations"
            break
    rel = "<" if rho < 1 else "≥"
    status += f"; ρ = {rho:.4g} {rel} 1" + ("" if exact else " (estimated)")
    formula = "2n² per iteration"
    return Solution(method, x, hist[-1], "iterative", ok, status, formula, 2.0 * n * n * (len(hist) - 1),
                    len(hist) - 1, np.asarray(hist), spectral_radius=rho, rho_exact=exact,
                    seconds=time.perf_counter() - t0)


def jacobi(a, b, *, tol=1e-10, max_iter=1000, stop=None) -> Solution:
    """x_{k+1} = D⁻¹(b − (L + U)x_k): every unknown from the others' old values; M = −D⁻¹(L + U)."""
    a, b = check_system(a, b)
    t0 = time.perf_counter()
    d = _diag(a, "Jacobi")
    off = a - np.diag(d)
    m = -off / d[:, None] if len(b) <= EXACT_RHO_N else None
    rho, exact = spectral_radius(lambda v: -(off @ v) / d, len(b), matrix=m)
    return _stationary("jacobi", a, b, lambda x: (b - off @ x) / d, rho, exact, tol, max_iter, stop, t0)


def gauss_seidel(a, b, *, tol=1e-10, max_iter=1000, stop=None) -> Solution:
    """x_{k+1} = (D + L)⁻¹(b − U x_k): like Jacobi but each new value is used at once; M = −(D + L)⁻¹U."""
    a, b = check_system(a, b)
    t0 = time.perf_counter()
    _diag(a, "Gauss-Seidel")
    dl, up = np.tril(a), np.triu(a, 1)
    n = len(b)
    if n <= EXACT_RHO_N:
        m = -forward_substitution(dl, up)
        rho, exact = spectral_radius(None, n, matrix=m)
    else:
        rho, exact = spectral_radius(lambda v: -forward_substitution(dl, up @ v), n)
    return _stationary("gauss_seidel", a, b, lambda x: forward_substitution(dl, b - up @ x), rho, exact, tol,
                       max_iter, stop, t0)


# -- Krylov methods ----------------------------------------------------------------------------------
def jacobi_preconditioner(a):
    """M = diag(A): z = M⁻¹r is r divided by the diagonal; it removes bad row/column scaling."""
    d = np.diag(a).copy()
    if not (d > 0).all():
        raise InvalidInput("the Jacobi preconditioner needs a positive diagonal (A is not SPD)")
    return (lambda r: r / d), "diag(A)", len(d), "n"


def incomplete_cholesky(a, drop=0.05):
    """IC(0): Cholesky restricted to A's pattern, where |a_ij| < drop·√(a_ii a_jj) counts as zero.

    L Lᵀ ≈ A, cheap to apply (two triangular solves) and sparse when A is; on a dense pattern it becomes
    the full Cholesky factor and PCG converges at once. Fails (one line) when a pivot turns ≤ 0.
    """
    n = a.shape[0]
    d = np.diag(a)
    if not (d > 0).all():
        raise InvalidInput("incomplete Cholesky needs a positive diagonal (A is not SPD)")
    keep = np.abs(a) >= drop * np.sqrt(np.outer(d, d))
    lower = np.tril(np.where(keep, a, 0.0))
    for k in range(n):
        if not lower[k, k] > 0:
            raise InvalidInput(f"incomplete Cholesky broke down at pivot {k + 1} (≤ 0); use the Jacobi preconditioner")
        lower[k, k] = math.sqrt(lower[k, k])
        lower[k + 1:, k] /= lower[k, k]
        rows = k + 1 + np.flatnonzero(lower[k + 1:, k])  # only rows with l_ik ≠ 0 change
        if rows.size:
            block = np.ix_(rows, rows)
            col = lower[rows, k]
            lower[block] -= np.tril(np.where(keep[block], np.outer(col, col), 0.0))
    nnz = int(np.count_nonzero(lower))
    return (lambda r: back_substitution(lower.T, forward_substitution(lower, r)),
            f"incomplete Cholesky (drop {drop:g}, {nnz:,} non-zeros in L)", 4 * nnz, "4·nnz(L)")


def cg(a, b, *, tol=1e-10, max_iter=None, stop=None, precondition=None) -> Solution:
    """Conjugate gradients (Hestenes-Stiefel), preconditioned when ``precondition`` is "jacobi" or "ic".

    r₀ = b, z₀ = M⁻¹r₀, p₀ = z₀;  α = rᵀz / pᵀAp,  x += αp,  r −= αAp,  z = M⁻¹r,  β = r'ᵀz' / rᵀz,  p = z + βp.
    Each step minimises the A-norm of the error over a Krylov space one dimension larger, so in exact
    arithmetic it is exact after n steps; the error falls at least like ((√κ − 1)/(√κ + 1))^k.
    A non-SPD A shows as pᵀAp ≤ 0: the method stops there and says so.
    """
    a, b = check_system(a, b)
    who = "PCG" if precondition else "CG"
    _require_symmetric(a, who)
    t0 = time.perf_counter()
    n = len(b)
    max_iter = max(2 * n, 50) if max_iter is None else int(max_iter)
    if precondition is None:
        apply_m, label, m_cost, m_formula = (lambda r: r), None, 0, ""
    elif precondition == "jacobi":
        apply_m, label, m_cost, m_formula = jacobi_preconditioner(a)
    elif precondition == "ic":
        apply_m, label, m_cost, m_formula = incomplete_cholesky(a)
    else:
        raise InvalidInput(f"unknown preconditioner {precondition!r}; choose 'jacobi' or 'ic'")
    x = np.zeros(n)
    r = b.copy()
    z = apply_m(r)
    p = z.copy()
    rz = float(r @ z)
    bn = max(float(np.linalg.norm(b)), 1e-300)
    hist = [float(np.linalg.norm(r))]
    status, ok, k = f"stopped after {max_iter} iterations (tolerance not reached)", False, 0
    if hist[0] <= tol * bn:
        status, ok = "converged in 0 iterations", True
    for k in range(1, max_iter + 1):
        if ok:
            break
        ap = a @ p
        pap = float(p @ ap)
        if not pap > 0:
            status = f"broke down at iteration {k}: pᵀAp = {pap:.3g} ≤ 0, so A is not positive definite"
            break
        alpha = rz / pap
        x += alpha * p
        r -= alpha * ap
        hist.append(float(np.linalg.norm(r)))
        if hist[-1] <= tol * bn:
            status, ok = f"converged in {k} iterations", True
            break
        if not math.isfinite(hist[-1]):
            status = "diverged (non-finite residual)"
            break
        z = apply_m(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
        if stop is not None and stop():
            status = f"stopped after {k} iterations"
            break
    if k > n and ok:
        status += f" (more than n = {n}: round-off)"
    its = len(hist) - 1
    formula = "(2n² + 10n" + (f" + {m_formula}" if label else "") + ") per iteration"
    res = float(np.linalg.norm(a @ x - b))
    method = "cg" if precondition is None else f"pcg_{precondition}"
    return Solution(method, x, res, "iterative", ok, status if label is None else f"{status}; M = {label}", formula,
                    (2.0 * n * n + 10 * n + m_cost) * its, its, np.asarray(hist), seconds=time.perf_counter() - t0)


def pcg(a, b, *, preconditioner="jacobi", **kw) -> Solution:
    return cg(a, b, precondition=preconditioner, **kw)


METHODS = {  # name → (title, kind, function(A, b, tol=, max_iter=, stop=))
    "lu": ("LU (partial pivoting)", "direct", lambda a, b, stop=None, **kw: lu(a, b, stop=stop)),
    "qr": ("QR (Householder)", "direct", lambda a, b, stop=None, **kw: qr(a, b, stop=stop)),
    "cholesky": ("Cholesky", "direct", lambda a, b, stop=None, **kw: cholesky(a, b, stop=stop)),
    "jacobi": ("Jacobi", "iterative", jacobi),
    "gauss_seidel": ("Gauss-Seidel", "iterative", gauss_seidel),
    "cg": ("CG", "iterative", cg),
    "pcg_jacobi": ("PCG (Jacobi M = diag A)", "iterative", lambda a, b, **kw: cg(a, b, precondition="jacobi", **kw)),
    "pcg_ic": ("PCG (incomplete Cholesky)", "iterative", lambda a, b, **kw: cg(a, b, precondition="ic", **kw)),
}


@dataclass(frozen=True)
class Outcome:
    """One method's row: its Solution, or the one-line reason it refused; ``error`` is ‖x − x_best‖/‖x_best‖."""

    method: str
    title: str
    solution: Solution | None
    refused: str | None
    error: float | None


def solve_all(a, b, methods=tuple(METHODS), *, tol=1e-10, max_iter=1000, stop=None, on_result=None) -> list[Outcome]:
    """Every chosen method on the same system, each compared with the best direct solution.

    "Best" is the direct solution with the smallest residual (so a refused Cholesky does not matter);
    when no direct method is chosen or all refuse, the iterative solution with the smallest residual.
    ``on_result(outcome)`` is called after each method (errors filled in only in the returned list).
    """
    a, b = check_system(a, b)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInput(f"unknown method {unknown[0]!r}; choose from: {', '.join(METHODS)}")
    rows = []
    for m in methods:
        if stop is not None and stop():
            break
        title, _, fn = METHODS[m]
        try:
            sol, why = fn(a, b, tol=tol, max_iter=max_iter, stop=stop), None
        except InvalidInput as e:
            sol, why = None, str(e)
        rows.append(Outcome(m, title, sol, why, None))
        if on_result is not None:
            on_result(rows[-1])
    done = [r.solution for r in rows if r.solution is not None and np.isfinite(r.solution.residual)]
    direct = [s for s in done if s.kind == "direct"] or done
    if not direct:
        return rows
    best = min(direct, key=lambda s: s.residual).x
    scale = max(float(np.linalg.norm(best)), 1e-300)
    return [Outcome(r.method, r.title, r.solution, r.refused,
                    None if r.solution is None else float(np.linalg.norm(r.solution.x - best)) / scale)
            for r in rows]
