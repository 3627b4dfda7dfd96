"""The graph editor's scene: mirrors a Document item by item, never rebuilding on small edits.

Mouse gestures become document edits here: a finished drag of nodes pushes one
MoveNodes, a dragged connection goes through ``try_connect`` (the same call
tests use), and Delete removes the selected nodes and edges in one command.
"""
from __future__ import annotations

from PySide6.QtCore import QLineF, QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QToolTip

from engine.errors import GraphError
from engine.layers import get_layer

from .. import style
from .edge_item import NEUTRAL, EdgeItem, EdgeStyle, bezier
from .node_item import WIDTH as NODE_WIDTH
from .node_item import NodeItem
from .port_item import PortItem

CLIPBOARD_MIME = "application/x-nnp-graph"
GRID = 20.0
MIN_RECT = QRectF(-1200, -800, 2400, 1600)


class GraphScene(QGraphicsScene):
    message = Signal(str)  # a refusal reason or hint for the status bar

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.doc = document
        self.snap = True
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict = {}  # Edge -> EdgeItem
        self._adj: dict[str, set] = {}  # node id -> EdgeItems touching it
        self._syncing_selection = False
        self._drag_src: PortItem | None = None
        self._drag_line: QGraphicsPathItem | None = None
        self._drag_target = None  # (node_id, port) under the cursor
        self._moving = None  # edges to re-route after a batch move
        self._pastes = 0  # successive pastes of one copy cascade instead of stacking
        self._rects = None  # node_rects() cache; None: stale
        self.setItemIndexMethod(QGraphicsScene.NoIndex)  # items move a lot; BSP rebuilds cost more
        d = document
        d.nodeAdded.connect(self._on_node_added)
        d.nodeRemoved.connect(self._on_node_removed)
        d.edgeAdded.connect(self._on_edge_added)
        d.edgeRemoved.connect(self._on_edge_removed)
        d.nodesMoved.connect(self._on_nodes_moved)
        d.validityChanged.connect(self._on_report)
        d.graphReset.connect(self.rebuild)
        d.selectionChanged.connect(self._on_doc_selection)
        self.selectionChanged.connect(self._on_scene_selection)
        self.rebuild()

    def node_rects(self) -> list:
        """``(item, left, right, QRectF)`` of every node, cached until a node moves, appears or goes.

        Edges ask for it to route around the nodes in their way (``edge_item.route``); a batch move
        rebuilds it once instead of once per edge.
        """
        if self._rects is None:
            self._rects = []
            for item in self.nodes.values():
                x, y = item.x(), item.y()
                self._rects.append((item, x, x + NODE_WIDTH, QRectF(x, y, NODE_WIDTH, item.height)))
        return self._rects

    # -- document -> items -------------------------------------------------
    def rebuild(self):
        """Recreate every item; only for a new session or a whole-graph replacement."""
        self._syncing_selection = True
        try:
            for item in list(self.edges.values()) + list(self.nodes.values()):
                self.removeItem(item)
            self.nodes.clear()
            self.edges.clear()
            self._adj.clear()
            for n in self.doc.graph.nodes:
                self._on_node_added(n.id, grow=False)
            for e in self.doc.graph.edges:
                self._on_edge_added(e)
        finally:
            self._syncing_selection = False
        self._on_report(self.doc.report)
        self._on_doc_selection()
        self._update_rect()

    def _on_node_added(self, node_id, grow=True):
        self._rects = None
        node = self.doc.graph.node(node_id)
        try:
            lt = get_layer(node.type)
        except GraphError:
            lt = None
        item = NodeItem(node, lt)
        self.nodes[node_id] = item
        self.addItem(item)
        item.update_info(node, self.doc.report)
        if grow:
            self._update_rect()

    def _on_node_removed(self, node_id):
        self._rects = None
        item = self.nodes.pop(node_id, None)
        self._adj.pop(node_id, None)
        if item is not None:
            self.removeItem(item)

    def _on_edge_added(self, edge):
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None or edge in self.edges:
            return
        item = EdgeItem(edge, src, dst)
        self.edges[edge] = item
        self._adj.setdefault(edge.src, set()).add(item)
        self._adj.setdefault(edge.dst, set()).add(item)
        self.addItem(item)
        item.update_path()  # now that it is in the scene it can see the nodes in its way

    def _on_edge_removed(self, edge):
        item = self.edges.pop(edge, None)
        if item is not None:
            for end in (edge.src, edge.dst):
                self._adj.get(end, set()).discard(item)
            self.removeItem(item)

    def _on_nodes_moved(self, ids):
        by_id = {n.id: n for n in self.doc.graph.nodes}
        self._moving = set()  # collect edges; each is re-routed once, not once per end
        try:
            for nid in ids:
                item, node = self.nodes.get(nid), by_id.get(nid)
                if item is not None and node is not None and node.pos is not None and (item.x(), item.y()) != tuple(node.pos):
                    item.setPos(QPointF(*node.pos))
            for edge_item in self.edges.values():  # not only the moved ones: a moved node may now block another
                edge_item.update_path()
        finally:
            self._moving = None
        self._update_rect()

    def _on_report(self, report):
        self._rects = None  # a node's height follows its ports
        for n in self.doc.graph.nodes:
            item = self.nodes.get(n.id)
            if item is not None:
                item.update_info(n, report)

    def _update_rect(self):
        rect = self.itemsBoundingRect().adjusted(-600, -400, 600, 400)
        self.setSceneRect(rect.united(MIN_RECT))

    # -- selection, both ways ------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return [nid for nid, it in self.nodes.items() if it.isSelected()]

    def selected_edges(self) -> list:
        return [e for e, it in self.edges.items() if it.isSelected()]

    def _on_scene_selection(self):
        if not self._syncing_selection:
            self._syncing_selection = True
            try:
                self.doc.set_selection(self.selected_node_ids())
            finally:
                self._syncing_selection = False

    def _on_doc_selection(self):
        if self._syncing_selection:
            return
        self._syncing_selection = True
        try:
            want = set(self.doc.selection)
            for nid, item in self.nodes.items():
                item.setSelected(nid in want)
        finally:
            self._syncing_selection = False

    # -- moving ----------------------------------------------------------------
    def snap_point(self, p: QPointF) -> QPointF:
        if not self.snap or self._moving is not None:  # positions from the document are kept exactly
            return p
        return QPointF(round(p.x() / GRID) * GRID, round(p.y() / GRID) * GRID)

    def node_item_moved(self, item: NodeItem):
        self._rects = None
        edges = self._adj.get(item.node_id, ())
        if self._moving is not None:
            self._moving.update(edges)
            return
        for edge_item in edges:
            edge_item.update_path()

    def commit_moves(self):
        """Turn item positions that differ from the document into one MoveNodes command."""
        moved = {}
        by_id = {n.id: n for n in self.doc.graph.nodes}
        for nid, item in self.nodes.items():
            pos = by_id[nid].pos
            if pos is None or (item.x(), item.y()) != tuple(pos):
                moved[nid] = (item.x(), item.y())
        if moved:
            self.doc.move_nodes(moved)  # -> _on_nodes_moved re-routes every edge around the new positions
            self._update_rect()

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton and self._drag_src is None:
            self.commit_moves()

    # -- deleting --------------------------------------------------------------
    def delete_selection(self):
        self.doc.remove_nodes(self.selected_node_ids(), self.selected_edges())

    # -- clipboard -------------------------------------------------------------
    def copy_selection(self) -> bool:
        ids = self.selected_node_ids()
        if not ids:
            return False
        text = self.doc.copy_json(ids)
        md = QMimeData()
        md.setText(text)
        md.setData(CLIPBOARD_MIME, text.encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(md)
        _release_clipboard_on_quit()
        self._pastes = 0
        return True

    def cut_selection(self):
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> list[str]:
        md = QGuiApplication.clipboard().mimeData()
        if md is None:
            return []
        text = bytes(md.data(CLIPBOARD_MIME)).decode("utf-8") if md.hasFormat(CLIPBOARD_MIME) else md.text()
        self._pastes += 1
        step = 2 * GRID * self._pastes
        ids = self.doc.paste_json(text, offset=(step, step))
        if not ids:
            self.message.emit("The clipboard holds no layers to paste")
        return ids

    def duplicate_selection(self) -> list[str]:
        """Copy the selection just below itself, in the first place where it covers no other layer.

        (A fixed 40 px offset put the copy almost exactly over a 170 × 90 node, so it looked as if nothing happened.)
        """
        ids = self.selected_node_ids()
        if not ids:
            return []
        rects = [self.nodes[i].sceneBoundingRect() for i in ids if i in self.nodes]
        box = rects[0]
        for r in rects[1:]:
            box = box.united(r)
        others = [it.sceneBoundingRect() for nid, it in self.nodes.items() if nid not in ids]
        dy = box.height() + GRID
        while any(r.intersects(box.translated(0, dy)) for r in others):
            dy += GRID  # slide down until the copy covers nothing
        dy = round(dy / GRID) * GRID
        return self.doc.paste_json(self.doc.copy_json(ids), offset=(0.0, dy), text_label="Duplicate")

    def select_all(self):
        self.doc.set_selection(list(self.nodes))

    # -- connecting ------------------------------------------------------------
    def try_connect(self, src_id, dst_id, port="in", screen_pos=None) -> str | None:
        """Connect or explain why not (tooltip at the cursor and the status bar)."""
        reason = self.doc.connect_ports(src_id, dst_id, port)
        if reason:
            text = f"Cannot connect {src_id} → {dst_id}: {reason}"
            self.message.emit(text)
            if screen_pos is not None:
                QToolTip.showText(screen_pos.toPoint() if hasattr(screen_pos, "toPoint") else screen_pos, text)
        else:
            self.message.emit(f"Connected {src_id} → {dst_id}")
        return reason

    def begin_connection(self, port: PortItem):
        self._drag_src = port
        self._drag_target = None
        self._drag_line = QGraphicsPathItem()
        pen = QPen(style.EDGE_HOVER, 2, Qt.DashLine)
        self._drag_line.setPen(pen)
        self._drag_line.setZValue(3)
        self.addItem(self._drag_line)

    def drag_connection(self, scene_pos: QPointF):
        if self._drag_src is None:
            return
        start = self._drag_src.node_item.port_scene_pos(None)
        target = self._target_at(scene_pos)
        end = scene_pos
        if target is not None:
            end = self.nodes[target[0]].port_scene_pos(target[1])
        self._drag_line.setPath(bezier(start, end))
        if target != self._drag_target:
            self._set_target_highlight(None)
            self._drag_target = target
            if target is not None:
                reason = self.doc.connection_error(self._drag_src.node_id, *target)
                self._set_target_highlight("bad" if reason else "ok")
                if reason:
                    self.message.emit(f"Cannot connect here: {reason}")

    def end_connection(self, scene_pos: QPointF, screen_pos=None):
        if self._drag_src is None:
            return
        src = self._drag_src.node_id
        target = self._target_at(scene_pos)
        self._set_target_highlight(None)
        self.removeItem(self._drag_line)
        self._drag_line = None
        self._drag_src = None
        self._drag_target = None
        if target is not None:
            self.try_connect(src, target[0], target[1], screen_pos)
        elif QLineF(scene_pos, self.nodes[src].port_scene_pos(None)).length() > 12:
            self.message.emit("Drop the connection on an input port (left side of a node)")

    def _set_target_highlight(self, state):
        if self._drag_target is not None:
            item = self.nodes.get(self._drag_target[0])
            port = item.in_ports.get(self._drag_target[1]) if item else None
            if port is not None:
                port.set_highlight(state)

    def _target_at(self, scene_pos):
        """(node id, port) under the cursor: an input port, or a node body (its first free port)."""
        for it in self.items(scene_pos):
            if isinstance(it, PortItem) and not it.is_output:
                return it.node_id, it.name
            if isinstance(it, NodeItem) and it.in_ports:
                free = [p for p in it.in_ports if not self.doc.graph.inputs_of(it.node_id, p)]
                return it.node_id, (free or list(it.in_ports))[0]
        for it in self.items(QRectF(scene_pos - QPointF(14, 14), scene_pos + QPointF(14, 14))):
            if isinstance(it, PortItem) and not it.is_output:  # forgiving near-miss on small ports
                return it.node_id, it.name
        return None

    # -- edge styles for live training ---------------------------------------
    def set_edge_style(self, edge, edge_style: EdgeStyle):
        item = self.edges.get(edge)
        if item is not None:
            item.set_style(edge_style)

    def set_edge_weights(self, node_id, magnitude, sign):
        """Thicken/colour every edge into ``node_id``: ``magnitude`` in [0, 1], ``sign`` ≥ 0 blue else orange."""
        m = min(max(float(magnitude), 0.0), 1.0)
        st = EdgeStyle(width=1.0 + 6.0 * m, color=style.POSITIVE if sign >= 0 else style.NEGATIVE)
        for e, item in self.edges.items():
            if e.dst == node_id:
                item.set_style(st)

    def clear_edge_styles(self):
        for item in self.edges.values():
            item.set_style(NEUTRAL)

    # -- values on nodes (teaching views) -------------------------------------
    def set_node_overlay(self, node_id, lines, color=None):
        """Show a few lines of values under one node (``[]`` clears them); unknown ids are ignored."""
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_overlay(lines, color)

    def clear_node_overlays(self):
        for item in self.nodes.values():
            item.set_overlay([])

    # -- background grid ------------------------------------------------------
    def drawBackground(self, painter, rect):
        painter.fillRect(rect, style.CANVAS_BG)
        scale = painter.worldTransform().m11()
        step = GRID if scale >= 0.6 else GRID * 5
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if round(x / GRID) % 5 == 0 else minor).append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            (major if round(y / GRID) % 5 == 0 else minor).append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.setPen(QPen(style.GRID_MINOR, 0))
        painter.drawLines(minor)
        painter.setPen(QPen(style.GRID_MAJOR, 0))
        painter.drawLines(major)


_quit_hooked = False


def _release_clipboard_on_quit():
    """Drop our layers from the clipboard when the app quits.

    The clipboard owns the QMimeData; left there, it is freed during Python's
    teardown after Qt is gone, which segfaults on exit.
    """
    global _quit_hooked
    app = QGuiApplication.instance()
    if _quit_hooked or app is None:
        return
    _quit_hooked = True

    def release():
        cb = QGuiApplication.clipboard()
        md = cb.mimeData()
        if md is not None and md.hasFormat(CLIPBOARD_MIME):
            cb.clear()

    app.aboutToQuit.connect(release)
