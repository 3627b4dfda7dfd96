"""engine.unroll: the hidden states of a recurrent node for one sample equal a numpy re-run of the recurrence."""
import json
import time
from pathlib import Path

import numpy as np
import pytest

from engine.data.preprocess import apply_preprocess
from engine.errors import InvalidInput
from engine.run import Run
from engine.session import Session, load_session
from engine.unroll import Unroller

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "rnn_sequence.json"


def sig(z):
    return 1 / (1 + np.exp(-z))


def stacked_session():
    """Standardised inputs, then a Dense per step (inputs (T, 1) → (T, 3)), then SimpleRNN → LSTM → head."""
    return Session.from_dict({
        "seed": 4,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [6, 1]}},
                             {"id": "rnn", "type": "SimpleRNN", "params": {"units": 3, "return_sequences": True}},
                             {"id": "lstm", "type": "LSTM", "params": {"units": 2}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "sine_next", "params": {"n": 40, "length": 6}, "preprocess": {"scale": "standardize"}},
        "loss": "mse", "optimizer": {"type": "adam", "params": {"lr": 0.05}},
        "training": {"epochs": 2, "batch_size": 8, "device": "cpu"},
    })


def test_unrolled_states_equal_numpy_with_the_trained_weights_after_scaling():
    run = Run(stacked_session())
    run.fit(2)
    w = {k: np.asarray(v, np.float64) for k, v in run.weights().items()}
    un = Unroller(run.session, weights=w)
    assert un.nodes == ["rnn", "lstm"]
    raw = np.asarray(run.trainer.data.raw["val"][3], np.float64)
    x = apply_preprocess(raw[None].astype(np.float32), run.trainer.data.preprocess_state)[0].astype(np.float64)
    h, hs = np.zeros(3), []
    for xt in x:
        h = np.tanh(w["layers.rnn.weight"] @ xt + w["layers.rnn.weight_hh"] @ h + w["layers.rnn.bias"])
        hs.append(h)
    u = un.unroll("rnn", split="val", sample=3)
    np.testing.assert_allclose(u.x, x, atol=1e-6)
    np.testing.assert_allclose(u.h, np.array(hs), atol=1e-6)
    assert u.c is None and u.param_count == 3 * (1 + 3 + 1) and "tanh" in u.formula
    h = c = np.zeros(2)
    cs, hs2 = [], []
    for xt in hs:  # the LSTM reads the RNN's every hₜ
        z = w["layers.lstm.weight"] @ xt + w["layers.lstm.weight_hh"] @ h + w["layers.lstm.bias"]
        i, f, g, o = sig(z[:2]), sig(z[2:4]), np.tanh(z[4:6]), sig(z[6:])
        c = f * c + i * g
        h = o * np.tanh(c)
        cs.append(c)
        hs2.append(h)
    v = un.unroll("lstm", split="val", sample=3)
    np.testing.assert_allclose(v.h, np.array(hs2), atol=1e-6)
    np.testing.assert_allclose(v.c, np.array(cs), atol=1e-6)
    np.testing.assert_allclose(v.output, run.predict(raw, logits=True)[0], atol=1e-5)  # what the network says
    assert v.param_count == 4 * 2 * (3 + 2 + 1)


def test_bad_requests_get_one_line():
    s = stacked_session()
    un = Unroller(s)
    with pytest.raises(InvalidInput, match=r"'head' is not a recurrent layer; choose one of: rnn, lstm"):
        un.unroll("head")
    with pytest.raises(InvalidInput, match=r"sample 99 is out of range: the test split has 6 samples \(0..5\)"):
        un.unroll(sample=99)
    s.graph = s.graph.from_dict({"layers": [{"type": "Input", "params": {"shape": [6, 1]}}, {"type": "Flatten"},
                                            {"type": "Dense", "params": {"units": 1}}]})
    with pytest.raises(InvalidInput, match="no SimpleRNN or LSTM layer"):
        Unroller(s)


def test_the_shipped_example_trains_to_a_small_error_in_seconds():
    """README: 30 epochs, val MSE below 0.01 where 'repeat the last value' scores 0.14 and the mean 0.5."""
    s = load_session(EXAMPLE)
    assert json.loads(EXAMPLE.read_text())["training"]["epochs"] == 30
    run = Run(s)
    t0 = time.perf_counter()
    run.fit()
    took = time.perf_counter() - t0
    data = run.trainer.data
    pred = run.predict(data.raw["val"])
    mse = float(np.mean((pred - data.y_val) ** 2))
    persistence = float(np.mean((data.raw["val"][:, -1, 0] - data.y_val[:, 0]) ** 2))
    assert mse == pytest.approx(run.trainer.history.epochs["val_loss"][-1], rel=1e-4)
    assert mse < 0.01 and persistence > 0.1 and mse < 0.1 * persistence
    assert took < 60  # seconds on 2 busy cores (7 to 11 s measured with other work on them)
