"""A connection point on a node: named inputs on the left, the one output on the right.

Pressing an output port starts a connection drag; the scene owns the drag
(``begin_connection``/``drag_connection``/``end_connection``) so tests and the
mouse share one code path.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QGraphicsItem

from .. import style

RADIUS = 6.0


class PortItem(QGraphicsItem):
    def __init__(self, node_item, name: str, is_output: bool, variadic=False):
        super().__init__(node_item)
        self.node_item = node_item
        self.name = name
        self.is_output = is_output
        self.variadic = variadic
        self.highlight = None  # None, "ok" or "bad" while a drag hovers
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor if is_output else Qt.ArrowCursor)
        kind = "output" if is_output else ("input (takes several connections)" if variadic else "input")
        self.setToolTip(f"{name}: {kind}" + ("\nDrag to an input port to connect." if is_output else ""))

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self):
        r = RADIUS + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter, option, widget=None):
        border = style.NODE_BORDER
        if self.highlight == "ok":
            border = style.NODE_SELECTED
        elif self.highlight == "bad":
            border = style.NODE_INVALID
        painter.setPen(QPen(border, 2 if self.highlight else 1.4))
        painter.setBrush(QBrush(style.PORT_OUT if self.is_output else style.PORT_IN))
        r = RADIUS + (1.5 if self.highlight else 0)
        if self.variadic:
            painter.drawRoundedRect(QRectF(-r, -r * 1.3, 2 * r, 2.6 * r), 3, 3)
        else:
            painter.drawEllipse(QRectF(-r, -r, 2 * r, 2 * r))

    def set_highlight(self, state):
        if state != self.highlight:
            self.highlight = state
            self.update()

    def mousePressEvent(self, event):
        if self.is_output and event.button() == Qt.LeftButton:
            self.scene().begin_connection(self)
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event):
        self.scene().drag_connection(event.scenePos())

    def mouseReleaseEvent(self, event):
        self.scene().end_connection(event.scenePos(), event.screenPos())
