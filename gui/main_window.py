"""The main window: canvas in the middle, panels in docks, one Document behind everything.

Composed explicitly: the document, canvas, panels, the training controller (``self.controller``, a
``gui.training.LiveTrainingController``: torch-free until a run is built) and, right after the first
paint, the live views (``build_live_views()``: plots, progress, diagnostics). Panels fill their docks
through ``set_dock_widget``, plots through ``add_plot_tab``. Sessions are read and written only
through ``_load_path``/``_save_path``: a ``.json`` holds the settings, a ``.nnp`` also the trained
state (handed to the controller on open, read under its ``snapshot()`` on save, between two steps
of a training that goes on) and a thumbnail of the canvas.
"""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QImage, QPainter
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabWidget

from engine.errors import InvalidInput
from engine.session import Session

from . import templates, window_layout
from .canvas import GraphScene, GraphView
from .canvas.node_item import WIDTH as NODE_W
from .canvas.scene import GRID
from .document import Document
from .export_menu import install_export_menu
from .file_actions import FileActions
from .panels.inspector import InspectorPanel
from .panels.palette import PalettePanel
from .panels.stack_builder import StackBuilderPanel
from .settings import APP
from .status_bar import ElidedLabel
from .style import ERROR_TEXT, OK_TEXT
from .training.controller import LiveTrainingController
from .training.state import ACTIONS
from .window_actions import build_actions

PLACEHOLDER_DOCKS = {
    "datasetDock": ("Dataset", "Dataset settings will appear here."),
    "trainingDock": ("Training", "Loss, optimizer and training settings will appear here."),
    "plotsDock": ("Plots", None),
    "diagnosticsDock": ("Diagnostics", "Training diagnostics will appear here."),
}
PLOT_TABS = ("Loss", "Weights", "Boundary")
THUMBNAIL_WIDTH = 320


def _reason(e, prefix) -> str:
    """The engine's own message for bad input; the OS's for a file error; the type and text otherwise."""
    if isinstance(e, InvalidInput):
        return str(e) if prefix.startswith("Cannot open") else f"{prefix}: {e}"
    if isinstance(e, OSError):
        return f"{prefix}: {e.strerror or e}"
    return f"{prefix}: {type(e).__name__}: {e}"


def _placeholder(text):
    label = QLabel(text)
    label.setAlignment(Qt.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: #8a93a0; padding: 12px;")
    return label


class MainWindow(QMainWindow):
    saved = Signal(str)  # a session was written to this path (recovery files are obsolete then)

    def __init__(self, session: Session | None = None, path: str | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.saved_step = 0  # the trainer step the file on disk holds (0: no training saved)
        self.live = None  # the live views (gui.training.live_views.LiveTraining), after the first paint
        self.recovery = None  # autosave (gui.recovery.Recovery), when the application installs it
        self.analysis = None  # the Analyze window (gui.analysis.panel.AnalysisWindow), built on first use
        self.doc = Document(session or templates.make(templates.FIRST_LAUNCH), parent=self)
        if path:
            self.doc.set_path(path)
        self.scene = GraphScene(self.doc, self)
        self.view = GraphView(self.scene)
        self.view.setObjectName("canvas")
        self.setCentralWidget(self.view)
        self.palette = PalettePanel()
        self.stack_builder = StackBuilderPanel(self.doc)
        self.inspector = InspectorPanel(self.doc)
        self.docks: dict[str, QDockWidget] = {}
        self._build_docks()
        self.controller = LiveTrainingController(self.doc, self)
        self._build_runs_dock()  # every training is a run of the session (gui/experiments)
        self.files = FileActions(self)
        self.actions_by_name: dict[str, QAction] = build_actions(self)
        self.export = install_export_menu(self)
        self._build_status()
        self._connect_controller(self.controller)
        # wiring: views -> document edits
        self.palette.layerActivated.connect(self.add_layer_at_center)
        self.view.layerDropped.connect(lambda name, p: self.add_layer(name, (p.x(), p.y())))
        self.scene.message.connect(self.show_message)
        # document -> chrome
        self.doc.dirtyChanged.connect(self._update_title)
        self.doc.pathChanged.connect(self._update_title)
        self.doc.sessionReplaced.connect(self._on_session_replaced)
        self.doc.validityChanged.connect(self._update_status)
        self.doc.selectionChanged.connect(self._update_edit_actions)
        self._update_title()
        self._update_status(self.doc.report)
        self._update_edit_actions()
        self.resize(1400, 900)
        self._restore_settings()
        QTimer.singleShot(0, self.view.fit_to_view)
        self._device_timer = QTimer(self)
        self._device_timer.timeout.connect(self._poll_device)
        self._device_timer.start(1500)

    # -- docks -------------------------------------------------------------------
    def _dock(self, name, title, widget, area):
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _build_docks(self):
        self._dock("paletteDock", "Layers", self.palette, Qt.LeftDockWidgetArea)
        self._dock("stackDock", "Dense stack builder", self.stack_builder, Qt.LeftDockWidgetArea)
        self._dock("inspectorDock", "Properties", self.inspector, Qt.RightDockWidgetArea)
        self.plot_tabs = QTabWidget()
        self.plot_tabs.setObjectName("plotTabs")
        for t in PLOT_TABS:
            self.plot_tabs.addTab(_placeholder(f"The {t.lower()} plot will appear here during training."), t)
        for name, (title, text) in PLACEHOLDER_DOCKS.items():
            area = Qt.BottomDockWidgetArea if name in ("plotsDock", "diagnosticsDock") else Qt.RightDockWidgetArea
            self._dock(name, title, self.plot_tabs if text is None else _placeholder(text), area)
        window_layout.arrange(self)  # places and sizes: gui/window_layout.py (also View ▸ Reset Layout)

    def set_dock_widget(self, name: str, widget):
        """Replace a dock's content: ``name`` is an object name ("trainingDock") or its short form ("training")."""
        key = name if name in self.docks else f"{name}Dock"
        if key not in self.docks:
            raise KeyError(f"no dock {name!r}; docks: {', '.join(self.docks)}")
        old = self.docks[key].widget()
        self.docks[key].setWidget(widget)
        if old is not None and old is not widget and old is not self.plot_tabs:
            old.deleteLater()
        return self.docks[key]

    def add_plot_tab(self, title: str, widget):
        """Put a plot in the Plots dock, replacing the placeholder tab of the same title."""
        for i in range(self.plot_tabs.count()):
            if self.plot_tabs.tabText(i) == title:
                old = self.plot_tabs.widget(i)
                self.plot_tabs.removeTab(i)
                old.deleteLater()
                return self.plot_tabs.insertTab(i, widget, title)
        return self.plot_tabs.addTab(widget, title)

    # -- training ----------------------------------------------------------------
    def build_live_views(self):
        """Plots, progress and diagnostics for the controller (pyqtgraph loads here: call after the first paint)."""
        if self.live is None:
            from .training.live_views import LiveTraining

            self.live = LiveTraining(self, self.controller)
            if self.controller.run is not None:
                self.controller.replay()  # a session opened before the views existed
        return self.live

    # -- experiments (gui/experiments) -------------------------------------------
    def _build_runs_dock(self):
        from .experiments.runs import RunBook
        from .experiments.runs_panel import RunsPanel

        self.experiments = None  # the Experiments window, built on first use
        self.runs = RunBook(self.controller, self.doc, self)
        self.runs_panel = RunsPanel(self.runs)
        # Not one of ``self.docks`` (the layout's fixed set): hidden until Experiments ▸ Runs shows it, as a tab
        # beside the plots; the runs are recorded meanwhile.
        dock = self.runs_dock = QDockWidget("Runs", self)
        dock.setObjectName("runsDock")
        dock.setWidget(self.runs_panel)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(Qt.BottomDockWidgetArea, dock)
        dock.hide()

    def show_runs(self):
        dock = self.runs_dock
        if not dock.isVisible() and not dock.isFloating():
            self.tabifyDockWidget(self.docks["plotsDock"], dock)
        dock.show()
        dock.raise_()
        return self.runs_panel

    def experiments_window(self):
        """The Variants / Cross-validation / Search window (pyqtgraph, torch and Optuna load on first use)."""
        if self.experiments is None:
            from .experiments.window import ExperimentsWindow

            self.experiments = ExperimentsWindow(lambda: self.doc.session.copy(), self.runs, self.doc, self)
        return self.experiments

    def analysis_window(self):
        """The Analyze window (evaluation, explanations, learning curve, sanity checks), built on first use."""
        if self.analysis is None:
            from .analysis.panel import AnalysisWindow

            self.analysis = AnalysisWindow(self.controller.document_run, lambda: self.doc.session, self)
            self.analysis.addActions([a for k, a in self.actions_by_name.items() if k.startswith("analyze_")]
                                     + [self.actions_by_name[k] for k in ("train", "pause", "stop")])  # keys work there
            self.controller.finished.connect(self.analysis.training_finished)
        return self.analysis

    def _connect_controller(self, controller):
        controller.stateChanged.connect(self._update_train_actions)
        controller.stateChanged.connect(self._update_title)
        controller.message.connect(self.show_message)
        controller.deviceChanged.connect(self.set_device_text)
        self._update_train_actions(controller.state)

    def show_message(self, text: str, ms: int = 8000):
        self.statusBar().showMessage(text, ms)

    def _update_train_actions(self, state):
        for k, states in ACTIONS.items():
            self.actions_by_name[k].setEnabled(state in {s.value for s in states})

    # -- editing -----------------------------------------------------------------
    def add_layer(self, name, pos):
        p = self.scene.snap_point(QPointF(*pos))
        x, y = p.x(), p.y()
        others = [n.pos for n in self.doc.graph.nodes if n.pos is not None]
        while any(abs(x - ox) < NODE_W + 20 and abs(y - oy) < 100 for ox, oy in others):
            y += GRID  # slide down to the first free spot instead of covering another node
        nid = self.doc.add_node(name, (x, y))
        self.statusBar().showMessage(f"Added {name} as {nid}", 4000)
        return nid

    def add_layer_at_center(self, name):
        c = self.view.visible_center()
        return self.add_layer(name, (c.x(), c.y()))

    def _update_edit_actions(self):
        has = bool(self.doc.selection)
        for k in ("cut", "copy", "duplicate"):
            self.actions_by_name[k].setEnabled(has)

    # -- chrome --------------------------------------------------------------------
    def _build_status(self):
        sb = self.statusBar()
        self.validity_label = ElidedLabel()  # "…" past 300 px: messages keep room at 1024 px
        self.validity_label.setObjectName("validity")
        self.params_label = QLabel()
        self.params_label.setObjectName("paramCount")
        self.device_label = QLabel("device: auto")
        self.device_label.setObjectName("device")
        self.device_label.setToolTip("Where training runs; decided when the training engine (torch) has loaded.")
        for w in (self.validity_label, self.params_label, self.device_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

    def _memory_refusal(self, report) -> str | None:
        """Why the network cannot fit in this machine's memory (estimated, nothing allocated), or None."""
        from engine.memory import check_fits

        try:
            check_fits(self.doc.session, report)
        except InvalidInput as e:
            return str(e)
        except Exception:  # noqa: BLE001 - an estimate must never break the status bar
            return None
        return None

    def _update_status(self, report):
        refusal = self._memory_refusal(report) if report.ok else None
        if refusal:
            self.validity_label.setText("✗ " + (refusal if len(refusal) <= 70 else refusal[:67] + "…"))
            self.validity_label.setStyleSheet(f"color: {ERROR_TEXT};")
            self.validity_label.setToolTip(refusal)
        elif report.ok:
            self.validity_label.setText("✓ valid")
            self.validity_label.setStyleSheet(f"color: {OK_TEXT};")
            self.validity_label.setToolTip("The graph is valid: every shape is known.")
        else:
            first = str(report.errors[0])
            short = first if len(first) <= 70 else first[:67] + "…"
            self.validity_label.setText("✗ " + short)
            self.validity_label.setStyleSheet(f"color: {ERROR_TEXT};")
            self.validity_label.setToolTip("\n".join(str(e) for e in report.errors))
        self.params_label.setText(f"{report.total_params:,} parameters")

    def set_device_text(self, device: str):
        self.device_label.setText(f"device: {device}")
        self._device_timer.stop()

    def _poll_device(self):
        """Show the real device once torch is imported by someone else; never import it here."""
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "cuda"):
            self.set_device_text("cuda" if torch.cuda.is_available() else "cpu")

    def _update_title(self, *_):
        self.setWindowTitle(f"{self.doc.display_name}{'*' if self.has_unsaved_changes() else ''} — {APP}")

    def trained_state(self):
        """The trainer whose state belongs to the open document (None before training or after a network edit)."""
        return self.controller.document_trainer()

    def training_unsaved(self) -> bool:
        """Training happened (or is happening) that the file on disk does not hold."""
        if self.controller.state in ("running", "paused") and self.controller.busy:
            return True
        tr = self.trained_state()
        return tr is not None and tr.step != self.saved_step

    def has_unsaved_changes(self) -> bool:
        return self.doc.dirty or self.training_unsaved()

    def _on_session_replaced(self):
        self._update_title()
        QTimer.singleShot(0, self.view.fit_to_view)

    # -- files (the single load/save pair) ------------------------------------------------
    def _load_path(self, path):
        """``(Session, Archive or None)``; a zip is read as a ``.nnp`` whatever its name."""
        from engine.session import load_session

        path = os.fspath(path)
        with open(path, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"
        if zipped or path.lower().endswith(".nnp"):
            from engine.archive import load_archive

            archive = load_archive(path)
            return archive.session, archive
        return load_session(path), None

    def _save_path(self, path):
        """``.nnp``: settings, trained state (read while no step runs) and a thumbnail; anything else: settings only."""
        path = os.fspath(path)
        self.doc.session.view = self.view_state()  # opaque to the engine; not an undoable edit
        if not path.lower().endswith(".nnp"):
            from engine.session import save_session_json

            save_session_json(self.doc.session, path)
            return None
        from engine.archive import save_archive  # torch-free unless there is a trainer to save

        thumb = self.thumbnail_png()
        with self.controller.snapshot() as trainer:  # between two steps; the training goes on afterwards
            save_archive(path, self.doc.session, trainer, thumbnail_png=thumb, runs=self.runs.records,
                         checkpoints=self.controller.recorder if trainer is not None else None)
            return trainer.step if trainer is not None else None

    def view_state(self) -> dict:
        """What a reopened session should look like: canvas zoom and centre, the plot tab shown."""
        c = self.view.mapToScene(self.view.viewport().rect().center())
        return {"zoom": round(self.view.zoom(), 4), "center": [round(c.x(), 1), round(c.y(), 1)],
                "plot_tab": self.plot_tabs.tabText(self.plot_tabs.currentIndex())}

    def apply_view_state(self, view: dict):
        """Restore ``view_state()``; anything missing or malformed is ignored (the file's view is a hint)."""
        try:
            if "zoom" in view:
                self.view.set_zoom(float(view["zoom"]))
            if "center" in view:
                x, y = view["center"]
                self.view.centerOn(float(x), float(y))
            tab = view.get("plot_tab")
            for i in range(self.plot_tabs.count()):
                if self.plot_tabs.tabText(i) == tab:
                    self.plot_tabs.setCurrentIndex(i)
        except (TypeError, ValueError, AttributeError):
            pass

    def thumbnail_png(self, width=THUMBNAIL_WIDTH) -> bytes | None:
        """The whole graph drawn ``width`` pixels wide, as PNG bytes (None for an empty canvas)."""
        rect = self.scene.itemsBoundingRect()
        if rect.isEmpty():
            return None
        rect = rect.adjusted(-20, -20, 20, 20)
        height = max(1, min(int(width * rect.height() / rect.width()), 4 * width))
        img = QImage(width, height, QImage.Format_ARGB32)
        img.fill(QColor("white"))
        painter = QPainter(img)
        painter.setRenderHint(QPainter.Antialiasing)
        self.scene.render(painter, QRectF(0, 0, width, height), rect, Qt.KeepAspectRatio)
        painter.end()
        buf = QBuffer()
        buf.open(QIODevice.WriteOnly)
        img.save(buf, "PNG")
        return bytes(buf.data())

    def open_path(self, path, as_example=False) -> bool:
        """Load ``path`` into the window; an example opens as untitled so Save asks where.

        A file that cannot be read leaves the current document untouched and says why in a message box.
        """
        path = os.fspath(path)
        try:
            session, archive = self._load_path(path)
        except Exception as e:  # noqa: BLE001 - whatever is wrong with the file, say so; never a traceback
            self.files.notify("Cannot open", _reason(e, f"Cannot open {path}"))
            return False
        target = None if as_example else os.path.abspath(path)
        self.load_session(session, archive, target)
        if not as_example:
            self.files.add_recent(target)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def load_session(self, session, archive=None, path=None, dirty=False):
        """Replace the document (and its trained state, from a trained ``archive``); ``dirty`` for recovered work."""
        self.doc.set_session(session, path)
        if session.view:
            QTimer.singleShot(0, lambda v=dict(session.view): self.apply_view_state(v))
        trained = archive is not None and archive.trained
        self.saved_step = int(archive.meta.get("step", 0)) if trained and not dirty else 0
        if trained:
            self.controller.restore(archive)
        self.runs.set_records(archive.runs if archive is not None else [], current_steps=self.saved_step)
        if dirty:
            self.doc.undo_stack.resetClean()
        self._update_title()

    def save_to(self, path) -> bool:
        path = os.fspath(path)
        try:
            step = self._save_path(path)
        except Exception as e:  # noqa: BLE001 - the previous file is intact (atomic write); say why
            self.files.notify("Cannot save", _reason(e, f"Saving {path} failed"))
            return False
        tr = self.trained_state()
        self.saved_step = step if step is not None else (tr.step if tr is not None else 0)
        self.doc.mark_saved(os.path.abspath(path))
        self.files.add_recent(os.path.abspath(path))
        note = ""
        if tr is not None and step is None and tr.step:
            note = " (settings only: a .json holds no weights; Save As… .nnp keeps the training)"
        self.statusBar().showMessage(f"Saved {path}{note}", 8000)
        self._update_title()
        self.saved.emit(os.path.abspath(path))
        return True

    # -- settings and closing ----------------------------------------------------------
    def _restore_settings(self):
        window_layout.install(self)  # geometry, versioned dock state, sizes relative to the window

    def save_settings(self):
        window_layout.save(self)

    def closeEvent(self, event):
        if not self.files.maybe_save():
            event.ignore()
            return
        self.controller.stop()
        self.controller.shutdown()  # wait for the worker thread
        if self.analysis is not None:
            self.analysis.shutdown()  # and for any analysis job
        if self.experiments is not None:
            self.experiments.shutdown()  # and for variants, folds and trials
        self.save_settings()
        self._device_timer.stop()
        if self.recovery is not None:  # a normal quit: nothing to recover next time
            self.recovery.discard()
        event.accept()
