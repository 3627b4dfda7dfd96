"""What the three live experiment views (variants, cross-validation, search) build the same way.

A Start/Stop row, one coloured curve per variant or fold with its legend entry, and the lifecycle of
a view driven by a ``LiveJob`` (closing the view stops its thread). One place for them keeps the three
tabs looking and behaving alike; their results tables come from ``gui.tables``, like every other view's.
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget


class LiveView(QWidget):
    """A view whose work runs in ``self.job`` (a ``LiveJob``): shutting down or closing stops it."""

    job = None

    def shutdown(self):
        if self.job is not None:
            self.job.stop()

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)


def start_stop_row(text: str, name: str, on_start, on_stop, extra=()):
    """``(row, start, stop)``: a Start button named ``name`` and a disabled Stop, then ``extra`` widgets."""
    row = QHBoxLayout()
    start = QPushButton(text)
    start.setObjectName(name)
    start.clicked.connect(on_start)
    stop = QPushButton("Stop")
    stop.setEnabled(False)
    stop.clicked.connect(on_stop)
    for w in (start, stop, *extra):
        row.addWidget(w)
    return row, start, stop


def set_running(view, running: bool):
    """Start disabled and Stop enabled while the view's job runs, the other way round after."""
    view.start_button.setEnabled(not running)
    view.stop_button.setEnabled(running)


def series_curves(plot, legend, old, labels) -> list:
    """Replace the curves ``old`` on ``plot`` by one empty curve per label, in the series colours, in ``legend``."""
    import pyqtgraph as pg

    from gui.plots import SERIES

    for c in old:
        plot.removeItem(c)
    legend.clear()
    curves = []
    for k, label in enumerate(labels):
        c = plot.plot([], [], pen=pg.mkPen(SERIES[k % len(SERIES)], width=2), name=label)
        curves.append(c)
        legend.addItem(c, label)
    return curves


def run_alone(view_class, epochs: int, size):
    """``python -m gui.experiments.<view>``: the view on the sample circle, started on the torch path."""
    import sys

    from gui.panels import preview

    from .sample import sample_session

    def make():
        v = view_class(lambda: sample_session(epochs=epochs))
        v.path = "torch"  # no compile wait
        v.epochs.setValue(epochs)
        v.start()
        return v

    sys.exit(preview(make, size))
