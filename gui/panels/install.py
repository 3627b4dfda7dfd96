"""Put the dataset and training panels into a main window's docks (one call from gui.app)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt

FIRST_LAUNCH_HEIGHTS = (300, 520)  # properties above, dataset/training below: the preview needs the room


def install_panels(window):
    """Replace the Dataset and Training placeholders of ``window`` with the real panels; returns them."""
    from ..settings import app_settings
    from .dataset_panel import DatasetPanel
    from .training_panel import TrainingPanel

    window.dataset_panel = DatasetPanel(window.doc)
    window.training_panel = TrainingPanel(window.doc)
    window.set_dock_widget("datasetDock", window.dataset_panel)
    window.set_dock_widget("trainingDock", window.training_panel)
    state = app_settings().value("window/state")
    if not (isinstance(state, QByteArray) and not state.isEmpty()):  # never override a layout the person saved
        docks = [window.docks[n] for n in ("inspectorDock", "datasetDock") if n in window.docks]
        if len(docks) == 2:
            window.resizeDocks(docks, list(FIRST_LAUNCH_HEIGHTS), Qt.Vertical)
    return window.dataset_panel, window.training_panel
