"""Smaller worked examples and claims of the notes, each reproduced by computation."""
import math

import numpy as np
import pytest
import torch

from engine.graph import analyze
from engine.schedules import get as schedule
from engine.session import Session
from engine.spec import GraphSpec
from engine.trace import trace


def chain(widths, act="sigmoid"):
    layers = [{"id": "in", "type": "Input", "params": {"shape": [widths[0]]}}]
    layers += [{"id": f"d{i}", "type": "Dense", "params": {"units": w, "activation": act}} for i, w in enumerate(widths[1:], 1)]
    return GraphSpec.from_dict({"layers": layers + [{"id": "out", "type": "Output"}]})


def test_how_many_parameters_lecture_001():
    """2 inputs, two hidden layers of 4, one output: 12 + 20 + 5 (the slide says "5 inputs + bias"
    for layer 2; its 20 = 4 nodes × (4 inputs + bias))."""
    rep = analyze(chain([2, 4, 4, 1]))
    assert [rep.param_counts[f"d{i}"] for i in (1, 2, 3)] == [12, 20, 5] and rep.total_params == 37


def test_number_of_weights_formula_lecture_003():
    """Σ_{i=1..l} m_i·m_{i-1} + m_i, layer 0 being the input."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = [int(v) for v in rng.integers(1, 30, size=int(rng.integers(2, 6)))]
        assert analyze(chain(m)).total_params == sum(m[i] * m[i - 1] + m[i] for i in range(1, len(m)))


def test_epoch_batch_size_and_iterations_lecture_002():
    """2000 training examples with batch size 20 take 100 iterations per epoch."""
    from engine.trainer import Trainer

    s = Session.from_dict({"graph": {"layers": [{"type": "Input", "params": {"shape": [2]}}, {"type": "Dense", "params": {"units": 1}},
                                                {"type": "Output"}]},
                           "dataset": {"type": "gauss", "params": {"n": 2000}, "split": {"train": 1.0}},
                           "training": {"batch_size": 20, "stats_every": 10_000}})
    tr = Trainer(s)
    assert len(tr.data.y_train) == 2000 and tr.steps_per_epoch == 100
    evs = list(tr.run(1))
    steps = [ev for ev in evs if type(ev).__name__ == "Step"]
    assert len(steps) == 100 and steps[-1].step == 100
    (end,) = [ev for ev in evs if type(ev).__name__ == "EpochEnd"]  # lecture 003's timings: < 500 ms per iteration
    assert end.steps_per_second == pytest.approx(100 / end.seconds) and end.seconds / 100 < 0.5


def logistic_session(w=3.0, x=3.0, y=1):
    return Session.from_dict({
        "graph": {"layers": [{"id": "x", "type": "Input", "params": {"shape": [1]}},
                             {"id": "p", "type": "Dense", "params": {"units": 1, "activation": "sigmoid", "use_bias": False},
                              "init": {"weight": {"type": "values", "params": {"values": [[w]]}}}},
                             {"id": "out", "type": "Output"}]},
        "dataset": {"type": "inline", "params": {"x": [[x]], "y": [y], "task": "classification"}},
        "loss": "bce", "optimizer": {"type": "sgd", "params": {"lr": 0.1}},
    })


def test_logistic_regression_derivative_at_x3_w3_lecture_001():
    """dL/dW of −y·log σ(WX) at X = 3, y = 1, W = 3 is −X·e^{−9}/(1 + e^{−9}) = −0.00037018...

    The notes' tables print +0.00037018372: the ξ4 row drops the minus sign of −1/ξ3². Reverse mode
    (backpropagation, the engine's trace) and forward mode (a directional derivative) agree.
    """
    t = trace(logistic_session())
    want = -3 * math.exp(-9) / (1 + math.exp(-9))
    assert t["gradients"]["p.weight"][0][0] == pytest.approx(want, rel=1e-9)
    assert abs(t["gradients"]["p.weight"][0][0]) == pytest.approx(0.00037018372, abs=1e-11)
    # forward mode, the notes' table row by row: carry dξ/dW along with ξ
    X, W, y = 3.0, 3.0, 1.0
    xi1, d1 = -W * X, -X
    xi2, d2 = math.exp(xi1), math.exp(xi1) * d1
    xi3, d3 = 1 + xi2, d2
    xi4, d4 = 1 / xi3, -d3 / xi3 ** 2
    xi5, d5 = math.log(xi4), d4 / xi4
    assert -y * xi5 == pytest.approx(t["loss"], rel=1e-12)
    assert -y * d5 == pytest.approx(want, rel=1e-12)


def test_three_four_one_hidden_layer_updates_lecture_002():
    """dE/dw¹₁₃ = −0.055, dE/dw¹₄₃ = 0.045 and dE/db¹₃ = −0.0005 (printed −0.001). The slide then writes
    w¹₁₃ = 0.01 − 0.05·(−0.055) = 0.0375: that result needs η = 0.5 (the rate the example set), not 0.05."""
    from pathlib import Path

    from engine.session import load_session

    path = Path(__file__).resolve().parents[2] / "resources" / "examples" / "three_four_one_worked_example.json"
    t = trace(load_session(path), lr=0.5)
    g = np.array(t["gradients"]["hidden.weight"])  # [unit j][input i]
    assert g[0, 2] == pytest.approx(-0.055, abs=5e-4) and g[3, 2] == pytest.approx(0.045, abs=5e-4)
    assert t["gradients"]["hidden.bias"][2] == pytest.approx(-0.00055, abs=5e-5)
    assert t["updated"]["hidden.weight"][0][2] == pytest.approx(0.01 - 0.5 * g[0, 2], abs=1e-12)
    assert t["updated"]["hidden.weight"][0][2] == pytest.approx(0.0375, abs=3e-4)
    assert abs(0.01 - 0.05 * -0.055 - 0.0375) > 0.02


def test_equal_initial_weights_never_break_the_symmetry_lectures_001_003():
    from engine.trainer import Trainer

    def hidden_after_training(init):
        s = Session.from_dict({
            "seed": 0,
            "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                                 {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}, "init": {"weight": init}},
                                 {"id": "o", "type": "Dense", "params": {"units": 1}, "init": {"weight": init}},
                                 {"type": "Output"}]},
            "dataset": {"type": "circle", "params": {"n": 60}},
            "optimizer": {"type": "sgd", "params": {"lr": 0.1}}, "training": {"epochs": 5, "batch_size": 10}})
        tr = Trainer(s)
        list(tr.run())
        return tr.model.layers["h"].weight.detach().numpy()

    same = hidden_after_training({"type": "constant", "params": {"value": 0.3}})
    assert np.ptp(same, axis=0).max() < 1e-6 and np.ptp(same[:, 0]) == 0.0  # every unit computes the same function
    assert abs(same[0, 0] - 0.3) > 1e-3  # ... although the weights did move
    rand = hidden_after_training({"type": "xavier_uniform"})
    assert np.ptp(rand, axis=0).min() > 0.05


def test_exploding_and_vanishing_gradients_in_a_linear_chain_lecture_001():
    """h_n = Wⁿx with W = diag(a, b), x = (1, 1): ∇_(a,b) Σh_n = (n·aⁿ⁻¹, n·bⁿ⁻¹)."""
    n = 20
    for (a0, b0), want in (((1.0, 2.0), (n, n * 2.0 ** (n - 1))), ((0.5, 0.9), (n * 0.5 ** 19, n * 0.9 ** 19))):
        ab = torch.tensor([a0, b0], dtype=torch.float64, requires_grad=True)
        h = torch.ones(2, dtype=torch.float64)
        for _ in range(n):
            h = torch.diag(ab) @ h
        h.sum().backward()
        np.testing.assert_allclose(ab.grad.numpy(), want, rtol=1e-12)
    assert n * 2.0 ** (n - 1) > 1e7 and n * 0.5 ** 19 < 1e-4  # explodes / vanishes


def test_step_size_conditions_for_sgd_convergence_lecture_003():
    """Σα_n = ∞ and Σα_n² < ∞: 1/(1 + t·epoch) decay meets both, exponential decay fails the first."""
    inv = schedule({"type": "inverse_time", "params": {"decay": 1.0}}, 1.0)
    a = np.array([inv.lr(e) for e in range(200_000)])
    assert a[:100_000].sum() == pytest.approx(sum(1 / k for k in range(1, 100_001)))
    assert a.sum() - a[:100_000].sum() == pytest.approx(math.log(2), abs=1e-4)  # keeps growing like log n
    assert (a ** 2).sum() == pytest.approx(math.pi ** 2 / 6, abs=1e-5)
    exp = schedule({"type": "exponential", "params": {"gamma": 0.9}}, 1.0)
    assert sum(exp.lr(e) for e in range(2000)) == pytest.approx(10.0)  # bounded: may stop short of a minimum


def test_manual_training_schedule_lecture_003():
    s = schedule({"type": "manual", "params": {"every": 3, "factors": [1.0, 0.5, 0.1]}}, 0.2)
    assert [s.lr(e) for e in range(10)] == pytest.approx([0.2] * 3 + [0.1] * 3 + [0.02] * 4)
    assert s.state_dict() == {}
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput, match="empty"):
        schedule({"type": "manual", "params": {"factors": []}}, 0.1)


def test_one_hidden_layer_approximates_a_smooth_function_lecture_001():
    """Universal approximation: one hidden layer of tanh units fits sin on [−3, 3]."""
    from engine.trainer import Trainer

    x = np.linspace(-3, 3, 61)[:, None]
    s = Session.from_dict({
        "seed": 0,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [1]}},
                             {"type": "Dense", "params": {"units": 16, "activation": "tanh"}},
                             {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "inline", "params": {"x": x.tolist(), "y": np.sin(x).tolist(), "task": "regression"}},
        "loss": "mse", "optimizer": {"type": "lbfgs", "params": {"lr": 1.0}},
        "training": {"epochs": 30, "batch_size": 0},
    })
    tr = Trainer(s)
    list(tr.run())
    rmse = float(np.sqrt(np.mean((tr.predict(x.astype(np.float32))[:, 0] - np.sin(x[:, 0])) ** 2)))
    assert rmse < 0.01


def test_device_choice_lecture_000():
    """GPUs made deep networks practical; the trainer runs on cpu, cuda or mps, and says why it cannot."""
    from engine.device import select_device
    from engine.errors import InvalidInput

    assert select_device("cpu").type == "cpu"
    auto = select_device("auto").type
    assert auto == "cuda" if torch.cuda.is_available() else auto in ("mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="no CUDA GPU"):
            select_device("cuda")
    with pytest.raises(InvalidInput, match="'tpu'"):
        select_device("tpu")
