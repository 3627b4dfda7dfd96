"""The live views' real data classes, imported in this one place.

The training redesign moves them (``gui/workers/training_worker.py`` → ``engine/views.py`` and
``gui/training/worker.py``); tests import them from here, so that move is a change to this file only.
"""
try:
    from engine.views import BoundaryFrame, TrainingMeta
    from gui.training.worker import ProgressBatch
except ImportError:  # before the move
    from gui.workers.training_worker import BoundaryFrame, ProgressBatch, TrainingMeta

__all__ = ["BoundaryFrame", "ProgressBatch", "TrainingMeta"]
