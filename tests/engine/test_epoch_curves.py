"""EpochCurves gives exactly diagnose_history's diagnoses while copying only new epochs."""
from __future__ import annotations

import numpy as np

from engine.diagnostics import diagnose_history
from engine.epoch_curves import EpochCurves
from engine.history import History


def _history(train, val=None, acc=None, lr=0.1):
    h = History()
    h.add_step(1, float(train[0]) * 0.5, lr)  # the first step's loss: the reference for "exploded"
    for i, t in enumerate(train):
        h.add_epoch(train_loss=t, val_loss=None if val is None else val[i], train_acc=None,
                    val_acc=None if acc is None else acc[i], lr=lr, seconds=0.01)
    return h


def _codes(diags):
    return [(d.code, d.message) for d in diags]


def test_same_diagnoses_as_diagnose_history_as_the_history_grows_and_changes():
    rng = np.random.default_rng(0)
    e = np.arange(60)
    train = 1.0 * np.exp(-e / 40.0) + 0.01 * rng.random(60)  # still falling: "underfitting"/"still decreasing"
    val = np.r_[np.full(20, np.nan), 0.9 * np.exp(-e[20:] / 20.0) + 0.05 * (e[20:] - 20) / 10]  # from epoch 21 on
    acc = np.where(e % 7 == 0, 0.5 + e / 200.0, np.nan)  # light epochs carry no accuracy
    curves = EpochCurves()
    h = History()
    h.add_step(1, 0.6, 0.1)
    seen = set()
    for i in range(60):
        h.add_epoch(train_loss=train[i], val_loss=val[i], train_acc=None, val_acc=acc[i], lr=0.1, seconds=0.01)
        if i % 3 == 2 or i > 50:  # called on some epochs only: it must catch up on the ones between
            got = _codes(curves.diagnose(h, epochs_seen=i + 1, planned=60))
            assert got == _codes(diagnose_history(h, epochs_seen=i + 1, planned=60))
            seen |= {c for c, _ in got}
    assert {"slow", "val_below_train"} <= seen  # real findings, one of them from the validation curve
    # another history (a reset run, a loaded archive): started over, not appended to the old one
    h2 = _history(np.full(30, 2.0) - np.arange(30) * 0.001, lr=0.5)
    assert _codes(curves.diagnose(h2, epochs_seen=30, planned=100)) == _codes(
        diagnose_history(h2, epochs_seen=30, planned=100))
    assert curves.diagnose(h2, epochs_seen=30, planned=100) != curves.diagnose(h, epochs_seen=60, planned=60)
    # the same history rewritten in place to the same length: noticed by its last value
    h2.epochs["train_loss"][-1] = 50.0
    assert _codes(curves.diagnose(h2, epochs_seen=30, planned=100)) == _codes(
        diagnose_history(h2, epochs_seen=30, planned=100))
    assert curves._arr["train_loss"][29] == 50.0


def test_the_latest_finite_accuracy_and_any_validation_are_tracked_across_calls():
    train = np.linspace(1.0, 0.2, 40)  # "still decreasing at the end" unless validation accuracy is solved
    acc = np.full(40, np.nan)
    acc[10] = 0.99
    h = _history(train, acc=acc)
    curves = EpochCurves()
    assert _codes(curves.diagnose(h, epochs_seen=40, planned=40)) == _codes(diagnose_history(h, epochs_seen=40,
                                                                                           planned=40))
    assert curves._last_acc == 0.99 and curves._any_val is False
    h.add_epoch(train_loss=0.19, val_loss=0.3, train_acc=None, val_acc=0.5, lr=0.1, seconds=0.01)
    got = curves.diagnose(h, epochs_seen=41, planned=41)
    assert _codes(got) == _codes(diagnose_history(h, epochs_seen=41, planned=41))
    assert curves._last_acc == 0.5 and curves._any_val is True
