"""One layer on the canvas: a coloured header by group, key params, output shape, parameter count.

The item paints its text itself (no child text items) and caches the result,
so dragging hundreds of nodes only blits pixmaps. ``update_info`` is called
with each new analysis and repaints only when the shown text changes.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from engine.layers import shape_str

from .. import style
from .port_item import PortItem

WIDTH = 170.0
HEADER = 27.0
LINE = 19.0
PAD = 8.0
PORT_GAP = 22.0
COMPACT_LOD = 0.6  # below this zoom a node shows only its type and shape, in larger type


SHORT = {"kernel_size": "kernel", "pool_size": "pool", "num_embeddings": "vocab", "embedding_dim": "dim"}


def format_value(name, value, layer_name=""):
    """Compact text for one key parameter: ``units 8``, ``kernel 3×3``, ``tanh``."""
    if name == "activation" or name.endswith("activation"):
        return str(value)
    if name in ("kernel_size", "pool_size") and isinstance(value, int) and layer_name.endswith("2d"):
        value = (value, value)
    name = SHORT.get(name, name)
    if isinstance(value, bool):
        return name if value else f"no {name}"
    if isinstance(value, (list, tuple)):
        return f"{name} " + "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{name} {value:g}"
    return f"{name} {value}"


class NodeItem(QGraphicsObject):
    def __init__(self, node, layer_type):
        super().__init__()
        self.node_id = node.id
        self.layer_type = layer_type
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.color = style.group_color(layer_type.group if layer_type else "")
        self.title = layer_type.name if layer_type else node.type
        self.lines = ["", "", ""]
        self.errors: list[str] = []
        self.trainable = True
        ports = layer_type.ports if layer_type else ("in",)
        variadic = bool(layer_type and layer_type.variadic)
        self.in_ports = {p: PortItem(self, p, False, variadic) for p in ports}
        self.out_port = None if (layer_type and layer_type.name == "Output") else PortItem(self, "out", True)
        n_ports = max(1, len(self.in_ports))
        self.height = max(HEADER + 3 * LINE + PAD, HEADER + PAD + n_ports * PORT_GAP)
        body_mid = HEADER + (self.height - HEADER) / 2
        first = body_mid - (len(self.in_ports) - 1) * PORT_GAP / 2
        for k, port in enumerate(self.in_ports.values()):
            port.setPos(0, first + k * PORT_GAP)
        if self.out_port is not None:
            self.out_port.setPos(WIDTH, body_mid)
        self.show_port_names = len(self.in_ports) > 1
        self._font = QFont()
        self._font.setPointSizeF(10.0)
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._bold.setPointSizeF(10.5)
        self.overlay: list[str] = []  # values shown under the node by a teaching view (z, a, δ...)
        self.overlay_color: QColor | None = None
        if node.pos is not None:
            self.setPos(QPointF(*node.pos))

    def set_overlay(self, lines, color: QColor | None = None):
        """Show ``lines`` (a few short strings) in a badge under the node, tinted ``color``; ``[]`` removes it."""
        lines = [str(t) for t in (lines or [])]
        if lines != self.overlay or color != self.overlay_color:
            self.prepareGeometryChange()
            self.overlay, self.overlay_color = lines, color
            self.update()

    # -- content -------------------------------------------------------------
    def update_info(self, node, report):
        """Refresh shown text from the node and the latest GraphReport; repaint only on change."""
        lt = self.layer_type
        params = report.params.get(node.id) or node.params
        keys = lt.key_params if lt else ()
        key_text = " · ".join(format_value(k, params[k], self.title) for k in keys if params.get(k) is not None)
        shape = report.shapes.get(node.id)
        shape_text = ("→ " + shape_str(shape)) if shape is not None else "→ ?"
        count = report.param_counts.get(node.id)
        count_text = "" if count is None else (f"{count:,} params" if count else "no params")
        if not node.trainable:
            count_text = (count_text + " · frozen").strip(" ·")
        lines = [key_text, shape_text, count_text]
        errors = [str(e).removeprefix(f"node '{node.id}': ") for e in report.errors_for(node.id)]
        if lines != self.lines or errors != self.errors or node.trainable != self.trainable:
            self.lines, self.errors, self.trainable = lines, errors, node.trainable
            self.setToolTip(self._tooltip(node))
            self.update()

    def _tooltip(self, node):
        lt = self.layer_type
        parts = [f"<b>{html.escape(self.title)}</b> &nbsp;<i>{html.escape(node.id)}</i>"]
        if lt and lt.doc:
            parts.append(html.escape(lt.doc))
        parts += [f"<span style='color:{style.ERROR_TEXT}'>✗ {html.escape(e)}</span>" for e in self.errors]
        return "<br>".join(parts)

    @property
    def is_invalid(self):
        return bool(self.errors)

    def port_scene_pos(self, port_name=None) -> QPointF:
        """Where an edge attaches: the output port, or the named input port."""
        if port_name is None:
            port = self.out_port
            return self.mapToScene(QPointF(WIDTH, self.height / 2) if port is None else port.pos())
        port = self.in_ports.get(port_name)
        return self.mapToScene(port.pos() if port is not None else QPointF(0, self.height / 2))

    # -- painting --------------------------------------------------------------
    def boundingRect(self):
        return QRectF(-3, -3, WIDTH + 6, self.height + 6 + (len(self.overlay) * LINE + 6 if self.overlay else 0))

    def shape(self):
        p = QPainterPath()
        p.addRoundedRect(QRectF(0, 0, WIDTH, self.height), 6, 6)
        return p

    def paint(self, painter, option, widget=None):
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        compact = lod < COMPACT_LOD
        header_h = self.height * 0.5 if compact else HEADER
        self._paint_frame(painter, header_h)
        if compact:
            self._paint_compact(painter, header_h, lod)
        else:
            self._paint_detail(painter)
        if self.overlay:
            self._paint_overlay(painter)

    def _paint_overlay(self, painter):
        r = QRectF(0, self.height + 3, WIDTH, len(self.overlay) * LINE + 2)
        painter.setPen(QPen(style.NODE_BORDER, 1.0))
        painter.setBrush(QBrush(self.overlay_color or style.NODE_BODY))
        painter.drawRoundedRect(r, 4, 4)
        painter.setFont(self._font)
        painter.setPen(style.NODE_TEXT)
        fm = QFontMetricsF(self._font)
        for k, text in enumerate(self.overlay):
            painter.drawText(QRectF(PAD, r.top() + 1 + k * LINE, WIDTH - 2 * PAD, LINE), Qt.AlignVCenter | Qt.AlignLeft,
                             fm.elidedText(text, Qt.ElideRight, WIDTH - 2 * PAD))

    def _paint_frame(self, painter, header_h):
        rect = QRectF(0, 0, WIDTH, self.height)
        selected = self.isSelected()
        if self.errors:
            pen = QPen(style.NODE_INVALID, 2.5)
        elif selected:
            pen = QPen(style.NODE_SELECTED, 2.5)
        else:
            pen = QPen(style.NODE_BORDER, 1.2)
        if not self.trainable:
            pen.setStyle(Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(QBrush(style.NODE_BODY))
        painter.drawRoundedRect(rect, 6, 6)
        header = QPainterPath()  # rounded top, square bottom
        header.addRoundedRect(QRectF(0, 0, WIDTH, header_h), 6, 6)
        square = QPainterPath()
        square.addRect(QRectF(0, header_h / 2, WIDTH, header_h / 2))
        painter.setPen(Qt.NoPen)
        painter.setBrush(self.color if self.trainable else QColor(self.color).lighter(140))
        painter.drawPath(header.united(square))
        if selected and self.errors:  # keep the selection visible on an invalid node
            painter.setPen(QPen(style.NODE_SELECTED, 1.5, Qt.DotLine))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-3, -3, 3, 3), 8, 8)

    def _paint_compact(self, painter, header_h, lod):
        """Zoomed out: only the type and the output shape, in fonts that stay readable on screen."""
        scale = min(1.0 / max(lod, 0.05), 3.2)
        big = QFont(self._bold)
        big.setPointSizeF(self._bold.pointSizeF() * scale * 0.8)
        r = QRectF(4, 0, WIDTH - 8, header_h)
        wide = QFontMetricsF(big).horizontalAdvance(self.title)
        if wide > r.width():  # shrink to fit rather than cut "BatchNorm" short
            big.setPointSizeF(max(big.pointSizeF() * 0.9 * r.width() / wide, self._bold.pointSizeF()))
        painter.setFont(big)
        painter.setPen(Qt.white)
        painter.drawText(r, Qt.AlignCenter, QFontMetricsF(big).elidedText(self.title, Qt.ElideRight, r.width()))
        small = QFont(self._font)
        small.setPointSizeF(self._font.pointSizeF() * scale * 0.85)
        painter.setFont(small)
        painter.setPen(style.NODE_INVALID if self.errors else style.NODE_TEXT)
        r = QRectF(4, header_h, WIDTH - 8, self.height - header_h)
        text = self.lines[1].removeprefix("→ ")
        painter.drawText(r, Qt.AlignCenter, QFontMetricsF(small).elidedText(text, Qt.ElideRight, r.width()))

    def _paint_detail(self, painter):
        painter.setFont(self._bold)
        painter.setPen(Qt.white)
        bold_fm = QFontMetricsF(self._bold)
        title = bold_fm.elidedText(self.title, Qt.ElideRight, WIDTH * 0.55)
        painter.drawText(QRectF(PAD, 0, WIDTH - 2 * PAD, HEADER), Qt.AlignVCenter | Qt.AlignLeft, title)
        painter.setFont(self._font)
        fm = QFontMetricsF(self._font)
        room = WIDTH - 3 * PAD - bold_fm.horizontalAdvance(title)
        painter.setPen(QColor(255, 255, 255, 215))
        painter.drawText(QRectF(PAD, 0, WIDTH - 2 * PAD, HEADER), Qt.AlignVCenter | Qt.AlignRight,
                         fm.elidedText(self.node_id, Qt.ElideMiddle, max(room, 20)))
        left = PAD + (22 if self.show_port_names else 4)
        width = WIDTH - left - PAD - 4
        colors = (style.NODE_TEXT, style.NODE_INVALID if self.lines[1] == "→ ?" and self.errors else style.NODE_TEXT,
                  style.NODE_MUTED)
        for k, (text, color) in enumerate(zip(self.lines, colors)):
            painter.setPen(color)
            r = QRectF(left, HEADER + 4 + k * LINE, width, LINE)
            painter.drawText(r, Qt.AlignVCenter | Qt.AlignLeft, fm.elidedText(text, Qt.ElideRight, width))
        if self.show_port_names:
            painter.setPen(style.NODE_MUTED)
            for name, port in self.in_ports.items():
                painter.drawText(QRectF(PAD + 2, port.y() - LINE / 2, 24, LINE), Qt.AlignVCenter | Qt.AlignLeft, name)

    # -- interaction -----------------------------------------------------------
    def itemChange(self, change, value):
        scene = self.scene()
        if change == QGraphicsItem.ItemPositionChange and scene is not None:
            return scene.snap_point(value)
        if change == QGraphicsItem.ItemPositionHasChanged and scene is not None:
            scene.node_item_moved(self)
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event):
        self.setZValue(2)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self.setZValue(1)
        super().hoverLeaveEvent(event)
