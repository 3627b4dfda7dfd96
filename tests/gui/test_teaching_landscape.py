"""The loss landscape view: the heatmap is the engine's slice, the path ends at the centre."""
import runpy

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from engine.landscape import landscape
from tests.engine.test_landscape import L, X, Y, _session


def test_heatmap_and_path_are_the_engine_slice(qtbot):
    from gui.teaching.landscape_view import LandscapeView

    v = LandscapeView(_session())
    qtbot.addWidget(v)
    v.show()
    v.kind.setCurrentIndex(1)  # PCA
    v.epochs.setValue(6)
    v.res.setValue(7)
    with qtbot.waitSignal(v.finished, timeout=60000):
        v.start()
    sl = v.result
    direct = landscape(_session(), epochs=6, kind="pca", res=7)
    np.testing.assert_allclose(sl.losses, direct.losses, rtol=1e-12)
    np.testing.assert_allclose(v.image.image.T, np.log10(sl.losses), rtol=1e-12)
    x, y = v.path_curve.getData()
    np.testing.assert_allclose(np.stack([x, y], 1), sl.path)
    w = np.array([0.3, -0.2])
    for _ in range(6):
        w = w - 0.05 * (2 * X.T @ (X @ w - Y) / 4)
    assert f"loss at the trained weights {L(w):.4g}" in v.status.text() and v.progress.value() == 1000
    assert "of the path's variance" in v.status.text()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_runs_alone(qtbot, monkeypatch):
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit):
        runpy.run_module("gui.teaching.landscape_view", run_name="__main__")
    (v,) = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "LandscapeView" and w.isVisible()]
    qtbot.addWidget(v)
    assert v.runner.busy and v.runner.running()
    v.close()
    assert not v.runner.running()


def test_compared_optimizer_path_drawn_on_the_same_slice(qtbot):
    from gui.teaching.landscape_view import COMPARE, LandscapeView

    v = LandscapeView(_session())
    qtbot.addWidget(v)
    v.epochs.setValue(4)
    v.res.setValue(5)
    v.compare["Adam η=0.01"].setChecked(True)
    with qtbot.waitSignal(v.finished, timeout=60000):
        v.start()
    direct = landscape(_session(), epochs=4, kind="random", res=5, compare={"Adam η=0.01": COMPARE["Adam η=0.01"]})
    x, y = v.other_curves["Adam η=0.01"].getData()
    np.testing.assert_allclose(np.stack([x, y], 1), direct.others["Adam η=0.01"], rtol=1e-9)
    assert v.other_curves["SGD η=0.1"].getData()[0] is None or len(v.other_curves["SGD η=0.1"].getData()[0]) == 0


def test_the_windows_runs_are_drawn_from_their_checkpoints(window, qtbot):
    """Train in the window, open the landscape: the run's recorded checkpoints are a path on the slice,
    at the least-squares coordinates of θ_t − θ* in the plane of the two directions."""
    from engine.landscape import filter_normalized
    from gui.teaching.landscape_view import window_runs

    window.doc.set_session(_session())
    c = window.controller
    with qtbot.waitSignal(c.finished, timeout=60000):
        c.train()
    runs = window_runs(window)
    (name, points), = runs.items()
    assert name.startswith("run 1: sgd") and len(points) == len(c.recorder.checkpoints) >= 2
    window.actions_by_name["teach_landscape"].trigger()
    v = window.teaching_views["landscape"]
    assert v.run_boxes[name].isChecked()
    v.epochs.setValue(4)
    v.res.setValue(5)
    with qtbot.waitSignal(v.finished, timeout=60000):
        v.start()
    sl = v.result
    # the engine's slice with the same runs (the auto range covers their paths too)
    direct = landscape(_session(), epochs=4, kind="random", res=5, runs=runs)
    np.testing.assert_allclose(sl.losses, direct.losses, rtol=1e-10)
    from engine.landscape import trajectory

    pts, _ = trajectory(_session(), 4)  # independently: the copy's final weights are the centre,
    center = pts[-1]  # the seed-0 filter-normalised directions the plane
    keys = [k for k in center if np.issubdtype(np.asarray(center[k]).dtype, np.floating)]
    rng = np.random.default_rng(0)
    d1, d2 = filter_normalized(center, rng, keys), filter_normalized(center, rng, keys)
    flat = lambda w: np.concatenate([np.asarray(w[k], np.float64).ravel() for k in keys])  # noqa: E731
    A = np.stack([flat(d1), flat(d2)], 1)
    want = np.stack([np.linalg.lstsq(A, flat(p) - flat(center), rcond=None)[0] for p in points])
    x, y = v.other_curves[name].getData()
    np.testing.assert_allclose(np.stack([x, y], 1), want, rtol=1e-6, atol=1e-9)
    v.close()
