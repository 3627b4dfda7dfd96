"""Graph endpoints: where samples enter and where the prediction leaves."""
from __future__ import annotations

from ..params import Param, schema
from .base import MAX_DIM, MAX_RANK, TOO_BIG, LayerType, ShapeError, register_layer


def _identity(shapes, p):
    import torch

    return torch.nn.Identity()


def _infer_input(shapes, p):
    if not p["shape"]:
        raise ShapeError("Input shape needs at least one dimension, got []")
    return tuple(p["shape"])


register_layer(
    LayerType(
        name="Input",
        schema=schema(Param("shape", "ints", (2,), min=1, max=MAX_DIM, max_items=MAX_RANK, max_why=TOO_BIG, doc="one sample's shape, without the batch: [features] or [channels, height, width]")),
        infer=_infer_input,
        build=_identity,
        doc="Input: the feature vector x (or image) of one sample; the batch dimension is implicit.",
        group="Input/Output",
        ports=(),
        key_params=("shape",),
    )
)

register_layer(
    LayerType(
        name="Output",
        schema=schema(),
        infer=lambda shapes, p: tuple(shapes[0]),
        build=_identity,
        doc="Output: marks the prediction f(x) that the loss compares with the target y.",
        group="Input/Output",
    )
)
