"""Pooling: summarize each window of a feature map, shrinking it and adding small shift invariance."""
from __future__ import annotations

from ..params import Param, schema
from .base import MAX_WINDOW, LayerType, ShapeError, register_layer, shape_str


def _window(name, shapes, p):
    s = tuple(shapes[0])
    if len(s) not in (2, 3):
        raise ShapeError(f"{name} needs a signal (C, L) or an image (C, H, W), got {shape_str(s)}")
    k = p["pool_size"]
    st = p["stride"] or k
    out = tuple((n - k) // st + 1 for n in s[1:])
    if any(o <= 0 for o in out):
        raise ShapeError(f"{name} window {k} does not fit input {shape_str(s)}")
    return (s[0], *out), k, st


def _pool_type(name, doc):
    def build(shapes, p):
        import torch

        _, k, st = _window(name, shapes, p)
        cls = getattr(torch.nn, f"{name}{len(shapes[0]) - 1}d")
        return cls(k, stride=st)

    return LayerType(
        name=name,
        schema=schema(
            Param("pool_size", "int", 2, min=1, max=MAX_WINDOW),
            Param("stride", "int", None, min=1, max=MAX_WINDOW, optional=True, doc="default: pool_size (non-overlapping windows)"),
        ),
        infer=lambda shapes, p: _window(name, shapes, p)[0],
        build=build,
        doc=doc,
        group="Pooling",
        key_params=("pool_size",),
    )


register_layer(_pool_type("MaxPool", "MaxPool: keeps the largest value of each window (1-D or 2-D by input rank); no parameters."))
register_layer(_pool_type("AvgPool", "AvgPool: averages each window (1-D or 2-D by input rank); no parameters."))
