"""A session remembers how it looked: canvas zoom and centre, and the plot tab shown."""
import json

import pytest


def test_view_is_saved_and_restored(window, qtbot, tmp_path):
    from gui.main_window import MainWindow

    window.view.set_zoom(1.7)
    window.view.centerOn(123.0, 45.0)
    window.plot_tabs.setCurrentIndex(window.plot_tabs.count() - 1)
    tab = window.plot_tabs.tabText(window.plot_tabs.currentIndex())
    path = tmp_path / "s.json"
    assert window.save_to(path)
    view = json.loads(path.read_text())["view"]
    assert view["zoom"] == pytest.approx(1.7, abs=1e-3) and view["plot_tab"] == tab
    assert not window.doc.dirty  # remembering the view is not an edit

    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    assert other.open_path(str(path))
    qtbot.waitUntil(lambda: abs(other.view.zoom() - 1.7) < 1e-3)
    assert other.plot_tabs.tabText(other.plot_tabs.currentIndex()) == tab
    c = other.view.mapToScene(other.view.viewport().rect().center())
    assert abs(c.x() - view["center"][0]) < 2 and abs(c.y() - view["center"][1]) < 2


def test_a_malformed_view_is_ignored(window):
    window.view.set_zoom(1.3)
    window.view.centerOn(50.0, 60.0)
    window.plot_tabs.setCurrentIndex(1)
    before = window.view_state()
    for bad in ({"zoom": "huge", "center": [1], "plot_tab": 7}, {"zoom": float("nan")}, {"zoom": float("inf")},
                {"center": ["a", "b"]}, {"center": None}, {"plot_tab": "No such tab"}, {}):
        window.apply_view_state(bad)
        assert window.view_state() == before, bad  # zoom, centre and tab exactly as they were


def test_view_zoom_from_a_file_is_clamped(window):
    from gui.canvas.view import MAX_ZOOM, MIN_ZOOM

    window.apply_view_state({"zoom": 1e9})
    assert window.view.zoom() == pytest.approx(MAX_ZOOM)
    window.apply_view_state({"zoom": -5})
    assert window.view.zoom() == pytest.approx(MIN_ZOOM)
    window.apply_view_state({"zoom": 0.8, "plot_tab": window.plot_tabs.tabText(2)})
    assert window.view.zoom() == pytest.approx(0.8) and window.plot_tabs.currentIndex() == 2
