"""Menus, toolbar and shortcuts of the main window, declared in one table-like place."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle, QToolBar, QWhatsThis

from engine import __version__

from .style import icon

K = QKeySequence


def _action(win, name, text, slot=None, shortcut=None, icon_name=None, fallback=None, tip=None):
    a = QAction(text, win)
    a.setObjectName(f"action_{name}")
    if shortcut is not None:
        if isinstance(shortcut, (list, tuple)):
            a.setShortcuts([K(s) for s in shortcut])
        else:
            a.setShortcut(K(shortcut))
    if icon_name:
        a.setIcon(icon(icon_name, fallback))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(f"{text.replace('&', '').rstrip('…')} ({a.shortcut().toString(K.NativeText)})"
                     if not a.shortcut().isEmpty() else tip)
    if slot is not None:
        a.triggered.connect(lambda _=False: slot())
    return a


def build_actions(win) -> dict:
    """Create every action, menu and the toolbar of ``win``; returns actions by short name."""
    f, sc, v, ctl = win.files, win.scene, win.view, lambda: win.controller
    A = {}

    def add(name, *args, **kw):
        A[name] = _action(win, name, *args, **kw)
        return A[name]

    add("new", "&New…", f.new, K.New, "new", QStyle.SP_FileIcon, "Start a new session from a template")
    add("open", "&Open…", f.open, K.Open, "open", QStyle.SP_DialogOpenButton, "Open a session file")
    add("save", "&Save", f.save, K.Save, "save", QStyle.SP_DialogSaveButton, "Save the session")
    add("save_as", "Save &As…", f.save_as, K.SaveAs, tip="Save the session under a new name")
    add("revert", "&Revert", f.revert, tip="Reload the last saved version")
    add("quit", "&Quit", win.close, K.Quit, tip="Close the window")
    stack = win.doc.undo_stack
    A["undo"] = stack.createUndoAction(win, "&Undo")
    A["undo"].setShortcut(K.Undo)
    A["undo"].setIcon(icon("undo", QStyle.SP_ArrowBack))
    A["redo"] = stack.createRedoAction(win, "&Redo")
    A["redo"].setShortcut(K.Redo)
    A["redo"].setIcon(icon("redo", QStyle.SP_ArrowForward))
    add("cut", "Cu&t", sc.cut_selection, K.Cut, tip="Cut the selected layers")
    add("copy", "&Copy", sc.copy_selection, K.Copy, tip="Copy the selected layers and the connections between them")
    add("paste", "&Paste", sc.paste, K.Paste, tip="Paste layers with fresh ids")
    add("duplicate", "&Duplicate", sc.duplicate_selection, "Ctrl+D", tip="Copy and paste in one step")
    add("delete", "De&lete", sc.delete_selection, K.Delete, "delete", tip="Delete the selected layers and connections")
    add("select_all", "Select &All", sc.select_all, K.SelectAll, tip="Select every layer")
    add("auto_layout", "Auto &Layout", win.doc.auto_layout, "Ctrl+L", "layout", tip="Arrange layers left to right by depth")
    add("fit", "&Fit to View", v.fit_to_view, "Ctrl+0", "fit", tip="Show the whole graph")
    add("zoom_in", "Zoom &In", v.zoom_in, K.ZoomIn, "zoom-in", tip="Zoom in")
    add("zoom_out", "Zoom &Out", v.zoom_out, K.ZoomOut, "zoom-out", tip="Zoom out")
    add("zoom_reset", "&Actual Size", v.reset_zoom, "Ctrl+1", tip="Zoom to 100%")
    add("snap", "&Snap to Grid", tip="Align moved layers to the grid")
    A["snap"].setCheckable(True)
    A["snap"].setChecked(sc.snap)
    A["snap"].toggled.connect(lambda on: setattr(sc, "snap", on))
    add("train", "&Train", lambda: ctl().train(), "F5", "train", QStyle.SP_MediaPlay, "Train the network")
    add("pause", "&Pause", lambda: ctl().pause(), "F6", "pause", QStyle.SP_MediaPause, "Pause training")
    add("step", "&Step", lambda: ctl().step(), "F10", "step", QStyle.SP_MediaSkipForward, "Run one training step")
    add("stop", "St&op", lambda: ctl().stop(), "Shift+F5", "stop", QStyle.SP_MediaStop, "Stop training")
    add("reset_weights", "&Reset Weights", lambda: ctl().reset_weights(), "Ctrl+R", "reset", QStyle.SP_BrowserReload,
        "Re-initialize every weight from the seed")
    add("about", "&About NN Playground", lambda: _about(win))
    A["whats_this"] = QWhatsThis.createAction(win)
    A["whats_this"].setShortcut(K.WhatsThis)

    mb = win.menuBar()
    m = mb.addMenu("&File")
    m.addActions([A["new"], A["open"]])
    recent = m.addMenu("Open &Recent")
    recent.setObjectName("recentMenu")
    recent.aboutToShow.connect(lambda: f.fill_recent_menu(recent))
    m.addSeparator()
    m.addActions([A["save"], A["save_as"], A["revert"]])
    win.export_menu = m.addMenu("&Export")
    win.export_menu.setObjectName("exportMenu")
    win.export_menu.addAction("(train a network first)").setEnabled(False)
    m.addSeparator()
    m.addAction(A["quit"])

    m = mb.addMenu("&Edit")
    m.addActions([A["undo"], A["redo"]])
    m.addSeparator()
    m.addActions([A[k] for k in ("cut", "copy", "paste", "duplicate", "delete")])
    m.addSeparator()
    m.addActions([A["select_all"], A["auto_layout"]])

    m = mb.addMenu("&View")
    m.addActions([A[k] for k in ("fit", "zoom_in", "zoom_out", "zoom_reset", "snap")])
    m.addSeparator()
    panels = m.addMenu("&Panels")
    for dock in win.docks.values():
        panels.addAction(dock.toggleViewAction())

    m = mb.addMenu("&Train")
    m.addActions([A[k] for k in ("train", "pause", "step", "stop")])
    m.addSeparator()
    m.addAction(A["reset_weights"])
    win.train_menu = m

    m = mb.addMenu("&Help")
    m.addAction(A["whats_this"])
    examples = m.addMenu("&Examples")
    examples.setObjectName("examplesMenu")
    examples.aboutToShow.connect(lambda: f.fill_examples_menu(examples))
    m.addSeparator()
    m.addAction(A["about"])

    tb = QToolBar("Main toolbar", win)
    tb.setObjectName("mainToolbar")
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    for k in ("new", "open", "save", None, "undo", "redo", None, "auto_layout", "fit", None,
              "train", "pause", "step", "stop", "reset_weights"):
        if k is None:
            tb.addSeparator()
        else:
            tb.addAction(A[k])
    win.addToolBar(Qt.TopToolBarArea, tb)
    win.toolbar = tb
    return A


def _about(win):
    QMessageBox.about(
        win, "About NN Playground",
        f"<b>NN Playground</b> {__version__}<p>Build layer graphs, train them live and see why they learn.</p>"
        "<p>Drag layers from the palette, connect output ports (right) to input ports (left), "
        "and press Train.</p>")
