"""Teach ▸ Common Mistakes: forgotten zero_grad on a 1-D linear fit, drawn beside the right way."""
import numpy as np
from PySide6.QtCore import Qt

from tests.engine.test_mistakes import linear_session


def test_the_zero_grad_mistake_in_the_window(window, qtbot):
    window.doc.set_session(linear_session())
    window.actions_by_name["teach_mistakes"].trigger()
    view = window.teaching_views["mistakes"]
    assert "adds each backward() into .grad" in view.why.text() and not view.epochs.isEnabled()
    view.steps.setValue(25)
    with qtbot.waitSignal(view.computed, timeout=60000):
        qtbot.mouseClick(view.run_btn, Qt.LeftButton)
    g = lambda w: 28 / 3 * (w - 2)  # noqa: E731 - L(w) = (14/3)(w − 2)² on x = 1, 2, 3, y = 2x
    w, acc, expected = 0.0, 0.0, []
    for _ in range(25):
        expected.append(14 / 3 * (w - 2) ** 2)
        acc += g(w)
        w -= 0.05 * acc
    x, y = view.wrong_curve.getData()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-6)
    assert x[0] == 1 and x[-1] == 25
    assert view.right_curve.getData()[1][-1] < 1e-3 and "without" in view.verdict.text()
    view.mistake.setCurrentIndex(view.mistake.findData("eval_mode"))
    assert view.epochs.isEnabled() and not view.steps.isEnabled()
    view.close()
