"""Teach ▸ Rates from Counts: lecture 002's quasars among stars, worked out by computation, and a run's own counts."""
import pytest

from gui.teaching.rates_view import QUASARS, RatesView


def rows(view):
    return {view.table.item(r, 0).text(): (view.table.item(r, 1).text(), float(view.table.item(r, 2).text()))
            for r in range(view.table.rowCount())}


def test_the_notes_quasars(qtbot):
    """TP 900, FN 100, TN 99,000, FP 1000: TPR 0.9 = completeness, FPR 0.01, contamination 1000/1900 ≈ 0.53."""
    view = RatesView()
    qtbot.addWidget(view)
    r = rows(view)
    assert r["completeness = TPR = recall"] == ("TP / (TP + FN) = 900 / (900 + 100)", 900 / 1000)
    assert r["false positive rate (FPR)"] == ("FP / (TN + FP) = 1,000 / (99,000 + 1,000)", 1000 / 100_000)
    assert r["contamination = false discovery rate"][1] == pytest.approx(1000 / 1900, abs=5e-5)
    assert round(1000 / 1900, 2) == 0.53  # the notes print 0.53
    assert r["efficiency = purity = precision"][1] == pytest.approx(900 / 1900, abs=5e-5)
    assert "more false than true positives" in view.reading.text() and "100 : 1" in view.reading.text()
    view.counts["fp"].setValue(100)  # a tenth of the false alarms: contamination 100/1000
    assert view.result["contamination"] == pytest.approx(0.1) and view.result["fpr"] == pytest.approx(100 / 99_100)
    assert "keeps the contamination at 0.1" in view.reading.text()
    view.quasars.click()
    assert {k: view.counts[k].value() for k in QUASARS} == QUASARS


def test_use_this_runs_counts_counts_the_test_split(live_windows, qtbot):
    import numpy as np

    from tests.gui.test_analysis_window import circle_session, train_in

    win = live_windows(circle_session(epochs=2), strict=True)
    win.actions_by_name["teach_rates"].trigger()
    view = win.teaching_views["rates"]
    view.from_run.click()
    assert "Train a binary classifier first" in view.status.text()
    run = train_in(win, qtbot)
    view.from_run.click()
    p1 = run.predict(run.data.raw_x("test"))[:, 0]
    y = run.data.y_test
    pred = p1 >= 0.5
    expected = {"tp": int((pred & (y == 1)).sum()), "fn": int((~pred & (y == 1)).sum()),
                "tn": int((~pred & (y == 0)).sum()), "fp": int((pred & (y == 0)).sum())}
    assert {k: view.counts[k].value() for k in expected} == expected
    tp, fn = expected["tp"], expected["fn"]
    assert view.result["completeness"] == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
    assert np.isclose(rows(view)["completeness = TPR = recall"][1], round(view.result["completeness"], 4), atol=1e-4)
    assert "test split at threshold 0.5" in view.status.text()
    view.close()
