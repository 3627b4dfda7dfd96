"""The LR range test view: the curve is the engine's sweep, Apply writes η into the document."""
import numpy as np
import pytest

from engine.lr_finder import geometric_lrs, lr_range_test
from tests.engine.test_lr_finder import _numpy_sweep, _session


@pytest.fixture
def view(qtbot):
    from gui.document import Document
    from gui.teaching.lr_finder_view import LRFinderView

    doc = Document(_session())
    v = LRFinderView(doc.session, document=doc)
    qtbot.addWidget(v)
    v.show()
    return v, doc


def test_sweep_plots_the_hand_computed_losses_and_applies_the_suggestion(qtbot, view):
    v, doc = view
    v.lr_min.setValue(1e-4)
    v.lr_max.setValue(1.0)
    v.steps.setValue(40)
    with qtbot.waitSignal(v.finished, timeout=60000):
        v.start()
    res = v.result
    xs, ys = v.raw_curve.getData()
    np.testing.assert_allclose(10 ** np.asarray(xs), res.lrs, rtol=1e-9)  # the axis is log η
    lrs = geometric_lrs(1e-4, 1.0, 40)[: len(res.lrs)]
    stable = res.lrs < 2 / 15
    np.testing.assert_allclose(np.asarray(ys)[stable], _numpy_sweep(lrs)[stable], rtol=1e-4)
    assert v.progress.value() == len(res.lrs)
    assert res.suggestion is not None and res.suggestion < 2 / 15 and v.marker.isVisible()
    assert v.marker.value() == pytest.approx(np.log10(res.suggestion))
    assert v.apply_btn.isEnabled() and v.apply_btn.text() == f"Apply η = {float(f'{res.suggestion:.3g}'):g}"
    v.apply_btn.click()
    assert doc.session.optimizer["params"]["lr"] == pytest.approx(float(f"{res.suggestion:.3g}"))
    doc.undo_stack.undo()
    assert doc.session.optimizer["params"]["lr"] == 0.01


def test_result_equals_a_direct_engine_call(qtbot, view):
    v, _ = view
    v.lr_min.setValue(1e-4)
    v.lr_max.setValue(1e-2)
    v.steps.setValue(15)
    with qtbot.waitSignal(v.finished, timeout=60000):
        v.start()
    direct = lr_range_test(_session(), lr_min=1e-4, lr_max=1e-2, steps=15)
    np.testing.assert_array_equal(v.result.losses, direct.losses)
    assert v.result.suggestion == direct.suggestion and v.label.text() == direct.sentence
