"""The editor viewport: zoom, pan, fit, rubber-band select, and drops from the palette."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

from .node_item import WIDTH

LAYER_MIME = "application/x-nnp-layer"
MIN_ZOOM, MAX_ZOOM = 0.15, 3.0


class GraphView(QGraphicsView):
    layerDropped = Signal(str, QPointF)  # layer type name, scene position (top-left of the new node)
    zoomChanged = Signal(float)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setWhatsThis(
            "The layer graph. Drag a layer from the palette to add it; drag from a node's right-hand port to another "
            "node's left-hand port to connect. Wheel zooms, middle-drag or Space+drag pans, Delete removes the selection."
        )
        self._pan_from = None
        self._space = False

    # -- zoom ---------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float):
        """Zoom to ``factor`` (clamped to MIN_ZOOM..MAX_ZOOM); a NaN or infinite factor is ignored."""
        if not math.isfinite(factor):
            return  # a NaN would pass the clamp and break the view's transform for good
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        cur = self.zoom()
        if abs(cur - factor) > 1e-9:
            self.scale(factor / cur, factor / cur)
            self.zoomChanged.emit(factor)

    def zoom_in(self):
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self):
        self.set_zoom(self.zoom() / 1.25)

    def reset_zoom(self):
        self.set_zoom(1.0)

    def fit_to_view(self):
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            self.reset_zoom()
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.zoom() > 1.0:  # a small graph is shown at 100%, not blown up
            self.set_zoom(1.0)
        self.centerOn(rect.center())
        self.zoomChanged.emit(self.zoom())

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * (1.15 ** steps))
        event.accept()

    def visible_center(self) -> QPointF:
        """Scene point at the viewport centre, shifted so a new node is centred there."""
        c = self.mapToScene(self.viewport().rect().center())
        return QPointF(c.x() - WIDTH / 2, c.y() - 40)

    # -- pan: middle drag, or Space + left drag ----------------------------
    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.ScrollHandDrag)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.RubberBandDrag)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event):
        if event.button() == Qt.MiddleButton:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- drops from the palette ----------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        md = event.mimeData()
        if md.hasFormat(LAYER_MIME):
            name = bytes(md.data(LAYER_MIME)).decode("utf-8")
            p = self.mapToScene(event.position().toPoint())
            self.layerDropped.emit(name, QPointF(p.x() - WIDTH / 2, p.y() - 20))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)
