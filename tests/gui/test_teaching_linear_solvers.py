"""Teach ▸ Linear Solvers: the seven methods of lecture 003 §4.3.1 driven through the view's own widgets.

The numbers in the table are checked against numpy on the same matrices (eigenvalues for ρ, solve
and lstsq for the solutions) and against a hand-written CG for the iteration count.
"""
import runpy

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from gui.teaching.linear_solvers_view import COLUMNS, SYSTEMS, LinearSolversView


def solve_in(view, qtbot, timeout=30_000):
    with qtbot.waitSignal(view.finished, timeout=timeout) as blocker:
        qtbot.mouseClick(view.solve_btn, Qt.LeftButton)
    return blocker.args[0]


def tick_only(view, qtbot, keys):
    for key, box in view.checks.items():
        if box.isChecked() != (key in keys):
            qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))  # on the indicator
    assert {k for k, box in view.checks.items() if box.isChecked()} == set(keys)


def cg_iterations(a, b, tol):
    """Plain CG (residual b − Ax recomputed) until ‖r‖ ≤ tol·‖b‖."""
    x, r = np.zeros_like(b), b.copy()
    p, k = r.copy(), 0
    while np.linalg.norm(r) > tol * np.linalg.norm(b):
        alpha = (r @ r) / (p @ a @ p)
        x = x + alpha * p
        r_new = b - a @ x
        p, r, k = r_new + (r_new @ r_new) / (r @ r) * p, r_new, k + 1
    return k


def test_synthetic_system_table_and_plot_match_numpy(qtbot):
    from engine.linear_systems import synthetic

    view = LinearSolversView()
    qtbot.addWidget(view)
    view.show()
    view.kind.setCurrentIndex(list(SYSTEMS).index("synthetic_nondominant"))
    assert not view.kappa.isEnabled() and view.n.isEnabled() and not view.lam.isEnabled()
    view.n.setValue(12)
    view.seed.setValue(4)
    tick_only(view, qtbot, {"lu", "cholesky", "jacobi", "gauss_seidel", "cg"})
    rows = solve_in(view, qtbot)
    assert [r.method for r in rows] == ["lu", "cholesky", "jacobi", "gauss_seidel", "cg"]
    assert view.table.rowCount() == 5 and view.table.columnCount() == len(COLUMNS)
    a = synthetic("nondominant", 12, seed=4).a
    b = a @ synthetic("nondominant", 12, seed=4).x_true
    d = np.diag(a)
    rho_j = np.abs(np.linalg.eigvals(-(a - np.diag(d)) / d[:, None])).max()
    assert rho_j > 1 and f"ρ = {rho_j:.4g} ≥ 1" in view.cell("jacobi", "result") and "diverged" in view.cell("jacobi", "result")
    rho_gs = np.abs(np.linalg.eigvals(-np.linalg.solve(np.tril(a), np.triu(a, 1)))).max()
    assert f"ρ = {rho_gs:.4g} < 1" in view.cell("gauss_seidel", "result")
    assert int(view.cell("cg", "iterations")) == cg_iterations(a, b, 1e-10) <= 12 + 2  # n in exact arithmetic
    assert view.cell("lu", "iterations") == "direct"
    assert float(view.cell("lu", "‖Ax − b‖")) < 1e-12 * np.linalg.norm(b)
    assert view.cell("cholesky", "flops") == f"n³/3 + 2n² = {12**3 / 3 + 2 * 144:.3g}"
    x = np.linalg.solve(a, b)
    best = rows[0].solution.x
    assert float(view.cell("cg", "error vs best direct")) == pytest.approx(
        np.linalg.norm(rows[-1].solution.x - best) / np.linalg.norm(best), rel=1e-2)
    np.testing.assert_allclose(best, x, rtol=1e-10)
    # the plot: one curve per iterative method with its residual history; the direct ones as stars at k = 0
    xs, ys = view.curves["cg"].getOriginalDataset()  # getData() would be log₁₀ on the log axis
    np.testing.assert_allclose(ys, rows[-1].solution.history)
    assert list(xs) == list(range(len(ys))) and view.curves["lu"].getOriginalDataset()[0].tolist() == [0.0]
    assert "2 of 5" not in view.status.text() and "4 of 5 methods solved" in view.status.text()


def test_least_squares_of_the_window_session_and_bad_input(qtbot, window):
    from engine.data import make_dataset

    window.actions_by_name["teach_linear_solvers"].trigger()
    view = window.teaching_views["linear_solvers"]
    assert view.isVisible() and view.windowTitle().startswith("Linear-system solvers")
    view.set_system("least_squares")
    view.lam.setValue(0.0)
    tick_only(view, qtbot, {"qr", "pcg_jacobi"})
    rows = solve_in(view, qtbot)
    s = window.doc.session
    data = make_dataset(s.dataset, seed=s.seed)
    x = np.c_[data.x_train.reshape(len(data.x_train), -1), np.ones(len(data.x_train))].astype(np.float64)
    y = (data.y_train == 1).astype(float) if data.task == "classification" else data.y_train[:, 0].astype(float)
    want = np.linalg.lstsq(x, y, rcond=None)[0]
    for r in rows:
        np.testing.assert_allclose(r.solution.x, want, rtol=1e-7, atol=1e-10)
    assert f"{len(x):,} training rows" in view.about.text() and int(view.cell("pcg_jacobi", "iterations")) <= len(want)
    view.target.setValue(7)  # no such class
    qtbot.mouseClick(view.solve_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=10_000)
    assert view.status.text().startswith("Cannot solve: ") and "does not exist" in view.status.text()
    tick_only(view, qtbot, set())
    assert view.solve() is False and view.status.text() == "Tick at least one method."
    view.close()


def test_newton_system_cholesky_refuses_the_indefinite_hessian_until_damped(qtbot, window):
    import json
    from pathlib import Path

    from engine.curvature import curvature
    from engine.session import Session
    from engine.trainer import Trainer

    d = json.loads((Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor_playground.json").read_text())
    d["dataset"]["params"]["n"] = 120
    window.doc.set_session(Session.from_dict(d))  # 3 → 4 tanh → 1: 21 parameters, no run yet
    window.actions_by_name["teach_linear_solvers"].trigger()
    view = window.teaching_views["linear_solvers"]
    view.set_system("newton")
    assert view.lam.isEnabled() and not view.n.isEnabled()
    tick_only(view, qtbot, {"lu", "cholesky"})
    rows = solve_in(view, qtbot)
    c = curvature(Trainer(window.doc.session))  # engine.curvature: the same H at the initial weights, eigen-decomposed
    assert c.lambda_min < 0 and rows[1].solution is None
    assert view.cell("cholesky", "result").startswith("refused: Cholesky needs a symmetric positive definite")
    assert "21 parameters" in view.about.text() and view.cell("lu", "iterations") == "direct"
    lam = float(np.ceil(-c.lambda_min)) + 1.0
    view.lam.setValue(lam)
    rows = solve_in(view, qtbot)
    x = rows[1].solution.x  # (H + λI)x = −g with H = V diag(λ_i) Vᵀ from engine.curvature
    h = (c.eigenvectors * c.eigenvalues) @ c.eigenvectors.T
    assert np.linalg.norm((h + lam * np.eye(21)) @ x) == pytest.approx(c.grad_norm, rel=1e-8)
    assert view.cell("cholesky", "result") == "factored and substituted" and f"λ = {lam:g}" in view.about.text()
    view.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_linear_solvers_view_alone_solves_the_scaled_system(qtbot, monkeypatch):
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit) as ex:
        runpy.run_module("gui.teaching.linear_solvers_view", run_name="__main__")
    assert ex.value.code == 0
    (view,) = [w for w in QApplication.topLevelWidgets() if w.isVisible() and type(w).__name__ == "LinearSolversView"]
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    assert view.kind.currentData() == "synthetic_scaled"
    assert 4 * int(view.cell("pcg_jacobi", "iterations")) < int(view.cell("cg", "iterations"))
    view.close()
