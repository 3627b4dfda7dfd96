"""Lecture 003's common mistakes made on purpose: what each does, against independent computations."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.mistakes import demonstrate, eval_mode_spread, softmax_variants, zero_grad_curves
from engine.session import Session

ROOT = Path(__file__).resolve().parents[2]


def linear_session(**changes):
    """y = w·x on 1-D data, full batch, plain SGD: the loss and gradients can be followed by hand."""
    doc = {"seed": 0,
           "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [1]}},
                                {"id": "d", "type": "Dense", "params": {"units": 1, "use_bias": False},
                                 "init": {"weight": {"type": "values", "params": {"values": [[0.0]]}}}},
                                {"id": "out", "type": "Output"}]},
           "dataset": {"type": "inline", "params": {"x": [[1.0], [2.0], [3.0]], "y": [[2.0], [4.0], [6.0]],
                                                    "task": "regression"},
                       "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
           "loss": "mse", "optimizer": {"type": "sgd", "params": {"lr": 0.05}},
           "training": {"batch_size": 0, "epochs": 1}}
    doc.update(changes)
    return Session.from_dict(doc)


def test_without_zero_grad_each_step_uses_the_sum_of_all_gradients():
    """L(w) = mean (w x − 2x)² = (14/3)(w − 2)²: g(w) = (28/3)(w − 2). Without zero_grad, w −= η·Σ g(w_j)."""
    right, wrong = zero_grad_curves(linear_session(), steps=30)
    g = lambda w: 28 / 3 * (w - 2)  # noqa: E731
    loss = lambda w: 14 / 3 * (w - 2) ** 2  # noqa: E731
    w, ws = 0.0, []
    for _ in range(30):
        ws.append(loss(w))
        w -= 0.05 * g(w)
    np.testing.assert_allclose(right, ws, rtol=1e-4, atol=1e-6)  # float32
    w, acc, wl = 0.0, 0.0, []
    for _ in range(30):
        wl.append(loss(w))
        acc += g(w)
        w -= 0.05 * acc
    np.testing.assert_allclose(wrong, wl, rtol=1e-4)
    assert right[-1] < 1e-6 < wrong[-1]


def test_train_mode_evaluation_varies_only_with_dropout():
    from engine import Run

    doc = json.loads((ROOT / "resources/examples/circle_playground.json").read_text())
    doc["dataset"]["params"]["n"] = 200
    layers = doc["graph"]["layers"]
    run = Run(dict(doc), path="torch")
    run.fit(2)
    right, wrong = eval_mode_spread(run, repeats=5)
    assert np.allclose(wrong, right, rtol=1e-6)  # no dropout, no batch norm: the modes agree
    layers.insert(2, {"id": "drop", "type": "Dropout", "params": {"p": 0.5}})
    run = Run(dict(doc), path="torch")
    run.fit(2)
    right, wrong = eval_mode_spread(run, repeats=5)
    with run.snapshot() as tr:
        model = tr.model
        model.eval()
        with torch.no_grad():
            independent = float(tr.loss_fn(model(tr.x["test"]), tr.y["test"]))
        model.train()
    assert right == pytest.approx(independent, rel=1e-6)
    assert len(set(np.round(wrong, 9))) == 5 and np.ptp(wrong) > 1e-3  # a different number every time


def test_softmax_into_a_logits_loss_is_squashed_twice():
    from engine.graph import last_activation  # noqa: F401 - the same walk the pairing warning uses

    doc = json.loads((ROOT / "resources/examples/blobs_softmax.json").read_text())
    s = Session.from_dict(doc)
    good, bad, squash = softmax_variants(s)
    assert squash == "softmax"
    last = [n for n in bad.graph.nodes if n.type == "Dense"][-1]
    assert last.params["activation"] == "softmax"
    assert [n for n in good.graph.nodes if n.type == "Dense"][-1].params["activation"] == "identity"
    z = torch.tensor([[4.0, 0.0, -4.0]])
    once = torch.nn.functional.cross_entropy(z, torch.tensor([0]))
    twice = torch.nn.functional.cross_entropy(torch.softmax(z, 1), torch.tensor([0]))
    assert float(twice) > 0.5 > float(once)  # a confident right answer still costs ~0.55 when squashed twice
    demo = demonstrate(s, "softmax_logits", epochs=8)
    assert demo.numbers["final_wrong"] > demo.numbers["final_right"]


def test_leaked_test_rows_score_better_than_when_kept_apart():
    """Noisy moons and a big net: the rows it also trained on (noisy labels and all) get a lower loss."""
    doc = json.loads((ROOT / "resources/examples/moons_overfit_l2.json").read_text())
    doc["regularizers"] = []
    doc["dataset"]["params"].update(n=120, noise=0.35)
    doc["training"].update(batch_size=10, early_stopping=None)
    demo = demonstrate(Session.from_dict(doc), "test_leak", epochs=30)
    assert demo.numbers["final_leaked"] < 0.8 * demo.numbers["final_clean"]
    assert len(demo.right) == len(demo.wrong) == 30 and "On the same" in demo.verdict


def test_bad_requests_are_one_line():
    with pytest.raises(InvalidInput, match="no mistake 'typo'"):
        demonstrate(linear_session(), "typo")
    with pytest.raises(InvalidInput, match="needs a closure"):
        zero_grad_curves(linear_session(optimizer={"type": "lbfgs", "params": {}}), steps=3)
    with pytest.raises(InvalidInput, match="needs a loss on logits"):
        softmax_variants(linear_session())
