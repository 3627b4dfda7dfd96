"""The window side of live training: plot tabs, the diagnostics/progress dock, menus and edge colours.

``LiveTraining`` is built by ``MainWindow.build_live_views()`` right after the first paint (pyqtgraph
costs ~0.7 s to import): it puts the views into the window through its public hooks (``add_plot_tab``,
``set_dock_widget``, the Train and Export menus) and connects them to the controller's GUI-thread
signals; a ``PlotHub`` redraws them on its own timer. The time-travel bar (``timeline.py``) sits under
the plot tabs in the Plots dock.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


class EdgeColours(QObject):
    """Colours (sign of the mean weight) and thickens (RMS weight) the canvas edges into each layer."""

    min_interval = 0.25  # seconds between canvas updates (the hub keeps it dirty meanwhile)

    def __init__(self, scene, parent=None):
        super().__init__(parent)
        self.scene, self.stats, self.dirty, self.active = scene, None, False, True

    def isVisible(self):
        return True

    def set_meta(self, meta):
        self.stats, self.dirty = None, False
        self.scene.clear_edge_styles()

    def ingest(self, batch):
        if batch.stats is not None:
            self.stats, self.dirty = batch.stats, True

    def redraw(self):
        for ls in self.stats.layers if self.stats is not None else ():
            if ls.param == "weight" and ls.node in self.scene.nodes:
                rms = (ls.mean ** 2 + ls.std ** 2) ** 0.5
                if rms == rms:  # not NaN
                    self.scene.set_edge_weights(ls.node, rms / (rms + 0.5), ls.mean)


class _SidePanel(QSplitter):
    """Progress above diagnostics; asks for a modest width so the docks beside it keep theirs."""

    def sizeHint(self):
        return QSize(320, 260)


class LiveTraining:
    """The live views of a window: plots, progress and diagnostics panels, the hub that redraws them."""

    TAB_ORDER = ("Loss", "Accuracy", "Boundary", "Neurons", "Weights", "Gradients", "Activations",
                 "Learning rate", "Confusion", "Predictions")

    def __init__(self, win, controller):
        from ..panels.diagnostics_panel import DiagnosticsPanel
        from ..panels.progress_panel import ProgressPanel
        from ..plots import PlotHub
        from ..plots.activation_plot import ActivationPlot
        from ..plots.boundary_plot import BoundaryPlot
        from ..plots.confusion_plot import ConfusionPlot
        from ..plots.gradients_plot import GradientsPlot
        from ..plots.loss_plot import LossPlot
        from ..plots.lr_plot import LRPlot
        from ..plots.metric_plot import MetricPlot
        from ..plots.neuron_maps import NeuronMaps
        from ..plots.plot_export import add_export_actions
        from ..plots.regression_plot import RegressionPlot
        from ..plots.weights_plot import WeightsPlot

        self.win = win
        self.controller = controller
        self.plots = {p.title: p for p in (LossPlot(), MetricPlot(), BoundaryPlot(), NeuronMaps(), WeightsPlot(),
                                           GradientsPlot(), ActivationPlot(), LRPlot(), ConfusionPlot(),
                                           RegressionPlot())}
        self.progress_panel, self.diagnostics = ProgressPanel(), DiagnosticsPanel()
        self.edges = EdgeColours(win.scene, win)
        self.hub = PlotHub([*self.plots.values(), self.progress_panel, self.diagnostics, self.edges], win)
        for title, plot in self.plots.items():
            add_export_actions(plot, plot.menus())
            win.add_plot_tab(title, plot)
        tabs = win.plot_tabs
        for i, title in enumerate(self.TAB_ORDER):
            j = tabs.indexOf(self.plots[title])
            tabs.tabBar().moveTab(j, i)
        tabs.setCurrentWidget(self.plots["Loss"])
        tabs.currentChanged.connect(self.hub.wake)
        win.docks["plotsDock"].visibilityChanged.connect(self.hub.wake)
        side = _SidePanel(Qt.Vertical)
        side.addWidget(self.progress_panel)
        side.addWidget(self.diagnostics)
        side.setStretchFactor(1, 1)
        win.set_dock_widget("diagnosticsDock", side)
        from .timeline import Timeline

        self.timeline = Timeline(self, controller, win)
        host = QWidget()
        host.setObjectName("plotsHost")
        lay = QVBoxLayout(host)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(tabs, 1)
        lay.addWidget(self.timeline.bar)
        win.set_dock_widget("plotsDock", host)
        c = self.controller
        c.ready.connect(self.hub.set_meta)
        c.ready.connect(self._on_meta)
        c.progress.connect(self.hub.ingest)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)
        c.stateChanged.connect(self._on_state)
        for sig in (c.ready, c.progress, c.stateChanged):  # the frozen-layer cache may change with a live edit
            sig.connect(self._update_cache_note)
        self._menus()
        c.networkChanged.connect(self._on_network_changed)

    def _menus(self):
        win, c = self.win, self.controller
        step = win.actions_by_name["step"]
        epoch = QAction("Step &Epoch", win)
        epoch.setObjectName("action_step_epoch")
        epoch.setShortcut(QKeySequence("Shift+F10"))
        epoch.setStatusTip("Train to the end of the current epoch")
        epoch.triggered.connect(c.step_epoch)
        win.train_menu.insertAction(win.actions_by_name["stop"], epoch)
        step.setStatusTip("Run one training step (Shift+click or Shift+F10: one epoch)")
        self.step_epoch_action = epoch
        c.stateChanged.connect(lambda st: epoch.setEnabled(c.allows("step")))
        menu = win.export_menu
        for a in menu.actions():
            if a.text() == "(train a network first)":
                menu.removeAction(a)
        hist = menu.addAction("Training &History (CSV)…")
        hist.setObjectName("action_export_history")
        hist.triggered.connect(self.export_history)
        plot_menu = menu.addMenu("Current &Plot")
        for kind in ("png", "svg", "csv"):
            a = plot_menu.addAction(f"As {kind.upper()}…")
            a.triggered.connect(lambda _=False, k=kind: self.export_current(k))

    def current_plot(self):
        return self.win.plot_tabs.currentWidget()

    def export_current(self, kind, dialogs=None):
        from ..plots.plot_export import export_interactively

        return export_interactively(self.current_plot(), kind, dialogs)

    def export_history(self, dialogs=None):
        from ..plots.plot_export import DIALOGS, export_history_csv

        run = self.controller.run
        history = run.history if run is not None and run.trainer is not None else None  # a copy, between steps
        if history is None or history.n_epochs == 0:
            self.win.statusBar().showMessage("Train for at least one epoch first", 5000)
            return None
        path = (dialogs or DIALOGS).ask_path(self.win, "Export training history", "history.csv", "CSV table (*.csv)")
        if path:
            export_history_csv(history, path)
            self.win.statusBar().showMessage(f"Saved the per-epoch history to {path}", 5000)
        return path

    def record_threads(self) -> list:
        """Tests: log the thread of every GUI-side slot that handles worker output or draws."""
        log = []
        self.controller.thread_log = self.hub.thread_log = log
        return log

    def _on_meta(self, meta):
        tabs = self.win.plot_tabs
        for title, plot in self.plots.items():
            ok = meta is None or plot.applies(meta) is None
            tabs.setTabVisible(tabs.indexOf(plot), ok)
            tabs.setTabText(tabs.indexOf(plot), plot.title)
        if meta is None:  # a new network, document or weights: no text about the previous run stays
            self.diagnostics.reset()
            if self.controller.busy:
                self.progress_panel.reset("Building the network…")
            else:
                self.progress_panel.reset()

    def _on_state(self, state):
        c = self.controller
        text = {"running": "Training…", "paused": "Paused", "idle": "Idle", "building": "Building the network…",
                "failed": "Failed — see the message", "finished": "Idle"}.get(state, state)
        run = c.document_run()
        if state in ("finished", "idle") and run is not None and run.step > 0:
            text = f"Idle — {run.epoch} epoch{'s' * (run.epoch != 1)}, {run.step:,} steps trained (Train continues)"
        elif state in ("finished", "idle") and c.run is not None and c.run.trainer is not None and c.run.step > 0:
            text = "Idle — the network changed since this run; Train asks whether to start a new run"
        self.progress_panel.set_state(text)

    def _update_cache_note(self, *_):
        """The progress panel's line on the frozen-layer cache of the current run (engine.frozen_cache)."""
        run = self.controller.run
        rep = run.frozen_cache if run is not None and run.trainer is not None else None
        self.progress_panel.set_cache_note(rep.text() if rep is not None and rep.applies else "")

    def _on_network_changed(self, differs: bool):
        """The document's network is no longer the trained one (or is again): no stale boundary under it."""
        if differs and not self.controller.busy:
            for title in ("Boundary", "Neurons"):
                self.plots[title].clear()
        self._on_state(self.controller.state)

    def _on_finished(self, ev):
        if ev is not None:
            self.progress_panel.redraw()  # the last batch first, then: speed and time left mean nothing now
            self.progress_panel.stopped()
        self.diagnostics.finished(ev)
        self.hub.wake()
        self._on_state(self.controller.state)

    def _on_failed(self, text):
        self.diagnostics.failed(text)
        self.hub.wake()
