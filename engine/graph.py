"""Validation and shape inference over a ``GraphSpec``, without torch.

``analyze`` collects every problem (the canvas marks each bad node);
``validate`` raises the first one (the command line and the trainer).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError, InvalidInput
from .layers import get_layer, shape_str
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
                rep.errors.append(GraphError(f"edge {e.src} → {e.dst} refers to a missing node {end!r}"))
        if e.src == e.dst:
            rep.errors.append(GraphError("a node cannot feed itself (cycle)", node=e.src))
        lt = types.get(e.dst)
        if lt is not None and e.port not in lt.ports:
            rep.errors.append(GraphError(f"{lt.name} has no input port {e.port!r} (ports: {', '.join(lt.ports) or 'none'})", node=e.dst))
    if rep.errors:
        return rep

    # Topological order (Kahn); leftovers are on a cycle.
    indeg = {i: 0 for i in ids}
    for e in spec.edges:
        indeg[e.dst] += 1
    ready = [i for i in ids if indeg[i] == 0]
    while ready:
        i = ready.pop(0)
        rep.order.append(i)
        for e in spec.edges:
            if e.src == i:
                indeg[e.dst] -= 1
                if indeg[e.dst] == 0:
                    ready.append(e.dst)
    if len(rep.order) != len(ids):
        cyc = [i for i in ids if i not in rep.order]
        while True:  # drop nodes merely downstream of the cycle, so the message names only the loop
            keep = [i for i in cyc if any(e.src == i and e.dst in cyc for e in spec.edges)]
            if len(keep) == len(cyc):
                break
            cyc = keep
        rep.errors.append(GraphError(f"the graph has a cycle through {', '.join(cyc)}", node=cyc[0]))
        return rep

    inputs = [n.id for n in spec.nodes if n.type == "Input"]
    if len(inputs) != 1:
        rep.errors.append(GraphError(f"the graph needs exactly one Input node, found {len(inputs)}"))
    else:
        rep.input_id = inputs[0]
    outputs = [n.id for n in spec.nodes if n.type == "Output"]
    sinks = [i for i in ids if not spec.outputs_of(i)]
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
        rep.errors.append(GraphError(f"the graph has {len(sinks)} ends ({', '.join(sinks)}); add one Output node"))

    # Shapes, in order; a node whose input failed is skipped, not double-reported.
    for i in rep.order:
        lt = types[i]
        srcs = spec.inputs_of(i)
        if not lt.ports:
            if srcs:
                rep.errors.append(GraphError(f"{lt.name} takes no inputs but {len(srcs)} edge(s) lead into it", node=i))
                continue
        else:
            missing = [p for p in lt.ports if not spec.inputs_of(i, p)]
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
            in_shapes = [rep.shapes[spec.inputs_of(i, p)[0]] for p in lt.ports]
        rep.in_shapes[i] = in_shapes
        try:
            shape = tuple(int(s) for s in lt.infer(in_shapes, rep.params[i]))
            if any(s <= 0 for s in shape):
                raise GraphError(f"output shape {shape_str(shape)} has an empty dimension (input {', '.join(map(shape_str, in_shapes))})")
            rep.shapes[i] = shape
            rep.param_counts[i] = int(lt.count_params(in_shapes, rep.params[i]))
        except GraphError as e:
            rep.errors.append(GraphError(str(e), node=i) if getattr(e, "node", None) is None else e)
        except InvalidInput as e:
            rep.errors.append(GraphError(str(e), node=i))
    return rep


def validate(spec: GraphSpec) -> GraphReport:
    rep = analyze(spec)
    if rep.errors:
        raise rep.errors[0]
    return rep


def last_activation(spec: GraphSpec, rep: GraphReport) -> str | None:
    """The activation applied last before the output, walking back through pass-through nodes.

    Used to warn about a loss that does not fit it (softmax then a loss on logits, ...).
    """
    nid = rep.output_id
    while nid is not None:
        node = spec.node(nid)
        if node.type in ("Dense", "Conv1d", "Conv2d", "Activation"):
            act = rep.params.get(nid, node.params).get("activation", "identity")
            return act if isinstance(act, str) else "identity"
        srcs = spec.inputs_of(nid)
        nid = srcs[0] if len(srcs) == 1 and node.type in ("Output", "Dropout", "Flatten", "Reshape") else None
    return None


def output_width(rep: GraphReport) -> int:
    """Units of a flat output, or 0 when the output is not a vector."""
    shape = rep.shapes.get(rep.output_id, ())
    return shape[0] if len(shape) == 1 else 0
