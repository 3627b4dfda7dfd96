"""Each optimizer against the textbook update rule written out in numpy, on a tiny quadratic."""
import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.optimizers import OPTIMIZERS, apply_max_norm, clip_gradients, get, needs_closure, set_lr

A = np.array([1.0, 4.0, 0.5])  # curvatures
B = np.array([0.3, -1.0, 2.0])
W0 = np.array([1.0, -2.0, 0.5])


def grad(w):
    """Gradient of f(w) = ½·Σ a·w² + b·w."""
    return A * w + B


def run_torch(spec, steps):
    w = torch.nn.Parameter(torch.tensor(W0.copy()))
    a, b = torch.tensor(A), torch.tensor(B)
    opt = get(spec, [w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (a * w * w).sum() + (b * w).sum()).backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    return path


def check(spec, ref_path):
    got = run_torch(spec, len(ref_path))
    for k, (g, r) in enumerate(zip(got, ref_path)):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}")


def test_sgd_one_step():
    check({"type": "sgd", "params": {"lr": 0.1}}, [W0 - 0.1 * grad(W0)])


def test_classic_momentum_three_steps():
    lr, a = 0.1, 0.9
    w, v, path = W0.copy(), np.zeros(3), []
    for _ in range(3):
        v = a * v - lr * grad(w)
        w = w + v
        path.append(w.copy())
    check({"type": "momentum", "params": {"lr": lr, "momentum": a}}, path)


def test_ema_momentum_three_steps():
    lr, a = 0.1, 0.8
    w, nu, path = W0.copy(), np.zeros(3), []
    for _ in range(3):
        nu = a * nu + (1 - a) * grad(w)
        w = w - lr * nu
        path.append(w.copy())
    check({"type": "momentum", "params": {"lr": lr, "momentum": a, "form": "ema"}}, path)


def test_ema_optimizer_class_is_exported_and_checkpointable():
    from engine.optimizers import EMAMomentum

    opt = get({"type": "momentum", "params": {"form": "ema"}}, [torch.nn.Parameter(torch.ones(2))])
    assert isinstance(opt, EMAMomentum) and opt.defaults == {"lr": 0.01, "momentum": 0.9}
    opt.param_groups[0]["params"][0].grad = torch.ones(2)
    opt.step()
    fresh = get({"type": "momentum", "params": {"form": "ema"}}, [torch.nn.Parameter(torch.ones(2))])
    fresh.load_state_dict(opt.state_dict())
    assert torch.allclose(next(iter(fresh.state.values()))["velocity"], torch.full((2,), 0.1))


def test_ema_form_is_classic_with_scaled_lr():
    ema = run_torch({"type": "momentum", "params": {"lr": 0.5, "momentum": 0.9, "form": "ema"}}, 5)
    classic = run_torch({"type": "momentum", "params": {"lr": 0.05, "momentum": 0.9}}, 5)
    np.testing.assert_allclose(ema[-1], classic[-1], rtol=1e-10)


def test_nesterov_matches_lookahead_form():
    # Notes: θ̃ = θ + βv; v = βv − α·∇f(θ̃); θ += v. torch stores the look-ahead point θ + βv.
    lr, beta = 0.1, 0.9
    theta, v, path = W0.copy(), np.zeros(3), []
    for _ in range(3):
        v = beta * v - lr * grad(theta + beta * v)
        theta = theta + v
        path.append(theta + beta * v)
    check({"type": "nesterov", "params": {"lr": lr, "momentum": beta}}, path)
    # and the first step written directly: w − η(1 + β)g
    check({"type": "nesterov", "params": {"lr": lr, "momentum": beta}}, [W0 - lr * (1 + beta) * grad(W0)])


def test_adagrad_three_steps():
    lr, d = 0.5, 1e-8
    w, r, path = W0.copy(), np.zeros(3), []
    for _ in range(3):
        g = grad(w)
        r = r + g * g
        w = w - lr / (d + np.sqrt(r)) * g
        path.append(w.copy())
    check({"type": "adagrad", "params": {"lr": lr, "eps": d}}, path)


def test_rmsprop_three_steps():
    lr, rho, d = 0.01, 0.9, 1e-8
    w, r, path = W0.copy(), np.zeros(3), []
    for _ in range(3):
        g = grad(w)
        r = rho * r + (1 - rho) * g * g
        w = w - lr * g / (np.sqrt(r) + d)
        path.append(w.copy())
    check({"type": "rmsprop", "params": {"lr": lr, "rho": rho, "eps": d}}, path)


def _adam_path(lr, b1, b2, d, steps, decay=0.0):
    w, m, v, path = W0.copy(), np.zeros(3), np.zeros(3), []
    for k in range(1, steps + 1):
        g = grad(w)
        w = w * (1 - lr * decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** k), v / (1 - b2 ** k)
        w = w - lr * mh / (np.sqrt(vh) + d)
        path.append(w.copy())
    return path


def test_adam_two_steps():
    check({"type": "adam", "params": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99}}, _adam_path(0.01, 0.8, 0.99, 1e-8, 2))


def test_adamw_two_steps_decouples_decay():
    spec = {"type": "adamw", "params": {"lr": 0.01, "weight_decay": 0.1}}
    check(spec, _adam_path(0.01, 0.9, 0.999, 1e-8, 2, decay=0.1))


def test_lbfgs_minimizes_quadratic_with_closure():
    w = torch.nn.Parameter(torch.tensor(W0.copy()))
    a, b = torch.tensor(A), torch.tensor(B)
    opt = get("lbfgs", [w])
    assert needs_closure(opt) and not needs_closure(get("adam", [torch.nn.Parameter(torch.zeros(1))]))

    def closure():
        opt.zero_grad()
        loss = 0.5 * (a * w * w).sum() + (b * w).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(w.detach().numpy(), -B / A, atol=1e-4)  # started 4.5 away


def test_every_entry_has_nonnegative_lr():
    for e in OPTIMIZERS.entries():
        lr = {p.name: p for p in e.schema.params}["lr"]
        assert lr.min == 0 and lr.default > 0, e.name
    with pytest.raises(InvalidInput, match="-0.1"):
        get({"type": "adam", "params": {"lr": -0.1}}, [torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(InvalidInput, match="no trainable parameters"):
        get("sgd", [])
    with pytest.raises(InvalidInput, match="'sideways'"):
        get({"type": "momentum", "params": {"form": "sideways"}}, [torch.nn.Parameter(torch.zeros(1))])


def test_set_lr_changes_every_group():
    p1, p2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.5}], lr=0.1)
    set_lr(opt, 0.02)
    assert [g["lr"] for g in opt.param_groups] == [0.02, 0.02]
    with pytest.raises(InvalidInput, match="nan"):
        set_lr(opt, float("nan"))


def _with_grads(*grads):
    ps = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(len(g), dtype=torch.float64))
        p.grad = torch.tensor(g, dtype=torch.float64)
        ps.append(p)
    return ps


def test_clip_by_norm():
    ps = _with_grads([3.0, 0.0], [0.0, 4.0, 12.0])  # joint norm 13
    assert clip_gradients(ps, "norm", 6.5) == pytest.approx(13.0)
    np.testing.assert_allclose(ps[0].grad.numpy(), [1.5, 0.0])
    np.testing.assert_allclose(ps[1].grad.numpy(), [0.0, 2.0, 6.0])
    assert clip_gradients(ps, "norm", 100.0) == pytest.approx(6.5)  # below the threshold: untouched
    np.testing.assert_allclose(ps[1].grad.numpy(), [0.0, 2.0, 6.0])


def test_clip_by_value_and_none():
    ps = _with_grads([3.0, -0.5], [-4.0])
    assert clip_gradients(ps, "none") == pytest.approx(np.sqrt(9 + 0.25 + 16))
    np.testing.assert_allclose(ps[0].grad.numpy(), [3.0, -0.5])
    assert clip_gradients(ps, "value", 1.0) == pytest.approx(np.sqrt(9 + 0.25 + 16))
    np.testing.assert_allclose(ps[0].grad.numpy(), [1.0, -0.5])
    np.testing.assert_allclose(ps[1].grad.numpy(), [-1.0])
    assert clip_gradients([torch.nn.Parameter(torch.zeros(2))], "norm", 1.0) == 0.0  # no grads yet
    with pytest.raises(InvalidInput, match="'both'"):
        clip_gradients(ps, "both", 1.0)
    with pytest.raises(InvalidInput, match="0"):
        clip_gradients(ps, "norm", 0)


def test_max_norm_rescales_rows_and_filters():
    dense = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, -10.0]]))
    conv = torch.nn.Parameter(torch.ones(2, 1, 2, 2) * torch.tensor([1.0, 0.25]).reshape(2, 1, 1, 1))
    bias = torch.nn.Parameter(torch.tensor([50.0]))
    apply_max_norm([dense, conv, bias], 2.0)
    np.testing.assert_allclose(dense.detach().numpy(), [[1.2, 1.6], [0.6, 0.8], [0.0, -2.0]], rtol=1e-6)
    np.testing.assert_allclose(conv.detach()[0].numpy(), np.ones((1, 2, 2)), rtol=1e-6)  # norm exactly 2: kept
    np.testing.assert_allclose(conv.detach()[1].numpy(), np.full((1, 2, 2), 0.25))
    assert bias.item() == 50.0
    apply_max_norm([conv], 1.0)
    assert torch.linalg.vector_norm(conv.detach()[0]).item() == pytest.approx(1.0)
    with pytest.raises(InvalidInput, match="-1"):
        apply_max_norm([dense], -1)
