"""The visual layer-graph editor: a QGraphicsScene mirroring a Document, its view, items and undo commands."""
from .scene import GraphScene
from .view import LAYER_MIME, GraphView

__all__ = ["GraphScene", "GraphView", "LAYER_MIME"]
