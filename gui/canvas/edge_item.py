"""A connection drawn as a cubic Bézier from an output port to an input port.

An edge with layers in its way (a skip connection) detours beside them
(``route``), so it is never hidden behind the layer it skips.

Each edge carries its own ``EdgeStyle`` (neutral by default) so live training
can thicken and colour edges by weight magnitude and sign without touching
the document.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from .. import style


@dataclass(frozen=True)
class EdgeStyle:
    width: float = 2.0
    color: QColor | None = None  # None: the neutral edge colour
    dashed: bool = False


NEUTRAL = EdgeStyle()
MIN_SCREEN_WIDTH = 1.3  # device pixels


def bezier(p1: QPointF, p2: QPointF) -> QPainterPath:
    """Horizontal tangents at both ends; the bulge grows with the distance so back-edges loop visibly.

    A long edge between nodes on one row (a skip connection) arcs above the row
    instead of running hidden behind the nodes in between.
    """
    span = p2.x() - p1.x()
    dx = max(50.0, abs(span) * 0.5)
    path = QPainterPath(p1)
    if span > 300 and abs(p2.y() - p1.y()) < 60:
        lift = min(90.0 + span * 0.05, 180.0)
        top = min(p1.y(), p2.y()) - lift
        path.cubicTo(QPointF(p1.x() + 60, top), QPointF(p2.x() - 60, top), p2)
        return path
    path.cubicTo(QPointF(p1.x() + dx, p1.y()), QPointF(p2.x() - dx, p2.y()), p2)
    return path


SAMPLES = 32  # points checked along a curve for nodes in the way
CLEARANCE = 18.0  # px between a detour and the nodes it passes
BEND = 40.0  # px the detour takes to leave a port (the gap between laid-out columns is 50)


def blocked(path: QPainterPath, obstacles) -> list:
    """The obstacle rectangles that ``path`` passes through (sampled at SAMPLES points)."""
    pts = [path.pointAtPercent(k / SAMPLES) for k in range(1, SAMPLES)]
    return [r for r in obstacles if any(r.contains(p) for p in pts)]


def route(p1: QPointF, p2: QPointF, obstacles=()) -> QPainterPath:
    """The edge's path: the plain curve if no node is in the way, else a detour beside those nodes.

    A node is in the way when the straight line or the plain curve between the
    ports crosses it. The detour leaves ``p1`` with an S-bend, runs level
    CLEARANCE px below every node it would cross (Auto Layout keeps that row
    free, see ``layout.auto_layout``), and bends into ``p2``, so a skip
    connection stays visible next to the layers it skips. Only forward edges
    are rerouted; a back-edge keeps its loop.
    """
    plain = bezier(p1, p2)
    if p2.x() - p1.x() < 2 * BEND + 10 or not obstacles:
        return plain
    between = [r for r in obstacles if r.right() > p1.x() + 1 and r.left() < p2.x() - 1]
    straight = QPainterPath(p1)
    straight.lineTo(p2)
    box = plain.boundingRect().united(QRectF(p1, p2).normalized()).adjusted(-1, -1, 1, 1)
    near = [r for r in between if r.intersects(box)]  # only these can be crossed (cheap pre-filter)
    hit = near and (blocked(straight, near) or blocked(plain, near))
    if not hit:
        return plain
    y = max(r.bottom() for r in hit) + CLEARANCE
    for _ in range(8):  # the level line may cross further nodes: go lower until it is clear
        more = [r for r in between if r.top() - CLEARANCE < y < r.bottom() + CLEARANCE]
        if not more:
            break
        y = max(r.bottom() for r in more) + CLEARANCE
    path = QPainterPath(p1)
    a, b = p1.x() + BEND, p2.x() - BEND
    path.cubicTo(QPointF(p1.x() + BEND * 0.7, p1.y()), QPointF(p1.x() + BEND * 0.3, y), QPointF(a, y))
    path.lineTo(QPointF(b, y))
    path.cubicTo(QPointF(b + BEND * 0.7, y), QPointF(p2.x() - BEND * 0.3, p2.y()), p2)
    return path


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge, src_item, dst_item):
        super().__init__()
        self.edge = edge
        self.src_item, self.dst_item = src_item, dst_item
        self.edge_style = NEUTRAL
        self._hover = False
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self.setToolTip(f"{edge.src} → {edge.dst}" + (f" (port {edge.port})" if edge.port != "in" else "")
                        + "\nSelect and press Delete to disconnect.")
        self._apply_pen()
        self.update_path()

    def update_path(self):
        p1 = self.src_item.port_scene_pos(None)
        p2 = self.dst_item.port_scene_pos(self.edge.port)
        obstacles = []
        scene = self.scene()
        if p2.x() - p1.x() > 2 * BEND + 10 and hasattr(scene, "node_rects"):  # only a forward edge can be blocked
            a, b = p1.x(), p2.x()
            src, dst = self.src_item, self.dst_item
            obstacles = [r for item, x0, x1, r in scene.node_rects() if x1 > a and x0 < b and item is not src
                         and item is not dst]
        self.setPath(route(p1, p2, obstacles))

    def set_style(self, edge_style: EdgeStyle):
        if edge_style != self.edge_style:
            self.edge_style = edge_style
            self._apply_pen()

    def _apply_pen(self):
        s = self.edge_style
        color = s.color if s.color is not None else style.EDGE
        if self.isSelected() or self._hover:
            color = style.EDGE_HOVER
        pen = QPen(color, s.width + (1.0 if self.isSelected() else 0.0))
        pen.setCapStyle(Qt.RoundCap)
        if s.dashed:
            pen.setStyle(Qt.DashLine)
        self.setPen(pen)

    def shape(self):
        stroker = QPainterPathStroker()
        stroker.setWidth(max(10.0, self.edge_style.width + 6))
        return stroker.createStroke(self.path())

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self._apply_pen()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event):
        self._hover = True
        self._apply_pen()

    def hoverLeaveEvent(self, event):
        self._hover = False
        self._apply_pen()

    def paint(self, painter, option, widget=None):
        # Skip QGraphicsPathItem's dashed selection rectangle; the pen colour shows selection.
        pen = self.pen()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if pen.widthF() * lod < MIN_SCREEN_WIDTH:  # zoomed out: keep edges visible
            pen.setWidthF(MIN_SCREEN_WIDTH)
            pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
