"""Dock layout: readable at 1024×700, View ▸ Reset Layout, sizes restored relative to the window, versioned state."""
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gui import window_layout as wl


def make_window(qtbot, w, h):
    from gui.main_window import MainWindow
    from gui.panels.install import install_panels

    win = MainWindow()
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    install_panels(win)
    qtbot.addWidget(win)
    win.resize(w, h)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(30)  # the first-show sizing runs from the event loop
    return win


def right_width(win):
    return win.docks["inspectorDock"].width()


def test_default_sizes_are_fractions_of_the_window_within_minimums():
    small, big = wl.default_sizes(1024, 700), wl.default_sizes(1600, 1000)
    assert small["right"] == max(int(0.26 * 1024), wl.MIN_WIDTHS["datasetDock"]) == 310  # 266 would clip fields
    assert big["right"] == int(0.26 * 1600) == 416
    assert big["left"] == int(0.16 * 1600) and small["left"] == max(int(0.16 * 1024), 170)
    assert small["properties"] + small["dataset"] == 700 - 90  # the right column is split, not overfilled
    assert small["bottom"] == 290 and big["bottom"] == int(0.38 * 910)  # a short window: the plots keep ~290 px


def test_at_1024x700_nothing_is_squeezed_below_its_minimum(qtbot):
    win = make_window(qtbot, 1024, 700)
    assert win.minimumSizeHint().width() <= 1024 and win.width() == 1024  # nothing pushed off the right edge
    right = win.docks["inspectorDock"].geometry().right()
    assert right <= win.width()
    for name, dock in win.docks.items():
        if dock.isVisible():
            assert dock.width() >= wl.MIN_WIDTHS[name] - 1, name
    assert win.centralWidget().width() >= wl.MIN_CANVAS
    assert win.statusBar().isVisible() and win.statusBar().geometry().bottom() <= win.height()
    props, data = win.docks["inspectorDock"], win.docks["datasetDock"]
    assert data.height() > 1.5 * props.height()  # the dataset box gets the room, not an empty Properties


def test_reset_layout_brings_every_dock_back(qtbot):
    win = make_window(qtbot, 1024, 700)
    d = win.docks
    d["inspectorDock"].setFloating(True)
    d["plotsDock"].hide()
    win.addDockWidget(Qt.LeftDockWidgetArea, d["diagnosticsDock"])
    win.actions_by_name["reset_layout"].trigger()
    qtbot.wait(30)
    assert all(dock.isVisible() and not dock.isFloating() for dock in d.values() if dock not in
               (d["trainingDock"],))  # tabbed behind Dataset
    assert win.dockWidgetArea(d["inspectorDock"]) == Qt.RightDockWidgetArea
    assert win.dockWidgetArea(d["diagnosticsDock"]) == Qt.BottomDockWidgetArea
    assert win.tabifiedDockWidgets(d["datasetDock"]) == [d["trainingDock"]]
    assert abs(right_width(win) - wl.default_sizes(win.width(), win.height())["right"]) <= 12
    assert "Reset Layout" in [a.text().replace("&", "") for a in win.view_menu.actions()]


def test_a_layout_saved_small_comes_back_in_proportion_in_a_large_window(qtbot):
    win = make_window(qtbot, 1024, 700)
    win.resizeDocks([win.docks["inspectorDock"]], [300], Qt.Horizontal)
    qtbot.wait(10)
    frac = right_width(win) / win.width()
    wl.save(win)
    saved = json.loads(wl.app_settings().value(wl.KEY_FRACTIONS))
    assert saved["inspectorDock"][0] == pytest.approx(frac, abs=2e-3)
    # the same settings opened in a 1600-wide window: the same share, not the same 300 px
    s = wl.app_settings()
    s.remove(wl.KEY_GEOMETRY)
    big = make_window(qtbot, 1600, 1000)
    assert right_width(big) == pytest.approx(frac * 1600, abs=14)
    assert right_width(big) > 400


def test_a_state_of_another_layout_version_is_ignored(qtbot):
    win = make_window(qtbot, 1024, 700)
    d = win.docks
    win.addDockWidget(Qt.LeftDockWidgetArea, d["diagnosticsDock"])  # an odd arrangement, saved as version 1
    s = wl.app_settings()
    s.setValue(wl.KEY_STATE, win.saveState(1))
    s.setValue(wl.KEY_VERSION, 1)
    s.sync()
    assert not wl.saved_state_usable()
    other = make_window(qtbot, 1024, 700)
    assert other.dockWidgetArea(other.docks["diagnosticsDock"]) == Qt.BottomDockWidgetArea  # default, not v1
    wl.save(other)
    assert wl.saved_state_usable() and int(s.value(wl.KEY_VERSION)) == wl.LAYOUT_VERSION
    assert not other.restoreState(s.value(wl.KEY_STATE), wl.LAYOUT_VERSION + 1)  # Qt checks the number too
