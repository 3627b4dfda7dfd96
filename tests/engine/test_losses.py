"""Losses against hand-written numpy: values and gradients, plus the pairing warnings."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.losses import LOSSES, check_pairing, get

N, K = 7, 4
rng = np.random.default_rng(0)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _onehot(y, k):
    return np.eye(k)[y]


def _run(spec, out, target):
    """Loss value and d loss / d output from torch autograd (float64)."""
    o = torch.tensor(out, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(target)
    val = get(spec)(o, t)
    val.backward()
    return val.item(), o.grad.numpy()


# Each case: spec, output, target, numpy value, numpy gradient (of the batch mean).
def _cases():
    f = rng.normal(size=(N, K))
    y = rng.normal(size=(N, K))
    e = f - y
    yield "mae", f, y, np.abs(e).sum(1).mean(), np.sign(e) / N
    yield "mse", f, y, (e ** 2).sum(1).mean(), 2 * e / N
    yield {"type": "l2", "params": {"half": True}}, f, y, (0.5 * e ** 2).sum(1).mean(), e / N
    d = 0.7
    hub = np.where(np.abs(e) < d, 0.5 * e ** 2, d * np.abs(e) - 0.5 * d * d)
    yield {"type": "huber", "params": {"delta": d}}, f, y, hub.sum(1).mean(), np.where(np.abs(e) < d, e, d * np.sign(e)) / N

    p = rng.uniform(0.05, 0.95, size=(N, 1))
    yb = rng.integers(0, 2, size=N)
    t = yb[:, None].astype(float)
    yield "bce", p, yb, -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(), -(t / p - (1 - t) / (1 - p)) / N
    z = rng.normal(size=(N, 1)) * 3
    s = _sigmoid(z)
    yield "bce_logits", z, yb, -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean(), (s - t) / N
    ml = rng.integers(0, 2, size=(N, K)).astype(float)  # multi-label targets: summed over units
    zk = rng.normal(size=(N, K))
    sk = _sigmoid(zk)
    yield "bce_logits", zk, ml, -(ml * np.log(sk) + (1 - ml) * np.log(1 - sk)).sum(1).mean(), (sk - ml) / N

    yc = rng.integers(0, K, size=N)
    sm = _softmax(zk)
    oh = _onehot(yc, K)
    yield "cross_entropy", zk, yc, -np.log(sm[np.arange(N), yc]).mean(), (sm - oh) / N
    soft = rng.dirichlet(np.ones(K), size=N)
    yield "categorical_crossentropy", zk, soft, -(soft * np.log(sm)).sum(1).mean(), (sm - soft) / N
    probs = _softmax(rng.normal(size=(N, K)))
    yield ({"type": "cross_entropy", "params": {"from_logits": False}}, probs, yc,
           -np.log(probs[np.arange(N), yc]).mean(), -oh / probs / N)

    pm = 2 * t - 1
    act = (1 - pm * z > 0).astype(float)
    yield "hinge", z, yb, np.maximum(0, 1 - pm * z).mean(), -pm * act / N
    true = zk[np.arange(N), yc][:, None]
    m = np.maximum(0, zk - true + 1.0)
    m[np.arange(N), yc] = 0
    g = (m > 0).astype(float)
    g[np.arange(N), yc] = -g.sum(1)
    yield "multiclass_hinge", zk, yc, m.sum(1).mean(), g / N


@pytest.mark.parametrize("spec,out,target,want,grad", list(_cases()))
def test_value_and_gradient_match_numpy(spec, out, target, want, grad):
    val, g = _run(spec, out, target)
    assert val == pytest.approx(want, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(g, grad, rtol=1e-9, atol=1e-12)


def test_half_mse_gradient_is_prediction_minus_target():
    # Lecture notes: E = ½(y − f)², so dE/df = f − y; seed 000's example f = 0.7525, y = 1.
    val, g = _run({"type": "mse", "params": {"half": True}}, np.array([[0.7525]]), np.array([[1.0]]))
    assert val == pytest.approx(0.5 * (1 - 0.7525) ** 2)
    assert g[0, 0] == pytest.approx(0.7525 - 1.0)
    assert round(val, 4) == 0.0306


def test_bce_lecture_example():
    # Seed 002: prediction 0.521 for target 1 gives −ln(0.521) = 0.652.
    val = get("bce")(torch.tensor([[0.521]]), torch.tensor([1]))
    assert round(val.item(), 3) == 0.652


def test_bce_clamps_saturated_probabilities_to_finite_loss():
    wrong = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    val = get("bce")(wrong, torch.tensor([1, 0]))
    assert val.item() == pytest.approx(-np.log(1e-7), rel=1e-9)
    assert np.isfinite(get("bce")(wrong.float(), torch.tensor([1, 0])).item())


def test_bce_logits_stable_for_huge_logits():
    val = get("bce_logits")(torch.tensor([[200.0], [-200.0]]), torch.tensor([0, 1]))
    assert val.item() == pytest.approx(200.0)


def test_binary_target_forms_agree():
    p = torch.tensor([[0.2], [0.9], [0.6]])
    loss = get("bce")
    ints = loss(p, torch.tensor([0, 1, 1]))
    assert loss(p, torch.tensor([0.0, 1.0, 1.0])).item() == pytest.approx(ints.item())
    assert loss(p, torch.tensor([[0.0], [1.0], [1.0]])).item() == pytest.approx(ints.item())
    two_class = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # what label smoothing gives with ε = 0
    assert loss(p, two_class).item() == pytest.approx(ints.item())


def test_onehot_and_index_targets_agree():
    z = torch.tensor(rng.normal(size=(5, 3)))
    y = torch.tensor([0, 2, 1, 1, 0])
    oh = torch.nn.functional.one_hot(y, 3).double()
    for name in ("cross_entropy", "multiclass_hinge"):
        assert get(name)(z, oh).item() == pytest.approx(get(name)(z, y).item())


def test_mse_on_class_indices_uses_onehot():
    f = torch.tensor([[0.2, 0.7, 0.1]])
    assert get("mse")(f, torch.tensor([1])).item() == pytest.approx(0.2 ** 2 + 0.3 ** 2 + 0.1 ** 2)


@pytest.mark.parametrize("spec,out,target,msg", [
    ("cross_entropy", torch.zeros(2, 3), torch.tensor([0, 3]), "class index 3"),
    ("cross_entropy", torch.zeros(2, 1), torch.tensor([0, 1]), "one output unit per class"),
    ("bce", torch.full((2, 1), 0.5), torch.tensor([0, 2]), "0 or 1"),
    ("bce_logits", torch.zeros(2, 1), torch.tensor([0.5, 1.5]), "[0, 1]"),
    ("mse", torch.zeros(2, 3), torch.zeros(2, 2), "does not match"),
    ("mse", torch.zeros(2, 3), torch.zeros(3, 3), "2 outputs but 3 targets"),
    ("mae", torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), "(N, k)"),
    ("mae", torch.zeros(0, 3), torch.zeros(0, 3), "empty batch"),
])
def test_bad_targets_raise_invalid_input(spec, out, target, msg):
    with pytest.raises(InvalidInput, match=None) as e:
        get(spec)(out, target)
    assert msg in str(e.value)


def test_registry_names_aliases_and_attributes():
    assert LOSSES.canonical("l1") == {"type": "mae", "params": {}}
    assert LOSSES.canonical("categorical_crossentropy")["type"] == "cross_entropy"
    assert get("bce").expects == "probabilities" and get("bce_logits").expects == "logits"
    assert get({"type": "cross_entropy", "params": {"from_logits": False}}).expects == "probabilities"
    assert get("mse").task == "regression" and get("hinge").task == "classification"
    with pytest.raises(InvalidInput, match="'nll'"):
        get("nll")
    with pytest.raises(InvalidInput, match="-1"):
        get({"type": "huber", "params": {"delta": -1}})


# -- pairing ------------------------------------------------------------------------
@pytest.mark.parametrize("loss,act,k,task,needle", [
    ("cross_entropy", "softmax", 3, "classification", "twice"),
    ("bce_logits", "sigmoid", 1, "classification", "twice"),
    ("bce", "relu", 1, "classification", "outside (0, 1)"),
    ("bce", None, 1, "classification", "outside (0, 1)"),
    ("cross_entropy", None, 1, "classification", "1 unit"),
    ("bce", "sigmoid", 3, "classification", "exactly one class"),
    ("mse", "sigmoid", 1, "classification", "saturates"),
    ("mse", None, 1, "classification", "regression loss"),
    ("cross_entropy", None, 1, "regression", "classification loss"),
    ("multiclass_hinge", None, 1, "regression", "classification loss"),
    ("hinge", None, 3, "classification", "multiclass_hinge"),
    ("hinge", "sigmoid", 1, "classification", "margin"),
    ("bce", "softmax", 1, "classification", "always outputs 1"),
    ({"type": "cross_entropy", "params": {"from_logits": False}}, None, 3, "classification", "softmax"),
])
def test_pairing_warnings_fire(loss, act, k, task, needle):
    warnings = check_pairing(loss, act, k, task)
    assert any(needle in w for w in warnings), warnings
    assert all(w.count(". ") == 0 and w.endswith(".") for w in warnings)  # one sentence each


@pytest.mark.parametrize("loss,act,k,task", [
    ("cross_entropy", None, 3, "classification"),
    ("cross_entropy", "linear", 2, "classification"),
    ({"type": "cross_entropy", "params": {"from_logits": False}}, "softmax", 3, "classification"),
    ("bce", "sigmoid", 1, "classification"),
    ("bce_logits", None, 1, "classification"),
    ("mse", None, 2, "regression"),
    ("huber", "identity", 1, "regression"),
    ("bce", "sigmoid", 1, "regression"),  # the notes: values between 0 and 1 → sigmoid + BCE
    ("hinge", None, 1, "classification"),
    ("multiclass_hinge", None, 4, "classification"),
])
def test_pairing_silent_for_good_combinations(loss, act, k, task):
    assert check_pairing(loss, act, k, task) == []


def test_pairing_rejects_bad_arguments():
    with pytest.raises(InvalidInput, match="'clustering'"):
        check_pairing("mse", None, 1, "clustering")
    with pytest.raises(InvalidInput, match="-1"):
        check_pairing("mse", None, -1, "regression")
    # 0 output units = unknown (e.g. a non-flat output): unit-count rules are skipped, others still apply
    assert check_pairing("cross_entropy", None, 0, "classification") == []
    assert any("twice" in w for w in check_pairing("cross_entropy", "softmax", 0, "classification"))
    with pytest.raises(InvalidInput, match="'bogus'"):
        check_pairing("bogus", None, 1, "regression")


def test_training_math_modules_import_without_torch():
    code = ("import sys, engine.losses, engine.optimizers, engine.schedules, engine.regularizers, "
            "engine.early_stopping; engine.losses.LOSSES.canonical('mse'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
