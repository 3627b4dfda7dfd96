"""Screenshots for review: the main window and a 10-node graph with a skip connection.

Written to ./screenshots/ (git-ignored). Under a real X server run
``NNP_TEST_QPA=xcb xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest tests/gui/test_screenshots.py``.
"""
from pathlib import Path

from PySide6.QtGui import QImage

from gui.document import Document

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "screenshots"

SKIP_GRAPH = [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "dense1", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
    {"id": "norm1", "type": "BatchNorm"},
    {"id": "dense2", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
    {"id": "drop1", "type": "Dropout", "params": {"p": 0.2}},
    {"id": "add1", "type": "Add"},
    {"id": "dense3", "type": "Dense", "params": {"units": 16, "activation": "tanh"}},
    {"id": "norm2", "type": "LayerNorm"},
    {"id": "dense4", "type": "Dense", "params": {"units": 3}},
    {"id": "output", "type": "Output"},
]
SKIP_EDGES = [("input", "dense1"), ("dense1", "norm1"), ("norm1", "dense2"), ("dense2", "drop1"), ("drop1", "add1"),
              ("dense1", "add1"), ("add1", "dense3"), ("dense3", "norm2"), ("norm2", "dense4"), ("dense4", "output")]


def skip_session(session_of):
    return session_of(nodes=SKIP_GRAPH, edges=[{"from": a, "to": b} for a, b in SKIP_EDGES], name="Skip connection")


def _check(path, w, h):
    img = QImage(str(path))
    assert (img.width(), img.height()) == (w, h)
    colours = {img.pixel(x, y) for x in range(0, w, 3) for y in range(0, h, 3)}
    assert len(colours) > 50  # not a blank frame: text antialiasing alone gives many shades


def test_main_window_screenshot(window, qtbot):
    OUT.mkdir(exist_ok=True)
    window.resize(1400, 900)
    window.doc.set_selection(["dense2"])
    qtbot.wait(50)
    window.view.fit_to_view()
    path = OUT / "main_window.png"
    assert window.grab().save(str(path))
    _check(path, 1400, 900)


def test_editor_screenshot_with_skip_connection(window, qtbot, session_of):
    OUT.mkdir(exist_ok=True)
    window.resize(1400, 900)
    window.doc.set_session(skip_session(session_of))
    doc: Document = window.doc
    assert doc.report.ok and doc.report.shapes["add1"] == (16,)
    assert doc.report.total_params == (2 * 16 + 16) + 32 + (16 * 16 + 16) + (16 * 16 + 16) + 32 + (16 * 3 + 3)
    doc.set_selection(["add1"])
    qtbot.wait(50)
    window.view.fit_to_view()
    path = OUT / "editor_skip.png"
    assert window.view.grab().save(str(path))
    _check(path, window.view.width(), window.view.height())
    full = OUT / "main_window_skip.png"
    assert window.grab().save(str(full))
