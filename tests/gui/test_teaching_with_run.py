"""The teaching views over a trained run in the window: they start from its weights and never touch it."""
import numpy as np
import pytest

from tests.gui.test_run_in_window import example


def test_inspector_and_lr_test_start_from_the_trained_run(live_windows, qtbot):
    win = live_windows(example("circle_playground", epochs=3), strict=True)
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=30000):
        c.train()
    run = c.run
    before = run.weights()
    win.actions_by_name["teach_backprop"].trigger()
    view = win.teaching_views["backprop"]
    p = view.inspector.current()
    for k, v in before.items():  # float64 copies of the run's current weights, not the initial ones
        np.testing.assert_allclose(p.params[k.removeprefix("layers.")], v, rtol=0, atol=0)
    x = run.data.x_train[:1]
    np.testing.assert_allclose(p.output, run.predict(x, logits=True, preprocessed=True), atol=1e-5)
    view.close()

    win.actions_by_name["teach_lr_finder"].trigger()
    lr_view = win.teaching_views["lr_finder"]
    assert lr_view.weights is not None
    lr_view.steps.setValue(30)
    with qtbot.waitSignal(lr_view.finished, timeout=60000):
        lr_view.start()
    after = run.weights()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # the sweep ran on a copy
    assert lr_view.result.suggestion is not None
    lr_view.apply_btn.click()
    want = float(f"{lr_view.result.suggestion:.3g}")
    assert win.doc.session.optimizer["params"]["lr"] == pytest.approx(want)
    assert run.session.optimizer["params"]["lr"] == pytest.approx(want)  # a live change of the kept run
    lr_view.close()
