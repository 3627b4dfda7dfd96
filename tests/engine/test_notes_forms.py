"""The update rules in the lecture notes' own form, each against numpy written from the notes' formula.

Every case is chosen where the notes' form and the one it replaces differ: momentum under a
changing learning rate, Nesterov's stored weights, weight decay with a large η·λ·g, step decay
at t ≠ 0.5, clipping and early stopping run through the trainer rather than called directly.
"""
import numpy as np
import pytest
import torch

from engine.activations import ACTIVATIONS
from engine.errors import InvalidInput
from engine.initializers import INITIALIZERS, initialize
from engine.optimizers import get, set_lr
from engine.regularizers import get as get_reg
from engine.session import Session
from engine.trainer import Trainer

A = np.array([1.0, 4.0, 0.5])
B = np.array([0.3, -1.0, 2.0])
W0 = np.array([1.0, -2.0, 0.5])
LRS = [0.1, 0.1, 0.02, 0.02, 0.3]  # a schedule that lowers and then raises η


def grad(w):
    return A * w + B


def run(spec, lrs, closure=False):
    w = torch.nn.Parameter(torch.tensor(W0.copy()))
    a, b = torch.tensor(A), torch.tensor(B)
    opt = get(spec, [w])
    path = []

    def f():
        opt.zero_grad()
        loss = 0.5 * (a * w * w).sum() + (b * w).sum()
        loss.backward()
        return loss

    for lr in lrs:
        set_lr(opt, lr)
        if closure:
            opt.step(f)
        else:
            f()
            opt.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


# ------------------------------------------------------------------ momentum under a schedule
def test_momentum_velocity_form_is_seed_002_under_a_schedule():
    g_, w, v, notes = 0.9, W0.copy(), np.zeros(3), []
    for lr in LRS:  # seed 002: v_k = γ v_{k-1} + η_k ∇E(θ_k); θ_{k+1} = θ_k − v_k
        v = g_ * v + lr * grad(w)
        w = w - v
        notes.append(w.copy())
    got = run({"type": "momentum", "params": {"momentum": g_, "form": "velocity"}}, LRS)
    np.testing.assert_allclose(got, notes, rtol=1e-12, atol=1e-14)
    w, b, torch_form = W0.copy(), np.zeros(3), []
    for lr in LRS:  # torch: b = γb + g; w −= η_k b (the whole velocity rescaled by the current η)
        b = g_ * b + grad(w)
        w = w - lr * b
        torch_form.append(w.copy())
    np.testing.assert_allclose(run({"type": "momentum", "params": {"momentum": g_}}, LRS), torch_form, rtol=1e-12)
    assert np.abs(np.array(notes) - np.array(torch_form)).max() > 0.05  # the forms differ once η changes
    const = [0.1] * 5  # ... and coincide while it is constant
    np.testing.assert_allclose(run({"type": "momentum", "params": {"momentum": g_, "form": "velocity"}}, const),
                               run({"type": "momentum", "params": {"momentum": g_}}, const), rtol=1e-12)


# ------------------------------------------------------------------ Nesterov
def test_nesterov_notes_form_stores_theta_and_torch_form_the_lookahead_point():
    g_, theta, v, thetas, lookahead = 0.9, W0.copy(), np.zeros(3), [], []
    for lr in LRS:  # seed 002: v_k = γ v_{k-1} + η_k ∇E(θ_k − γ v_{k-1}); θ_{k+1} = θ_k − v_k
        v = g_ * v + lr * grad(theta - g_ * v)
        theta = theta - v
        thetas.append(theta.copy())
        lookahead.append(theta - g_ * v)
    notes = run({"type": "nesterov", "params": {"momentum": g_, "form": "notes"}}, LRS, closure=True)
    np.testing.assert_allclose(notes, thetas, rtol=1e-12, atol=1e-14)
    const = [0.1] * 5
    theta, v, shifted = W0.copy(), np.zeros(3), []
    for lr in const:
        v = g_ * v + lr * grad(theta - g_ * v)
        theta = theta - v
        shifted.append(theta - g_ * v)
    # torch's form holds θ − γv of the notes' run (at a constant lr): the same path, shifted
    np.testing.assert_allclose(run({"type": "nesterov", "params": {"momentum": g_}}, const), shifted, rtol=1e-10)
    assert np.abs(np.array(shifted) - run({"type": "nesterov", "params": {"momentum": g_, "form": "notes"}},
                                          const, closure=True)).max() > 0.01


def small(optimizer, *, epochs=2, batch_size=0, regularizers=(), clip="none", clip_value=1.0, seed=1, **training):
    return Session.from_dict({
        "seed": seed,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "circle", "params": {"n": 60}}, "loss": "bce_logits", "optimizer": optimizer,
        "regularizers": list(regularizers),
        "training": {"epochs": epochs, "batch_size": batch_size, "device": "cpu", "clip": clip,
                     "clip_value": clip_value, **training},
    })


def one_step(s):
    tr = Trainer(s)
    before = {k: v.detach().clone() for k, v in tr.model.named_parameters()}
    list(tr.run(max_steps=1))
    grads = {k: v.grad.detach().clone() for k, v in tr.model.named_parameters()}
    after = {k: v.detach().clone() for k, v in tr.model.named_parameters()}
    return before, grads, after


def test_nesterov_notes_form_trains_through_the_trainer_with_clipping():
    s = small({"type": "nesterov", "params": {"lr": 0.5, "form": "notes"}}, clip="norm", clip_value=1e-3)
    before, grads, after = one_step(s)  # v = 0 at first: θ1 = θ0 − η·clip(g)
    step = torch.cat([(before[k] - after[k]).reshape(-1) for k in before])
    assert float(step.norm()) == pytest.approx(0.5 * 1e-3, rel=1e-4)  # clipped to norm 1e-3, then × η
    tr = Trainer(small({"type": "nesterov", "params": {"lr": 0.5, "form": "notes"}}, epochs=30))
    ends = [ev for ev in tr.run() if type(ev).__name__ == "EpochEnd"]
    assert ends[-1].train_loss < 0.8 * ends[0].train_loss


# ------------------------------------------------------------------ weight decay
def test_weight_decay_is_the_notes_update_through_the_trainer():
    lr, lam = 0.5, 0.4
    s = small({"type": "sgd", "params": {"lr": lr}}, regularizers=[{"type": "weight_decay", "params": {"lambda": lam}}])
    before, grads, after = one_step(s)
    for k in before:
        g = grads[k]  # the loss's gradient only: weight decay is in the update, not the loss
        decay = lam * before[k] if k.endswith("weight") else 0.0  # biases are not decayed (as in the notes)
        want = before[k] - lr * g - lr * decay
        np.testing.assert_allclose(after[k].numpy(), want.numpy(), rtol=0, atol=1e-6, err_msg=k)
        if k.endswith("weight"):  # the old (w − ηg)(1 − ηλ) is η²λg away: far outside the tolerance here
            old = (before[k] - lr * g) * (1 - lr * lam)
            assert (old - after[k]).abs().max() > 1e-3


def test_weight_decay_hooks_use_the_weights_before_the_step():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleDict({"h": torch.nn.Linear(2, 2)})

        def weight_params(self):
            return [("h", "weight", self.layers["h"].weight)]

    m = M()
    w0 = m.layers["h"].weight.detach().clone()
    reg = get_reg({"type": "weight_decay", "params": {"lambda": 0.2}})
    reg.before_step(m)
    with torch.no_grad():
        m.layers["h"].weight.add_(3.0)  # whatever the optimizer did
    reg.after_step(m, lr=0.5)
    np.testing.assert_allclose(m.layers["h"].weight.detach().numpy(), (w0 + 3.0 - 0.5 * 0.2 * w0).numpy(), rtol=1e-6)


# ------------------------------------------------------------------ clipping through the trainer
def test_clipping_limits_the_step_the_trainer_takes():
    lr = 0.5
    b0, g0, a0 = one_step(small({"type": "sgd", "params": {"lr": lr}}))
    raw = float(torch.cat([g.reshape(-1) for g in g0.values()]).norm())
    b1, g1, a1 = one_step(small({"type": "sgd", "params": {"lr": lr}}, clip="norm", clip_value=0.01))
    step = float(torch.cat([(b1[k] - a1[k]).reshape(-1) for k in b1]).norm())
    assert raw > 0.05 and step == pytest.approx(lr * 0.01, rel=1e-4)  # unclipped it would be lr·raw
    b2, g2, a2 = one_step(small({"type": "sgd", "params": {"lr": lr}}, clip="value", clip_value=1e-3))
    for k in b2:  # each component moved by lr·clamp(g, ±1e-3); unclipped gradients are far larger
        np.testing.assert_allclose((b2[k] - a2[k]).numpy(), lr * g2[k].clamp(-1e-3, 1e-3).numpy(), rtol=0, atol=1e-7)
        assert g2[k].abs().max() <= 1e-3 + 1e-12 < g0[k].abs().max()


@pytest.mark.parametrize("name", ["lbfgs", "newton", "bfgs", "gauss_newton", "levenberg", "levenberg_marquardt"])
def test_closure_optimizers_refuse_clipping_with_the_reason(name):
    loss = "mse" if name in ("gauss_newton", "levenberg", "levenberg_marquardt") else "bce_logits"
    s = small({"type": name, "params": {}}, clip="norm")
    s.loss = {"type": loss, "params": {}}
    with pytest.raises(InvalidInput, match=f"gradient clipping cannot be used with {name}: .*line search"):
        Trainer(s)
    s.training["clip"] = "none"
    Trainer(s)  # fine without


# ------------------------------------------------------------------ Newton's line search
def newton_losses(line_search):
    s = Session.from_dict({"seed": 5, "graph": {"layers": [
        {"type": "Input", "params": {"shape": [2]}}, {"type": "Dense", "params": {"units": 4, "activation": "tanh"}},
        {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "plane", "params": {"n": 100}}, "loss": "mse",
        "optimizer": {"type": "newton", "params": {"lr": 1.0, "line_search": line_search}},
        "training": {"epochs": 3, "batch_size": 0, "device": "cpu"}})
    tr = Trainer(s)
    out = [tr.evaluate_split("train")[0]]
    for ev in tr.run(3):
        if type(ev).__name__ == "Step":
            out.append(tr.evaluate_split("train")[0])
    return out


def test_newton_line_search_makes_every_step_go_downhill():
    full = newton_losses(False)
    assert full[1] > 10 * full[0]  # the full Newton step overshoots: 2.95 -> 232 on this net
    searched = newton_losses(True)
    assert searched[0] == pytest.approx(full[0])
    assert all(b < a for a, b in zip(searched, searched[1:])), searched


# ------------------------------------------------------------------ early stopping on accuracy
def test_early_stopping_honours_val_accuracy_and_keeps_the_best_accuracy_weights():
    s = small({"type": "sgd", "params": {"lr": 2.0}}, epochs=60, batch_size=5, seed=2,
              early_stopping={"patience": 4, "monitor": "val_accuracy", "restore_best": True})
    tr = Trainer(s)
    fin = list(tr.run())[-1]
    acc = np.array(tr.history.epochs["val_acc"])
    best = int(np.argmax(acc)) + 1  # the first epoch with the highest accuracy
    assert fin.reason == "early_stopping" and fin.best_epoch == best
    assert fin.epochs_run == best + 4  # four epochs without a higher accuracy, then stop
    assert tr.early.mode == "max" and tr.early.best_value == pytest.approx(acc.max())
    _, metrics, _ = tr.evaluate_split("val")
    assert metrics["accuracy"] == pytest.approx(acc.max())  # the restored weights are that epoch's


def test_early_stopping_monitor_names_are_checked():
    with pytest.raises(InvalidInput, match="val_accuracy"):
        small({"type": "sgd", "params": {}}, early_stopping={"patience": 2, "monitor": "val_acuracy"})


# ------------------------------------------------------------------ defaults from the notes
def test_leaky_relu_default_slope_is_the_notes_0_1():
    f = ACTIVATIONS.create("leaky_relu")
    z = torch.tensor([-2.0, 3.0])
    assert f(z).tolist() == pytest.approx([-0.2, 3.0])  # h = max(0.1 s, s)


def test_sparse_init_gives_each_unit_k_nonzero_weights():
    g = torch.Generator().manual_seed(0)
    w = torch.empty(20, 50)
    initialize(w, {"type": "sparse", "params": {"k": 3, "std": 2.0}}, generator=g)
    nz = (w != 0).sum(dim=1)
    assert nz.tolist() == [3] * 20  # every unit (row: [out][in]) has exactly k inputs
    assert (w != 0).sum(dim=0).max() < 20  # not a fixed count per input column
    big = torch.empty(400, 100)
    initialize(big, {"type": "sparse", "params": {"k": 15, "std": 2.0}}, generator=g)
    assert float(big[big != 0].std()) == pytest.approx(2.0, rel=0.05)
    narrow = torch.empty(5, 2)
    initialize(narrow, "sparse", generator=g)  # k = 15 but only 2 inputs: all connected
    assert bool((narrow != 0).all())
    assert INITIALIZERS.canonical("sparse") == {"type": "sparse", "params": {"k": 15, "std": 1.0}}
    with pytest.raises(InvalidInput, match="replaced by k"):
        initialize(w, {"type": "sparse", "params": {"sparsity": 0.3}}, generator=g)


@pytest.mark.parametrize("opt,loss,regs", [
    ({"type": "nesterov", "params": {"lr": 0.3, "form": "notes"}}, "bce_logits", []),
    ({"type": "momentum", "params": {"lr": 0.3, "form": "velocity"}}, "bce_logits",
     [{"type": "weight_decay", "params": {"lambda": 0.1}}]),
    ({"type": "newton", "params": {"lr": 1.0}}, "mse", []),
])
def test_the_new_forms_save_and_resume_bit_for_bit(opt, loss, regs):
    s = small(opt, epochs=4, batch_size=10, regularizers=regs, seed=4)
    s.loss = {"type": loss, "params": {}}
    s.schedule = {"type": "step", "params": {"every": 1, "t": 0.3}}
    straight = Trainer(s)
    list(straight.run(4))
    first = Trainer(s)
    list(first.run(2, max_steps=7))  # stop in the middle of an epoch
    tensors, meta = first.state()
    resumed = Trainer(s)
    resumed.load_state(tensors, meta)
    list(resumed.run(4))
    for (k, a), (_, b) in zip(straight.model.named_parameters(), resumed.model.named_parameters()):
        assert torch.equal(a, b), k
    assert straight.history.epochs["train_loss"][-1] == resumed.history.epochs["train_loss"][-1]  # (history: the archive)


def test_validate_refuses_clipping_for_lbfgs_before_training(tmp_path, capsys):
    from cli import run_cli
    from engine.session import save_session_json

    s = small({"type": "lbfgs", "params": {}}, clip="value")
    save_session_json(s, tmp_path / "s.json")
    assert run_cli(["validate", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert "gradient clipping cannot be used with lbfgs" in err and err.count("\n") == 1


def test_a_live_change_to_clipping_under_lbfgs_is_refused_at_once():
    tr = Trainer(small({"type": "lbfgs", "params": {}}, epochs=3))
    with pytest.raises(InvalidInput, match="gradient clipping cannot be used with lbfgs"):
        tr.request(clip="norm")
    tr2 = Trainer(small({"type": "adam", "params": {}}, epochs=3, clip="norm"))
    with pytest.raises(InvalidInput, match="cannot be used with newton"):
        tr2.request(optimizer={"type": "newton", "params": {}})
    tr2.request(optimizer={"type": "newton", "params": {}}, clip="none")  # both at once is fine


def test_preflight_warning_names_the_monitored_score_without_a_validation_split():
    from engine.preflight import preflight

    s = small({"type": "sgd", "params": {}}, early_stopping={"patience": 2, "monitor": "val_accuracy"})
    s.dataset = dict(s.dataset, split={"train": 1.0})
    (w,) = [w for w in preflight(s) if "early stopping" in w]
    assert "validation accuracy" in w and "training accuracy" in w
    s.training["early_stopping"] = {"patience": 2, "monitor": "train_loss"}
    assert not [w for w in preflight(s) if "early stopping" in w]  # it asked for the training loss itself
