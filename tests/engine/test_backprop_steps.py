"""The backprop step inspector against hand-written float64 numpy passes.

Every expected number is computed here by numpy from the session's weights, never taken from
the inspector or from torch; the notes' printed figures are checked only through their verdicts.
"""
import math
from pathlib import Path

import numpy as np
import pytest

from engine.backprop_steps import Inspector, fmt, update_formula
from engine.errors import InvalidInput
from engine.notes_figures import classify, figures_for, verdicts, Figure
from engine.session import Session, load_session
from tests.engine.test_worked_examples import _params, numpy_two_layer, sigmoid

EX = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.mark.parametrize("name,loss", [("xor_worked_example", "half_mse"), ("three_four_one_worked_example", "bce")])
def test_forward_backward_update_match_numpy(name, loss):
    W1, b1, W2, b2, hid, out, x, y = _params(EX / f"{name}.json")
    ref = numpy_two_layer(x, W1, b1, W2, b2, np.array([y]), loss, 0.5)
    insp = Inspector(load_session(EX / f"{name}.json"))
    p = insp.preview_update()
    h, o = p.nodes[hid], p.nodes[out]
    np.testing.assert_allclose(h.z[0], ref["z_in"], atol=1e-14)
    np.testing.assert_allclose(h.a[0], ref["z"], atol=1e-14)
    np.testing.assert_allclose(o.z[0], ref["f_in"], atol=1e-14)
    np.testing.assert_allclose(o.a[0], ref["f"], atol=1e-14)
    assert p.loss == pytest.approx(ref["L"], abs=1e-14)
    f = ref["f"]
    dL_df = f - y if loss == "half_mse" else -y / f + (1 - y) / (1 - f)
    np.testing.assert_allclose(o.dL_da[0], dL_df, atol=1e-13)
    np.testing.assert_allclose(o.fprime[0], f * (1 - f), atol=1e-14)
    np.testing.assert_allclose(o.delta[0], ref["gb2"], atol=1e-13)
    # ∂L/∂a of the hidden layer is what the output layer sends back: Wᵀδ
    np.testing.assert_allclose(h.dL_da[0], W2.T @ ref["gb2"], atol=1e-13)
    np.testing.assert_allclose(h.sent_back[out][0], W2.T @ ref["gb2"], atol=1e-13)
    np.testing.assert_allclose(h.fprime[0], ref["z"] * (1 - ref["z"]), atol=1e-14)
    np.testing.assert_allclose(p.grads[f"{hid}.weight"], ref["gW1"], atol=1e-13)
    np.testing.assert_allclose(p.grads[f"{out}.bias"], ref["gb2"], atol=1e-13)
    np.testing.assert_allclose(p.updates[f"{hid}.weight"].new, ref["new"]["W1"], atol=1e-13)
    np.testing.assert_allclose(p.updates[f"{out}.weight"].new, ref["new"]["W2"], atol=1e-13)
    np.testing.assert_allclose(p.output_after[0], ref["f_after"], atol=1e-13)
    assert insp.check() < 1e-14


def test_gradient_sentence_writes_the_chain_rule_with_numbers():
    insp = Inspector(load_session(EX / "xor_worked_example.json"))
    # δ of the output unit: (f − y)·f(1 − f) at the exact f; a₁ the first hidden activation
    f = sigmoid(sigmoid(-0.53) * -0.22 + sigmoid(1.04) * 0.58 + 0.78)
    s = insp.gradient_sentence("f.weight", (0, 0))
    assert s == "∂L/∂w₁₁ [f] = δ₁ · a₁ = −0.0452 × 0.3705 = −0.0168"
    assert (f - 1) * f * (1 - f) == pytest.approx(-0.0452, abs=5e-5)
    full = insp.gradient_sentence("f.weight", (0, 0), precision=None)
    a1 = float(sigmoid(-0.53))
    assert f" × {a1!r} = " in full  # the float64 value, all 17 digits
    assert abs(float(full.rsplit("= ", 1)[1]) - (f - 1) * f * (1 - f) * a1) < 1e-16
    assert insp.update_sentence("z.weight", (0, 0)) == "w′ = w − η·g = −0.0700 − 0.5000 × 0.0023 = −0.0712"


def test_fmt_precision():
    assert fmt(-0.016758) == "−0.0168" and fmt(-0.00001) == "0.0000" and fmt(0.1, None) == "0.1"
    assert fmt(1 / 3, None) == repr(1 / 3)


def test_notes_slips_are_marked_against_float64():
    xor = load_session(EX / "xor_worked_example.json")
    title, figs = figures_for(xor)
    vs = {v.figure.label: v for v in verdicts(Inspector(xor), figs)}
    exact_fin = sigmoid(-0.53) * -0.22 + sigmoid(1.04) * 0.58 + 0.78
    assert vs["f_in"].status == "slip" and vs["f_in"].exact == pytest.approx(exact_fin, abs=1e-15)
    assert exact_fin == pytest.approx(1.12702, abs=5e-6)
    assert vs["f_out"].status == "inherited"  # σ(1.1122) is what they print
    assert vs["z₁,out"].status == "matches" and vs["z₂,out"].status == "matches"
    assert vs["W₁₁ new"].status == "matches"

    s341 = load_session(EX / "three_four_one_worked_example.json")
    title, figs = figures_for(s341)
    insp = Inspector(s341)
    vs = {v.figure.label: v for v in verdicts(insp, figs)}
    W1, b1, W2, b2, *_, x, y = _params(EX / "three_four_one_worked_example.json")
    a = sigmoid(W1 @ x + b1)
    delta_h = (W2.T @ (sigmoid(W2 @ a + b2) - y)) * a * (1 - a)
    assert vs["b¹₃ new"].status == "slip" and vs["b¹₃ new"].exact == pytest.approx(-0.5 * delta_h[2], abs=1e-15)
    assert -0.5 * delta_h[2] == pytest.approx(0.000274, abs=5e-7)
    assert vs["y"].status == "matches" and vs["E"].status == "matches"
    assert vs["φ¹₁"].status == "last digit"  # 0.8462 printed 0.845
    # y₁..y₆ after repeated steps, from numpy
    expected = []
    for _ in range(6):
        r = numpy_two_layer(x, W1, b1, W2, b2, np.array([y]), "bce", 0.5)
        W1, b1, W2, b2 = (r["new"][k] for k in ("W1", "b1", "W2", "b2"))
        expected.append(r["f_after"][0])
    for k in range(1, 7):
        insp.step()
        (v,) = verdicts(insp, figs)
        assert v.exact == pytest.approx(expected[k - 1], abs=1e-13)
    assert figures_for(Session.from_dict({**s341.to_dict(), "seed": 3})) is not None  # renamed/reseeded copy
    edited = s341.to_dict()
    edited["dataset"]["params"]["x"] = [[7, 8, 11]]
    assert figures_for(Session.from_dict(edited)) is None


def test_classify_statuses():
    f = Figure("q", "loss", "", (), "1.1122", own=1.12705)
    assert classify(f, 1.12702).status == "slip"
    assert classify(Figure("q", "loss", "", (), "0.7525", own=0.75254), 0.7553).status == "inherited"
    assert classify(Figure("q", "loss", "", (), "0.845"), 0.84619).status == "last digit"
    assert classify(Figure("q", "loss", "", (), "0.845"), 0.84549).status == "matches"
    assert classify(Figure("q", "loss", "", (), "0.80"), 0.9).status == "differs"


DAG = {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "a", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
    {"id": "b", "type": "Dense", "params": {"units": 3, "activation": "relu"}},
    {"id": "c", "type": "Dense", "params": {"units": 3, "activation": "sigmoid"}},
    {"id": "sum", "type": "Add"},
    {"id": "cat", "type": "Concatenate"},
    {"id": "out", "type": "Dense", "params": {"units": 1}},
    {"id": "output", "type": "Output"}],
    "edges": [{"from": u, "to": v} for u, v in (
        ("input", "a"), ("input", "b"), ("b", "c"), ("a", "sum"), ("b", "sum"), ("c", "sum"),
        ("sum", "cat"), ("input", "cat"), ("a", "cat"), ("cat", "out"), ("out", "output"))]}


def _dag_session(optimizer=None):
    return Session.from_dict({
        "graph": DAG, "seed": 5,
        "dataset": {"type": "inline", "params": {"x": [[0.5, -1.2], [1.5, 0.3], [-0.7, 0.9]], "y": [1, 0, 1],
                                                 "task": "classification"}, "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
        "loss": "bce_logits", "optimizer": optimizer or {"type": "sgd", "params": {"lr": 0.1}}})


def test_add_concatenate_dag_matches_numpy_backward():
    insp = Inspector(_dag_session(), samples=[0, 2])
    p = insp.current()
    P = {k: v for k, v in p.params.items()}
    X = p.x
    y = np.array([1.0, 1.0])[:, None]
    za = X @ P["a.weight"].T + P["a.bias"]
    a = np.tanh(za)
    zb = X @ P["b.weight"].T + P["b.bias"]
    b = np.maximum(zb, 0)
    zc = b @ P["c.weight"].T + P["c.bias"]
    c = sigmoid(zc)
    s = a + b + c
    cat = np.concatenate([s, X, a], axis=1)
    z = cat @ P["out.weight"].T + P["out.bias"]
    L = np.mean(np.logaddexp(0, z) - y * z)
    assert p.loss == pytest.approx(L, abs=1e-14)
    dz = (sigmoid(z) - y) / 2
    dcat = dz @ P["out.weight"]
    ds, da_cat = dcat[:, :3], dcat[:, 5:]
    dzc = ds * c * (1 - c)
    db = ds + dzc @ P["c.weight"]
    da = ds + da_cat
    dza, dzb = da * (1 - a ** 2), db * (zb > 0)
    np.testing.assert_allclose(p.nodes["a"].dL_da, da, atol=1e-14)
    np.testing.assert_allclose(p.nodes["a"].sent_back["sum"], ds, atol=1e-14)
    np.testing.assert_allclose(p.nodes["a"].sent_back["cat"], da_cat, atol=1e-14)
    np.testing.assert_allclose(p.nodes["b"].sent_back["c"], dzc @ P["c.weight"], atol=1e-14)
    np.testing.assert_allclose(p.nodes["b"].fprime, (zb > 0).astype(float), atol=0)
    np.testing.assert_allclose(p.grads["a.weight"], dza.T @ X, atol=1e-14)
    np.testing.assert_allclose(p.grads["b.weight"], dzb.T @ X, atol=1e-14)
    np.testing.assert_allclose(p.grads["c.weight"], dzc.T @ b, atol=1e-14)
    np.testing.assert_allclose(p.grads["out.weight"], dz.T @ cat, atol=1e-14)
    assert insp.check() < 1e-14
    # a mini-batch gradient is written as a sum over the samples of δ·a (δ carries the mean's 1/B)
    sent = insp.gradient_sentence("c.weight", (1, 2))
    assert sent.startswith("∂L/∂w₂₃ [c] = Σ_batch δ₂ · a₃ = ") and sent.count("×") == 2


@pytest.mark.parametrize("opt", [
    {"type": "momentum", "params": {"lr": 0.1, "momentum": 0.9}},
    {"type": "momentum", "params": {"lr": 0.1, "momentum": 0.8, "form": "ema"}},
    {"type": "momentum", "params": {"lr": 0.1, "momentum": 0.8, "form": "velocity"}},
    {"type": "nesterov", "params": {"lr": 0.1, "momentum": 0.9}},
    {"type": "adagrad", "params": {"lr": 0.1}},
    {"type": "rmsprop", "params": {"lr": 0.01, "rho": 0.9}},
    {"type": "adam", "params": {"lr": 0.05}},
    {"type": "adamw", "params": {"lr": 0.05, "weight_decay": 0.1}},
])
def test_update_formula_is_the_optimizers_step(opt):
    insp = Inspector(_dag_session(opt), samples=[0, 1, 2])
    for _ in range(3):
        p = insp.preview_update()
        spec = insp.session.optimizer
        for name, u in p.updates.items():
            for index in np.ndindex(u.new.shape):
                _, calc = update_formula(spec, p.lr, u, index, None)
                assert calc == pytest.approx(float(u.new[index]), abs=1e-13), (name, index)
        insp.step()
    assert insp.depth == 3


def test_adam_three_steps_against_numpy():
    insp = Inspector(_dag_session({"type": "adam", "params": {"lr": 0.05, "beta1": 0.8, "beta2": 0.9}}), samples=0)
    w = insp.current().params["out.bias"].copy()
    m = v = 0.0
    for t in range(1, 4):
        g = insp.current().grads["out.bias"][0]
        m, v = 0.8 * m + 0.2 * g, 0.9 * v + 0.1 * g * g
        w = w - 0.05 * (m / (1 - 0.8 ** t)) / (math.sqrt(v / (1 - 0.9 ** t)) + 1e-8)
        u = insp.preview_update().updates["out.bias"]
        assert u.state_after["exp_avg"][0] == pytest.approx(m, abs=1e-15)
        assert u.state_after["exp_avg_sq"][0] == pytest.approx(v, abs=1e-15)
        insp.step()
        np.testing.assert_allclose(insp.current().params["out.bias"], w, atol=1e-15)


def test_step_back_restores_weights_and_state():
    insp = Inspector(_dag_session({"type": "adam", "params": {"lr": 0.05}}))
    first = insp.current()
    insp.step()
    second = insp.current()
    insp.step()
    back = insp.back()
    for k in second.params:
        np.testing.assert_array_equal(back.params[k], second.params[k])
    insp.back()
    assert insp.current().loss == first.loss and insp.depth == 0
    with pytest.raises(InvalidInput, match="nothing to step back"):
        insp.back()


def test_repeating_steps_after_back_is_deterministic():
    a = Inspector(_dag_session({"type": "adam", "params": {"lr": 0.05}}))
    b = Inspector(_dag_session({"type": "adam", "params": {"lr": 0.05}}))
    for _ in range(2):
        a.step()
    b.step(), b.step(), b.back(), b.step()
    assert a.current().loss == b.current().loss
    np.testing.assert_array_equal(a.current().params["a.weight"], b.current().params["a.weight"])


def test_bad_inputs_are_refused_with_a_reason():
    s = load_session(EX / "xor_worked_example.json")
    with pytest.raises(InvalidInput, match="out of range: the train split has 1 samples"):
        Inspector(s, samples=3)
    with pytest.raises(InvalidInput, match="at least one sample"):
        Inspector(s, samples=[])
    with pytest.raises(InvalidInput, match="different network"):
        Inspector(s, weights={"layers.z.weight": np.zeros((2, 2))})
    with pytest.raises(InvalidInput, match="learning rate"):
        Inspector(s, lr=float("nan"))


def test_starts_from_a_runs_current_moment():
    from engine import Run

    run = Run(_dag_session({"type": "momentum", "params": {"lr": 0.1}}), path="torch")
    run.fit(3)
    with run.snapshot() as tr:
        state = tr.optimizer.state_dict()
    insp = Inspector(run.session, weights=run.weights(), optimizer_state=state, samples=[0, 1, 2])
    p = insp.current()
    logits = run.predict(run.data.x_train, logits=True, preprocessed=True)
    np.testing.assert_allclose(p.output, logits, atol=1e-6)  # float32 run vs float64 inspector
    u = insp.preview_update().updates["out.bias"]
    buf = state["state"][len(list(insp.model.trainable_parameters())) - 1]["momentum_buffer"].double().numpy()
    np.testing.assert_allclose(u.state_before["momentum_buffer"], buf, atol=0)
    np.testing.assert_allclose(u.new, u.old - 0.1 * (0.9 * buf + u.grad), atol=1e-12)


def test_input_shape_mismatch_is_refused():
    s = _dag_session()
    d = s.to_dict()
    d["graph"]["nodes"][0]["params"]["shape"] = [3]
    with pytest.raises(InvalidInput, match=r"inputs have shape \(2,\) but the Input node expects \(3,\)"):
        Inspector(Session.from_dict(d))
