"""The network as pure data: nodes that name registered layer types, and edges.

A ``GraphSpec`` never holds torch objects or class paths, so it round-trips
through JSON, drives the canvas, and is validated without importing torch.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from .errors import GraphError
from .params import brief

ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass
class Node:
    id: str
    type: str
    params: dict = field(default_factory=dict)
    trainable: bool = True
    # {"weight": initializer spec, "bias": ...}; absent keys use the layer default.
    init: dict = field(default_factory=dict)
    # Per-node regularizers, e.g. [{"type": "l2", "params": {"lambda": 1e-3}}].
    regularizers: list = field(default_factory=list)
    pos: tuple | None = None  # canvas position; ignored by the engine

    def to_dict(self) -> dict:
        d = {"id": self.id, "type": self.type, "params": copy.deepcopy(self.params)}
        if not self.trainable:
            d["trainable"] = False
        if self.init:
            d["init"] = copy.deepcopy(self.init)
        if self.regularizers:
            d["regularizers"] = copy.deepcopy(self.regularizers)
        if self.pos is not None:
            d["pos"] = [float(self.pos[0]), float(self.pos[1])]
        return d


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    port: str = "in"

    def to_dict(self) -> dict:
        d = {"from": self.src, "to": self.dst}
        if self.port != "in":
            d["port"] = self.port
        return d


class TrackedList(list):
    """A list that counts its changes, so GraphSpec can keep id and edge indexes without rescanning.

    Looking a node or its edges up by scanning made every per-node loop quadratic
    (validating, building and tracing a 20,000-node chain took minutes). Any in-place
    change bumps ``version``; assigning a new list to ``spec.nodes`` is noticed too.
    """

    version = 0

    def _changed(self):
        self.version += 1


def _tracking(name):
    def method(self, *args, **kwargs):
        self._changed()
        return getattr(list, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(TrackedList, _name, _tracking(_name))


@dataclass
class GraphSpec:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def __setattr__(self, name, value):
        if name in ("nodes", "edges") and not isinstance(value, TrackedList):
            value = TrackedList(value)
        object.__setattr__(self, name, value)

    # -- lookup -----------------------------------------------------------
    def _index(self, which):
        """``{id: node}`` or ``{dst: [edges]}, {src: [dsts]}``, rebuilt only when the list changed."""
        lst = self.nodes if which == "nodes" else self.edges
        cache = self.__dict__.get("_cache_" + which)  # (the list itself, its version, the index)
        if cache is None or cache[0] is not lst or cache[1] != lst.version:
            if which == "nodes":
                value = {}
                for n in lst:
                    value.setdefault(n.id, n)  # the first of a duplicated id, as the old scan returned
            else:
                ins, outs = {}, {}
                for e in lst:
                    ins.setdefault(e.dst, []).append(e)
                    outs.setdefault(e.src, []).append(e.dst)
                value = (ins, outs)
            cache = (lst, lst.version, value)
            self.__dict__["_cache_" + which] = cache
        return cache[2]

    def node(self, node_id: str) -> Node:
        n = self._index("nodes").get(node_id)
        if n is None or n.id != node_id:  # a node renamed in place since the index was built
            self.__dict__.pop("_cache_nodes", None)
            n = self._index("nodes").get(node_id)
        if n is None or n.id != node_id:
            raise GraphError("no such node", node=node_id)
        return n

    def node_map(self) -> dict:
        """``{id: node}``, a fresh dict."""
        return {n.id: n for n in self.nodes}

    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def inputs_of(self, node_id: str, port: str | None = None) -> list[str]:
        """Source node ids feeding ``node_id``, in edge order (which fixes Concatenate's order)."""
        return [e.src for e in self._index("edges")[0].get(node_id, ()) if port is None or e.port == port]

    def outputs_of(self, node_id: str) -> list[str]:
        return list(self._index("edges")[1].get(node_id, ()))

    def new_id(self, prefix: str) -> str:
        taken = set(self.ids())
        base = re.sub(r"[^A-Za-z0-9_]", "", prefix.lower()) or "node"
        i = 1
        while f"{base}{i}" in taken:
            i += 1
        return f"{base}{i}"

    def copy(self) -> "GraphSpec":
        return GraphSpec.from_dict(self.to_dict())

    # -- (de)serialisation -----------------------------------------------
    def to_dict(self) -> dict:
        return {"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges]}

    @classmethod
    def from_dict(cls, d) -> "GraphSpec":
        """Accept ``{"nodes", "edges"}`` or the shorthand ``{"layers": [...]}`` / a bare list (a chain)."""
        if isinstance(d, list):
            d = {"layers": d}
        if not isinstance(d, dict):
            raise GraphError(f"graph must be an object with 'nodes' and 'edges' or 'layers', got {type(d).__name__}")
        if "layers" in d:
            return cls.sequential(d["layers"])
        nodes_raw, edges_raw = d.get("nodes"), d.get("edges", [])
        if not isinstance(nodes_raw, list) or not isinstance(edges_raw, list):
            raise GraphError("graph 'nodes' and 'edges' must be lists")
        nodes = [_node_from_dict(x, i) for i, x in enumerate(nodes_raw)]
        seen = set()
        for n in nodes:
            if n.id in seen:
                raise GraphError("node id used twice", node=n.id)
            seen.add(n.id)
        edges = []
        for i, e in enumerate(edges_raw):
            if not isinstance(e, dict) or not isinstance(e.get("from"), str) or not isinstance(e.get("to"), str):
                raise GraphError(f"edge #{i + 1} must be an object with string 'from' and 'to', got {brief(e)}")
            port = e.get("port", "in")
            if not isinstance(port, str):
                raise GraphError(f"edge #{i + 1} port must be a string, got {brief(port)}")
            edges.append(Edge(e["from"], e["to"], port))
        return cls(nodes, edges)

    @classmethod
    def sequential(cls, layers) -> "GraphSpec":
        """A chain: each layer feeds the next. Items are node dicts without edges."""
        if not isinstance(layers, list) or not layers:
            raise GraphError("'layers' must be a non-empty list")
        nodes = []
        taken = set()
        counters: dict = {}  # next number to try per prefix: auto ids stay linear for 20,000 layers
        for i, x in enumerate(layers):
            if isinstance(x, dict) and "id" not in x:
                x = dict(x, id=_auto_id(x.get("type", "node"), taken, counters))
            n = _node_from_dict(x, i)
            if n.id in taken and "id" in (layers[i] if isinstance(layers[i], dict) else {}):
                raise GraphError("node id used twice", node=n.id)
            taken.add(n.id)
            nodes.append(n)
        edges = [Edge(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
        return cls(nodes, edges)


def _auto_id(type_name, taken, counters=None):
    base = re.sub(r"[^A-Za-z0-9_]", "", str(type_name).lower())[:40] or "node"
    i = 1 if counters is None else counters.get(base, 1)
    while f"{base}{i}" in taken:
        i += 1
    if counters is not None:
        counters[base] = i + 1
    return f"{base}{i}"


def _node_from_dict(x, i) -> Node:
    if not isinstance(x, dict):
        raise GraphError(f"node #{i + 1} must be an object, got {brief(x)}")
    nid, typ = x.get("id"), x.get("type")
    if not isinstance(nid, str) or not ID_RE.match(nid):
        raise GraphError(f"node #{i + 1} id must be letters, digits, '_' or '-' (starting with a letter), got {brief(nid)}")
    if not isinstance(typ, str):
        raise GraphError(f"'type' must be a layer name, got {brief(typ)}", node=nid)
    params = x.get("params", {})
    if not isinstance(params, dict):
        raise GraphError(f"params must be an object, got {brief(params)}", node=nid)
    trainable = x.get("trainable", True)
    if not isinstance(trainable, bool):
        raise GraphError(f"trainable must be true or false, got {brief(trainable)}", node=nid)
    init = x.get("init", {}) or {}
    if not isinstance(init, dict):
        raise GraphError(f"init must be an object mapping parameter names to initializers, got {brief(init)}", node=nid)
    regs = x.get("regularizers", []) or []
    if not isinstance(regs, list):
        raise GraphError(f"regularizers must be a list, got {brief(regs)}", node=nid)
    pos = x.get("pos")
    if pos is not None:
        if not (isinstance(pos, (list, tuple)) and len(pos) == 2 and all(isinstance(v, (int, float)) for v in pos)):
            raise GraphError(f"pos must be [x, y], got {brief(pos)}", node=nid)
        pos = (float(pos[0]), float(pos[1]))
    unknown = set(x) - {"id", "type", "params", "trainable", "init", "regularizers", "pos"}
    if unknown:
        raise GraphError(f"unexpected key {brief(sorted(unknown, key=str)[0])}", node=nid)
    return Node(nid, typ, dict(params), trainable, dict(init), list(regs), pos)
