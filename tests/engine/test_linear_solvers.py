"""Linear-system solvers (lecture 003 §4.3.1) against numpy and hand-written references.

Every number is compared with an independent computation: numpy.linalg.solve / lstsq / eigvals,
a separate CG recurrence, closed-form spectral radii, or one step of the product's Newton optimizer.
"""
import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.linear_solvers import (MAX_N, METHODS, cg, cholesky, gauss_seidel, jacobi, lu, qr, solve_all,
                                   spectral_radius)
from engine.linear_systems import synthetic

# strictly diagonally dominant and SPD: every method applies (Jacobi and Gauss-Seidel converge)
A4 = np.array([[4.0, 1.0, 0.5, 0.0], [1.0, 3.0, 0.2, 0.1], [0.5, 0.2, 2.0, 0.3], [0.0, 0.1, 0.3, 1.5]])
B4 = np.array([1.0, -2.0, 0.5, 3.0])


def equal_offdiag(n, a):
    """I + a(11ᵀ − I): SPD for −1/(n−1) < a < 1; its Jacobi matrix −a(11ᵀ − I) has ρ = a(n − 1) exactly."""
    return np.eye(n) + a * (np.ones((n, n)) - np.eye(n))


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("system", ["a4", "scaled"])
def test_every_method_solves_an_spd_system_like_numpy(method, system):
    if system == "a4":
        a, b = A4, B4
    else:
        s = synthetic("scaled", 40, 100.0, seed=3)
        a, b = s.a, s.b
    want = np.linalg.solve(a, b)
    sol = METHODS[method][2](a, b, tol=1e-12, max_iter=5000)
    assert sol.converged, sol.status
    np.testing.assert_allclose(sol.x, want, rtol=1e-8, atol=1e-10)
    assert sol.residual == pytest.approx(np.linalg.norm(a @ sol.x - b), rel=1e-12, abs=1e-300)
    assert sol.residual <= 1e-12 * np.linalg.norm(b) * (10 if sol.kind == "direct" else 1.0000001)


def reference_cg(a, b, iters):
    """Textbook CG with the residual recomputed as b − Ax each step (the solver updates r −= αAp instead)."""
    x = np.zeros_like(b)
    r = b - a @ x
    p = r.copy()
    out = [np.linalg.norm(r)]
    for _ in range(iters):
        alpha = (r @ r) / (p @ a @ p)
        x = x + alpha * p
        r_new = b - a @ x
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
        out.append(np.linalg.norm(r))
    return np.array(out), x


def test_cg_converges_in_at_most_n_steps_and_matches_the_reference_recurrence():
    s = synthetic("spd", 12, 10.0, seed=1)
    sol = cg(s.a, s.b, tol=1e-12)
    assert sol.converged and sol.iterations <= 12
    ref, x_ref = reference_cg(s.a, s.b, sol.iterations)
    np.testing.assert_allclose(sol.history, ref, rtol=1e-6, atol=1e-11 * ref[0])  # the last is round-off
    np.testing.assert_allclose(sol.x, s.x_true, rtol=1e-10)
    # the notes' rate: ‖e_k‖_A ≤ 2((√κ − 1)/(√κ + 1))^k ‖e_0‖_A; steepest descent's (κ−1)/(κ+1) would be far looser
    rate = (np.sqrt(10.0) - 1) / (np.sqrt(10.0) + 1)
    e0 = np.sqrt(s.x_true @ s.a @ s.x_true)
    for k in range(1, sol.iterations + 1):
        _, xk = reference_cg(s.a, s.b, k)
        e = xk - s.x_true
        assert np.sqrt(e @ s.a @ e) <= 2 * rate**k * e0 * (1 + 1e-9)


def test_cg_stops_at_a_negative_curvature_and_says_so():
    a = np.diag([2.0, -1.0, 3.0])
    sol = cg(a, np.ones(3))
    assert not sol.converged and "pᵀAp" in sol.status and "not positive definite" in sol.status


def test_pcg_needs_far_fewer_iterations_on_a_badly_scaled_matrix():
    s = synthetic("scaled", 120, 1e6, seed=0)
    plain = cg(s.a, s.b, tol=1e-8, max_iter=5000)
    pre = cg(s.a, s.b, tol=1e-8, max_iter=5000, precondition="jacobi")
    ic = cg(s.a, s.b, tol=1e-8, max_iter=5000, precondition="ic")
    assert plain.converged and pre.converged and ic.converged
    assert 4 * pre.iterations < plain.iterations and ic.iterations <= pre.iterations + 2
    d = 1 / np.sqrt(np.diag(s.a))
    kappa_eff = np.linalg.cond(d[:, None] * s.a * d[None, :])
    assert kappa_eff < 10 < 1e4 < np.linalg.cond(s.a)  # what the preconditioner bought: κ ≈ 1e6 → about 4
    for sol in (pre, ic):  # ‖r‖ ≤ 1e-8‖b‖ bounds the relative error by κ·1e-8 = 1e-2; on M⁻¹A it is far smaller
        assert np.linalg.norm(sol.x - s.x_true) < 1e-5 * np.linalg.norm(s.x_true)


@pytest.mark.parametrize("a, diverges", [(0.30, False), (0.34, True)])
def test_jacobi_diverges_exactly_when_the_spectral_radius_reaches_one(a, diverges):
    m = equal_offdiag(4, a)
    b = np.array([1.0, 2.0, -1.0, 0.5])
    sol = jacobi(m, b, tol=1e-10, max_iter=3000)
    assert sol.spectral_radius == pytest.approx(3 * a, rel=1e-10) and sol.rho_exact
    assert sol.converged is (not diverges)
    assert ("diverged" in sol.status) is diverges
    if not diverges:
        np.testing.assert_allclose(sol.x, np.linalg.solve(m, b), rtol=1e-8)
    # Gauss-Seidel converges on every SPD matrix, this one included; ρ against numpy's eigenvalues
    gs = gauss_seidel(m, b, tol=1e-10, max_iter=3000)
    ref = np.abs(np.linalg.eigvals(-np.linalg.solve(np.tril(m), np.triu(m, 1)))).max()
    assert gs.converged and gs.spectral_radius == pytest.approx(ref, rel=1e-10) and ref < 1


def test_the_spectral_radius_is_estimated_by_power_iteration_above_the_exact_limit():
    n = 501
    sol = jacobi(equal_offdiag(n, 0.0019), np.ones(n), max_iter=5)
    assert not sol.rho_exact and sol.spectral_radius == pytest.approx(0.0019 * 500, rel=1e-3)
    rho, exact = spectral_radius(lambda v: np.array([0.0, 1.0]) * v[::-1] + np.array([-0.5, 0.0]) * v[::-1], 2)
    assert not exact and rho == pytest.approx(np.sqrt(0.5), rel=1e-6)  # [[0, −.5], [1, 0]]: λ = ±i/√2


def test_cholesky_refuses_a_non_spd_matrix_in_one_line():
    with pytest.raises(InvalidInput, match=r"positive definite matrix: pivot 2 of 2 is -3 ≤ 0") as e:
        cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2))  # 1 − 2²: eigenvalues 3 and −1
    assert "\n" not in str(e.value)
    with pytest.raises(InvalidInput, match="not symmetric"):
        cholesky(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2))
    sol = cholesky(A4, B4)
    lo = sol.factors["L"]
    np.testing.assert_allclose(lo @ lo.T, A4, atol=1e-14)
    np.testing.assert_allclose(lo, np.linalg.cholesky(A4), atol=1e-14)
    assert sol.flops == 4**3 / 3 + 2 * 16 and sol.flops_formula == "n³/3 + 2n²"


def test_lu_factors_with_partial_pivoting_reproduce_a():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((7, 7))
    a[0, 0] = 1e-12  # without pivoting the first step would divide by almost zero
    b = rng.standard_normal(7)
    sol = lu(a, b)
    p, lo, up = sol.factors["P"], sol.factors["L"], sol.factors["U"]
    np.testing.assert_allclose(p @ lo @ up, a, atol=1e-13)
    assert not np.array_equal(p, np.eye(7)) and np.array_equal(p @ p.T, np.eye(7))
    assert np.allclose(np.triu(lo, 1), 0) and np.allclose(np.diag(lo), 1) and np.abs(lo).max() <= 1.0
    assert np.allclose(np.tril(up, -1), 0)
    np.testing.assert_allclose(sol.x, np.linalg.solve(a, b), rtol=1e-10)
    assert sol.flops == pytest.approx(2 * 343 / 3 + 2 * 49)


def test_qr_q_is_orthogonal_and_r_upper_triangular():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((9, 9)), rng.standard_normal(9)
    sol = qr(a, b)
    q, r = sol.factors["Q"], sol.factors["R"]
    np.testing.assert_allclose(q.T @ q, np.eye(9), atol=1e-14)
    np.testing.assert_allclose(q @ r, a, atol=1e-13)
    assert np.allclose(np.tril(r, -1), 0)
    np.testing.assert_allclose(np.abs(np.diag(r)), np.abs(np.diag(np.linalg.qr(a)[1])), rtol=1e-12)
    np.testing.assert_allclose(sol.x, np.linalg.solve(a, b), rtol=1e-10)


def test_bad_systems_are_refused_in_one_line():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for fn, pat in ((lu, "LU: A is singular"), (qr, "QR: A is singular")):
        with pytest.raises(InvalidInput, match=pat):
            fn(singular, np.ones(2))
    cases = [(np.ones((2, 3)), np.ones(2), "square"), (np.eye(3), np.ones(2), "b has 2 entries"),
             (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), "NaN or inf"),
             (np.zeros((MAX_N + 1, MAX_N + 1)), np.ones(MAX_N + 1), "too large"),
             (np.zeros((0, 0)), np.zeros(0), "empty")]
    for a, b, pat in cases:
        with pytest.raises(InvalidInput, match=pat) as e:
            lu(a, b)
        assert "\n" not in str(e.value)
    with pytest.raises(InvalidInput, match=r"A\[1,1\] = 0"):
        jacobi(np.array([[1.0, 1.0], [1.0, 0.0]]), np.ones(2))
    with pytest.raises(InvalidInput, match="unknown method 'gmres'"):
        solve_all(A4, B4, ["lu", "gmres"])


def test_solve_all_compares_with_the_best_direct_solution_and_keeps_refusals():
    a = np.array([[2.0, 1.0], [1.0, -3.0]])  # symmetric indefinite: Cholesky and CG cannot, LU and QR can
    b = np.array([1.0, 2.0])
    rows = solve_all(a, b, ["lu", "qr", "cholesky", "jacobi"])
    by = {r.method: r for r in rows}
    assert by["cholesky"].solution is None and "positive definite" in by["cholesky"].refused
    x = np.linalg.solve(a, b)
    best = min((by["lu"].solution, by["qr"].solution), key=lambda s: s.residual).x
    assert by["lu"].error == pytest.approx(np.linalg.norm(by["lu"].solution.x - best) / np.linalg.norm(best))
    j = by["jacobi"]  # ρ = |1·1 / (2·−3)|^½ = 1/√6
    assert j.solution.spectral_radius == pytest.approx(1 / np.sqrt(6)) and j.error < 1e-8
    np.testing.assert_allclose(best, x, rtol=1e-14)


def test_synthetic_systems_are_what_they_say():
    s = synthetic("spd", 30, 1e3, seed=2)
    vals = np.linalg.eigvalsh(s.a)
    assert vals[-1] / vals[0] == pytest.approx(1e3, rel=1e-8) and s.meta["kappa"] == pytest.approx(1e3, rel=1e-8)
    np.testing.assert_allclose(s.a @ s.x_true, s.b)
    assert np.array_equal(synthetic("spd", 30, 1e3, seed=2).a, s.a) and not np.array_equal(synthetic("spd", 30, 1e3, 3).a, s.a)
    nd = synthetic("nondominant", 20, seed=0)
    assert np.linalg.eigvalsh(nd.a)[0] > 0.1  # SPD
    assert (np.abs(nd.a).sum(1) - np.diag(nd.a) > np.diag(nd.a)).all()  # no row is diagonally dominant
    j, gs = jacobi(nd.a, nd.b, max_iter=500), gauss_seidel(nd.a, nd.b, max_iter=5000)
    assert "diverged" in j.status and j.spectral_radius > 1 and gs.converged
    for kw, pat in (({"n": 1}, "n must be"), ({"n": MAX_N + 1}, "n must be"), ({"kappa": 0.5}, "κ must be"),
                    ({"kappa": float("inf")}, "κ must be"), ({"seed": -1}, "seed")):
        with pytest.raises(InvalidInput, match=pat):
            synthetic("spd", **{"n": 5, **kw})
    with pytest.raises(InvalidInput, match="unknown synthetic system 'tridiagonal'"):
        synthetic("tridiagonal")


def test_large_qr_keeps_the_reflectors_instead_of_q(monkeypatch):
    import engine.linear_solvers as ls

    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((8, 8)), rng.standard_normal(8)
    q = qr(a, b).factors["Q"]
    monkeypatch.setattr(ls, "FORM_Q_N", 5)
    sol = qr(a, b)
    assert "Q" not in sol.factors
    rebuilt = np.eye(8)
    for k in range(7):  # Q = H₁H₂…H₇, H_k = I − 2v_kv_kᵀ
        v = sol.factors["V"][:, k]
        rebuilt = rebuilt @ (np.eye(8) - 2 * np.outer(v, v))
    np.testing.assert_allclose(rebuilt, q, atol=1e-13)
    np.testing.assert_allclose(sol.x, np.linalg.solve(a, b), rtol=1e-10)


def test_stop_interrupts_a_factorisation_and_an_iteration():
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(InvalidInput, match="LU stopped at column 4 of 6"):
        lu(np.eye(6) * 2, np.ones(6), stop=stop)
    s = synthetic("spd", 40, 1e4, seed=0)
    calls.clear()
    sol = cg(s.a, s.b, stop=stop)
    assert sol.iterations == 4 and not sol.converged and sol.status.startswith("stopped after 4 iterations")


def test_incomplete_cholesky_on_a_sparse_pattern_is_exact_for_a_tridiagonal_matrix():
    """A tridiagonal SPD matrix has no fill-in: IC(0) is the exact Cholesky factor and PCG takes one step."""
    from engine.linear_solvers import incomplete_cholesky

    n = 30
    a = 2.5 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    apply_m, label, cost, _ = incomplete_cholesky(a)
    r = np.arange(1.0, n + 1)
    np.testing.assert_allclose(apply_m(r), np.linalg.solve(a, r), rtol=1e-12)
    assert cost == 4 * (2 * n - 1) and f"{2 * n - 1:,} non-zeros" in label
    assert cg(a, r, precondition="ic", tol=1e-12).iterations == 1
