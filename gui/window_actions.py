"""Menus, toolbar and shortcuts of the main window, declared in one table-like place.

The toolbar never changes width: its Undo/Redo buttons say only "Undo"/"Redo"
(what they would undo is in the tooltip), so a click aimed at a button always
lands on it. Train and Step refuse, with the reason in the status bar, while a
panel field holds a value that was not applied (``invalid_reason()``), and Reset
Weights asks before throwing trained weights away.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle, QToolBar, QWhatsThis

from engine import __version__

from .style import icon
from .window_layout import reset_layout

K = QKeySequence
ICON_ONLY = ("new", "open", "save", "undo_toolbar", "redo_toolbar")  # toolbar buttons without a text label


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


def invalid_reason(win) -> str | None:
    """The first panel field that shows a value training would not use, as one sentence (None: all applied).

    Asks every panel of ``win`` that has an ``invalid_reason()`` method (the Dataset and Training panels).
    """
    for name in ("dataset_panel", "training_panel"):
        panel = getattr(win, name, None)
        reason = panel.invalid_reason() if panel is not None and hasattr(panel, "invalid_reason") else None
        if reason:
            return reason
    return None


def refuse_if_invalid(win, what="train") -> bool:
    """Show why ``what`` cannot start and return True while a field holds an unapplied value."""
    reason = invalid_reason(win)
    if reason:
        win.statusBar().showMessage(f"Cannot {what}: {reason}", 10000)
    return reason is not None


def confirm_reset_weights(win) -> bool:
    """Ask before discarding trained weights; nothing to lose (untrained) needs no question."""
    tr = win.trained_state() if hasattr(win, "trained_state") else None
    if tr is None or not getattr(tr, "step", 0):
        return True
    answer = QMessageBox.question(
        win, "Reset weights",
        f"Re-initialise every weight from the seed? The {tr.step:,} steps trained so far are lost "
        "(File ▸ Save first to keep them).", QMessageBox.Reset | QMessageBox.Cancel, QMessageBox.Cancel)
    return answer == QMessageBox.Reset


def _fixed_undo_action(win, stack, redo=False):
    """A toolbar Undo/Redo whose text never changes; the command it would undo is in its tooltip."""
    word = "Redo" if redo else "Undo"
    a = QAction(word, win)
    a.setObjectName(f"action_{word.lower()}_toolbar")
    a.setIcon(icon(word.lower(), QStyle.SP_ArrowForward if redo else QStyle.SP_ArrowBack))
    key = K(K.Redo if redo else K.Undo).toString(K.NativeText)
    can = stack.canRedo if redo else stack.canUndo
    text = stack.redoText if redo else stack.undoText

    def update(*_):
        try:
            a.setEnabled(can())
            what = text()
        except RuntimeError:  # the stack is being destroyed with its window
            return
        a.setToolTip(f"{word} {what} ({key})" if what else f"{word} ({key})")
        a.setStatusTip(f"{word} {what}" if what else f"Nothing to {word.lower()}")

    (stack.canRedoChanged if redo else stack.canUndoChanged).connect(update)
    (stack.redoTextChanged if redo else stack.undoTextChanged).connect(update)
    a.triggered.connect(lambda _=False: stack.redo() if redo else stack.undo())
    update()
    return a


def _auto_layout(win):
    win.doc.auto_layout()
    win.view.fit_to_view()  # a laid-out graph may reach past the old view


def _train(win, ctl, what):
    if not refuse_if_invalid(win, what):
        getattr(ctl(), what)()


def _reset_weights(win, ctl):
    if confirm_reset_weights(win):
        ctl().reset_weights()


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
    A["undo_toolbar"] = _fixed_undo_action(win, stack)
    A["redo_toolbar"] = _fixed_undo_action(win, stack, redo=True)
    add("cut", "Cu&t", sc.cut_selection, K.Cut, tip="Cut the selected layers")
    add("copy", "&Copy", sc.copy_selection, K.Copy, tip="Copy the selected layers and the connections between them")
    add("paste", "&Paste", sc.paste, K.Paste, tip="Paste layers with fresh ids")
    add("duplicate", "&Duplicate", sc.duplicate_selection, "Ctrl+D", tip="Copy and paste in one step")
    add("delete", "De&lete", sc.delete_selection, K.Delete, "delete", tip="Delete the selected layers and connections")
    add("select_all", "Select &All", sc.select_all, K.SelectAll, tip="Select every layer")
    add("auto_layout", "Auto &Layout", lambda: _auto_layout(win), "Ctrl+L", "layout",
        tip="Arrange layers left to right by depth, skip connections beside the layers they skip, then fit to view")
    add("fit", "&Fit to View", v.fit_to_view, "Ctrl+0", "fit", tip="Show the whole graph")
    add("zoom_in", "Zoom &In", v.zoom_in, K.ZoomIn, "zoom-in", tip="Zoom in")
    add("zoom_out", "Zoom &Out", v.zoom_out, K.ZoomOut, "zoom-out", tip="Zoom out")
    add("zoom_reset", "&Actual Size", v.reset_zoom, "Ctrl+1", tip="Zoom to 100%")
    add("reset_layout", "&Reset Layout", lambda: reset_layout(win),
        tip="Put every panel back in its default place and size")
    add("snap", "&Snap to Grid", tip="Align moved layers to the grid")
    A["snap"].setCheckable(True)
    A["snap"].setChecked(sc.snap)
    A["snap"].toggled.connect(lambda on: setattr(sc, "snap", on))
    add("train", "&Train", lambda: _train(win, ctl, "train"), "F5", "train", QStyle.SP_MediaPlay, "Train the network")
    add("pause", "&Pause", lambda: ctl().pause(), "F6", "pause", QStyle.SP_MediaPause, "Pause training")
    add("step", "&Step", lambda: _train(win, ctl, "step"), "F10", "step", QStyle.SP_MediaSkipForward, "Run one training step")
    add("stop", "St&op", lambda: ctl().stop(), "Shift+F5", "stop", QStyle.SP_MediaStop, "Stop training")
    add("reset_weights", "&Reset Weights", lambda: _reset_weights(win, ctl), "Ctrl+R", "reset",
        QStyle.SP_BrowserReload, "Re-initialize every weight from the seed (asks first when weights are trained)")
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
    m.addAction(A["reset_layout"])
    win.view_menu = m

    m = mb.addMenu("&Train")
    m.addActions([A[k] for k in ("train", "pause", "step", "stop")])
    m.addSeparator()
    m.addAction(A["reset_weights"])
    win.train_menu = m

    from .teaching.menu import add_teach_menu  # Teach ▸ backprop inspector, LR range test, optimizer sandbox

    A.update(add_teach_menu(win, mb))

    from .analysis.menu import build_analyze_menu  # Qt only: pyqtgraph and torch load on first use

    A.update(build_analyze_menu(win, mb))

    from .experiments.menu import build_experiments_menu  # Runs dock, variants, cross-validation, search

    A.update(build_experiments_menu(win, mb))

    m = mb.addMenu("&Help")
    m.addAction(A["whats_this"])
    examples = m.addMenu("&Examples")
    examples.setObjectName("examplesMenu")
    examples.aboutToShow.connect(lambda: f.fill_examples_menu(examples))
    from .teaching.phenomena_card import add_phenomena_menu  # one-click phenomenon sessions with their cards

    add_phenomena_menu(win, m)
    m.addSeparator()
    m.addAction(A["about"])

    tb = QToolBar("Main toolbar", win)
    tb.setObjectName("mainToolbar")
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    for k in ("new", "open", "save", None, "undo_toolbar", "redo_toolbar", None, "auto_layout", "fit", None,
              "train", "pause", "step", "stop", "reset_weights"):
        if k is None:
            tb.addSeparator()
        else:
            tb.addAction(A[k])
    for k in ICON_ONLY:  # their icons are universal; the words go to the tooltip so the toolbar fits 1024 px
        tb.widgetForAction(A[k]).setToolButtonStyle(Qt.ToolButtonIconOnly)
    win.addToolBar(Qt.TopToolBarArea, tb)
    win.toolbar = tb
    return A


def _about(win):
    QMessageBox.about(
        win, "About NN Playground",
        f"<b>NN Playground</b> {__version__}<p>Build layer graphs, train them live and see why they learn.</p>"
        "<p>Drag layers from the palette, connect output ports (right) to input ports (left), "
        "and press Train.</p>")
