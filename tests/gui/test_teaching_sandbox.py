"""The optimizer sandbox view: drawn paths are the closed forms, a click moves the start point."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.sandbox import SURFACES


@pytest.fixture
def sandbox(qtbot):
    from gui.teaching.sandbox_view import SandboxView

    v = SandboxView()
    qtbot.addWidget(v)
    v.resize(1100, 640)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_bowl_paths_are_the_closed_form(qtbot, sandbox):
    v = sandbox
    assert v.key == "bowl"
    v.kappa.setValue(10.0)
    v.lrs["sgd"].setValue(0.15)
    v.steps.setValue(25)
    v.set_start((1.0, 1.0))
    v.finish()
    x, y = v.curves["sgd"].getData()
    k = np.arange(26)
    np.testing.assert_allclose(x, 0.85 ** k, atol=1e-14)
    np.testing.assert_allclose(y, (1 - 1.5) ** k, atol=1e-14)  # η κ = 1.5: the flip-flop across the valley
    assert "SGD: f = " in v.status.text() and "θ ← θ − η·∇f" in v.formula.text()
    assert len(v.curves["momentum_velocity"].getData()[0] or []) == 0  # unticked


def test_animation_reveals_speed_steps_per_frame(qtbot, sandbox):
    v = sandbox
    v.steps.setValue(40)
    v.speed.setValue(10)
    v.recompute()
    qtbot.waitUntil(lambda: not v.timer.isActive(), timeout=10000)
    assert len(v.curves["adam"].getData()[0]) == 41


def test_click_sets_the_start_point(qtbot, sandbox):
    v = sandbox
    v.surface.setCurrentIndex(list(SURFACES).index("rosenbrock"))
    v.finish()
    vb = v.item.vb
    target = QPointF(-1.0, 2.5)
    pos = v.pw.mapFromScene(vb.mapViewToScene(target))
    qtbot.mouseClick(v.pw.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: abs(v.start[0] + 1.0) < 0.05 and abs(v.start[1] - 2.5) < 0.05, timeout=5000)
    v.finish()
    x, y = v.curves["newton"].getData()
    assert (x[0], y[0]) == pytest.approx(v.start) and (x[-1], y[-1]) == pytest.approx((1.0, 1.0), abs=1e-6)
