"""Every edit of a document is one of these undoable commands.

A command stores exactly what it needs to restore the spec (removed nodes and
edges with their list positions), so undo gives back the identical
``to_dict()``. Commands only call the document's private ``_``-primitives,
which emit the fine-grained signals the scene uses to update incrementally.
"""
from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

from engine.spec import Edge, GraphSpec, Node

# Ids for QUndoCommand.mergeWith; only commands of the same id are offered to merge.
MOVE_ID, FIELD_ID, SESSION_ID = 1001, 1002, 1003


class _DocCommand(QUndoCommand):
    def __init__(self, doc, text):
        super().__init__(text)
        self.doc = doc


class AddNode(_DocCommand):
    def __init__(self, doc, node: Node):
        super().__init__(doc, f"Add {node.type}")
        self.node = copy.deepcopy(node)

    def redo(self):
        self.doc._insert_node(copy.deepcopy(self.node))
        self.doc._edited()

    def undo(self):
        self.doc._remove_node(self.node.id)
        self.doc._edited()


class RemoveNodes(_DocCommand):
    """Remove nodes together with every edge touching them (and any extra edges given)."""

    def __init__(self, doc, node_ids, extra_edges=()):
        ids = set(node_ids)
        g = doc.graph
        n = len(ids)
        super().__init__(doc, f"Delete {n} node{'s' * (n != 1)}")
        self.nodes = [(i, copy.deepcopy(x)) for i, x in enumerate(g.nodes) if x.id in ids]
        extra = set(extra_edges)
        self.edges = [(i, e) for i, e in enumerate(g.edges) if e.src in ids or e.dst in ids or e in extra]

    def redo(self):
        for _, e in reversed(self.edges):
            self.doc._remove_edge(e)
        for _, n in reversed(self.nodes):
            self.doc._remove_node(n.id)
        self.doc._edited()

    def undo(self):
        for i, n in self.nodes:
            self.doc._insert_node(copy.deepcopy(n), i)
        for i, e in self.edges:
            self.doc._insert_edge(e, i)
        self.doc._edited()


class Connect(_DocCommand):
    def __init__(self, doc, edge: Edge):
        super().__init__(doc, f"Connect {edge.src} → {edge.dst}")
        self.edge = edge

    def redo(self):
        self.doc._insert_edge(self.edge)
        self.doc._edited()

    def undo(self):
        self.doc._remove_edge(self.edge)
        self.doc._edited()


def Disconnect(doc, edges):
    """Removing edges is removing no nodes plus those edges."""
    cmd = RemoveNodes(doc, (), extra_edges=edges)
    cmd.setText("Disconnect" if len(cmd.edges) == 1 else f"Disconnect {len(cmd.edges)} connections")
    return cmd


class MoveNodes(_DocCommand):
    """Positions ``{id: (old, new)}``; consecutive moves of the same nodes merge into one step."""

    def __init__(self, doc, moves: dict, text="Move", merge=True):
        n = len(moves)
        super().__init__(doc, text if text != "Move" else f"Move {n} node{'s' * (n != 1)}")
        self.old = {k: tuple(v[0]) if v[0] is not None else None for k, v in moves.items()}
        self.new = {k: tuple(v[1]) for k, v in moves.items()}
        self.merge = merge

    def id(self):
        return MOVE_ID

    def mergeWith(self, other):
        if not (self.merge and other.merge) or set(other.new) != set(self.new):
            return False
        self.new = dict(other.new)
        return True

    def redo(self):
        self.doc._set_positions(self.new)

    def undo(self):
        self.doc._set_positions(self.old)


_MISSING = object()


class SetNodeField(_DocCommand):
    """Set ``params.<name>``, ``trainable``, ``init`` or ``regularizers`` of one node.

    ``params.<name>`` set to ``None`` removes the key (the schema default applies).
    Consecutive edits of the same field of the same node merge (typing in a spin box).
    """

    def __init__(self, doc, node_id, field, value, text=None):
        super().__init__(doc, text or f"Set {field.removeprefix('params.')} of {node_id}")
        self.node_id, self.field = node_id, field
        self.old = doc._get_field(node_id, field)
        self.new = copy.deepcopy(value)

    def id(self):
        return FIELD_ID

    def mergeWith(self, other):
        if (other.node_id, other.field) != (self.node_id, self.field):
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self):
        self.doc._set_field(self.node_id, self.field, copy.deepcopy(self.new))
        self.doc._edited(self.node_id)

    def undo(self):
        self.doc._set_field(self.node_id, self.field, copy.deepcopy(self.old))
        self.doc._edited(self.node_id)


def SetParam(doc, node_id, name, value):
    return SetNodeField(doc, node_id, f"params.{name}", value)


class Paste(_DocCommand):
    """Add a group of nodes and their internal edges (already given fresh ids)."""

    def __init__(self, doc, nodes, edges, text="Paste"):
        super().__init__(doc, text)
        self.nodes = [copy.deepcopy(n) for n in nodes]
        self.edges = list(edges)

    def redo(self):
        for n in self.nodes:
            self.doc._insert_node(copy.deepcopy(n))
        for e in self.edges:
            self.doc._insert_edge(e)
        self.doc._edited()
        self.doc.set_selection([n.id for n in self.nodes])

    def undo(self):
        for e in reversed(self.edges):
            self.doc._remove_edge(e)
        for n in reversed(self.nodes):
            self.doc._remove_node(n.id)
        self.doc._edited()


class ReplaceGraph(_DocCommand):
    """Swap the whole graph (stack builder, template graph); the scene rebuilds once."""

    def __init__(self, doc, spec: GraphSpec, text="Replace graph"):
        super().__init__(doc, text)
        self.old = doc.graph.to_dict()
        self.new = spec.to_dict()

    def redo(self):
        self.doc._set_graph(GraphSpec.from_dict(self.new))

    def undo(self):
        self.doc._set_graph(GraphSpec.from_dict(self.old))


class SetSessionField(_DocCommand):
    """Set a top-level session field (dataset, loss, optimizer, training, ...); used by the settings panels."""

    def __init__(self, doc, key, value, text=None):
        super().__init__(doc, text or f"Set {key}")
        self.key = key
        self.old = copy.deepcopy(getattr(doc.session, key))
        self.new = copy.deepcopy(value)

    def id(self):
        return SESSION_ID

    def mergeWith(self, other):
        if other.key != self.key:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self):
        self.doc._set_session_field(self.key, copy.deepcopy(self.new))

    def undo(self):
        self.doc._set_session_field(self.key, copy.deepcopy(self.old))
