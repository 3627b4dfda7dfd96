"""``main.py bias-variance`` and ``main.py linear-solve``: the numbers are the engine's (and numpy's), bad input
is one line and exit 2."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_helpers import _strict_json, assert_one_error, small_session  # noqa: E402

from cli import run_cli  # noqa: E402
from engine import linear_systems as ls  # noqa: E402
from engine.bias_variance import decompose  # noqa: E402
from engine.data import make_dataset  # noqa: E402
from engine.session import load_session  # noqa: E402


def _json(capsys, argv):
    assert run_cli([str(a) for a in argv]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    return _strict_json(out[0])


def test_bias_variance_json_is_the_engines_decomposition(tmp_path, capsys):
    p = small_session(tmp_path, dataset={"type": "xor", "params": {"n": 40, "noise": 0.3}},
                      training={"epochs": 3, "batch_size": 10})
    got = _json(capsys, ["bias-variance", p, "--repeats", "3", "--seed", "2", "--json"])
    want = decompose(load_session(p), n_sets=3, seed=2).summary()
    assert got["task"] == "classification" and got["loss"] == "brier" and got["n_sets"] == 3 and got["epochs"] == 3
    for key in ("bias2", "variance", "noise", "total", "measured", "bias_01", "net_variance_01", "total_01"):
        assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), key
    assert got["total"] == pytest.approx(got["bias2"] + got["variance"] + got["noise"])
    assert run_cli(["bias-variance", str(p), "--repeats", "3", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert f"bias² {want['bias2']:.4g} + variance {want['variance']:.4g}" in text
    assert f"0-1 loss (Domingos): c₁·noise {want['noise_01']:.4g} + bias {want['bias_01']:.4g}" in text


def test_bias_variance_regression_and_bad_inputs(tmp_path, capsys):
    p = small_session(tmp_path, dataset={"type": "sine", "params": {"n": 20, "noise": 0.3}},
                      graph={"layers": [{"id": "input", "type": "Input", "params": {"shape": [1]}},
                                        {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                                        {"id": "out", "type": "Dense", "params": {"units": 1}}]},
                      loss="mse", training={"epochs": 3, "batch_size": 8})
    got = _json(capsys, ["bias-variance", p, "--repeats", "2", "--json"])
    assert got["task"] == "regression" and got["loss"] == "mse" and "total_01" not in got
    assert got["noise"] == pytest.approx(0.3 ** 2)
    assert_one_error(capsys, ["bias-variance", p, "--repeats", "1"], "--repeats must be at least 2")
    spiral = small_session(tmp_path, "sp.json", dataset={"type": "spiral", "params": {"n": 40}})
    assert_one_error(capsys, ["bias-variance", spiral], "no known true function", "circle, xor or gauss")
    hinge = small_session(tmp_path, "h.json", loss="hinge")
    assert_one_error(capsys, ["bias-variance", hinge, "--repeats", "2"], "not probabilities")
    assert_one_error(capsys, ["bias-variance", tmp_path / "missing.json"])


def test_linear_solve_synthetic_matches_numpy(capsys):
    got = _json(capsys, ["linear-solve", "--kappa", "100", "--n", "20", "--seed", "4", "--method", "lu,cg",
                         "--method", "pcg", "--json"])
    sys_ = ls.synthetic("spd", 20, 100.0, 4)
    want = np.linalg.solve(sys_.a, sys_.b)
    assert [m["method"] for m in got["methods"]] == ["lu", "cg", "pcg_jacobi"] and got["n"] == 20
    assert got["meta"]["kappa"] == pytest.approx(100.0)
    for m in got["methods"]:
        np.testing.assert_allclose(m["x"], want, rtol=1e-6, atol=1e-8)
        assert m["converged"] and m["residual"] <= 1e-8 * np.linalg.norm(sys_.b) + 1e-12
    assert got["methods"][0]["kind"] == "direct" and 0 < got["methods"][1]["iterations"] <= 40
    assert run_cli(["linear-solve", "--kappa", "1e4", "--n", "12", "--method", "jacobi"]) == 0
    out = capsys.readouterr().out
    assert "κ(A) = 1e+04" in out and "Jacobi" in out


def test_linear_solve_least_squares_of_the_session_is_lstsq(tmp_path, capsys):
    p = small_session(tmp_path, dataset={"type": "sine", "params": {"n": 30, "noise": 0.1}},
                      graph={"layers": [{"id": "input", "type": "Input", "params": {"shape": [1]}},
                                        {"id": "out", "type": "Dense", "params": {"units": 1}}]}, loss="mse")
    got = _json(capsys, ["linear-solve", p, "--method", "qr", "--method", "cholesky", "--json"])
    s = load_session(p)
    data = make_dataset(s.dataset, seed=s.seed)
    x = np.c_[data.x_train.reshape(len(data.x_train), -1), np.ones(len(data.x_train))].astype(np.float64)
    want = np.linalg.lstsq(x, data.y_train[:, 0].astype(np.float64), rcond=None)[0]
    assert got["system"] == "least_squares"
    for m in got["methods"]:
        np.testing.assert_allclose(m["x"], want, rtol=1e-8, atol=1e-10)
    ridge = _json(capsys, ["linear-solve", p, "--method", "lu", "--lambda", "2", "--json"])
    a = x.T @ x + np.diag([2.0, 0.0])  # λ does not penalise the intercept
    np.testing.assert_allclose(ridge["methods"][0]["x"], np.linalg.solve(a, x.T @ data.y_train[:, 0]), rtol=1e-8)
    newton = _json(capsys, ["linear-solve", p, "--system", "newton", "--method", "lu", "--json"])
    assert newton["system"] == "newton" and newton["n"] == 2 and newton["methods"][0]["converged"]
    # a linear model under MSE: the Newton step lands on the least-squares fit from the initial weights
    from engine.trainer import Trainer

    w0 = np.concatenate([v.detach().numpy().ravel() for v in Trainer(s).model.parameters()]).astype(np.float64)
    np.testing.assert_allclose(w0 + np.asarray(newton["methods"][0]["x"]), want, rtol=1e-4, atol=1e-5)


def test_linear_solve_bad_inputs(tmp_path, capsys):
    p = small_session(tmp_path)
    assert_one_error(capsys, ["linear-solve"], "either a SESSION or --kappa", "neither")
    assert_one_error(capsys, ["linear-solve", p, "--kappa", "10"], "not both")
    assert_one_error(capsys, ["linear-solve", "--kappa", "10", "--method", "sor"], "unknown method 'sor'",
                     "gauss-seidel")
    assert_one_error(capsys, ["linear-solve", "--kappa", "0.5"], "--kappa must be a number from 1")
    assert_one_error(capsys, ["linear-solve", "--kappa", "10", "--n", "1"], "--n must be at least 2")
    assert_one_error(capsys, ["linear-solve", "--kappa", "nan"], "--kappa")
    assert_one_error(capsys, ["linear-solve", p, "--target", "9"])


def test_help_names_both_commands(capsys):
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert "bias-variance SESSION" in out and "linear-solve SESSION|--kappa K" in out
    assert run_cli(["linear-solve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "gauss-seidel" in out and "--kappa" in out and "--system" in out
    assert run_cli(["bias-variance", "--help"]) == 0
    assert "--repeats" in capsys.readouterr().out
