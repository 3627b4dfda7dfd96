"""Second-order optimizers (lecture 003 §4.3.8-4.3.12) against hand-written numpy steps."""
import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZERS, needs_closure
from engine.second_order import MAX_PARAMS, bind_batch, hessian, squared_error_residuals

A = np.array([[4.0, 1.0, 0.5, 0.0], [1.0, 3.0, 0.2, 0.1], [0.5, 0.2, 2.0, 0.3], [0.0, 0.1, 0.3, 1.5]])
B = np.array([1.0, -2.0, 0.5, 3.0])


def quad_torch(theta):
    a, b = torch.tensor(A), torch.tensor(B)
    return 0.5 * theta @ a @ theta - b @ theta


def problem(name, f, theta0, **params):
    theta = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = OPTIMIZERS.create({"type": name, "params": params}, [theta])

    def closure():
        opt.zero_grad()
        loss = f(theta)
        loss.backward()
        return loss

    opt.loss_fn = lambda: f(theta)
    return theta, opt, closure


def test_registered_with_closure_protocol_and_lr():
    for name in ("newton", "bfgs", "gauss_newton", "levenberg", "levenberg_marquardt"):
        e = OPTIMIZERS.entry(name)
        assert e.group == "second order" and len(e.doc) > 60
        opt = OPTIMIZERS.create(name, [torch.nn.Parameter(torch.zeros(3))])
        assert needs_closure(opt)
    assert not needs_closure(OPTIMIZERS.create("adam", [torch.nn.Parameter(torch.zeros(3))]))


def test_newton_one_step_solves_a_quadratic():
    """θ* = θ0 − H⁻¹∇f: on ½θᵀAθ − bᵀθ one undamped step lands on A⁻¹b."""
    theta, opt, closure = problem("newton", quad_torch, [3.0, -1.0, 2.0, 0.5], damping=0.0)
    loss = opt.step(closure)
    assert float(loss.detach()) == pytest.approx(0.5 * np.array([3, -1, 2, .5]) @ A @ [3, -1, 2, .5] - B @ [3, -1, 2, .5])
    np.testing.assert_allclose(theta.detach().numpy(), np.linalg.solve(A, B), atol=1e-12)


def test_hessian_of_logistic_regression_matches_the_formula():
    """Cross-entropy of a sigmoid unit: H = Xᵀ diag(p(1−p)) X / N (bias as a column of ones)."""
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(size=(20, 2)), np.ones(20)]
    y = (rng.random(20) < 0.5).astype(float)
    w0 = np.array([0.3, -0.7, 0.1])
    xt, yt = torch.tensor(x), torch.tensor(y)

    def f(w):
        p = torch.sigmoid(xt @ w)
        return -(yt * torch.log(p) + (1 - yt) * torch.log1p(-p)).mean()

    w = torch.nn.Parameter(torch.tensor(w0))
    h, g = hessian(f(w), [w])
    p = 1 / (1 + np.exp(-x @ w0))
    h_ref = x.T @ np.diag(p * (1 - p)) @ x / 20
    np.testing.assert_allclose(h.numpy(), h_ref, atol=1e-12)
    np.testing.assert_allclose(g.numpy(), x.T @ (p - y) / 20, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), torch.autograd.functional.hessian(f, torch.tensor(w0)).numpy(), atol=1e-12)
    # one undamped Newton step = one IRLS step
    _, opt, closure = problem("newton", f, w0, damping=0.0)
    opt.step(closure)
    np.testing.assert_allclose(opt.param_groups[0]["params"][0].detach().numpy(),
                               w0 - np.linalg.solve(h_ref, x.T @ (p - y) / 20), atol=1e-10)


def test_newton_damping_turns_an_indefinite_hessian_into_a_descent_step():
    f = lambda t: t[0] ** 2 - t[1] ** 2 + t[1] ** 4  # noqa: E731  H = diag(2, -1.88) at (1, 0.1)
    theta, opt, closure = problem("newton", f, [1.0, 0.1], damping=1e-4)
    before = float(f(theta).detach())
    opt.step(closure)
    lam = opt.state[theta]["damping_used"]
    assert lam > 1.88  # raised ×10 steps from 1e-4 until H + λI is positive definite
    assert lam == pytest.approx(1e-4 * 10 ** round(np.log10(lam / 1e-4)))
    g = np.array([2.0, -0.2 + 4 * 0.001])
    np.testing.assert_allclose(theta.detach().numpy(), [1.0, 0.1] - g / (np.array([2.0, -1.88]) + lam), atol=1e-12)
    assert float(f(theta).detach()) < before


def test_newton_refuses_big_nets_and_needs_the_bound_loss():
    big = [torch.nn.Parameter(torch.zeros(MAX_PARAMS + 1))]
    for name in ("newton", "bfgs", "gauss_newton", "levenberg_marquardt"):
        with pytest.raises(InvalidInput, match=f"{MAX_PARAMS + 1}"):
            OPTIMIZERS.create(name, big)
    theta, opt, closure = problem("newton", quad_torch, [0.0] * 4)
    opt.loss_fn = None
    with pytest.raises(InvalidInput, match="bind_batch"):
        opt.step(closure)


def numpy_bfgs(x, steps, lr=1.0, c1=1e-4):
    f = lambda v: 0.5 * v @ A @ v - B @ v  # noqa: E731
    grad = lambda v: A @ v - B  # noqa: E731
    eye, h, out = np.eye(len(x)), None, []
    for _ in range(steps):
        f0, g = f(x), grad(x)
        hc = eye if h is None else h
        d = -hc @ g
        t = lr
        while f(x + t * d) > f0 + c1 * t * (g @ d):
            t *= 0.5
        s = t * d
        y = grad(x + s) - g
        if h is None:
            hc = (s @ y) / (y @ y) * hc
        v = eye - np.outer(s, y) / (s @ y)
        h = v @ hc @ v.T + np.outer(s, s) / (s @ y)
        x = x + s
        out.append(x)
    return out, h


def test_bfgs_follows_the_numpy_reference_and_keeps_the_secant_condition():
    x0 = [3.0, -1.0, 2.0, 0.5]
    theta, opt, closure = problem("bfgs", quad_torch, x0)
    ref, h_ref = numpy_bfgs(np.array(x0), 6)
    for k in range(6):
        opt.step(closure)
        np.testing.assert_allclose(theta.detach().numpy(), ref[k], atol=1e-10)
    h = opt.state[theta]["h_inv"].numpy()
    np.testing.assert_allclose(h, h_ref, atol=1e-10)
    s = ref[-1] - ref[-2]
    np.testing.assert_allclose(h @ (A @ s), s, atol=1e-10)  # secant: H⁻¹ y = s with y = A s
    for _ in range(20):
        opt.step(closure)
    np.testing.assert_allclose(theta.detach().numpy(), np.linalg.solve(A, B), atol=1e-8)


def test_bfgs_solves_rosenbrock():
    rosen = lambda t: (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2  # noqa: E731
    theta, opt, closure = problem("bfgs", rosen, [-1.2, 1.0])
    for _ in range(100):
        opt.step(closure)
    np.testing.assert_allclose(theta.detach().numpy(), [1.0, 1.0], atol=1e-6)


def linear_batch(seed=1, n=30):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ [1.5, -2.0, 0.7] + 0.3 + 0.1 * rng.normal(size=n)
    return x, y[:, None]


def test_squared_error_residuals_sum_to_the_loss():
    out = torch.tensor([[0.5, 1.0], [2.0, -1.0], [0.0, 0.25]], dtype=torch.float64)
    tgt = torch.tensor([[1.0, 1.0], [1.5, 0.0], [0.5, 0.5]], dtype=torch.float64)
    for spec in ("mse", {"type": "mse", "params": {"half": True}}):
        loss = LOSSES.create(spec)
        r = squared_error_residuals(loss, out, tgt)
        assert float(r @ r) == pytest.approx(float(loss(out, tgt)), abs=1e-14)
    assert float(squared_error_residuals(LOSSES.create("mse"), out, tgt)[0]) == pytest.approx(-0.5 / np.sqrt(3))
    with pytest.raises(InvalidInput, match="'bce'"):
        squared_error_residuals(LOSSES.create("bce"), out.clamp(0, 1), tgt.clamp(0, 1))


def test_gauss_newton_one_step_is_the_least_squares_solution():
    """On a linear model GN is exact: θ = (XᵀX)⁻¹Xᵀy, the notes' normal equations (lecture 003 §2.3.3)."""
    x, y = linear_batch()
    model = torch.nn.Linear(3, 1).double()
    opt = OPTIMIZERS.create("gauss_newton", list(model.parameters()))
    xt, yt, loss = torch.tensor(x), torch.tensor(y), LOSSES.create("mse")

    def closure():
        opt.zero_grad()
        v = loss(model(xt), yt)
        v.backward()
        return v

    bind_batch(opt, total_fn=lambda: loss(model(xt), yt), output_fn=lambda: model(xt), target=yt, loss=loss)
    opt.step(closure)
    xa = np.c_[x, np.ones(len(x))]
    theta = np.linalg.solve(xa.T @ xa, xa.T @ y[:, 0])
    np.testing.assert_allclose(model.weight.detach().numpy()[0], theta[:3], atol=1e-10)
    assert float(model.bias.detach()) == pytest.approx(theta[3], abs=1e-10)


XS = np.linspace(0, 2, 9)
YS = 2 * np.exp(0.5 * XS) + np.sin(7 * XS)


def exp_fit(name, ab, **params):
    """y ≈ a·exp(b·x): residuals and Jacobian by hand, and the optimizer bound to the same model."""
    p = torch.nn.Parameter(torch.tensor(ab, dtype=torch.float64))
    opt = OPTIMIZERS.create({"type": name, "params": params}, [p])
    xt, yt, loss = torch.tensor(XS)[:, None], torch.tensor(YS)[:, None], LOSSES.create("mse")
    out = lambda: p[0] * torch.exp(p[1] * xt)  # noqa: E731

    def closure():
        opt.zero_grad()
        v = loss(out(), yt)
        v.backward()
        return v

    bind_batch(opt, total_fn=lambda: loss(out(), yt), output_fn=out, target=yt, loss=loss)
    return p, opt, closure


def hand(a, b):
    n = np.sqrt(len(XS))
    r = (a * np.exp(b * XS) - YS) / n
    jac = np.stack([np.exp(b * XS), a * XS * np.exp(b * XS)], 1) / n
    return r, jac


def test_gauss_newton_step_on_a_nonlinear_model():
    p, opt, closure = exp_fit("gauss_newton", [1.0, 1.5])
    opt.step(closure)
    r, jac = hand(1.0, 1.5)
    np.testing.assert_allclose(p.detach().numpy(), [1.0, 1.5] - np.linalg.solve(jac.T @ jac, jac.T @ r), atol=1e-10)


def test_levenberg_marquardt_retries_with_larger_damping_until_the_loss_drops():
    """From (1, 0) the Gauss-Newton step raises Σr² (8.43 → 503); λ = 1e-3, 1e-2, 0.1 fail, λ = 1 works."""
    p, opt, closure = exp_fit("levenberg_marquardt", [1.0, 0.0], damping=1e-3)
    opt.step(closure)
    r, jac = hand(1.0, 0.0)
    a = jac.T @ jac
    want = [1.0, 0.0] - np.linalg.solve(a + 1.0 * np.diag(np.diag(a)), jac.T @ r)
    np.testing.assert_allclose(p.detach().numpy(), want, atol=1e-10)
    assert opt.state[p]["lam"] == pytest.approx(0.1) and opt.state[p]["accepted"]
    r1, _ = hand(*want)
    assert r1 @ r1 == pytest.approx(5.1608634903, abs=1e-8) and r @ r == pytest.approx(8.4255745302, abs=1e-8)


def test_levenberg_uses_the_identity_and_tends_to_gauss_newton():
    p, opt, closure = exp_fit("levenberg", [1.0, 1.5], damping=0.5)
    opt.step(closure)
    r, jac = hand(1.0, 1.5)
    np.testing.assert_allclose(p.detach().numpy(), [1.0, 1.5] - np.linalg.solve(jac.T @ jac + 0.5 * np.eye(2), jac.T @ r),
                               atol=1e-10)
    assert opt.state[p]["lam"] == pytest.approx(0.05)
    p, opt, closure = exp_fit("levenberg_marquardt", [1.0, 1.5], damping=1e-12)
    opt.step(closure)
    np.testing.assert_allclose(p.detach().numpy(), [1.0, 1.5] - np.linalg.solve(jac.T @ jac, jac.T @ r), atol=1e-8)


def test_failed_levenberg_step_leaves_the_weights_unchanged():
    p, opt, closure = exp_fit("levenberg_marquardt", [1.0, 0.0], damping=1e-3, max_tries=2)
    opt.step(closure)
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 0.0])
    assert not opt.state[p]["accepted"] and opt.state[p]["lam"] == pytest.approx(0.1)


# -- through the trainer ---------------------------------------------------------------
def regression_session(opt):
    from engine.session import Session

    return Session.from_dict({
        "seed": 3,
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1, "activation": "identity"}},
                             {"id": "out", "type": "Output"}]},
        "dataset": {"type": "multi_gauss", "params": {"n": 60}},
        "loss": "mse", "optimizer": opt, "training": {"epochs": 4, "batch_size": 0, "stats_every": 1000},
    })


def bound_trainer(session, device="cpu"):
    """A plain Trainer: it binds the batch (bind_batch) before each second-order step."""
    from engine.trainer import Trainer

    return Trainer(session, device=device)


def train_losses(tr, epochs):
    return [ev.train_loss for ev in tr.run(epochs) if type(ev).__name__ == "EpochEnd"]


def fit(opt, epochs=8):
    tr = bound_trainer(regression_session(opt))
    return train_losses(tr, epochs), tr.evaluate_split("train")[0]


@pytest.mark.parametrize("opt", ["newton", "bfgs", "levenberg", "levenberg_marquardt"])
def test_second_order_trains_a_small_net_faster_than_sgd(opt):
    sgd, sgd_final = fit({"type": "sgd", "params": {"lr": 0.1}})
    got, final = fit(opt)
    assert got[0] == pytest.approx(sgd[0], rel=1e-5)  # same net, same first full-batch loss
    assert final < 0.5 * sgd_final
    assert all(b <= a * (1 + 1e-6) for a, b in zip(got, got[1:]))  # every step went downhill


def test_undamped_gauss_newton_can_overshoot_where_levenberg_marquardt_cannot():
    gn, _ = fit("gauss_newton")
    lm, _ = fit("levenberg_marquardt")
    assert max(gn) > 100 * gn[0]  # JᵀJ is a poor model of H far from a fit: the full step explodes
    assert all(b < a for a, b in zip(lm, lm[1:]))  # λ adapts so that f(θ_k+1) < f(θ_k)


@pytest.mark.parametrize("opt", ["bfgs", "levenberg_marquardt"])
def test_optimizer_state_survives_a_checkpoint(opt):
    straight = bound_trainer(regression_session(opt))
    train_losses(straight, 2)
    first = bound_trainer(regression_session(opt))
    train_losses(first, 1)
    tensors, meta = first.state()
    resumed = bound_trainer(regression_session(opt))
    resumed.load_state(tensors, meta)
    train_losses(resumed, 2)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("opt", ["newton", "bfgs", "levenberg_marquardt"])
def test_second_order_on_the_gpu_matches_the_cpu(opt):
    cpu = train_losses(bound_trainer(regression_session(opt)), 3)
    gpu = train_losses(bound_trainer(regression_session(opt), device="cuda"), 3)
    assert gpu == pytest.approx(cpu, rel=1e-3)
