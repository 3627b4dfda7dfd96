"""The Analyze window: Evaluation, Explanations, Surrogate tree, Learning curve, Sanity checks and Curvature as tabs, opened from the
Analyze menu (non-modal, beside the main window, so training goes on and its plots stay visible).

``run_provider()`` gives the run that trained the document's current network (or None) and
``session_provider()`` the document's settings (the learning curve and the sanity checks train their
own fresh networks from them).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from .bias_variance_view import BiasVarianceView
from .curvature_view import CurvatureView
from .evaluation_view import EvaluationView
from .explain_view import ExplainView
from .learning_curve_view import LearningCurveView
from .sanity_view import SanityView
from .surrogate_view import SurrogateView

PAGES = ("evaluation", "explain", "surrogate", "learning_curve", "sanity", "curvature", "bias_variance")
# these follow the current weights (recomputed on opening and when a training stops); the learning curve and
# the sanity checks train fresh networks (slower): they start on first opening and then wait for their button
FOLLOW_WEIGHTS = ("evaluation", "explain", "surrogate", "curvature")


class AnalysisWindow(QWidget):
    title = "Analyze"

    def __init__(self, run_provider, session_provider=None, parent=None):
        super().__init__(parent, Qt.Window)
        self.setObjectName("analysisWindow")
        self.setWindowTitle("Analyze — NN Playground")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("analysisTabs")
        self.views = {
            "evaluation": EvaluationView(run_provider),
            "explain": ExplainView(run_provider),
            "surrogate": SurrogateView(run_provider),
            "learning_curve": LearningCurveView(run_provider, session_provider=session_provider),
            "sanity": SanityView(run_provider, session_provider=session_provider),
            "curvature": CurvatureView(run_provider),
            "bias_variance": BiasVarianceView(run_provider, session_provider=session_provider),
        }
        for v in self.views.values():
            self.tabs.addTab(v, v.title)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs)
        QShortcut(QKeySequence.Close, self, activated=self.close)

    def open_page(self, name, compute=True):
        """Show the window on page ``name`` and (``compute``) start its job; see below for which pages recompute."""
        view = self.views[name]
        self.tabs.setCurrentWidget(view)
        if not self.isVisible():
            p = self.parentWidget()
            if p is not None:
                g = p.geometry()
                w, h = max(700, int(g.width() * 0.85)), max(480, int(g.height() * 0.8))
                self.resize(min(w, g.width()), min(h, g.height()))
                self.move(g.x() + (g.width() - self.width()) // 2, g.y() + (g.height() - self.height()) // 2)
            self.show()
        self.raise_()
        self.activateWindow()
        if compute and not view.runner.busy and (name in FOLLOW_WEIGHTS or view.result is None):
            view.compute()
        return view

    def training_finished(self, *_):
        """A training stopped: a shown evaluation or explanation is recomputed for the new weights."""
        view = self.current_view()
        following = [self.views[k] for k in FOLLOW_WEIGHTS]
        if self.isVisible() and view is not None and view.result is not None and view in following \
                and not view.runner.busy:
            view.compute()

    def current_view(self):
        return self.tabs.currentWidget()

    def shutdown(self):
        for v in self.views.values():
            v.shutdown()

    def closeEvent(self, event):
        for v in self.views.values():
            v.runner.cancel()
        super().closeEvent(event)


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from .sample import SAMPLES, sample_run

    app = QApplication.instance() or QApplication(sys.argv)
    kind = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in SAMPLES else "circle"
    run = sample_run(kind)
    win = AnalysisWindow(lambda: run, lambda: run.session)
    win.resize(1000, 560)
    win.show()
    win.open_page("evaluation")
    code = app.exec()
    win.shutdown()
    raise SystemExit(code)
