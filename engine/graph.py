"""Validation and shape inference over a ``GraphSpec``, without torch.

``analyze`` collects every problem (the canvas marks each bad node);
``validate`` raises the first one (the command line and the trainer).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .errors import GraphError, InvalidInput
from .layers import get_layer, shape_str
from .params import brief
from .spec import GraphSpec


@dataclass
class GraphReport:
    order: list = field(default_factory=list)  # topological order of node ids
    shapes: dict = field(default_factory=dict)  # node id -> output shape
    in_shapes: dict = field(default_factory=dict)  # node id -> list of input shapes
    params: dict = field(default_factory=dict)  # node id -> validated params
    param_counts: dict = field(default_factory=dict)  # node id -> trainable scalars
    errors: list = field(default_factory=list)  # GraphError, with .node when local
    input_id: str | None = None
    output_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.values())

    def errors_for(self, node_id):
        return [e for e in self.errors if getattr(e, "node", None) == node_id]


def analyze(spec: GraphSpec) -> GraphReport:
    rep = GraphReport()
    ids = spec.ids()
    idset = set(ids)
    types = {}
    for n in spec.nodes:
        try:
            lt = get_layer(n.type, node=n.id)
            types[n.id] = lt
            rep.params[n.id] = lt.schema.validate(n.params, owner=n.type)
        except GraphError as e:
            rep.errors.append(e)
        except InvalidInput as e:
            rep.errors.append(GraphError(str(e), node=n.id))
    for e in spec.edges:
        for end in (e.src, e.dst):
            if end not in idset:
                rep.errors.append(GraphError(f"edge {brief(e.src, 80)} → {brief(e.dst, 80)} refers to a missing node {brief(end)}"))
        if e.src == e.dst:
            rep.errors.append(GraphError("a node cannot feed itself (cycle)", node=e.src))
        lt = types.get(e.dst)
        if lt is not None and e.port not in lt.ports:
            rep.errors.append(GraphError(f"{lt.name} has no input port {brief(e.port)} (ports: {', '.join(lt.ports) or 'none'})", node=e.dst))
    if rep.errors:
        return rep

    # Adjacency once: looking edges up per node (spec.inputs_of) made validation quadratic
    # (68 s for a 20,000-node chain). Every step below is linear in nodes + edges.
    ins, outs = adjacency(spec)

    # Topological order (Kahn); leftovers are on a cycle.
    indeg = {i: len(ins[i]) for i in ids}
    ready = deque(i for i in ids if indeg[i] == 0)
    while ready:
        i = ready.popleft()
        rep.order.append(i)
        for dst in outs[i]:
            indeg[dst] -= 1
            if indeg[dst] == 0:
                ready.append(dst)
    if len(rep.order) != len(ids):
        rep.errors.append(_cycle_error(ids, set(rep.order), outs))
        return rep

    inputs = [n.id for n in spec.nodes if n.type == "Input"]
    if len(inputs) != 1:
        rep.errors.append(GraphError(f"the graph needs exactly one Input node, found {len(inputs)}"))
    else:
        rep.input_id = inputs[0]
    outputs = [n.id for n in spec.nodes if n.type == "Output"]
    sinks = [i for i in ids if not outs[i]]
    if len(outputs) > 1:
        rep.errors.append(GraphError(f"the graph may have one Output node, found {len(outputs)}"))
    elif outputs:
        rep.output_id = outputs[0]
        for s in sinks:
            if s != rep.output_id:
                rep.errors.append(GraphError("this node's output goes nowhere (dangling); connect it or delete it", node=s))
    elif len(sinks) == 1:
        rep.output_id = sinks[0]
    else:
        shown = ", ".join(sinks[:10]) + (", ..." if len(sinks) > 10 else "")
        rep.errors.append(GraphError(f"the graph has {len(sinks)} ends ({shown}); add one Output node"))

    # Shapes, in order; a node whose input failed is skipped, not double-reported.
    memo: dict = {}
    for i in rep.order:
        lt = types[i]
        srcs = [src for src, _ in ins[i]]
        by_port = {}
        for src, port in ins[i]:
            by_port.setdefault(port, []).append(src)
        if not lt.ports:
            if srcs:
                rep.errors.append(GraphError(f"{lt.name} takes no inputs but {len(srcs)} edge(s) lead into it", node=i))
                continue
        else:
            missing = [p for p in lt.ports if p not in by_port]
            if missing:
                rep.errors.append(GraphError(f"input port {missing[0]!r} is not connected (dangling port)", node=i))
                continue
            if lt.variadic and len(srcs) < lt.min_inputs:
                rep.errors.append(GraphError(f"{lt.name} needs at least {lt.min_inputs} inputs, has {len(srcs)}", node=i))
                continue
            if not lt.variadic and len(srcs) > len(lt.ports):
                rep.errors.append(GraphError(f"{lt.name} takes one input per port but {len(srcs)} edges lead into it", node=i))
                continue
        if any(s not in rep.shapes for s in srcs):
            continue
        if lt.variadic:
            in_shapes = [rep.shapes[s] for s in srcs]
        else:
            in_shapes = [rep.shapes[by_port[p][0]] for p in lt.ports]
        rep.in_shapes[i] = in_shapes
        try:
            key = _memo_key(lt.name, in_shapes, rep.params[i])
            if key in memo:  # a deep stack repeats the same layer: infer it once
                shape, count = memo[key]
            else:
                shape = tuple(int(s) for s in lt.infer(in_shapes, rep.params[i]))
                if any(s <= 0 for s in shape):
                    raise GraphError(f"output shape {shape_str(shape)} has an empty dimension "
                                     f"(input {', '.join(map(shape_str, in_shapes))})")
                count = int(lt.count_params(in_shapes, rep.params[i]))
                memo[key] = shape, count
            rep.shapes[i] = shape
            rep.param_counts[i] = count
        except GraphError as e:
            rep.errors.append(GraphError(str(e), node=i) if getattr(e, "node", None) is None else e)
        except InvalidInput as e:
            rep.errors.append(GraphError(str(e), node=i))
    return rep


def _memo_key(name, in_shapes, params):
    """Shape inference and parameter counts depend only on these (validated params print deterministically)."""
    return name, tuple(tuple(s) for s in in_shapes), repr(params)


def adjacency(spec: GraphSpec) -> tuple[dict, dict]:
    """``(ins, outs)``: node id -> [(source, port)] in edge order (Concatenate's order), and node id -> [targets].

    Only edges between existing nodes are kept; ``analyze`` reports the others first.
    """
    ins = {n.id: [] for n in spec.nodes}
    outs = {n.id: [] for n in spec.nodes}
    for e in spec.edges:
        if e.src in outs and e.dst in ins:
            ins[e.dst].append((e.src, e.port))
            outs[e.src].append(e.dst)
    return ins, outs


def _cycle_error(ids, ordered: set, outs) -> GraphError:
    """Name only the loop: drop nodes that are merely downstream of it, repeatedly (linear overall)."""
    cyc = {i for i in ids if i not in ordered}
    feeds = {i: sum(1 for d in outs[i] if d in cyc) for i in cyc}  # edges from i into the leftover set
    fed_by = {i: [] for i in cyc}
    for i in cyc:
        for d in outs[i]:
            if d in cyc:
                fed_by[d].append(i)
    drop = deque(i for i in cyc if feeds[i] == 0)
    while drop:
        i = drop.popleft()
        cyc.discard(i)
        for src in fed_by[i]:
            if src in cyc:
                feeds[src] -= 1
                if feeds[src] == 0:
                    drop.append(src)
    loop = [i for i in ids if i in cyc]
    shown = ", ".join(loop[:20]) + (", ..." if len(loop) > 20 else "")
    return GraphError(f"the graph has a cycle through {shown}", node=loop[0])


def validate(spec: GraphSpec) -> GraphReport:
    rep = analyze(spec)
    if rep.errors:
        raise rep.errors[0]
    return rep


# The one rule for "the activation the loss sees" (the trainer's warning, the window's pairing label and the
# common-mistakes demo all use it). Walking back from the output, a node keeps its input's activation only if
# every value it passes on is one of its input's values: Output, Flatten and Reshape rearrange them, MaxPool
# selects some, Dropout is the identity at evaluation (in training it zeroes some and scales the rest by one
# factor, never re-centres). Every other node makes new values: BatchNorm/LayerNorm subtract a mean and divide by
# a spread (a softmax then BatchNorm no longer gives probabilities: they can be negative and do not sum to 1),
# Add sums, AvgPool and Concatenate mix or join branches. So the walk stops there, and the loss sees that node's
# own activation, "identity" when it has none: unbounded scores, as far as the pairing check can know.
KEEPS_VALUES = ("Output", "Dropout", "Flatten", "Reshape", "MaxPool")


def loss_input_node(spec: GraphSpec, output_id: str | None = None):
    """The node whose values reach the loss, walking back from the output through ``KEEPS_VALUES``, or None."""
    nodes = {n.id: n for n in spec.nodes}
    ins, _ = adjacency(spec)
    if output_id is None:
        output_id = next((n.id for n in spec.nodes if n.type == "Output"), None)
    nid, seen = output_id, set()
    while nid is not None and nid in nodes and nid not in seen:
        seen.add(nid)
        node = nodes[nid]
        if node.type not in KEEPS_VALUES:
            return node
        srcs = ins[nid]
        nid = srcs[0][0] if len(srcs) == 1 else None
    return None


def _has_activation(node) -> bool:
    try:
        return "activation" in {p.name for p in get_layer(node.type).schema.params}
    except GraphError:
        return False


def last_layer(spec: GraphSpec, output_id: str | None = None):
    """The node whose ``activation`` parameter the loss sees (a Dense, Conv, Activation, ...), or None when the
    values reaching the loss come from a node without one (BatchNorm, Add, a pool, ...)."""
    node = loss_input_node(spec, output_id)
    return node if node is not None and _has_activation(node) else None


def final_activation(spec: GraphSpec, rep: GraphReport | None = None) -> tuple:
    """``(activation, node id)`` the loss sees, by ``KEEPS_VALUES``; ``("identity", id)`` for a node without an
    activation parameter, ``(None, None)`` when no node reaches the output."""
    node = loss_input_node(spec, rep.output_id if rep is not None else None)
    if node is None:
        return None, None
    if not _has_activation(node):
        return "identity", node.id
    params = (rep.params.get(node.id) if rep is not None else None) or node.params
    act = params.get("activation") or "identity"
    return (act if isinstance(act, str) else "identity"), node.id


def last_activation(spec: GraphSpec, rep: GraphReport) -> str | None:
    """The activation the loss sees (``final_activation``), to warn about a loss that does not fit it
    (softmax then a loss on logits, ...)."""
    return final_activation(spec, rep)[0]


def output_width(rep: GraphReport) -> int:
    """Units of a flat output, or 0 when the output is not a vector."""
    shape = rep.shapes.get(rep.output_id, ())
    return shape[0] if len(shape) == 1 else 0
