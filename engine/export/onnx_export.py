"""ONNX export: opset 17, a dynamic batch axis, inputs named "input" and outputs "output".

The graph is named after the session; ``metadata_props`` hold ``name``, ``preprocess`` (the
fitted scaling as JSON, as in the weights export) and ``preprocess_included``.

The model starts with the dataset's scaling and feature crosses (see
``engine/export/preprocess_module.py``), so it takes raw inputs, unless the
export is bare. The classic (TorchScript-based) exporter is used while torch still ships it: it
needs no extra packages and handles the graph's Python-level wiring by tracing.
The torch.export-based exporter is the fallback.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings

from ..errors import InvalidInput
from . import write_bytes

OPSET = 17


def onnx_bytes(ex) -> bytes:
    import torch

    x = ex.example_input(2)
    model = ex.export_model()
    kw = dict(input_names=["input"], output_names=["output"], opset_version=OPSET)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecation and tracer notices are not the user's concern
        try:
            buf = io.BytesIO()
            torch.onnx.export(model, (x,), buf, dynamo=False, do_constant_folding=True,
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kw)
            data = buf.getvalue()
        except TypeError:  # a torch without the classic exporter
            data = _dynamo_bytes(model, x, kw)
        except Exception as e:
            raise InvalidInput(f"ONNX export failed: {type(e).__name__}: {e}") from None
    import onnx

    try:
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto)
    except Exception as e:
        raise InvalidInput(f"ONNX export produced an invalid model: {e}") from None
    return _with_metadata(proto, ex)


def _with_metadata(proto, ex) -> bytes:
    """Name the graph after the session and record the preprocessing (included, or to apply for a bare export)."""
    import json

    from .preprocess_module import describe

    proto.graph.name = ex.name or ex.session.name or "network"
    pre = _bare_description(ex) if ex.bare else describe(ex.preprocess_state)
    for key, value in (("name", proto.graph.name), ("preprocess", json.dumps(pre)),
                       ("preprocess_included", "true" if ex.with_preprocess else "false")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def _bare_description(ex):
    """A bare export still says what its inputs need; a dataset that cannot be rebuilt says so instead."""
    from .preprocess_module import describe

    try:
        return describe(ex.preprocess_state)
    except InvalidInput as e:
        return {"unknown": str(e)}


def _dynamo_bytes(model, x, kw) -> bytes:
    import torch

    batch = torch.export.Dim("batch", min=1)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        torch.onnx.export(model, (x,), path, dynamo=True, external_data=False,
                          dynamic_shapes=({0: batch},), **kw)
        with open(path, "rb") as f:
            return f.read()


def export_onnx(ex, out_path) -> str:
    return write_bytes(out_path, onnx_bytes(ex))
