"""The Experiments window: side-by-side variants, cross-validation and hyperparameter search, as tabs.

Built on first use (``MainWindow.experiments_window()``, from the Experiments menu): pyqtgraph, torch
and Optuna load then, never at start-up. Each tab reads the document's current session when it
starts; finished variants go to the session's runs (the Runs dock).
"""
from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from .crossval_view import CrossValView
from .sweep_view import SweepView
from .variants_view import VariantsView

PAGES = ("variants", "crossval", "search")


class ExperimentsWindow(QWidget):
    def __init__(self, session_provider, book=None, document=None, parent=None):
        super().__init__(parent)
        from PySide6.QtCore import Qt

        self.setWindowFlag(Qt.Window, True)
        self.setObjectName("experimentsWindow")
        self.setWindowTitle("Experiments — NN Playground")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("experimentsTabs")
        self.variants = VariantsView(session_provider, book)
        self.crossval = CrossValView(session_provider)
        self.search = SweepView(session_provider, document)
        for w, title in ((self.variants, "Side-by-side variants"), (self.crossval, "Cross-validation"),
                         (self.search, "Hyperparameter search")):
            self.tabs.addTab(w, title)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs)
        self.resize(1000, 700)

    def open_page(self, page: str):
        self.tabs.setCurrentIndex(PAGES.index(page))
        self.show()
        self.raise_()
        self.activateWindow()
        return self.tabs.currentWidget()

    def shutdown(self):
        for v in (self.variants, self.crossval, self.search):
            v.shutdown()

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)


if __name__ == "__main__":  # python -m gui.experiments.window: the three tabs on the sample circle
    import sys

    from gui.panels import preview

    from .sample import sample_session

    sys.exit(preview(lambda: ExperimentsWindow(lambda: sample_session(epochs=10)), (1000, 700)))
