"""Weights only: ``out.safetensors`` with the model's state_dict, and ``out.json`` describing the architecture.

The JSON holds the graph spec (the same as in a session), every node's output
shape and parameter count, and each tensor's shape and dtype, so the weights can
be rebuilt by this program or mapped by hand onto another framework. The
tensors are the bare network's; the preprocessing its inputs need (feature
crosses, then mean/std, min/range or the PCA matrix) is written into the JSON
under ``"preprocess"`` and into the safetensors metadata as the same JSON text.
"""
from __future__ import annotations

import json
import os

from .. import __version__
from . import write_bytes
from .preprocess_module import describe

WEIGHTS_FORMAT = "nn-playground-weights"


def sidecar_path(out_path: str, suffix: str) -> str:
    """``net.safetensors`` -> ``net.json``; a path that already ends in ``suffix`` gets it appended."""
    root, ext = os.path.splitext(out_path)
    return out_path + suffix if ext == suffix or not root else root + suffix


def architecture(ex) -> dict:
    rep, graph = ex.report, ex.session.graph
    nodes = []
    for nid in rep.order:
        node = graph.node(nid)
        nodes.append({"id": nid, "type": node.type, "params": _plain(rep.params[nid]), "trainable": node.trainable,
                      "inputs": graph.inputs_of(nid), "shape": list(rep.shapes[nid]), "param_count": rep.param_counts[nid]})
    sd = ex.model.state_dict()
    return {
        "format": WEIGHTS_FORMAT,
        "format_version": 1,
        "app_version": __version__,
        "name": ex.name or ex.session.name,
        "trained": ex.trained,
        "input_shape": list(rep.shapes[rep.input_id]),
        "preprocess": describe(ex.preprocess_state),
        "preprocess_note": ("the tensors are the bare network's: apply 'preprocess' to raw inputs first "
                            "(null: the network takes the raw inputs as they are)"),
        "output_shape": list(rep.shapes[rep.output_id]),
        "total_params": rep.total_params,
        "nodes": nodes,
        "graph": graph.to_dict(),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in sd.items()},
        "layout": ("Dense weight is [out][in] (torch Linear); Conv weight is [out][in][k]...; "
                   "batch dimension excluded from shapes"),
    }


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def state_bytes(state_dict: dict, metadata: dict | None = None) -> bytes:
    from safetensors.torch import save

    return save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, metadata=metadata)


def export_weights(ex, out_path) -> str:
    meta = {"format": WEIGHTS_FORMAT, "app_version": __version__, "trained": str(ex.trained).lower(),
            "name": ex.name or ex.session.name, "preprocess": json.dumps(describe(ex.preprocess_state))}
    data = state_bytes(ex.model.state_dict(), meta)
    # export_session checked both paths before any work: the sidecar never replaces a user's own .json
    write_bytes(sidecar_path(out_path, ".json"), (json.dumps(architecture(ex), indent=2) + "\n").encode("utf-8"))
    return write_bytes(out_path, data)
