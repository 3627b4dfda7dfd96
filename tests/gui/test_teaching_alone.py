"""Each teaching view runs alone (``python -m gui.teaching.<module>``) on sample data.

runpy executes the module again as ``__main__``, so the views are found by class name.
"""
import runpy

import pytest
from PySide6.QtWidgets import QApplication


def _run(monkeypatch, module):
    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit) as ex:
        runpy.run_module(module, run_name="__main__")
    assert ex.value.code == 0
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_backprop_view_alone_shows_the_xor_example(qtbot, monkeypatch):
    (view,) = [w for w in _run(monkeypatch, "gui.teaching.backprop_view") if type(w).__name__ == "BackpropInspectorView"]
    qtbot.addWidget(view)
    assert view.table.item(0, 3).text() == "−0.5300" and view.scene.nodes["z"].overlay  # z₁ = −0.07 − 0.46
    for w in QApplication.topLevelWidgets():
        w.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_lr_finder_alone_starts_its_sweep(qtbot, monkeypatch):
    (view,) = [w for w in _run(monkeypatch, "gui.teaching.lr_finder_view") if type(w).__name__ == "LRFinderView"]
    qtbot.addWidget(view)
    assert view.runner.busy and view.steps.value() == 200
    view.close()  # stops and joins the sweep
    assert not view.runner.running()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_sandbox_alone_on_rosenbrock(qtbot, monkeypatch):
    (view,) = [w for w in _run(monkeypatch, "gui.teaching.sandbox_view") if type(w).__name__ == "SandboxView"]
    qtbot.addWidget(view)
    view.finish()
    x, y = view.curves["newton"].getData()
    assert view.key == "rosenbrock" and (x[-1], y[-1]) == pytest.approx((1.0, 1.0), abs=1e-6)
    view.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_rates_view_alone_opens_on_the_quasars(qtbot, monkeypatch):
    (view,) = [w for w in _run(monkeypatch, "gui.teaching.rates_view") if type(w).__name__ == "RatesView"]
    qtbot.addWidget(view)
    assert view.result["contamination"] == pytest.approx(1000 / 1900) and view.result["fpr"] == pytest.approx(0.01)
    view.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_mistakes_view_alone_lists_the_notes_mistakes(qtbot, monkeypatch):
    (view,) = [w for w in _run(monkeypatch, "gui.teaching.mistakes_view") if type(w).__name__ == "MistakesView"]
    qtbot.addWidget(view)
    assert [view.mistake.itemData(i) for i in range(view.mistake.count())] == [
        "zero_grad", "eval_mode", "softmax_logits", "test_leak"]
    view.close()
