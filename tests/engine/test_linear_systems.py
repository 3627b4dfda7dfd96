"""The systems the solvers are shown on: least squares of the session's data and the network's Newton step.

Least squares against numpy.linalg.lstsq on the session's own training split; the Newton system
against one step of the product's ``newton`` optimizer (engine/second_order.py) on the same network.
"""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data import make_dataset
from engine.errors import InvalidInput
from engine.linear_solvers import cg, cholesky, lu, qr
from engine.linear_systems import least_squares, newton_system
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZERS
from engine.session import Session
from engine.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example(name, hidden=True):
    """An example session on 120 points; ``hidden=False`` drops the hidden layer (a one-layer network)."""
    d = json.loads((EXAMPLES / f"{name}.json").read_text())
    d["dataset"]["params"]["n"] = 120
    if not hidden:
        d["graph"]["layers"] = [d["graph"]["layers"][0]] + d["graph"]["layers"][2:]
    return Session.from_dict(d)


def design(data):
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float64)
    return np.c_[x, np.ones(len(x))]


def test_least_squares_of_a_classification_session_is_numpys_lstsq_of_the_class_1_indicator():
    s = example("xor_playground")
    data = make_dataset(s.dataset, seed=s.seed)
    system = least_squares(data)
    x = design(data)
    want = np.linalg.lstsq(x, (data.y_train == 1).astype(float), rcond=None)[0]
    for solve in (lu, qr, cholesky, cg):
        np.testing.assert_allclose(solve(system.a, system.b).x, want, rtol=1e-8, atol=1e-12)
    assert system.n == 4 and "indicator of class 1" in system.description
    # class 0's column of the one-hot targets is 1 − indicator(1): its fit is 1 − θ₁ on the intercept, −θ₁ elsewhere
    zero = lu(*(lambda s0: (s0.a, s0.b))(least_squares(data, column=0))).x
    np.testing.assert_allclose(zero, np.r_[-want[:-1], 1 - want[-1]], atol=1e-10)


def test_least_squares_of_a_regression_session_with_ridge_matches_the_augmented_lstsq():
    s = example("plane_regression")
    data = make_dataset(s.dataset, seed=s.seed)
    x, y = design(data), data.y_train[:, 0].astype(np.float64)
    np.testing.assert_allclose(lu(*_ab(least_squares(data))).x, np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-9)
    lam = 2.5  # ridge: min ‖Xθ − y‖² + λ‖w‖², the intercept unpenalised = lstsq of [X; √λ·I'] against [y; 0]
    pen = np.sqrt(lam) * np.eye(x.shape[1])[:-1]
    want = np.linalg.lstsq(np.r_[x, pen], np.r_[y, np.zeros(len(pen))], rcond=None)[0]
    got = cholesky(*_ab(least_squares(data, ridge=lam))).x
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert not np.allclose(got, np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-3)  # λ made a difference


def _ab(system):
    return system.a, system.b


def test_least_squares_bad_inputs_are_one_line():
    s = example("xor_playground")
    data = make_dataset(s.dataset, seed=s.seed)
    for kw, pat in (({"column": 2}, "class 2 does not exist"), ({"ridge": -1.0}, "λ must be a finite number ≥ 0"),
                    ({"ridge": float("nan")}, "λ must be")):
        with pytest.raises(InvalidInput, match=pat):
            least_squares(data, **kw)
    r = example("plane_regression")
    with pytest.raises(InvalidInput, match="target 1 does not exist"):
        least_squares(make_dataset(r.dataset, seed=r.seed), column=1)


def newton_step(trainer, damping):
    """Δ of one newton optimizer step (lr 1, no line search) on a float64 copy of the trainer's network."""
    model = copy.deepcopy(trainer.model).cpu().double().eval()
    x = torch.as_tensor(trainer.data.x_train, dtype=torch.float64)
    y = torch.as_tensor(trainer.data.y_train)
    y = y.double() if y.is_floating_point() else y
    loss = LOSSES.create(trainer.session.loss)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = OPTIMIZERS.create({"type": "newton", "params": {"lr": 1.0, "damping": damping, "line_search": False}},
                            params)
    opt.loss_fn = lambda: loss(model(x), y)

    def closure():
        opt.zero_grad()
        v = loss(model(x), y)
        v.backward()
        return v

    before = torch.cat([p.detach().reshape(-1) for p in params]).clone()
    opt.step(closure)
    assert opt.state[params[0]]["damping_used"] == damping  # H + λI was positive definite: no extra jitter
    return (torch.cat([p.detach().reshape(-1) for p in params]) - before).numpy()


def test_newton_system_solution_is_one_undamped_newton_step_on_a_logistic_regression_net():
    tr = Trainer(example("xor_playground", hidden=False))  # 3 inputs → 1 linear output, bce_logits
    system = newton_system(tr)
    assert system.n == 4 and np.linalg.eigvalsh(system.a)[0] > 0  # cross-entropy of a linear unit: H is SPD
    step = newton_step(tr, 0.0)
    for solve in (lu, qr, cholesky, cg):
        np.testing.assert_allclose(solve(system.a, system.b).x, step, rtol=1e-8, atol=1e-12)


def test_damped_newton_system_on_a_tanh_net_is_the_damped_newton_step():
    tr = Trainer(example("xor_playground"))  # 3 → 4 tanh → 1: H is indefinite at the initial weights
    plain = newton_system(tr)
    lam_min = np.linalg.eigvalsh(plain.a)[0]
    assert lam_min < 0
    with pytest.raises(InvalidInput, match="positive definite"):
        cholesky(plain.a, plain.b)
    lam = float(np.ceil(-lam_min)) + 1.0
    damped = newton_system(tr, damping=lam)
    np.testing.assert_allclose(damped.a - plain.a, lam * np.eye(plain.n), atol=1e-14)
    np.testing.assert_allclose(cholesky(damped.a, damped.b).x, newton_step(tr, lam), rtol=1e-8, atol=1e-12)
    assert damped.meta["grad_norm"] == pytest.approx(np.linalg.norm(plain.b))


def test_newton_system_refuses_a_network_too_large_for_a_dense_hessian():
    d = json.loads((EXAMPLES / "xor_playground.json").read_text())
    d["dataset"]["params"]["n"] = 40
    d["graph"]["layers"][1]["params"]["units"] = 600  # 3·600 + 600 + 600 + 1 = 3001 parameters
    with pytest.raises(InvalidInput, match="3,001 parameters is 3,001×3,001") as e:
        newton_system(Trainer(Session.from_dict(d)))
    assert "\n" not in str(e.value)
    with pytest.raises(InvalidInput, match="damping λ must be"):
        newton_system(Trainer(example("xor_playground")), damping=-0.1)


def test_constant_pixels_make_the_normal_equations_singular_until_ridge():
    data = make_dataset({"type": "digits", "params": {}}, seed=0)
    x = design(data)
    flat = int((x[:, :-1].max(0) == x[:, :-1].min(0)).sum())
    system = least_squares(data, column=3)
    assert flat > 0 and system.meta["constant_features"] == flat and f"{flat} features are constant" in system.description
    assert np.linalg.matrix_rank(system.a) < system.n
    with pytest.raises(InvalidInput, match="singular"):
        lu(system.a, system.b)
    ridge = least_squares(data, ridge=1.0, column=3)
    assert "constant" not in ridge.description
    y = (data.y_train == 3).astype(float)
    pen = np.eye(x.shape[1])[:-1]
    want = np.linalg.lstsq(np.r_[x, pen], np.r_[y, np.zeros(len(pen))], rcond=None)[0]
    np.testing.assert_allclose(lu(ridge.a, ridge.b).x, want, rtol=1e-8, atol=1e-10)
