"""TorchScript export: the eval-mode network traced once; reload with ``torch.jit.load`` (no project code needed).

Like ONNX, the traced module begins with the dataset's scaling and feature
crosses (raw inputs in), unless the export is bare.

Tracing (not scripting) fits: the graph's wiring is plain Python run at trace
time, and batch sizes stay dynamic because shapes are read from the tensors.
"""
from __future__ import annotations

import io
import warnings

from ..errors import InvalidInput
from . import write_bytes


def torchscript_bytes(ex) -> bytes:
    import torch

    x = ex.example_input(2)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated but still the portable format
        try:
            traced = torch.jit.trace(ex.export_model(), (x,), check_trace=False)
        except Exception as e:
            raise InvalidInput(f"TorchScript export failed: {type(e).__name__}: {e}") from None
        buf = io.BytesIO()
        torch.jit.save(traced, buf)
    return buf.getvalue()


def export_torchscript(ex, out_path) -> str:
    return write_bytes(out_path, torchscript_bytes(ex))
