"""Analyze ▸ Bias–Variance, driven with qtbot: the plotted curves and the table against the engine's numbers."""
from __future__ import annotations

import numpy as np
import pytest

from engine.bias_variance import decompose
from gui.analysis.bias_variance_view import BiasVarianceView, _sample_session


def small_sine():
    s = _sample_session()
    s.dataset = {"type": "sine", "params": {"n": 20, "noise": 0.3}}
    s.graph.node("hidden").params = dict(s.graph.node("hidden").params, units=4)
    return s


def computed(qtbot, view, timeout=60000):
    with qtbot.waitSignal(view.computed, timeout=timeout) as blocker:
        assert view.compute()
    return blocker.args[0]


def cell(view, r, c):
    return view.table.item(r, c).text()


def test_bias_variance_view_plots_and_tabulates_the_engine_numbers(qtbot):
    s = small_sine()
    view = BiasVarianceView(session_provider=lambda: s)
    qtbot.addWidget(view)
    view.sets.setValue(3)
    view.epochs.setValue(4)
    progress = []
    view.runner.progress.connect(progress.append)
    result = computed(qtbot, view)
    d = result["current"]
    assert d.n_sets == 3 and d.epochs == 4 and result["sweep"] == []
    assert [m[0] for m in progress] == ["set", "set", "set", "current"]
    # the plotted mean is the mean of the engine's predictions; the black curve is sin
    t, mean = view.mean_curve.getData()
    want = decompose(s, n_sets=3, epochs=4)  # the same training sets and seeds: the same networks
    np.testing.assert_allclose(mean, want.slice_predictions.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t, want.slice_t)
    tt, f = view.true_curve.getData()
    np.testing.assert_allclose(f, np.sin(tt), atol=1e-12)
    _, grey = view.fits_curve.getData()
    assert np.isnan(grey).sum() == 3 and np.allclose(grey[~np.isnan(grey)], d.slice_predictions.ravel())
    sm = want.summary()
    assert cell(view, 0, 0) == "current settings"
    for col, key in ((1, "bias2"), (2, "variance"), (3, "noise"), (4, "total"), (6, "train_mse")):
        assert float(cell(view, 0, col)) == pytest.approx(sm[key], rel=1e-3)
    assert float(cell(view, 0, 5).split(" ± ")[0]) == pytest.approx(sm["measured"], rel=1e-3)
    assert float(cell(view, 0, 3)) == pytest.approx(0.09)
    assert "bias²" in view.reading.text() and "σ²" in view.reading.text()


def test_the_sweep_plots_bias_variance_noise_and_total_per_value(qtbot):
    s = small_sine()
    view = BiasVarianceView(session_provider=lambda: s)
    qtbot.addWidget(view)
    view.sets.setValue(2)
    view.epochs.setValue(3)
    view.axis.setCurrentIndex(1)
    assert view.values.isEnabled() and view.values.text().startswith("1, 2, 4")
    view.values.setText("1, 6")
    result = computed(qtbot, view)
    pts = result["sweep"]
    assert [v for v, _ in pts] == [1, 6] and view.table.rowCount() == 3
    for key, curve in view.sweep_curves.items():
        x, y = curve.getData()
        np.testing.assert_allclose(y, [d.summary()[key] for _, d in pts])
        assert list(x) == [0.0, 1.0]
    assert cell(view, 2, 0) == "units 6"
    assert float(cell(view, 2, 2)) == pytest.approx(pts[1][1].summary()["variance"], rel=1e-3)
    headers, cols = view.csv_table()
    assert headers[0] == "setting" and cols[0] == ["current settings", "units 1", "units 6"]
    view.axis.setCurrentIndex(0)
    view.bootstrap.setChecked(True)
    boot = computed(qtbot, view)["current"]
    assert boot.sampling == "bootstrap" and "bootstrap resamples" in view.reading.text()
    np.testing.assert_allclose(boot.predictions, decompose(s, n_sets=2, epochs=3, sampling="bootstrap").predictions,
                               rtol=1e-5, atol=1e-6)


def test_it_says_why_when_the_dataset_has_no_true_function_or_a_value_is_bad(qtbot):
    s = _sample_session()
    s.dataset = {"type": "spiral", "params": {"n": 40}}
    view = BiasVarianceView(session_provider=lambda: s)
    qtbot.addWidget(view)
    assert view.compute() is False and not view.runner.busy
    assert ("sine, plane or multi_gauss (regression), circle, xor or gauss (classification)"
            in view.status.text())
    s2 = small_sine()
    view.session_provider = lambda: s2
    view.axis.setCurrentIndex(2)
    view.values.setText("0.1, oops")
    assert view.compute() is False and "number" in view.status.text()


def test_stop_keeps_the_networks_already_drawn(qtbot):
    s = small_sine()
    view = BiasVarianceView(session_provider=lambda: s)
    qtbot.addWidget(view)
    view.sets.setValue(500)
    view.epochs.setValue(2)
    seen = []
    view.runner.progress.connect(seen.append)
    assert view.compute() and view.stop_button.isEnabled() and not view.button.isEnabled()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30000)
    view.stop()
    n = len(view.live_fits)
    assert n >= 2 and view.button.isEnabled() and not view.stop_button.isEnabled()
    assert view.status.text().startswith(f"Stopped: {n} network(s)")
    qtbot.wait(300)  # anything still in flight is dropped: the drawing stays as it was
    _, grey = view.fits_curve.getData()
    assert np.isnan(grey).sum() == len(view.live_fits) == n and view.result is None
    np.testing.assert_allclose(grey[:101], seen[0][1]["prediction"])
