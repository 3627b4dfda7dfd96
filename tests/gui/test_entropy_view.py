"""Analyze ▸ Evaluation ▸ Uncertainty (entropy): the tab's numbers against hand loops on the view's own scores."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gui.analysis.sample import sample_run


def computed(qtbot, view, timeout=60000):
    with qtbot.waitSignal(view.computed, timeout=timeout) as blocker:
        assert view.compute()
    return blocker.args[0]


def h_binary(p):
    return -sum(v * math.log(v) for v in (p, 1 - p) if v > 0)


@pytest.fixture(scope="module")
def circle():
    return sample_run("circle", epochs=4)


def test_entropy_tab_histogram_list_map_and_identity(qtbot, circle):
    from gui.analysis.evaluation_view import EvaluationView

    view = EvaluationView(lambda: circle)
    qtbot.addWidget(view)
    view.resize(1000, 560)
    view.show()
    rep = computed(qtbot, view)
    view.tabs.setCurrentIndex(1)
    panel = view.entropy
    s = np.array(rep["scores"])
    y = np.array(rep["y"])
    hs = np.array([h_binary(p) for p in s])
    # the histogram: every sample once, bins from 0 to ln 2
    xs, counts = panel.hist_curve.getData()
    assert counts.sum() == len(s) and xs[0] == 0 and xs[-1] == pytest.approx(math.log(2))
    assert np.array_equal(counts, np.histogram(hs, bins=20, range=(0, math.log(2)))[0])
    assert panel.mean_line.value() == pytest.approx(hs.mean(), abs=1e-9)
    # the list: the most uncertain first, the nats column by hand
    first = int(panel.table.item(0, 0).text())
    assert first == int(np.argmax(hs))
    assert float(panel.table.item(0, 4).text()) == pytest.approx(hs.max(), abs=5e-4)
    assert panel.table.rowCount() == min(10, len(s))
    # the map: the split's points in the input plane
    mx, my = panel.map_pts.getData()
    raw = circle.data.raw_x("test")
    assert panel.map.isVisible() and np.allclose(mx, raw[:, 0], atol=1e-5) and np.allclose(my, raw[:, 1], atol=1e-5)
    # the summary in nats and bits
    text = panel.summary.text()
    assert f"{hs.mean():.4f} nats = {hs.mean() / math.log(2):.4f} bits" in text and "0.6931 nats" in text
    # the identity with the run's numbers: labels as p, then the class frequencies as p
    ce = np.mean([-math.log(max(p if t else 1 - p, 1e-12)) for p, t in zip(s, y)])
    ident = panel.identity.text()
    assert f"{ce:.4f} = 0.0000 + {ce:.4f}" in ident
    f1, q1 = y.mean(), s.mean()
    hp = h_binary(f1)
    kl = sum(a * math.log(a / b) for a, b in ((1 - f1, 1 - q1), (f1, q1)) if a > 0)
    assert f"{hp + kl:.4f} = {hp:.4f} + {kl:.4f}" in ident
    # CSV of the tab: one row per sample
    head, cols = view.csv_table()
    assert head == ["sample", "entropy_nats", "entropy_bits"] and np.allclose(cols[1], hs, atol=1e-9)
    view.shutdown()


def test_regression_has_no_entropy(qtbot):
    from gui.analysis.evaluation_view import EvaluationView

    run = sample_run("plane", epochs=2)
    view = EvaluationView(lambda: run)
    qtbot.addWidget(view)
    rep = computed(qtbot, view)
    assert "entropy" not in rep and view.entropy.report is None
    assert "predicts values" in view.entropy.summary.text()
    view.shutdown()
