"""The lecture notes' worked examples, reproduced by computation.

Expected values come from a hand-written numpy forward/backward pass below, not
from the notes (which round and contain slips); the notes' printed figures are
only checked loosely, to show the example is the same one.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from engine.session import load_session
from engine.trace import trace

EX = Path(__file__).resolve().parents[2] / "resources" / "examples"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_two_layer(x, W1, b1, W2, b2, y, loss, lr):
    """Sigmoid hidden and output layers; W in torch layout [out][in]. Returns forward values, grads, new params."""
    z_in = W1 @ x + b1
    z = sigmoid(z_in)
    f_in = W2 @ z + b2
    f = sigmoid(f_in)
    if loss == "half_mse":
        L = 0.5 * np.sum((y - f) ** 2)
        dL_df = f - y
        delta_out = dL_df * f * (1 - f)
    else:  # binary cross-entropy on a probability
        L = -np.sum(y * np.log(f) + (1 - y) * np.log(1 - f))
        delta_out = f - y  # dL/df * sigmoid' simplifies to f - y
    gW2 = np.outer(delta_out, z)
    gb2 = delta_out
    delta_hidden = (W2.T @ delta_out) * z * (1 - z)
    gW1 = np.outer(delta_hidden, x)
    gb1 = delta_hidden
    new = dict(W1=W1 - lr * gW1, b1=b1 - lr * gb1, W2=W2 - lr * gW2, b2=b2 - lr * gb2)
    f_after = sigmoid(new["W2"] @ sigmoid(new["W1"] @ x + new["b1"]) + new["b2"])
    return dict(z_in=z_in, z=z, f_in=f_in, f=f, L=L, gW1=gW1, gb1=gb1, gW2=gW2, gb2=gb2, new=new, f_after=f_after)


def _params(path):
    doc = json.loads(path.read_text())
    layers = [n for n in doc["graph"]["layers"] if n["type"] == "Dense"]

    def val(layer, key):
        spec = layer["init"][key]
        if spec["type"] == "zeros":
            return np.zeros(layer["params"]["units"])
        return np.array(spec["params"]["values"], dtype=np.float64)

    h, o = layers
    return (val(h, "weight"), val(h, "bias"), val(o, "weight"), val(o, "bias"), h["id"], o["id"],
            np.array(doc["dataset"]["params"]["x"][0], float), float(doc["dataset"]["params"]["y"][0]))


@pytest.mark.parametrize("name,loss", [("xor_worked_example", "half_mse"), ("three_four_one_worked_example", "bce")])
def test_trace_matches_hand_written_numpy(name, loss):
    path = EX / f"{name}.json"
    W1, b1, W2, b2, hid, out, x, y = _params(path)
    ref = numpy_two_layer(x, W1, b1, W2, b2, np.array([y]), loss, 0.5)
    t = trace(load_session(path), sample=0, lr=0.5)

    layers = {entry["id"]: entry for entry in t["layers"]}
    np.testing.assert_allclose(layers[hid]["pre"], ref["z_in"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(layers[hid]["post"], ref["z"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(layers[out]["pre"], ref["f_in"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["output"], ref["f"], rtol=0, atol=1e-12)
    assert t["loss"] == pytest.approx(ref["L"], abs=1e-12)
    np.testing.assert_allclose(t["gradients"][f"{hid}.weight"], ref["gW1"], atol=1e-12)
    np.testing.assert_allclose(t["gradients"][f"{hid}.bias"], ref["gb1"], atol=1e-12)
    np.testing.assert_allclose(t["gradients"][f"{out}.weight"], ref["gW2"], atol=1e-12)
    np.testing.assert_allclose(t["gradients"][f"{out}.bias"], ref["gb2"], atol=1e-12)
    np.testing.assert_allclose(t["updated"][f"{hid}.weight"], ref["new"]["W1"], atol=1e-12)
    np.testing.assert_allclose(t["updated"][f"{out}.bias"], ref["new"]["b2"], atol=1e-12)
    np.testing.assert_allclose(t["output_after"], ref["f_after"], atol=1e-12)


def test_xor_example_is_the_notes_example_and_catches_its_slip():
    """Lecture 000's XOR figures, checked where the notes' arithmetic holds.

    The notes print f_in = 0.3705*(-0.22) + 0.7389*0.58 + 0.78 = 1.1122, but that sum is 1.12705,
    so their f_out (0.7525), loss (0.0306) and every later figure inherit the slip. The engine gives
    the true values; the forward figures before the slip match the notes to their 4 printed places.
    """
    t = trace(load_session(EX / "xor_worked_example.json"), lr=0.5)
    layers = {e["id"]: e for e in t["layers"]}
    assert layers["z"]["pre"] == pytest.approx([-0.53, 1.04], abs=1e-9)
    assert layers["z"]["post"] == pytest.approx([0.3705, 0.7389], abs=1e-4)
    f_in = 0.3705 * -0.22 + 0.7389 * 0.58 + 0.78  # the notes' own numbers, summed correctly
    assert f_in == pytest.approx(1.12705, abs=1e-5) and abs(f_in - 1.1122) > 0.01
    assert layers["f"]["pre"][0] == pytest.approx(f_in, abs=1e-4)
    assert t["output"][0] == pytest.approx(0.75529, abs=1e-5)  # not the notes' 0.7525
    assert t["loss"] == pytest.approx(0.5 * (1 - 0.75529) ** 2, abs=1e-6)
    # One SGD step lowers the loss, as the notes conclude (0.0306 -> 0.0284 there).
    assert t["loss_after"] < t["loss"]
    assert t["output_after"][0] > t["output"][0]


def test_three_four_one_matches_notes_and_trains_like_them():
    """Lecture 002: prediction 0.521, loss 0.652, dE/dw11 = -0.405; repeated steps give 0.648, 0.758, ..."""
    from engine.trainer import Trainer

    session = load_session(EX / "three_four_one_worked_example.json")
    t = trace(session, lr=0.5)
    assert t["output"][0] == pytest.approx(0.521, abs=5e-4)
    assert t["loss"] == pytest.approx(0.652, abs=5e-4)
    assert t["gradients"]["out.weight"][0][0] == pytest.approx(-0.405, abs=5e-4)
    assert t["gradients"]["out.bias"][0] == pytest.approx(-0.479, abs=5e-4)

    # The notes' sequence y_1..y_6 after successive single-sample SGD steps, computed here by numpy.
    W1, b1, W2, b2, *_ , x, y = _params(EX / "three_four_one_worked_example.json")
    expected = []
    for _ in range(6):
        r = numpy_two_layer(x, W1, b1, W2, b2, np.array([y]), "bce", 0.5)
        W1, b1, W2, b2 = (r["new"][k] for k in ("W1", "b1", "W2", "b2"))
        expected.append(r["f_after"][0])
    assert expected == pytest.approx([0.648, 0.758, 0.836, 0.881, 0.908, 0.925], abs=2e-3)

    tr = Trainer(session)
    got = []
    for ev in tr.run(6):
        if type(ev).__name__ == "EpochEnd":
            got.append(float(tr.predict(tr.data.x_train)[0, 0]))
    assert got == pytest.approx(expected, abs=1e-6)  # float32 training vs float64 reference
