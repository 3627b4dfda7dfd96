"""The open document: one engine Session, its undo stack, selection and analysis.

Views never edit the session directly: they call the public edit methods here,
which push a command from ``gui.canvas.commands``. The commands call the
``_``-primitives, which mutate the spec and emit fine-grained signals; after
each edit the graph is re-analysed (torch-free, well under a millisecond for
small graphs) and ``validityChanged`` carries the fresh report.
"""
from __future__ import annotations

import copy
import json
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from engine.errors import GraphError
from engine.graph import analyze
from engine.layers import get_layer
from engine.session import Session
from engine.spec import Edge, GraphSpec, Node

from .canvas import commands as cmd
from .canvas.layout import auto_layout, fill_missing_positions


class Document(QObject):
    graphChanged = Signal()  # after any graph edit (structure, params, positions)
    nodeChanged = Signal(str)  # a node's params/trainable/init/regularizers changed
    nodeAdded = Signal(str)
    nodeRemoved = Signal(str)
    edgeAdded = Signal(object)  # engine.spec.Edge
    edgeRemoved = Signal(object)
    nodesMoved = Signal(list)  # ids whose pos changed
    graphReset = Signal()  # the whole graph was swapped (ReplaceGraph); rebuild views
    selectionChanged = Signal()
    validityChanged = Signal(object)  # GraphReport
    dirtyChanged = Signal(bool)
    sessionReplaced = Signal()  # New/Open: a different session, fresh undo history
    sessionChanged = Signal(str)  # a top-level session field (dataset, loss, ...) changed
    pathChanged = Signal(str)

    def __init__(self, session: Session | None = None, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.session = session or Session()
        self.path: str | None = None
        self.selection: list[str] = []
        fill_missing_positions(self.session.graph)
        self.report = analyze(self.session.graph)

    # -- state ------------------------------------------------------------
    @property
    def graph(self) -> GraphSpec:
        return self.session.graph

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        if self.path:
            return os.path.splitext(os.path.basename(self.path))[0]
        return self.session.name or "Untitled"

    def _on_clean_changed(self, clean):
        self.dirtyChanged.emit(not clean)

    def set_session(self, session: Session, path: str | None = None):
        """Replace everything (New, Open): clears undo history, so the document is clean."""
        self.session = session
        fill_missing_positions(session.graph)
        self.selection = []
        self.undo_stack.clear()
        self.set_path(path)
        self.report = analyze(session.graph)
        self.sessionReplaced.emit()
        self.graphReset.emit()
        self.selectionChanged.emit()
        self.validityChanged.emit(self.report)
        self.graphChanged.emit()
        self.dirtyChanged.emit(False)

    def set_path(self, path):
        self.path = os.fspath(path) if path else None
        self.pathChanged.emit(self.path or "")

    def mark_saved(self, path=None):
        if path is not None:
            self.set_path(path)
        self.undo_stack.setClean()

    def set_selection(self, ids):
        known = set(self.graph.ids())
        ids = [i for i in ids if i in known]
        if ids != self.selection:
            self.selection = ids
            self.selectionChanged.emit()

    # -- public edits (each pushes one undoable command) -------------------
    def add_node(self, type_name: str, pos=(0.0, 0.0), params=None, node_id=None) -> str:
        lt = get_layer(type_name)
        nid = node_id or self.graph.new_id(type_name)
        node = Node(nid, lt.name, dict(params or {}), pos=(float(pos[0]), float(pos[1])))
        self.undo_stack.push(cmd.AddNode(self, node))
        self.set_selection([nid])
        return nid

    def remove_nodes(self, ids, edges=()):
        known = set(self.graph.ids())
        ids = [i for i in ids if i in known]
        edges = [e for e in edges if e in self.graph.edges]
        if ids:
            self.undo_stack.push(cmd.RemoveNodes(self, ids, edges))
        elif edges:
            self.undo_stack.push(cmd.Disconnect(self, edges))

    def connect_ports(self, src, dst, port="in") -> str | None:
        """Add an edge; return ``None`` on success or the reason it was refused."""
        reason = self.connection_error(src, dst, port)
        if reason is None:
            self.undo_stack.push(cmd.Connect(self, Edge(src, dst, port)))
        return reason

    def disconnect_edges(self, edges):
        edges = [e for e in edges if e in self.graph.edges]
        if edges:
            self.undo_stack.push(cmd.Disconnect(self, edges))

    def move_nodes(self, new_positions: dict, text="Move", merge=True):
        moves = {}
        by_id = {n.id: n for n in self.graph.nodes}
        for nid, p in new_positions.items():
            old = by_id[nid].pos
            p = (float(p[0]), float(p[1]))
            if old is None or tuple(old) != p:
                moves[nid] = (old, p)
        if moves:
            self.undo_stack.push(cmd.MoveNodes(self, moves, text=text, merge=merge))

    def set_param(self, node_id, name, value):
        if self._get_field(node_id, f"params.{name}") != value:
            self.undo_stack.push(cmd.SetParam(self, node_id, name, value))

    def set_node_field(self, node_id, field, value):
        if self._get_field(node_id, field) != value:
            self.undo_stack.push(cmd.SetNodeField(self, node_id, field, value))

    def set_session_field(self, key, value):
        """For the dataset/training panels: an undoable change of a top-level session field."""
        if getattr(self.session, key) != value:
            self.undo_stack.push(cmd.SetSessionField(self, key, value))

    def replace_graph(self, spec: GraphSpec, text="Replace graph"):
        spec = spec.copy()
        fill_missing_positions(spec)
        self.undo_stack.push(cmd.ReplaceGraph(self, spec, text))

    def auto_layout(self):
        pos = auto_layout(self.graph)
        self.move_nodes(pos, text="Auto layout", merge=False)

    # -- clipboard ---------------------------------------------------------
    def copy_json(self, ids) -> str:
        """The selected nodes and the edges between them, as JSON for the clipboard."""
        ids = set(ids)
        nodes = [n.to_dict() for n in self.graph.nodes if n.id in ids]
        edges = [e.to_dict() for e in self.graph.edges if e.src in ids and e.dst in ids]
        return json.dumps({"nnp_clipboard": 1, "nodes": nodes, "edges": edges})

    def paste_json(self, text: str, offset=(40.0, 40.0), text_label="Paste") -> list[str]:
        """Insert clipboard JSON with fresh ids, keeping internal edges; returns the new ids."""
        try:
            d = json.loads(text)
            if not isinstance(d, dict) or d.get("nnp_clipboard") != 1:
                raise ValueError
            spec = GraphSpec.from_dict({"nodes": d["nodes"], "edges": d["edges"]})
        except (ValueError, KeyError, TypeError, GraphError):
            return []
        scratch = self.graph.copy()  # grows as ids are handed out, so they stay unique
        rename = {}
        for n in spec.nodes:
            rename[n.id] = scratch.new_id(n.type)
            scratch.nodes.append(Node(rename[n.id], n.type))
        nodes = []
        for n in spec.nodes:
            m = copy.deepcopy(n)
            m.id = rename[n.id]
            x, y = n.pos if n.pos is not None else (0.0, 0.0)
            m.pos = (x + offset[0], y + offset[1])
            nodes.append(m)
        edges = [Edge(rename[e.src], rename[e.dst], e.port) for e in spec.edges if e.src in rename and e.dst in rename]
        if nodes:
            self.undo_stack.push(cmd.Paste(self, nodes, edges, text_label))
        return [n.id for n in nodes]

    # -- connection rules --------------------------------------------------
    def connection_error(self, src, dst, port="in") -> str | None:
        """Why ``src → dst[port]`` may not be added, or ``None`` if it may."""
        g = self.graph
        ids = set(g.ids())
        if src not in ids or dst not in ids:
            return "both ends must be nodes of this graph"
        if src == dst:
            return "a node cannot feed itself"
        try:
            lt = get_layer(g.node(dst).type)
        except GraphError as e:
            return str(e)
        if not lt.ports:
            return f"{lt.name} takes no inputs"
        if port not in lt.ports:
            return f"{lt.name} has no input port {port!r}"
        if g.node(src).type == "Output":
            return "Output is the end of the network; it has no outgoing connections"
        path = self._path(dst, src)
        if path:
            return "this would form a cycle: " + " → ".join([src] + path)
        if Edge(src, dst, port) in g.edges:
            return f"{src} is already connected to {dst}"
        taken = g.inputs_of(dst, port)
        if taken and not lt.variadic:
            return f"port {port!r} of {dst} is already fed by {taken[0]}; delete that connection first"
        trial = g.copy()
        trial.edges.append(Edge(src, dst, port))
        rep = analyze(trial)
        if dst in rep.in_shapes and dst not in rep.shapes:
            errs = rep.errors_for(dst)
            msg = str(errs[-1]) if errs else "shape mismatch"
            return "shape mismatch: " + msg.removeprefix(f"node '{dst}': ")
        return None

    def _path(self, a, b):
        """A path of node ids from ``a`` to ``b`` along edges, or ``[]``."""
        prev = {a: None}
        todo = [a]
        while todo:
            i = todo.pop(0)
            if i == b:
                out = []
                while i is not None:
                    out.append(i)
                    i = prev[i]
                return out[::-1]
            for c in self.graph.outputs_of(i):
                if c not in prev:
                    prev[c] = i
                    todo.append(c)
        return []

    # -- primitives (commands only) ----------------------------------------
    def _insert_node(self, node: Node, index=None):
        self.graph.nodes.insert(len(self.graph.nodes) if index is None else index, node)
        self.nodeAdded.emit(node.id)

    def _remove_node(self, node_id):
        g = self.graph
        g.nodes = [n for n in g.nodes if n.id != node_id]
        if node_id in self.selection:
            self.selection = [i for i in self.selection if i != node_id]
            self.selectionChanged.emit()
        self.nodeRemoved.emit(node_id)

    def _insert_edge(self, edge: Edge, index=None):
        self.graph.edges.insert(len(self.graph.edges) if index is None else index, edge)
        self.edgeAdded.emit(edge)

    def _remove_edge(self, edge: Edge):
        self.graph.edges.remove(edge)
        self.edgeRemoved.emit(edge)

    def _get_field(self, node_id, field):
        n = self.graph.node(node_id)
        if field.startswith("params."):
            return copy.deepcopy(n.params.get(field[7:]))
        return copy.deepcopy(getattr(n, field))

    def _set_field(self, node_id, field, value):
        n = self.graph.node(node_id)
        if field.startswith("params."):
            if value is None:
                n.params.pop(field[7:], None)
            else:
                n.params[field[7:]] = value
        elif field in ("trainable", "init", "regularizers"):
            setattr(n, field, value)
        else:
            raise ValueError(f"not an editable node field: {field!r}")

    def _set_positions(self, positions: dict):
        by_id = {n.id: n for n in self.graph.nodes}
        for nid, p in positions.items():
            by_id[nid].pos = None if p is None else (float(p[0]), float(p[1]))
        self.nodesMoved.emit(list(positions))
        self.graphChanged.emit()  # analysis ignores positions: no re-analyze

    def _set_graph(self, spec: GraphSpec):
        self.session.graph = spec
        self.selection = []
        self.graphReset.emit()
        self.selectionChanged.emit()
        self._edited()

    def _set_session_field(self, key, value):
        setattr(self.session, key, value)
        self.sessionChanged.emit(key)

    def _edited(self, node_id=None):
        self.report = analyze(self.graph)
        if node_id is not None:
            self.nodeChanged.emit(node_id)
        self.validityChanged.emit(self.report)
        self.graphChanged.emit()
