"""The frozen-layer cache in the window (lecture 004): the Training panel's checkbox writes
``training.cache_frozen``, the progress panel says what the run caches (numbers from the engine's own
report, checked here against the multiply-adds of the architecture), and the box changes no weight."""
from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt

from engine.builder import build_model
from engine.run import Run
from engine.session import Session

# 2 → d1 16 (frozen) → d2 16 (frozen) → head 1: per sample 2·16 + 16·16 multiply-adds are cached, the
# head's 16 are not; a step is forward + backward (2× the trainable part), so (304 + 2·16) / (3·16) = 7.0×.
FULL, REST = 2 * 16 + 16 * 16 + 16, 16
RATIO = (FULL + 2 * REST) / (3 * REST)


def frozen_session() -> Session:
    return Session.from_dict({
        "name": "frozen head", "seed": 5,
        "graph": {"layers": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}},
            {"id": "d1", "type": "Dense", "params": {"units": 16, "activation": "tanh"}, "trainable": False},
            {"id": "d2", "type": "Dense", "params": {"units": 16, "activation": "tanh"}, "trainable": False},
            {"id": "head", "type": "Dense", "params": {"units": 1}},
            {"id": "output", "type": "Output"}]},
        "dataset": {"type": "moons", "params": {"n": 200}},
        "optimizer": {"type": "adam", "params": {"lr": 0.02}},
        "training": {"epochs": 6, "batch_size": 10, "device": "cpu"}})


def window_with_panels(live_windows, session):
    """A live window with the real Training panel in its dock, as ``gui.app`` builds it."""
    from gui.panels.install import install_panels

    win = live_windows(session, strict=True)
    install_panels(win)
    return win


def train_to_end(qtbot, win):
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=60000):
        c.train()
    return c.run


def _indicator(box):
    """A point on the checkbox's square, where users click."""
    from PySide6.QtCore import QPoint

    return QPoint(8, box.height() // 2)


def test_the_checkbox_the_progress_line_and_the_same_weights_as_without(live_windows, qtbot):
    win = window_with_panels(live_windows, frozen_session())
    box = win.training_panel.cache_frozen
    assert box.isChecked() and win.doc.session.training.get("cache_frozen", True) is True
    assert "cache the outputs of frozen layers for every input" in box.toolTip()
    run = train_to_end(qtbot, win)
    rep = run.frozen_cache
    label = win.live.progress_panel.cache
    qtbot.waitUntil(lambda: label.text() != "", timeout=3000)
    assert label.isVisibleTo(win) and label.text() == rep.text()
    m = re.fullmatch(r"cached: (\d+) frozen layers \(input → (\w+)\), ([\d.]+)× fewer multiply-adds a step", label.text())
    assert m is not None, label.text()
    assert int(m[1]) == len(rep.frozen) == 2 and m[2] == "d2"
    assert (rep.macs_full, rep.macs_rest) == (FULL, REST) and float(m[3]) == round(RATIO, 1) == 7.0
    assert run.trainer.frozen_cache.builds == 1 and run.step >= 80

    # the same session trained with the box off (by the engine, as the command line would) ends with the same weights
    s_off = frozen_session()
    s_off.training = dict(s_off.training, cache_frozen=False)
    off = Run(s_off, path="torch")
    off.fit()
    assert off.frozen_cache.text() == "not cached: turned off (training.cache_frozen)" and off.step == run.step
    w_on, w_off = run.weights(), off.weights()
    assert w_on.keys() == w_off.keys()
    for k in w_on:
        np.testing.assert_allclose(w_on[k], w_off[k], rtol=1e-6, atol=1e-7, err_msg=k)
    init = {k: v.detach().numpy() for k, v in build_model(frozen_session().graph, seed=5).state_dict().items()}
    np.testing.assert_array_equal(w_on["layers.d1.weight"], init["layers.d1.weight"])  # frozen: kept
    assert np.abs(w_on["layers.head.weight"] - init["layers.head.weight"]).max() > 1e-2  # the head learned

    # unticking the box is a live change (no "start a new run?" question): the next step trains uncached
    qtbot.mouseClick(box, Qt.LeftButton, pos=_indicator(box))
    assert not box.isChecked() and win.doc.session.training["cache_frozen"] is False
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=30000):
        c.step()
    assert c.run is run
    qtbot.waitUntil(lambda: label.text() == "not cached: turned off (training.cache_frozen)", timeout=3000)


def test_no_frozen_layer_no_line(live_windows, qtbot):
    s = frozen_session()
    for n in s.graph.nodes:
        n.trainable = True
    win = window_with_panels(live_windows, s)
    run = train_to_end(qtbot, win)
    assert run.frozen_cache.applies is False
    qtbot.wait(100)
    assert win.live.progress_panel.cache.text() == "" and not win.live.progress_panel.cache.isVisibleTo(win)
