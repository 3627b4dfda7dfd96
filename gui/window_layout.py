"""Where the docks go, how big they are, and how that survives a restart at another window size.

One arrangement (``arrange``) serves the first launch and View ▸ Reset Layout:
palette and stack builder on the left, Properties above Dataset/Training on
the right, Plots and Diagnostics along the bottom. Dock sizes are fractions of
the window (``DEFAULT``), clamped to minimum widths that keep every panel's
fields readable at 1024×700, and a saved layout is re-applied as fractions of
the window it is restored into, so a layout saved in a small window does not
come back cramped in a large one. The saved state carries ``LAYOUT_VERSION``:
a state from another version of the dock set is ignored (the default layout
is used) instead of half-restored.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication

from .settings import app_settings

LAYOUT_VERSION = 2  # bump when docks are added, removed or renamed
KEY_GEOMETRY, KEY_STATE, KEY_FRACTIONS = "window/geometry", "window/state", "window/dockFractions"
KEY_VERSION = "window/layoutVersion"

# Narrowest a dock may get before its fields clip (measured at 1024×700 with the default font).
MIN_WIDTHS = {"paletteDock": 170, "stackDock": 170, "inspectorDock": 310, "datasetDock": 310, "trainingDock": 310,
              "plotsDock": 250, "diagnosticsDock": 180}
MIN_CANVAS = 320  # px of canvas the side columns always leave
# Default sizes as fractions of the window: column widths, bottom row height, splits inside a column.
DEFAULT = {"left": 0.16, "right": 0.26, "bottom": 0.38, "properties": 0.30, "palette": 0.56, "diagnostics": 0.32}
MAX_PX = {"left": 260, "right": 430}
MIN_PLOTS_PX = 290
SCREEN_SHARE = 0.92  # the first window takes at most this much of the screen


def arrange(win):
    """Put every dock of ``win`` in its default place, docked and shown (sizes: ``apply_default_sizes``)."""
    d = win.docks
    win.setDockNestingEnabled(True)
    for dock in d.values():
        dock.setFloating(False)
        win.removeDockWidget(dock)
    for name, area in (("paletteDock", Qt.LeftDockWidgetArea), ("inspectorDock", Qt.RightDockWidgetArea),
                       ("plotsDock", Qt.BottomDockWidgetArea)):
        win.addDockWidget(area, d[name])
    win.splitDockWidget(d["paletteDock"], d["stackDock"], Qt.Vertical)
    win.splitDockWidget(d["inspectorDock"], d["datasetDock"], Qt.Vertical)
    win.tabifyDockWidget(d["datasetDock"], d["trainingDock"])
    win.splitDockWidget(d["plotsDock"], d["diagnosticsDock"], Qt.Horizontal)
    for name in ("paletteDock", "inspectorDock", "plotsDock", "diagnosticsDock"):
        d[name].show()
    for name in ("stackDock", "datasetDock", "trainingDock"):
        d[name].show()
    d["datasetDock"].raise_()
    win.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
    win.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
    set_minimum_widths(win)


def set_minimum_widths(win):
    for name, w in MIN_WIDTHS.items():
        dock = win.docks.get(name)
        if dock is not None:
            dock.setMinimumWidth(w)
    win.centralWidget().setMinimumWidth(MIN_CANVAS)


def default_sizes(width: int, height: int) -> dict:
    """Pixel sizes for a ``width`` × ``height`` window: {"left", "right", "bottom", "properties", "palette", ...}."""
    left = int(min(max(DEFAULT["left"] * width, MIN_WIDTHS["paletteDock"]), MAX_PX["left"]))
    right = int(min(max(DEFAULT["right"] * width, MIN_WIDTHS["datasetDock"]), MAX_PX["right"]))
    column = max(height - 90, 200)  # below menu and toolbar, above the status bar
    # the plots need ~290 px (tabs, plot tools, legend, the plot, the timeline bar): on a short window the
    # bottom row takes up to half the column rather than squeeze the plot to a sliver
    bottom = int(max(DEFAULT["bottom"] * column, min(MIN_PLOTS_PX, 0.5 * column), 200))
    return {"left": left, "right": right, "bottom": bottom, "properties": int(DEFAULT["properties"] * column),
            "dataset": column - int(DEFAULT["properties"] * column), "palette": int(DEFAULT["palette"] * column),
            "stack": column - int(DEFAULT["palette"] * column),
            "diagnostics": int(DEFAULT["diagnostics"] * (width - left - right)),
            "plots": int((1 - DEFAULT["diagnostics"]) * (width - left - right))}


def apply_default_sizes(win):
    d, px = win.docks, default_sizes(win.width(), win.height())
    win.resizeDocks([d["paletteDock"], d["inspectorDock"]], [px["left"], px["right"]], Qt.Horizontal)
    win.resizeDocks([d["paletteDock"], d["stackDock"]], [px["palette"], px["stack"]], Qt.Vertical)
    win.resizeDocks([d["inspectorDock"], d["datasetDock"]], [px["properties"], px["dataset"]], Qt.Vertical)
    win.resizeDocks([d["plotsDock"]], [px["bottom"]], Qt.Vertical)
    win.resizeDocks([d["plotsDock"], d["diagnosticsDock"]], [px["plots"], px["diagnostics"]], Qt.Horizontal)


def reset_layout(win):
    """View ▸ Reset Layout: every dock back in its default place and size, whatever was moved, closed or floated."""
    arrange(win)
    apply_default_sizes(win)
    QTimer.singleShot(0, lambda: apply_default_sizes(win))  # once more after Qt has laid the docks out
    win.statusBar().showMessage("Panels are back in their default places", 4000)


def fractions(win) -> dict:
    """Every docked, visible dock's size as a fraction of the window: {name: [width/W, height/H]}."""
    W, H = max(win.width(), 1), max(win.height(), 1)
    return {name: [round(dock.width() / W, 4), round(dock.height() / H, 4)] for name, dock in win.docks.items()
            if dock.isVisible() and not dock.isFloating()}


# Sizes are set in these groups (one resizeDocks call each: docks side by side, or one above the other).
GROUPS = ((("paletteDock", "inspectorDock"), Qt.Horizontal), (("paletteDock", "stackDock"), Qt.Vertical),
          (("inspectorDock", "datasetDock"), Qt.Vertical), (("plotsDock",), Qt.Vertical),
          (("plotsDock", "diagnosticsDock"), Qt.Horizontal))


def apply_fractions(win, fr: dict):
    """Resize docks to ``fractions`` of the current window size.

    Only groups whose docks are all known, shown and docked are resized (a person's own arrangement
    keeps Qt's restored sizes); malformed entries are skipped.
    """
    W, H = win.width(), win.height()
    for names, orient in GROUPS:
        docks, sizes = [], []
        for name in names:
            dock, pair = win.docks.get(name), fr.get(name)
            if name == "datasetDock" and pair is None:
                dock, pair = win.docks.get("trainingDock"), fr.get("trainingDock")
            try:
                f = float(pair[0] if orient == Qt.Horizontal else pair[1])
            except (TypeError, ValueError, IndexError):
                break
            if dock is None or dock.isFloating() or dock.isHidden() or not 0 < f < 1:
                break
            docks.append(dock)
            sizes.append(max(int(f * W), dock.minimumWidth()) if orient == Qt.Horizontal else int(f * H))
        else:
            win.resizeDocks(docks, sizes, orient)


def save(win):
    s = app_settings()
    s.setValue(KEY_GEOMETRY, win.saveGeometry())
    s.setValue(KEY_STATE, win.saveState(LAYOUT_VERSION))
    s.setValue(KEY_VERSION, LAYOUT_VERSION)
    s.setValue(KEY_FRACTIONS, json.dumps(fractions(win)))
    s.sync()


def saved_state_usable() -> bool:
    """A saved dock state of this layout version exists (the first launch, or an old version: False)."""
    s = app_settings()
    state = s.value(KEY_STATE)
    try:
        version = int(s.value(KEY_VERSION, 0))
    except (TypeError, ValueError):
        version = 0
    return isinstance(state, QByteArray) and not state.isEmpty() and version == LAYOUT_VERSION


def restore(win) -> bool:
    """Geometry and dock state from the settings; False (default layout kept) when there is none of this version.

    The sizes are re-applied as fractions of the restored window once it is shown.
    """
    s = app_settings()
    geo = s.value(KEY_GEOMETRY)
    if isinstance(geo, QByteArray) and not geo.isEmpty():
        win.restoreGeometry(geo)
    else:
        fit_to_screen(win)
    ok = saved_state_usable() and win.restoreState(s.value(KEY_STATE), LAYOUT_VERSION)
    if not ok:
        arrange(win)
    set_minimum_widths(win)
    try:
        fr = json.loads(s.value(KEY_FRACTIONS, "") or "{}") if ok else {}
    except (TypeError, ValueError):
        fr = {}
    win._layout_pending = fr if ok and isinstance(fr, dict) else None  # None: the default sizes
    return ok


def fit_to_screen(win):
    """A first window never larger than the screen: 1400×900 on a 1024×700 display would hide the status bar."""
    screen = win.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    w = min(win.width(), int(avail.width() * SCREEN_SHARE))
    h = min(win.height(), int(avail.height() * SCREEN_SHARE))
    win.resize(w, h)


class _FirstShow(QObject):
    """Applies the pending sizes (saved fractions, or the defaults) once the window has its real size."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win

    def eventFilter(self, obj, event):
        if obj is self.win and event.type() == QEvent.Show:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.apply)
        return False

    def apply(self):
        win = self.win
        fr = getattr(win, "_layout_pending", None)
        if fr:
            apply_fractions(win, fr)
        else:
            apply_default_sizes(win)
        win._layout_pending = None
        view, doc = getattr(win, "view", None), getattr(win, "doc", None)
        if view is not None and not getattr(getattr(doc, "session", None), "view", None):
            QTimer.singleShot(0, view.fit_to_view)  # the canvas changed size with the docks (a session's own view wins)


def install(win, view_menu=None):
    """Restore the saved layout, size the docks on first show, and add View ▸ Reset Layout. Returns the action."""
    restore(win)
    win.installEventFilter(_FirstShow(win))
    action = QAction("&Reset Layout", win)
    action.setObjectName("action_reset_layout")
    action.setStatusTip("Put every panel back in its default place and size")
    action.triggered.connect(lambda _=False: reset_layout(win))
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(action)
    return action
