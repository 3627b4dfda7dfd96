"""Learning-rate schedules: each formula by hand, plateau logic, and state round-trips."""
import json
import math

import pytest

from engine.errors import InvalidInput
from engine.schedules import SCHEDULES, get

LR0 = 0.2


def lrs(spec, epochs, step=0):
    s = get(spec, LR0)
    return [s.lr(e, step) for e in epochs]


@pytest.mark.parametrize("spec,epochs,want", [
    ("constant", [0, 5, 100], [0.2, 0.2, 0.2]),
    ("inverse_time", [0, 1, 10], [0.2, 0.2 / 1.1, 0.2 / 2.0]),
    ({"type": "inverse_time", "params": {"decay": 0.5}}, [0, 4], [0.2, 0.2 / 3.0]),
    ({"type": "step", "params": {"every": 3}}, [0, 2, 3, 5, 6, 9], [0.2, 0.2, 0.1, 0.1, 0.05, 0.025]),
    # the notes' α ← α − t·α with t = 0.2 keeps 80 % at each drop (a multiplier of 0.2 would keep 20 %)
    ({"type": "step", "params": {"every": 2, "t": 0.2}}, [0, 1, 2, 4, 5, 6], [0.2, 0.2, 0.16, 0.128, 0.128, 0.1024]),
    ({"type": "step", "params": {"every": 2, "factor": 0.8}}, [2, 4], [0.16, 0.128]),  # older sessions: t = 1 − factor
    ({"type": "exponential", "params": {"gamma": 0.9}}, [0, 1, 3], [0.2, 0.18, 0.2 * 0.729]),
    # lr0·t/√epoch with epochs from 0, as every schedule counts them (epoch 0 takes epoch 1's value)
    ("inverse_sqrt", [0, 1, 3, 4, 9], [0.2, 0.2, 0.2 / math.sqrt(3), 0.1, 0.2 / 3.0]),
    ({"type": "inverse_sqrt", "params": {"t": 0.5}}, [4], [0.05]),
    ({"type": "cosine", "params": {"t_max": 4, "eta_min": 0.02}}, [0, 1, 2, 4, 9],
     [0.2, 0.02 + 0.18 * (1 + math.cos(math.pi / 4)) / 2, 0.11, 0.02, 0.02]),
])
def test_formulas(spec, epochs, want):
    assert lrs(spec, epochs) == pytest.approx(want, rel=1e-12)


def test_step_decay_reads_the_old_factor_as_one_minus_t_and_refuses_both():
    assert SCHEDULES.canonical({"type": "step", "params": {"factor": 0.8}}) == {"type": "step", "params": {"every": 10, "t": 0.2}}
    with pytest.raises(InvalidInput, match="not both"):
        get({"type": "step", "params": {"t": 0.1, "factor": 0.9}}, LR0)
    with pytest.raises(InvalidInput, match="factor"):
        get({"type": "step", "params": {"factor": 2}}, LR0)


def test_warmup_is_linear_in_steps_then_follows_then():
    s = get({"type": "warmup", "params": {"warmup_steps": 4}}, LR0)
    assert [s.lr(0, k) for k in range(6)] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])
    s = get({"type": "warmup", "params": {"warmup_steps": 2, "start_factor": 0.5,
                                          "then": {"type": "exponential", "params": {"gamma": 0.5}}}}, LR0)
    assert s.lr(0, 0) == pytest.approx(0.1) and s.lr(0, 1) == pytest.approx(0.15)
    assert s.lr(0, 2) == pytest.approx(0.2) and s.lr(2, 50) == pytest.approx(0.05)
    assert get({"type": "warmup", "params": {"warmup_steps": 0}}, LR0).lr(0, 0) == 0.2


def test_plateau_reduces_after_patience_and_respects_min_lr():
    s = get({"type": "reduce_on_plateau", "params": {"factor": 0.5, "patience": 2, "min_delta": 0.01,
                                                     "min_lr": 0.06}}, LR0)
    seen = []
    for epoch, loss in enumerate([1.0, 0.8, 0.795, 0.81, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]):
        seen.append(s.lr(epoch))
        s.observe(epoch, loss)
    # 0.795 is not better by > min_delta; two bad epochs (2, 3) → halve before epoch 4.
    # 0.7 improves at epoch 4; bad at 5, 6 → 0.05 clamped to 0.06; bad at 7, 8 → stays at min_lr.
    assert seen == pytest.approx([0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.06, 0.06, 0.06, 0.06])
    s.observe(11, float("nan"))  # NaN is never an improvement, and never crashes
    s.observe(12, None)  # no validation loss: ignored
    assert s.lr(13) == 0.06


def test_plateau_with_zero_patience_reduces_on_first_bad_epoch():
    s = get({"type": "reduce_on_plateau", "params": {"patience": 0, "factor": 0.1, "min_delta": 0.0}}, 1.0)
    s.observe(0, 1.0)
    assert s.lr(1) == 1.0
    s.observe(1, 1.0)
    assert s.lr(2) == pytest.approx(0.1)


def test_state_round_trips_through_json():
    spec = {"type": "warmup", "params": {"warmup_steps": 3, "then": {"type": "reduce_on_plateau",
                                                                     "params": {"patience": 1, "factor": 0.5}}}}
    a = get(spec, LR0)
    for e, loss in enumerate([1.0, 1.0, 1.0, 0.5]):
        a.observe(e, loss)
    saved = json.loads(json.dumps(a.state_dict()))
    b = get(spec, LR0)
    assert b.lr(4, 10) == LR0  # fresh schedule has not reduced yet
    b.load_state_dict(saved)
    assert b.lr(4, 10) == a.lr(4, 10) == pytest.approx(0.05)
    a.observe(4, 0.6), b.observe(4, 0.6)
    assert b.lr(5, 11) == a.lr(5, 11)
    # a new base lr (changed mid-training) keeps the reductions as a multiplier
    c = get(spec, 2 * LR0)
    c.load_state_dict(saved)
    assert c.lr(4, 10) == pytest.approx(0.1)
    for name in SCHEDULES.names():
        s = get(name, LR0)
        get(name, LR0).load_state_dict(json.loads(json.dumps(s.state_dict())))


def test_bad_inputs_raise_invalid_input():
    with pytest.raises(InvalidInput, match="'bogus'"):
        get("bogus", LR0)
    with pytest.raises(InvalidInput, match="-1"):
        get("constant", -1)
    with pytest.raises(InvalidInput, match="-2"):
        get("step", LR0).lr(-2, 0)
    with pytest.raises(InvalidInput, match="'nope'"):
        get({"type": "warmup", "params": {"then": "nope"}}, LR0)
    with pytest.raises(InvalidInput, match="2"):
        get({"type": "exponential", "params": {"gamma": 2}}, LR0)
    with pytest.raises(InvalidInput, match="state"):
        get("reduce_on_plateau", LR0).load_state_dict({"current": 1})
