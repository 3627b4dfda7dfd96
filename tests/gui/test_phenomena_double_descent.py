"""Help ▸ Phenomena ▸ double descent: the card's one click trains the width sweep in the Experiments window.

The numbers the sweep plot draws are checked against numpy's minimum-norm least-squares head on each
variant's own frozen features (the independent reference), and the peak against both sides.
"""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.phenomena import SWEEPS, peak_ratios


def _min_norm_val_mse(run):
    w = {k: v.astype(np.float64) for k, v in run.weights().items()}
    W, b, d = w["layers.features.weight"], w["layers.features.bias"], run.data

    def feats(x):
        return np.c_[np.maximum(x.astype(np.float64) @ W.T + b, 0.0), np.ones(len(x))]

    theta = np.linalg.pinv(feats(d.x_train)) @ d.y_train.astype(np.float64)
    return float(np.mean((feats(d.x_val) @ theta - d.y_val) ** 2))


def test_card_runs_the_width_sweep_and_the_plot_shows_the_peak_at_n(qtbot, window):
    window.files.maybe_save = lambda: True
    next(a for a in window.phenomena_menu.actions() if a.objectName() == "phenomenon_double_descent").trigger()
    card = window.phenomenon_card
    assert card.isVisible() and card.sweep_button is not None and card.sweep_button.text() == "Run the width sweep"
    assert window.doc.session.graph.node("features").params["units"] == 70 and window.doc.path is None
    qtbot.mouseClick(card.sweep_button, Qt.LeftButton)
    view = window.experiments.variants
    assert window.experiments.isVisible() and window.experiments.tabs.currentWidget() is view
    assert view.setting.currentData() == "units" and view.epochs.value() == SWEEPS["double_descent"].epochs
    qtbot.waitUntil(lambda: not view.job.running and not view.job.timer.isActive(), timeout=120000)
    widths = list(SWEEPS["double_descent"].values)
    pts = view.sweep_points()
    assert [p for p, _ in pts] == widths and view.sweep_plot.isVisible()
    xs, ys = view.sweep_curve.getData()
    assert np.allclose(10 ** np.asarray(xs), widths) or np.allclose(xs, widths)  # pyqtgraph may keep log10(x)
    curve = dict(pts)
    runs = dict(zip(widths, view.vs.runs))
    for p in (20, 70, 1200):  # what is drawn is the minimum-norm interpolant's held-out error
        assert curve[p] == pytest.approx(_min_norm_val_mse(runs[p]), rel=0.02 if p == 70 else 1e-3)
    peak, over_small, over_large = peak_ratios(curve, 60)
    assert peak == 70 and over_small >= 50 and over_large >= 50
    assert view.n_train == 60 and view.n_line.isVisible() and view.n_line.value() == pytest.approx(np.log10(60))
    assert "highest: units 70" in view.status.text() and "lowest final loss: units 1200" in view.status.text()
    top = float(np.abs(runs[5].data.y_train).max())  # one colour scale for every width: ± the largest target
    assert view.levels == pytest.approx((-top, top)) and top > 0.5
    assert len(window.runs.records) >= len(widths)  # the variants went to the Runs dock
    card.close()
    window.experiments.close()


def test_a_preset_without_a_sweep_has_no_sweep_button(qtbot, window):
    window.files.maybe_save = lambda: True
    next(a for a in window.phenomena_menu.actions() if a.objectName() == "phenomenon_symmetry").trigger()
    assert window.phenomenon_card.sweep_button is None
    window.phenomenon_card.close()


def test_the_sweep_plot_follows_the_setting(qtbot):
    from gui.experiments.variants_view import DEFAULT_VALUES, VariantsView

    view = VariantsView(lambda: None)
    qtbot.addWidget(view)
    view.show()
    view.configure("units", "8, 16", 2)
    assert view.values.text() == "8, 16" and view.epochs.value() == 2 and view.sweep_plot.isVisible()
    view.setting.setCurrentIndex(list(DEFAULT_VALUES).index("optimizer"))
    assert view.setting.currentData() == "optimizer" and not view.sweep_plot.isVisible()
    assert view.values.text() == DEFAULT_VALUES["optimizer"]
