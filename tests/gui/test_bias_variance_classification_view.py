"""Analyze ▸ Bias–Variance on a classification session: P(class 1) curves, the Brier table and Domingos'
0-1 table against the engine's numbers (engine.bias_variance_classification)."""
from __future__ import annotations

import numpy as np

from engine.bias_variance import decompose
from engine.session import Session
from gui.analysis.bias_variance_view import BRIER_COLUMNS, COLUMNS, ZERO_ONE_COLUMNS, BiasVarianceView


def xor_session():
    return Session.from_dict({
        "name": "xor bv", "seed": 1,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "hidden", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "xor", "params": {"n": 40, "noise": 0.3}},
        "loss": "bce_logits", "optimizer": {"type": "adam", "params": {"lr": 0.03}},
        "training": {"epochs": 8, "batch_size": 10}})


def headers(table):
    return [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]


def test_classification_session_shows_brier_and_zero_one_decompositions(qtbot):
    s = xor_session()
    view = BiasVarianceView(session_provider=lambda: s)
    qtbot.addWidget(view)
    view.resize(1000, 640)
    view.show()
    view.sets.setValue(3)
    assert view.table01.isHidden()
    with qtbot.waitSignal(view.computed, timeout=60000):
        assert view.compute()
    d = view.current
    want = decompose(s, n_sets=3)  # the same training sets and seeds: the very same numbers
    np.testing.assert_allclose(d.predictions, want.predictions, rtol=1e-6, atol=1e-7)
    w = want.summary()
    assert headers(view.table) == BRIER_COLUMNS and not view.table01.isHidden()
    assert headers(view.table01) == ZERO_ONE_COLUMNS
    assert view.table.item(0, 1).text() == f"{w['bias2']:.4g}" and view.table.item(0, 3).text() == f"{w['noise']:.4g}"
    assert view.table.item(0, 5).text().startswith(f"{w['measured']:.4g} ± ")
    assert view.table01.item(0, 2).text() == f"{w['bias_01']:.4g}"
    assert view.table01.item(0, 3).text() == f"{w['net_variance_01']:.4g}"
    assert view.table01.item(0, 5).text() == f"{w['total_01']:.4g}"
    x, y = view.true_curve.getData()
    np.testing.assert_allclose(y, want.slice_f)  # the true P(class 1) along the slice
    assert ((y >= 0) & (y <= 1)).all() and np.ptp(y) > 0.1
    _, mean = view.mean_curve.getData()
    np.testing.assert_allclose(mean, want.slice_predictions.mean(axis=0), rtol=1e-6, atol=1e-7)
    assert view.fit_pw.getPlotItem().getAxis("left").labelText == "P(class 1)"
    text = view.reading.text()
    assert "Brier score of P(class 1)" in text and "0-1 loss (Domingos)" in text and f"{w['total_01']:.4g}" in text
    names, cols = view.csv_table()
    assert "net_variance_01" in names and cols[names.index("total_01")] == [w["total_01"]]
    # back to a regression session: the regression headers, no 0-1 table
    from gui.analysis.bias_variance_view import _sample_session

    r = _sample_session()
    r.dataset = {"type": "sine", "params": {"n": 20, "noise": 0.3}}
    r.graph.node("hidden").params = dict(r.graph.node("hidden").params, units=4)
    r.training = dict(r.training, epochs=20)
    view.session_provider = lambda: r
    view.sets.setValue(2)
    with qtbot.waitSignal(view.computed, timeout=60000):
        assert view.compute()
    assert headers(view.table) == COLUMNS and view.table01.isHidden()
    assert view.fit_pw.getPlotItem().getAxis("left").labelText == "prediction"
