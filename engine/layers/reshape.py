"""Layers that only rearrange values: needed between image layers and Dense layers."""
from __future__ import annotations

import functools
import math

from ..params import Param, schema
from .base import MAX_DIM, MAX_RANK, LayerType, ShapeError, register_layer, shape_str


@functools.cache
def reshape_module_classes():
    import torch

    class Flatten(torch.nn.Module):
        def forward(self, x):
            return x.flatten(1)

    class Reshape(torch.nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x):
            return x.reshape(x.shape[0], *self.shape)

        def extra_repr(self):
            return f"shape={self.shape}"

    for cls in (Flatten, Reshape):
        cls.__module__ = __name__
        globals()[cls.__name__] = cls
    return Flatten, Reshape


def _infer_reshape(shapes, p):
    src, want = tuple(shapes[0]), tuple(p["shape"])
    if not want or any(d == 0 or d < -1 for d in want) or want.count(-1) > 1:
        raise ShapeError(f"Reshape shape must be positive sizes with at most one -1, got {list(want)}")
    total, known = math.prod(src), math.prod(d for d in want if d != -1)
    if -1 in want:
        if total % known:
            raise ShapeError(f"cannot reshape {shape_str(src)} ({total} values) to {shape_str(want)}")
        want = tuple(total // known if d == -1 else d for d in want)
    if math.prod(want) != total:
        raise ShapeError(f"cannot reshape {shape_str(src)} ({total} values) to {shape_str(want)} ({math.prod(want)} values)")
    return want


register_layer(
    LayerType(
        name="Flatten",
        schema=schema(),
        infer=lambda shapes, p: (math.prod(shapes[0]),),
        build=lambda shapes, p: reshape_module_classes()[0](),
        doc="Flatten: unrolls an image (C, H, W) into one feature vector so a Dense layer can follow.",
        group="Reshape",
    )
)

register_layer(
    LayerType(
        name="Reshape",
        schema=schema(Param("shape", "ints", (-1,), min=-1, max=MAX_DIM, max_items=MAX_RANK, doc="target shape without the batch; one entry may be -1")),
        infer=_infer_reshape,
        build=lambda shapes, p: reshape_module_classes()[1](_infer_reshape(shapes, p)),
        doc="Reshape: views the same values with another shape (same count), e.g. a vector as a 1×8×8 image.",
        group="Reshape",
        key_params=("shape",),
    )
)
