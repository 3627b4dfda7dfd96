"""Regularizers on a stub model (the builder's weight_params()/layers API), and early stopping."""
import numpy as np
import pytest
import torch

from engine.early_stopping import EarlyStopping
from engine.errors import GraphError, InvalidInput
from engine.regularizers import REGULARIZERS, apply_target_transforms, get, regularizers_from, total_penalty
from engine.spec import Node


class Stub(torch.nn.Module):
    """Two Dense layers, h1 and out, exposing the builder's regularization API."""

    input_id, output_id = "x", "out"

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layers = torch.nn.ModuleDict({"h1": torch.nn.Linear(3, 4), "out": torch.nn.Linear(4, 2)})

    def weight_params(self):
        return [(nid, "weight", m.weight) for nid, m in self.layers.items()]

    def forward(self, x):
        return self.layers["out"](torch.tanh(self.layers["h1"](x)))


def _np(p):
    return p.detach().numpy().astype(np.float64)


def test_l1_l2_penalties_equal_numpy_sums():
    m = Stub()
    w1, w2 = _np(m.layers["h1"].weight), _np(m.layers["out"].weight)
    l1 = get({"type": "l1", "params": {"lambda": 0.3}}).penalty(m)
    l2 = get({"type": "l2", "params": {"lambda": 0.3}}).penalty(m)
    assert l1.item() == pytest.approx(0.3 * (np.abs(w1).sum() + np.abs(w2).sum()), rel=1e-6)
    assert l2.item() == pytest.approx(0.3 * ((w1 ** 2).sum() + (w2 ** 2).sum()), rel=1e-6)
    # gradient of λΣw² is 2λw (the "some texts use λ/2" note)
    l2.backward()
    np.testing.assert_allclose(m.layers["h1"].weight.grad.numpy(), 0.6 * w1, rtol=1e-6)
    assert m.layers["h1"].bias.grad is None  # biases are not penalized


def test_per_layer_targeting_and_frozen_layers():
    m = Stub()
    w2 = _np(m.layers["out"].weight)
    pen = get({"type": "l2", "params": {"lambda": 1.0, "layers": ["out"]}}).penalty(m)
    assert pen.item() == pytest.approx((w2 ** 2).sum(), rel=1e-6)
    m.layers["out"].weight.requires_grad_(False)
    assert get({"type": "l2", "params": {"layers": ["out"]}}).penalty(m) is None
    with pytest.raises(InvalidInput, match="layers"):
        get({"type": "l1", "params": {"layers": "out"}})


def test_weight_decay_step():
    """w − ηg − ηλw with w the weights before the step (the notes), not (w − ηg)(1 − ηλ)."""
    m = Stub()
    w1, w2 = _np(m.layers["h1"].weight), _np(m.layers["out"].weight)
    b1 = _np(m.layers["h1"].bias)
    g = np.full_like(w1, 2.0)
    wd = get({"type": "weight_decay", "params": {"lambda": 0.1, "layers": ["h1"]}})
    wd.before_step(m)
    with torch.no_grad():
        m.layers["h1"].weight.sub_(0.5 * torch.as_tensor(g))  # the optimizer's step w − ηg
    wd.after_step(m, lr=0.5)
    np.testing.assert_allclose(_np(m.layers["h1"].weight), w1 - 0.5 * g - 0.5 * 0.1 * w1, rtol=1e-6)
    assert np.abs(_np(m.layers["h1"].weight) - (w1 - 0.5 * g) * (1 - 0.05)).max() > 0.04  # η²λg = 0.05 away
    np.testing.assert_array_equal(_np(m.layers["out"].weight), w2)
    np.testing.assert_array_equal(_np(m.layers["h1"].bias), b1)


def test_activity_l1_uses_hidden_post_activations():
    m = Stub()
    post = torch.tensor([[1.0, -2.0], [0.5, 0.0]], requires_grad=True)
    records = {"x": {"pre": None, "post": torch.ones(2, 3) * 9}, "h1": {"pre": post * 3, "post": post},
               "out": {"pre": None, "post": torch.ones(2, 2) * 7}}
    reg = get({"type": "activity_l1", "params": {"lambda": 0.1}})
    assert reg.needs_records
    assert reg.penalty(m, records).item() == pytest.approx(0.1 * (3.0 + 0.5) / 2)
    only_out = get({"type": "activity_l1", "params": {"lambda": 1.0, "layers": ["out"]}})
    assert only_out.penalty(m, records).item() == pytest.approx(14.0)
    assert total_penalty([reg, get("l1")], m, records).item() == pytest.approx(
        0.175 + 1e-4 * sum(np.abs(_np(p)).sum() for _, _, p in m.weight_params()), rel=1e-5)


def test_weight_noise_is_removed_after_backward():
    m = Stub()
    clean = {k: v.clone() for k, v in m.state_dict().items()}
    reg = get({"type": "weight_noise", "params": {"std": 0.5}})
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))

    reg.before_forward(m, torch.Generator().manual_seed(1))
    noisy = {k: v.clone() for k, v in m.state_dict().items()}
    assert (noisy["layers.h1.weight"] - clean["layers.h1.weight"]).abs().max() > 0.05  # really perturbed
    assert torch.equal(noisy["layers.h1.bias"], clean["layers.h1.bias"])  # biases untouched
    m(x).sum().backward()
    reg.after_backward(m)
    for k, v in m.state_dict().items():
        assert torch.equal(v, clean[k]), k  # bit-for-bit the clean weights
    # ... while the gradient is the one taken at the noisy point
    ref = Stub()
    ref.load_state_dict(noisy)
    ref(x).sum().backward()
    assert torch.allclose(m.layers["h1"].weight.grad, ref.layers["h1"].weight.grad)
    assert not torch.allclose(m.layers["h1"].weight.grad, _grad_at(clean, x))
    reg.after_backward(m)  # idempotent
    assert torch.equal(m.layers["h1"].weight, clean["layers.h1.weight"])


def _grad_at(state, x):
    ref = Stub()
    ref.load_state_dict(state)
    ref(x).sum().backward()
    return ref.layers["h1"].weight.grad


def test_label_smoothing_values():
    reg = get({"type": "label_smoothing", "params": {"epsilon": 0.1}})
    out = reg.transform_targets(torch.tensor([0, 2]), 3, None)
    np.testing.assert_allclose(out.numpy(), [[0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3], [0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]],
                               rtol=1e-6)
    binary = reg.transform_targets(torch.tensor([0, 1]), 2, None)
    np.testing.assert_allclose(binary[:, 1].numpy(), [0.05, 0.95], rtol=1e-6)  # y·(1−ε) + ε/2
    with pytest.raises(InvalidInput, match="classes"):
        reg.transform_targets(torch.tensor([0]), 1, None)


def test_label_noise_flip_rate():
    y = torch.arange(10000) % 4
    reg = get({"type": "label_noise", "params": {"p": 0.2}})
    out = reg.transform_targets(y, 4, torch.Generator().manual_seed(0))
    flipped = out != y
    assert abs(flipped.float().mean().item() - 0.2) < 0.015  # ~4.5σ for Binomial(10000, 0.2)
    assert out.min() >= 0 and out.max() <= 3
    # flips go to the other classes uniformly
    counts = torch.bincount((out[flipped] - y[flipped]) % 4, minlength=4)
    assert counts[0] == 0 and (counts[1:].float() / counts.sum() - 1 / 3).abs().max() < 0.04
    again = reg.transform_targets(y, 4, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # seeded → reproducible
    with pytest.raises(InvalidInput, match="cannot flip regression targets"):
        reg.transform_targets(torch.zeros(3, 2), 0, None)  # a regression set has no labels (n_classes 0)


def test_multi_label_targets_flip_each_label_and_smooth_towards_a_half():
    """k independent yes/no labels: noise flips each entry with probability p; smoothing gives (1−ε)y + ε/2."""
    g = torch.Generator().manual_seed(1)
    y = (torch.rand(20000, 3, generator=g) < 0.3).float()
    out = get({"type": "label_noise", "params": {"p": 0.1}}).transform_targets(y, 3, torch.Generator().manual_seed(0))
    flipped = out != y
    assert abs(flipped.float().mean().item() - 0.1) < 0.006 and torch.equal(out[flipped], 1 - y[flipped])
    assert set(out.unique().tolist()) == {0.0, 1.0}
    smooth = get({"type": "label_smoothing", "params": {"epsilon": 0.2}}).transform_targets(y[:4], 3, None)
    np.testing.assert_allclose(smooth.numpy(), (0.8 * y[:4] + 0.1).numpy())  # 1 → 0.9, 0 → 0.1, not 0.2/3
    with pytest.raises(InvalidInput, match="0/1 label rows"):
        get({"type": "label_smoothing", "params": {"epsilon": 0.2}}).transform_targets(torch.full((2, 3), 0.5), 3, None)


def test_target_transforms_run_noise_before_smoothing():
    regs = regularizers_from([{"type": "label_smoothing", "params": {"epsilon": 0.0}},
                              {"type": "label_noise", "params": {"p": 1.0}}], [])
    out = apply_target_transforms(regs, torch.tensor([0, 0, 0]), 2, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(out.numpy(), [[0, 1]] * 3)  # every label flipped, then one-hot


def test_max_norm_regularizer_after_step():
    m = Stub()
    get({"type": "max_norm", "params": {"max_norm": 0.1, "layers": ["h1"]}}).after_step(m, 0.1)
    norms = torch.linalg.vector_norm(m.layers["h1"].weight, dim=1)
    assert norms.max().item() <= 0.1 + 1e-6


def test_regularizers_from_combines_global_and_per_node():
    nodes = [Node("x", "Input"), Node("h1", "Dense", regularizers=[{"type": "l1", "params": {"lambda": 2.0}}]),
             Node("out", "Dense")]
    regs = regularizers_from(["l2", {"type": "weight_decay", "params": {"layers": ["out"]}}], nodes)
    assert [(r.name, r.layers) for r in regs] == [("l2", ()), ("weight_decay", ("out",)), ("l1", ("h1",))]
    m = Stub()
    want = 1e-4 * (_np(m.layers["h1"].weight) ** 2).sum() + 1e-4 * (_np(m.layers["out"].weight) ** 2).sum() \
        + 2.0 * np.abs(_np(m.layers["h1"].weight)).sum()
    assert total_penalty(regs, m).item() == pytest.approx(want, rel=1e-5)
    with pytest.raises(InvalidInput, match="'nope'"):
        regularizers_from([{"type": "l2", "params": {"layers": ["nope"]}}], nodes)
    with pytest.raises(GraphError, match="h1"):
        regularizers_from([], [Node("h1", "Dense", regularizers=["label_smoothing"])])
    with pytest.raises(InvalidInput, match="'l3'"):
        regularizers_from(["l3"], nodes)
    assert set(REGULARIZERS.names()) >= {"l1", "l2", "weight_decay", "activity_l1", "weight_noise",
                                          "label_smoothing", "label_noise"}


# -- early stopping -------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_best():
    m = Stub()
    es = EarlyStopping(patience=2, min_delta=0.01)
    losses = [1.0, 0.8, 0.6, 0.595, 0.7, 0.5]
    stops = []
    for epoch, loss in enumerate(losses):
        with torch.no_grad():
            m.layers["out"].bias.fill_(epoch)  # weights that identify the epoch
        stops.append(es.update(epoch, loss, m))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, True]  # 0.595 is not better by > 0.01
    assert es.best_epoch == 2 and es.best_value == 0.6 and es.stopped_epoch == 4
    assert es.best_state["layers.out.bias"].device.type == "cpu"
    assert es.restore(m) and m.layers["out"].bias.tolist() == [2.0, 2.0]


def test_early_stopping_modes_nan_and_state():
    es = EarlyStopping(patience=1, monitor="val_accuracy", restore_best=False)
    assert es.mode == "max"
    assert not es.update(0, 0.5) and not es.update(1, 0.7)
    assert es.update(2, float("nan"))  # NaN never improves
    assert not es.restore(Stub())
    es2 = EarlyStopping(patience=1, monitor="val_accuracy")
    es2.load_state_dict(es.state_dict())
    assert (es2.best_epoch, es2.best_value, es2.bad_epochs) == (1, 0.7, 1)
    assert EarlyStopping(patience=0).update(0, 1.0) is False
    with pytest.raises(InvalidInput, match="-1"):
        EarlyStopping(patience=-1)
    with pytest.raises(InvalidInput, match="None"):
        EarlyStopping(patience=1).update(0, None)
