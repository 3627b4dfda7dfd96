"""Lecture 002's classifier-performance vocabulary: completeness, contamination, efficiency, FPR, and their curve."""
import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.metrics import binary_rates, completeness_efficiency_curve


def test_quasar_example_in_the_notes_vocabulary():
    y = np.r_[np.ones(1000, int), np.zeros(100_000, int)]
    p = np.r_[np.ones(900, int), np.zeros(100, int), np.zeros(99_000, int), np.ones(1000, int)]
    r = binary_rates(y, p)
    assert (r["tp"], r["fn"], r["tn"], r["fp"]) == (900, 100, 99_000, 1000)
    assert r["completeness"] == r["tpr"] == pytest.approx(0.9)
    assert r["fpr"] == pytest.approx(0.01)
    assert r["contamination"] == pytest.approx(1000 / 1900) and round(r["contamination"], 2) == 0.53
    assert r["efficiency"] == pytest.approx(900 / 1900)
    none = binary_rates([1, 0, 0], [0, 0, 0])
    assert none["completeness"] == 0.0 and none["contamination"] == 0.0 and none["efficiency"] == 0.0


def test_completeness_efficiency_curve_matches_brute_force_thresholds():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)
    s = np.round(rng.random(200) * 0.6 + 0.4 * y, 2)  # ties included
    comp, eff, thr = completeness_efficiency_curve(y, s)
    assert np.isinf(thr[0]) and comp[0] == 0.0 and np.isnan(eff[0])
    for c, e, t in zip(comp[1:], eff[1:], thr[1:]):
        pred = s >= t
        assert c == pytest.approx(np.sum(pred & (y == 1)) / np.sum(y == 1))
        assert e == pytest.approx(np.sum(pred & (y == 1)) / np.sum(pred))
    assert comp[-1] == 1.0 and eff[-1] == pytest.approx(y.mean())
    with pytest.raises(InvalidInput, match="label 2"):
        completeness_efficiency_curve([0, 2], [0.1, 0.2])


def test_rates_from_counts_are_the_notes_quasars_and_refuse_bad_counts():
    import pytest

    from engine.errors import InvalidInput
    from engine.metrics import rates_from_counts

    r = rates_from_counts(900, 100, 99_000, 1000)
    assert (r["completeness"], r["fpr"]) == (0.9, 0.01) and round(r["contamination"], 2) == 0.53
    for bad in ((-1, 0, 0, 0), (1.5, 0, 0, 0), (True, 0, 0, 0)):
        with pytest.raises(InvalidInput, match="whole numbers ≥ 0"):
            rates_from_counts(*bad)
