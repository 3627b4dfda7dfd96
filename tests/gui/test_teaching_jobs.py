"""The landscape, linear-solver and LR-finder views run their work as JobRunner jobs: closing a view in the
middle of a computation stops the job (the engine call returns early, its thread ends, nothing is drawn
after), Stop keeps the part computed, and a failure is one line in the view."""
import numpy as np
import pytest

from tests.engine.test_landscape import _session as landscape_session
from tests.engine.test_lr_finder import _session as lr_session


def spy(monkeypatch, module, name):
    """Wrap ``module.name`` so the test sees what the engine call returned (on the worker thread)."""
    import importlib

    mod = importlib.import_module(module)
    real, seen = getattr(mod, name), {}

    def wrapper(*a, **kw):
        seen["result"] = out = real(*a, **kw)
        return out

    monkeypatch.setattr(mod, name, wrapper)
    return seen


def test_closing_the_lr_finder_mid_sweep_stops_it(qtbot, monkeypatch):
    from gui.teaching.lr_finder_view import LRFinderView

    seen = spy(monkeypatch, "gui.teaching.lr_finder_view", "lr_range_test")
    v = LRFinderView(lr_session())
    qtbot.addWidget(v)
    v.show()
    v.lr_min.setValue(1e-8)
    v.lr_max.setValue(1e-6)  # tiny steps: 2,000 of them never diverge, so only a stop ends the sweep early
    v.steps.setValue(2000)
    got = []
    v.finished.connect(got.append)
    v.start()
    qtbot.waitUntil(lambda: v.progress.value() > 0, timeout=30000)
    assert v.runner.busy and v.runner.running()
    v.close()
    assert not v.runner.running() and v.runner.stop_requested
    res = seen["result"]
    assert res.reason == "stopped" and 0 < len(res.lrs) < 2000
    qtbot.wait(100)  # the dropped result must not arrive later
    assert got == [] and v.result is None


def test_stop_keeps_the_sweep_so_far(qtbot):
    from gui.teaching.lr_finder_view import LRFinderView

    v = LRFinderView(lr_session())
    qtbot.addWidget(v)
    v.lr_min.setValue(1e-8)
    v.lr_max.setValue(1e-6)
    v.steps.setValue(2000)
    v.start()
    qtbot.waitUntil(lambda: v.progress.value() > 0, timeout=30000)
    with qtbot.waitSignal(v.finished, timeout=30000):
        v.stop_btn.click()
    assert v.result.reason == "stopped" and 0 < len(v.result.lrs) < 2000
    xs, _ = v.raw_curve.getData()
    np.testing.assert_allclose(10 ** np.asarray(xs), v.result.lrs, rtol=1e-9)
    assert v.start_btn.isEnabled() and not v.stop_btn.isEnabled()


def test_closing_the_landscape_mid_computation_stops_it(qtbot, monkeypatch):
    from gui.teaching.landscape_view import LandscapeView

    seen = spy(monkeypatch, "gui.teaching.landscape_view", "landscape")
    v = LandscapeView(landscape_session())
    qtbot.addWidget(v)
    v.show()
    v.epochs.setValue(2000)
    v.res.setValue(101)
    got = []
    v.finished.connect(got.append)
    v.start()
    qtbot.waitUntil(lambda: v.progress.value() > 0, timeout=30000)
    v.close()
    assert not v.runner.running()
    assert not seen["result"].complete
    qtbot.wait(100)
    assert got == [] and v.result is None


def test_landscape_failure_is_one_line(qtbot, monkeypatch):
    from engine.errors import InvalidInput
    from gui.teaching.landscape_view import LandscapeView

    def broken(*a, **kw):
        raise InvalidInput("the grid is too large for this test")

    monkeypatch.setattr("gui.teaching.landscape_view.landscape", broken)
    v = LandscapeView(landscape_session())
    qtbot.addWidget(v)
    v.start()
    qtbot.waitUntil(lambda: not v.runner.busy, timeout=10000)
    assert v.status.text() == "the grid is too large for this test" and v.start_btn.isEnabled()


def test_closing_the_linear_solvers_mid_solve_stops_it(qtbot, monkeypatch):
    from gui.teaching.linear_solvers_view import LinearSolversView

    seen = spy(monkeypatch, "gui.teaching.linear_solvers_view", "solve_all")
    v = LinearSolversView()
    qtbot.addWidget(v)
    v.show()
    v.set_system("synthetic_spd")
    v.n.setValue(600)
    v.set_methods({"lu", "qr", "cholesky"})  # solved in this order; QR of 600 columns takes a while
    v.solve()
    qtbot.waitUntil(lambda: v.table.rowCount() >= 1, timeout=60000)  # the first method is done
    v.close()
    assert not v.runner.running()
    rows = seen["result"]
    stopped = [r for r in rows if r.refused and "stopped" in r.refused]
    assert len(rows) < 3 or stopped, [(r.method, r.refused) for r in rows]
    assert v.outcomes == []  # the result of the closed view was dropped


@pytest.mark.parametrize("hz, times, want", [(10.0, [0.0, 0.05, 0.09, 0.1, 0.25], [[1], [2, 3, 4], [5]])])
def test_throttle_batches_by_time(hz, times, want):
    from gui.analysis.jobs import Throttle

    got, clock = [], iter(times + [1.0])
    t = Throttle(got.append, hz=hz, clock=lambda: next(clock))
    for i in range(1, 6):
        t.push(i)
    t.flush()
    assert got == want
