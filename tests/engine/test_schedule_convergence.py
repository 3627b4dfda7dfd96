"""SGD's step-size conditions (lecture 003 §4.3.3.1) per schedule, checked against the schedules' own partial sums."""
import numpy as np
import pytest

from engine.schedule_convergence import conditions
from engine.schedules import SCHEDULES

N = 100_000  # epochs: a series diverges when its terms from N to 2N still add up to something


def tail_sums(spec, lr0=0.1):
    s = SCHEDULES.create(spec, lr0)
    a = np.array([s.lr(e, e) for e in range(2 * N)])  # one step per epoch (warm-up counts steps)
    assert (a >= 0).all()  # condition 1: αₙ ≥ 0
    return a[N:].sum(), (a[N:] ** 2).sum()


CASES = [
    "constant",
    {"type": "inverse_time", "params": {"decay": 0.1}},
    {"type": "inverse_time", "params": {"decay": 0.0}},
    {"type": "step", "params": {"every": 10, "t": 0.5}},
    {"type": "step", "params": {"every": 10, "t": 0.0}},
    {"type": "step", "params": {"every": 10, "t": 1.0}},
    {"type": "exponential", "params": {"gamma": 0.95}},
    {"type": "exponential", "params": {"gamma": 1.0}},
    {"type": "inverse_sqrt", "params": {"t": 1.0}},
    {"type": "cosine", "params": {"t_max": 50, "eta_min": 0.0}},
    {"type": "cosine", "params": {"t_max": 50, "eta_min": 0.001}},
    {"type": "manual", "params": {"every": 10, "factors": [1.0, 0.1, 0.01]}},
    {"type": "manual", "params": {"every": 10, "factors": [1.0, 0.0]}},
    {"type": "warmup", "params": {"warmup_steps": 100, "then": {"type": "inverse_time", "params": {"decay": 1.0}}}},
    {"type": "warmup", "params": {"warmup_steps": 100}},
]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s if isinstance(s, str) else f"{s['type']}-{s['params']}")
def test_the_stated_conditions_match_the_partial_sums(spec):
    c = conditions(spec, 0.1)
    tail, tail_sq = tail_sums(spec)
    # between N and 2N a divergent series here adds ≥ ~0.007 (0.01·ln 2 for α² ∝ 1/n), a convergent one ≤ ~1/(2N)
    assert c.sum_infinite == (tail > 1e-3), (c, tail)
    assert c.squares_finite == (tail_sq < 1e-4), (c, tail_sq)
    assert c.met == (c.sum_infinite and c.squares_finite)


def test_only_decay_like_one_over_n_meets_both_and_the_text_says_why():
    assert conditions({"type": "inverse_time", "params": {"decay": 0.1}}, 0.1).text().endswith(
        "meets both SGD convergence conditions.")
    text = conditions("constant", 0.1).text()
    assert "Σαₙ² = ∞ ✗" in text and "hovering" in text
    assert "may stop short" in conditions("exponential", 0.1).text()
    assert conditions("constant", 0.0).sum_infinite is False


def test_reduce_on_plateau_depends_on_the_training_unless_min_lr_bounds_it():
    assert conditions("reduce_on_plateau", 0.1).met is None
    assert "depends on the training" in conditions("reduce_on_plateau", 0.1).text()
    spec = {"type": "reduce_on_plateau", "params": {"factor": 0.5, "patience": 1, "min_lr": 1e-3}}
    c = conditions(spec, 0.1)
    s = SCHEDULES.create(spec, 0.1)
    lrs = []
    for e in range(2000):  # a loss that never improves: every reduction happens, down to min_lr
        lrs.append(s.lr(e))
        s.observe(e, 1.0)
    assert lrs[-1] == pytest.approx(1e-3) and (c.sum_infinite, c.squares_finite) == (True, False)
