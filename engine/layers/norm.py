"""Normalization layers: re-centre and re-scale activations so deeper layers see a stable distribution."""
from __future__ import annotations

import math

from ..params import Param, schema
from .base import LayerType, ShapeError, register_layer, shape_str


def _bn_features(shapes, p):
    s = tuple(shapes[0])
    if len(s) not in (1, 2, 3):
        raise ShapeError(f"BatchNorm needs (n,), (C, L) or (C, H, W), got {shape_str(s)}")
    return s[0]


def _build_bn(shapes, p):
    import torch

    cls = torch.nn.BatchNorm2d if len(shapes[0]) == 3 else torch.nn.BatchNorm1d
    return cls(_bn_features(shapes, p), eps=p["eps"], momentum=p["momentum"])


def _infer_bn(shapes, p):
    _bn_features(shapes, p)
    return tuple(shapes[0])


_EPS = Param("eps", "float", 1e-5, min=1e-12, doc="added to the variance so the division is safe")

register_layer(
    LayerType(
        name="BatchNorm",
        schema=schema(
            Param("momentum", "float", 0.1, min=0.0, max=1.0, doc="weight of the current batch in the running statistics"),
            _EPS,
        ),
        infer=_infer_bn,
        build=_build_bn,
        count_params=lambda shapes, p: 2 * _bn_features(shapes, p),
        doc=(
            "BatchNorm: normalizes each feature (or channel) with the mini-batch mean and variance, then learns a scale and shift; "
            "eases gradient flow, allows larger learning rates, and its batch noise regularizes. Uses running statistics at test time."
        ),
        group="Normalization",
    )
)


def _build_ln(shapes, p):
    import torch

    return torch.nn.LayerNorm(tuple(shapes[0]), eps=p["eps"])


register_layer(
    LayerType(
        name="LayerNorm",
        schema=schema(_EPS),
        infer=lambda shapes, p: tuple(shapes[0]),
        build=_build_ln,
        count_params=lambda shapes, p: 2 * math.prod(shapes[0]),
        doc="LayerNorm: normalizes each sample over all its features (no batch statistics, same at train and test), then learns a scale and shift per element.",
        group="Normalization",
    )
)
