"""Time travel: scrubbing shows each checkpoint's boundary, a branch starts from its weights."""
import runpy

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from engine.session import Session


def _session():
    return Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 60, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": 0.3}},
        "training": {"batch_size": 10}})


@pytest.fixture
def recorded(qtbot):
    from gui.teaching.time_travel_view import TimeTravelView

    v = TimeTravelView(_session())
    qtbot.addWidget(v)
    v.show()
    v.epochs.setValue(4)
    with qtbot.waitSignal(v.recorded, timeout=60000):
        v.record()
    return v


def test_scrubbing_shows_each_checkpoints_boundary(qtbot, recorded):
    v = recorded
    cps = v.recorder.checkpoints
    assert v.slider.maximum() == len(cps) - 1 and cps[0].step == 1 and cps[-1].step == v.run.step
    v.slider.setValue(2)
    cp = cps[2]
    # independent: the checkpoint's weights on the grid, by hand (tanh layer, then a logit, then σ)
    from engine.data.preprocess import apply_preprocess
    from engine.views import GRID

    x0, x1, y0, y1 = v.frame.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    xs = apply_preprocess(pts, v.run.data.preprocess_state).astype(np.float64)
    W = {k: val.astype(np.float64) for k, val in cp.weights.items()}
    a = np.tanh(xs @ W["layers.h.weight"].T + W["layers.h.bias"])
    p = 1 / (1 + np.exp(-(a @ W["layers.o.weight"].T + W["layers.o.bias"])))
    np.testing.assert_allclose(v.image.image.T, p[:, 0].reshape(GRID, GRID), atol=1e-5)
    assert v.marker.value() == pytest.approx(cp.step / v.run.trainer.steps_per_epoch)
    assert f"step {cp.step}," in v.status.text()


def test_branch_with_lr_zero_keeps_the_checkpoints_weights(qtbot, recorded):
    v = recorded
    v.slider.setValue(len(v.recorder.checkpoints) // 2)
    cp = v.checkpoint()
    v.lr.setValue(0.0)
    with qtbot.waitSignal(v.branched, timeout=60000):
        v.branch_here()
    b, label = v.branches[0]
    assert b.branched_from == (cp.step, cp.epoch) and b.epoch == v.run.epoch and label == f"η=0 from step {cp.step}"
    w = b.weights()
    for k in w:  # SGD at η = 0 moves nothing
        np.testing.assert_array_equal(w[k], cp.weights[k])
    h = b.history.epoch_array("train_loss")
    assert len(h) == v.run.epoch - cp.epoch
    # the recorded run shows the checkpoint's weights now (the slider loaded them): the same model as the branch
    assert b.evaluate("train")["loss"] == pytest.approx(v.run.evaluate("train")["loss"], abs=1e-7)
    x, y = v.branch_curves[0].getData()
    assert list(x) == list(range(cp.epoch + 1, v.run.epoch + 1))


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_runs_alone(qtbot, monkeypatch):
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit):
        runpy.run_module("gui.teaching.time_travel_view", run_name="__main__")
    (v,) = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "TimeTravelView" and w.isVisible()]
    qtbot.addWidget(v)
    qtbot.waitUntil(lambda: v.recorder is not None, timeout=60000)
    assert len(v.recorder.checkpoints) > 10 and torch is not None
    v.close()
