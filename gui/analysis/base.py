"""What every analysis view shares: a Compute button, a status line, a JobRunner, and the run it reads.

A view never holds training state: ``run_provider()`` returns the window's current ``engine.Run`` (or None),
and a job works on ``engine.evaluation.Frozen(run)``, a copy taken between two steps, so a training that
goes on is neither stopped nor able to change the numbers half-way through.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from .jobs import JobRunner

MUTED = "color: #5b6573;"
ERROR = "color: #b3261e;"


class AnalysisView(QWidget):
    """Subclasses set ``title``/``needs``, build their body into ``self.body``, implement ``job``/``show_result``."""

    title = "Analysis"
    button_text = "Compute"
    needs = "Train the network first (Train, F5); then press Compute."
    computed = Signal(object)  # the result shown (tests wait on it)
    export_kinds = ("png", "svg", "csv")
    export_dialogs = None  # gui.plots.plot_export.DIALOGS unless a test replaces it

    def __init__(self, run_provider=None, parent=None):
        super().__init__(parent)
        self.run_provider = run_provider or (lambda: None)
        self.result = None
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self.runner.progress.connect(self.on_progress)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.setSpacing(2)
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(2, 0, 2, 0)
        self.button = QPushButton(self.button_text)
        self.button.setObjectName("computeButton")
        self.button.clicked.connect(self.compute)
        self.status = QLabel(self.needs)
        self.status.setObjectName("analysisStatus")
        self.status.setStyleSheet(MUTED)
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(1)
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.bar.addWidget(self.button)
        outer.addLayout(self.bar)
        outer.addWidget(self.status)
        self.body = QVBoxLayout()
        self.body.setSpacing(2)
        outer.addLayout(self.body, 1)

    def add_control(self, widget, label=None):
        if label:
            lab = QLabel(label)
            lab.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.bar.addWidget(lab)
        self.bar.addWidget(widget)
        return widget

    def finish_bar(self):
        """End the top bar: a stretch, then Export (PNG/SVG of the main plot, CSV of the numbers)."""
        from PySide6.QtWidgets import QMenu, QToolButton

        from ..plots.plot_export import export_interactively

        self.bar.addStretch(1)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setObjectName("exportButton")
        self.export_button.setToolTip("Save this view's main plot as PNG or SVG, or its numbers as CSV")
        self.export_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.export_button)
        for kind in self.export_kinds:
            a = menu.addAction(f"Export {kind.upper()}…")
            a.setObjectName(f"export_{kind}")
            a.triggered.connect(lambda _=False, k=kind: export_interactively(self, k, self.export_dialogs))
        self.export_button.setMenu(menu)
        self.bar.addWidget(self.export_button)

    # -- computing ---------------------------------------------------------------------------
    def current_run(self):
        run = self.run_provider()
        return run if run is not None and getattr(run, "trainer", None) is not None else None

    def compute(self):
        """Start the job on the current run (or say what is missing)."""
        run = self.current_run()
        fn = self.job(run)
        if fn is None:
            self.set_status(self.needs, error=False)
            return False
        self.set_status("Computing…")
        self.button.setEnabled(False)
        self.runner.start(fn)
        return True

    def job(self, run):
        """``fn(progress, should_stop) -> result`` for the runner, or None when there is nothing to compute."""
        raise NotImplementedError

    def on_progress(self, obj):
        pass

    def _on_done(self, result):
        self.button.setEnabled(True)
        self.result = result
        self.set_status("")
        self.show_result(result)
        self.computed.emit(result)

    def _on_failed(self, text):
        self.button.setEnabled(True)
        self.set_status(text, error=True)

    def show_result(self, result):
        raise NotImplementedError

    def set_status(self, text, error=False):
        self.status.setText(text)
        self.status.setStyleSheet(ERROR if error else MUTED)
        self.status.setVisible(bool(text))

    def shutdown(self):
        self.runner.shutdown()

    # -- export (the Plots dock's Export ▸ Current Plot) ---------------------------------------
    def export_item(self):
        raise NotImplementedError

    def csv_table(self):
        return [], []


class SettingsView(AnalysisView):
    """A view that trains fresh networks from the document's settings (the learning curve, sanity checks,
    bias–variance): its job gets the settings (``session_provider()``, else the run's), not a trained run."""

    def __init__(self, run_provider=None, parent=None, session_provider=None):
        super().__init__(run_provider, parent)
        self.session_provider = session_provider

    def current_run(self):
        if self.session_provider is not None:
            return self.session_provider()
        run = self.run_provider()
        return run.session if run is not None else None
