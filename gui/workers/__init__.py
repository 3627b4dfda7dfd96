"""Background work for the window: each worker is a QObject moved to its own QThread."""
from .training_worker import BoundaryFrame, ProgressBatch, TrainingMeta, TrainingWorker

__all__ = ["BoundaryFrame", "ProgressBatch", "TrainingMeta", "TrainingWorker"]
