"""Forward-mode derivatives (lecture 001) against the chain rule by hand and backpropagation's gradients."""
import math
from pathlib import Path

import numpy as np
import pytest

from engine.backprop_steps import Inspector
from engine.errors import InvalidInput
from engine.forward_mode import forward_mode, weight_entries
from engine.session import load_session

EX = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_the_notes_forward_table_at_x3_w3():
    """ξ₁ = −WX carries dξ₁/dW = −X: our z = WX carries +X; then σ′(z)·X, then −y/p times that."""
    insp = Inspector(load_session(EX / "logistic_derivative_worked_example.json"))
    r = forward_mode(insp, "p.weight", (0, 0))
    dz, da = r.nodes["p"]
    s = 1 / (1 + math.exp(-9))
    assert dz[0, 0] == 3.0 and da[0, 0] == pytest.approx(s * (1 - s) * 3, rel=1e-13)
    assert r.dL_dW == pytest.approx(-(1 / s) * s * (1 - s) * 3, rel=1e-12) and r.agrees and r.n_params == 1


def test_every_entry_of_the_three_four_one_net_equals_backprop():
    insp = Inspector(load_session(EX / "three_four_one_worked_example.json"))
    grads = insp.current().grads
    entries = weight_entries(insp)
    assert len(entries) == sum(np.asarray(g).size for g in grads.values())
    for name, index in entries:
        r = forward_mode(insp, name, index)
        assert r.dL_dW == pytest.approx(float(np.asarray(grads[name])[index]), rel=1e-10, abs=1e-15), (name, index)


def test_a_bad_weight_is_one_line():
    insp = Inspector(load_session(EX / "xor_worked_example.json"))
    with pytest.raises(InvalidInput, match="no parameter 'q.weight'"):
        forward_mode(insp, "q.weight", (0, 0))
    with pytest.raises(InvalidInput, match=r"shape \(1, 2\); entry \(0, 5\) is outside it"):
        forward_mode(insp, "f.weight", (0, 5))
