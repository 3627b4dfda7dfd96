"""Transfer learning in the editor (lecture 004): layers of a trained ``.nnp``, with their weights, as canvas nodes.

The notes' recipe: reuse the early layers of a trained network, freeze them, add a new output layer (the
"head"), train, then optionally unfreeze and fine-tune everything with a lower learning rate. Here the
chosen nodes are copied with their trained tensors as explicit ``values`` initializers (``engine.transfer``'s
representation: the session file alone rebuilds them) and ``trainable`` off when frozen, as a clipboard
payload the document pastes (one undoable edit, fresh ids, the edges between the chosen nodes kept).
Buffers that are not initializable (BatchNorm's running statistics) start fresh.
"""
from __future__ import annotations

import copy

import numpy as np

from .errors import InvalidInput
from .transfer import layer_weights

FINE_TUNE_FACTOR = 0.1  # fine-tuning: the learning rate times this ("a lower learning rate")


def importable_layers(archive) -> list[dict]:
    """The source network's nodes in graph order: ``{"id", "type", "weights": [param, ...]}`` (Input nodes left out)."""
    weights = layer_weights(archive.model_tensors()) if archive.trained else {}
    out = []
    for n in archive.session.graph.nodes:
        if n.type == "Input":
            continue
        out.append({"id": n.id, "type": n.type, "weights": sorted(weights.get(n.id, {}))})
    return out


def import_payload(archive, ids, *, freeze: bool = True) -> dict:
    """Clipboard JSON (``Document.paste_json``'s form) of nodes ``ids`` of ``archive`` with their trained weights.

    A node with weights gets ``values`` initializers for each of its layer type's init targets and is frozen
    (``trainable: false``) when ``freeze``; layers without weights (activations, dropout) are copied as they are.
    """
    from .layers import get_layer

    if not archive.trained:
        raise InvalidInput("this .nnp was saved before any training: it has no weights to import")
    graph = archive.session.graph
    wanted = list(ids or [])
    missing = [i for i in wanted if i not in set(graph.ids())]
    if not wanted or missing:
        raise InvalidInput(f"the source network has no layer {missing[0]!r} ({', '.join(graph.ids())})" if missing
                           else "choose at least one layer to import")
    ids = [i for i in graph.ids() if i in set(wanted)]  # graph order
    weights = layer_weights(archive.model_tensors())
    nodes = []
    for nid in ids:
        node = copy.deepcopy(graph.node(nid))
        if node.type == "Input":
            raise InvalidInput("the Input layer is not imported: your network keeps its own")
        w = weights.get(nid, {})
        targets = [t for t in get_layer(node.type, node=nid).init_targets if t in w]
        for t in targets:
            node.init[t] = {"type": "values", "params": {"values": np.asarray(w[t], dtype=np.float64).tolist()}}
        if targets:
            node.trainable = not freeze
        nodes.append(node.to_dict())
    chosen = set(ids)
    edges = [e.to_dict() for e in graph.edges if e.src in chosen and e.dst in chosen]
    return {"nnp_clipboard": 1, "nodes": nodes, "edges": edges}


def last_of(payload) -> str | None:
    """The imported node nothing else imported reads from (where a new head attaches), or None."""
    ids = [n["id"] for n in payload["nodes"]]
    srcs = {e["from"] for e in payload["edges"]}
    ends = [i for i in ids if i not in srcs]
    return ends[-1] if ends else None


def fine_tune_optimizer(optimizer: dict, factor: float = FINE_TUNE_FACTOR) -> dict:
    """The optimizer spec with its learning rate times ``factor`` (the notes' lower rate for fine-tuning)."""
    from .optimizers import OPTIMIZERS

    spec = OPTIMIZERS.canonical(optimizer)
    params = dict(spec.get("params", {}))
    if "lr" not in params:
        raise InvalidInput(f"the optimizer {spec.get('type')!r} has no learning rate to lower")
    params["lr"] = float(params["lr"]) * float(factor)
    return dict(spec, params=params)
