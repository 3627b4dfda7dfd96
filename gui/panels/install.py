"""Put the dataset and training panels into a main window's docks (one call from gui.app)."""
from __future__ import annotations


def install_panels(window):
    """Replace the Dataset and Training placeholders of ``window`` with the real panels; returns them.

    Their sizes are the window's business (``gui.window_layout``: fractions of the window, minimum widths).
    """
    from .dataset_panel import DatasetPanel
    from .training_panel import TrainingPanel

    window.dataset_panel = DatasetPanel(window.doc)
    window.training_panel = TrainingPanel(window.doc)
    window.set_dock_widget("datasetDock", window.dataset_panel)
    window.set_dock_widget("trainingDock", window.training_panel)
    return window.dataset_panel, window.training_panel
