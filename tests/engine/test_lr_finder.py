"""The LR range test against a hand-computed sweep on a one-weight least-squares problem."""
import threading

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.lr_finder import geometric_lrs, lr_range_test, smooth, suggest
from engine.session import Session

X = np.array([1.0, 2.0, 3.0, 4.0])
Y = 2.0 * X + np.array([0.5, -0.5, 0.3, -0.3])  # no exact fit: the minimum loss is > 0


def _session(w0=0.0):
    return Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [1]}},
                             {"id": "d", "type": "Dense", "params": {"units": 1, "use_bias": False},
                              "init": {"weight": {"type": "values", "params": {"values": [[w0]]}}}}]},
        "dataset": {"type": "inline", "params": {"x": [[v] for v in X], "y": list(Y), "task": "regression"},
                    "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
        "loss": "mse", "optimizer": {"type": "sgd", "params": {"lr": 0.01}},
        "training": {"batch_size": 4, "shuffle": False}})


def _numpy_sweep(lrs, w=0.0):
    out = []
    for lr in lrs:
        r = w * X - Y
        out.append(np.mean(r ** 2))
        w -= lr * np.mean(2 * r * X)
    return np.array(out)


def test_losses_are_the_hand_computed_sweep_until_it_diverges():
    res = lr_range_test(_session(), lr_min=1e-4, lr_max=1.0, steps=60, beta=0.9)
    lrs = geometric_lrs(1e-4, 1.0, 60)
    n = len(res.lrs)
    np.testing.assert_allclose(res.lrs, lrs[:n], rtol=1e-6)  # η_k = η_min (η_max/η_min)^(k/(n−1)); stored as float32
    stable = res.lrs < 2 / 15  # past it, float32 rounding near the optimum is amplified by |1 − 15η| a step
    np.testing.assert_allclose(res.losses[stable], _numpy_sweep(lrs[:n])[stable], rtol=1e-4)
    assert res.losses[-1] > 100 * res.losses.min()  # and the loss blows up
    # GD on L(w) = mean((wx − y)²) diverges for η > 2/λ with λ = 2·mean(x²) = 15: η > 0.133
    assert res.reason == "diverged" and res.lrs[-1] > 2 / 15
    assert res.suggestion is not None and res.suggestion < 2 / 15
    np.testing.assert_allclose(res.smoothed, smooth(res.losses, 0.9))


def test_smooth_and_suggest_by_hand():
    s = smooth([4.0, 2.0], beta=0.5)
    assert s[0] == pytest.approx(4.0) and s[1] == pytest.approx((0.5 * 0.5 * 4 + 0.5 * 2) / 0.75)
    lrs = np.geomspace(1e-3, 1, 31)
    loss = np.concatenate([np.full(10, 1.0), np.linspace(1.0, 0.2, 11)[1:], np.linspace(0.25, 3, 11)])
    sug, low = suggest(lrs, loss)
    # window ±1 (31 points): the slope (L[i+1] − L[i−1]) / (log η[i+1] − log η[i−1]) is steepest inside 10..19
    log = np.log10(lrs)
    slope = [(loss[i + 1] - loss[i - 1]) / (log[i + 1] - log[i - 1]) for i in range(1, 19)]
    assert sug == pytest.approx(lrs[1 + int(np.argmin(slope))]) and lrs[10] <= sug <= lrs[19]
    # noise spikes early on do not win over the long fall once the window is wider
    lrs2 = np.geomspace(1e-4, 1, 200)
    fall = np.concatenate([np.full(100, 1.0), np.linspace(1.0, 0.1, 60), np.linspace(0.1, 2, 40)])
    noisy = fall.copy()
    noisy[20] = 1.3
    noisy[21] = 0.7  # a one-step drop of 0.6, steeper than the fall locally
    sug2, _ = suggest(lrs2, noisy)
    assert lrs2[100] <= sug2 <= lrs2[159]
    assert low == pytest.approx(lrs[19] / 10)
    assert suggest(lrs, np.linspace(1, 2, 31)) == (None, None)  # never fell


def test_the_users_run_is_untouched_and_weights_are_copied():
    from engine import Run

    run = Run(_session(), path="torch")
    run.fit(3)
    before = run.weights()
    res = lr_range_test(run.session, weights=before, lr_min=1e-4, lr_max=1e-2, steps=10)
    w = float(before["layers.d.weight"][0, 0])
    np.testing.assert_allclose(res.losses, _numpy_sweep(geometric_lrs(1e-4, 1e-2, 10), w), rtol=2e-5)
    after = run.weights()
    assert all(np.array_equal(before[k], after[k]) for k in before) and run.step == 3


def test_stop_and_progress():
    stop, seen = threading.Event(), []

    def progress(k, n, lr, loss):
        seen.append((k, n))
        if k == 4:
            stop.set()

    res = lr_range_test(_session(), lr_min=1e-5, lr_max=1e-3, steps=50, progress=progress, stop=stop)
    assert res.reason == "stopped" and len(res.lrs) == 4 and seen[-1] == (4, 50)


@pytest.mark.parametrize("kw,msg", [(dict(lr_min=0), "lr_min must be a number > 0"),
                                    (dict(lr_min=1, lr_max=0.1), "below lr_max"),
                                    (dict(steps=2), "steps must be"), (dict(beta=1.0), "smoothing")])
def test_bad_settings_refused(kw, msg):
    with pytest.raises(InvalidInput, match=msg):
        lr_range_test(_session(), **kw)
