"""Transfer learning (lecture 004): reuse layers of a trained network in a new one, frozen or fine-tuned.

Recipe from the notes: pick the layers to reuse (usually the early ones), freeze
them (their parameters become non-trainable), add your own layers and always a
new output layer, then train. Here the reused weights become explicit ``values``
initializers of the new session's nodes, so the session file alone rebuilds the
network (no side files), and freezing is the node's ``trainable`` flag.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidInput


def layer_weights(source) -> dict:
    """``{node_id: {param: ndarray}}`` from a Trainer, a GraphModule, or a state dict.

    State dict keys may be a model's (``layers.<node>.<param>``) or a saved trainer's
    (``model.layers.<node>.<param>``); other keys (optimizer slots, RNG states) are ignored.
    """
    model = getattr(source, "model", source)
    state = model.state_dict() if hasattr(model, "state_dict") else source
    if not isinstance(state, dict):
        raise InvalidInput(f"cannot read layer weights from a {type(source).__name__}")
    out: dict = {}
    for key, value in state.items():
        k = key[len("model."):] if key.startswith("model.") else key
        if not k.startswith("layers.") or k.count(".") < 2:
            continue
        node, param = k[len("layers."):].rsplit(".", 1)
        arr = value.detach().cpu().double().numpy() if hasattr(value, "detach") else np.asarray(value, dtype=np.float64)
        out.setdefault(node, {})[param] = arr
    return out


def transfer(session, weights: dict, layers, *, freeze: bool = True):
    """A copy of ``session`` whose ``layers`` start from ``weights`` and are frozen (or trainable to fine-tune).

    ``layers`` is a list of node ids present in both networks, or ``{new_id: source_id}``. Each node's
    initializable tensors (weight, bias) are copied; a shape mismatch is reported by node and shape.
    """
    from .builder import build_model
    from .layers import get_layer

    mapping = dict(layers) if isinstance(layers, dict) else {n: n for n in (layers or [])}
    if not mapping or not all(isinstance(a, str) and isinstance(b, str) for a, b in mapping.items()):
        raise InvalidInput(f"layers must be a non-empty list of node ids or a {{new_id: source_id}} map, got {layers!r}")
    new = session.copy()
    ids = set(new.graph.ids())
    for dst, src in mapping.items():
        if dst not in ids:
            raise InvalidInput(f"the new network has no node {dst!r} (nodes: {', '.join(new.graph.ids())})")
        if src not in weights:
            raise InvalidInput(f"the source weights have no layer {src!r} (layers: {', '.join(weights) or 'none'})")
        node = new.graph.node(dst)
        targets = [t for t in get_layer(node.type, node=dst).init_targets if t in weights[src]]
        if not targets:
            raise InvalidInput(f"node {dst!r} ({node.type}) has no tensor to take from source layer {src!r} "
                               f"(it has: {', '.join(weights[src])})")
        for t in targets:
            node.init[t] = {"type": "values", "params": {"values": np.asarray(weights[src][t]).tolist()}}
        node.trainable = not freeze
    build_model(new.graph, seed=new.seed)  # shape check now, naming the node, rather than when training starts
    return new
