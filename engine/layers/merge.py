"""Layers that join branches: skip (residual) connections and feature concatenation."""
from __future__ import annotations

import functools

from ..params import Param, schema
from .base import MAX_RANK, LayerType, ShapeError, register_layer, shape_str


@functools.cache
def merge_module_classes():
    import torch

    class Add(torch.nn.Module):
        def forward(self, *xs):
            out = xs[0] + xs[1]
            for x in xs[2:]:
                out = out + x
            return out

    class Concatenate(torch.nn.Module):
        def __init__(self, axis=0):
            super().__init__()
            self.dim = axis + 1  # skip the batch dim

        def forward(self, *xs):
            return torch.cat(xs, dim=self.dim)

        def extra_repr(self):
            return f"dim={self.dim}"

    for cls in (Add, Concatenate):
        cls.__module__ = __name__
        globals()[cls.__name__] = cls
    return Add, Concatenate


def _all(shapes):
    return ", ".join(shape_str(s) for s in shapes)


def _infer_add(shapes, p):
    if any(tuple(s) != tuple(shapes[0]) for s in shapes):
        raise ShapeError(f"Add needs inputs of equal shape, got {_all(shapes)}")
    return tuple(shapes[0])


def _infer_cat(shapes, p):
    ax = p["axis"]
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(f"Concatenate needs inputs of equal rank, got {_all(shapes)}")
    if ax >= rank:
        raise ShapeError(f"Concatenate axis {ax} does not exist for inputs {_all(shapes)} (axis 0 is the first non-batch dim)")
    rest = {tuple(s[:ax]) + tuple(s[ax + 1:]) for s in shapes}
    if len(rest) > 1:
        raise ShapeError(f"Concatenate along axis {ax} needs the other dimensions equal, got {_all(shapes)}")
    out = list(shapes[0])
    out[ax] = sum(s[ax] for s in shapes)
    return tuple(out)


register_layer(
    LayerType(
        name="Add",
        schema=schema(),
        infer=_infer_add,
        build=lambda shapes, p: merge_module_classes()[0](),
        doc="Add: element-wise sum of its inputs; a skip (residual) connection lets gradients bypass layers, easing deep training.",
        group="Merge",
        variadic=True,
        min_inputs=2,
    )
)

register_layer(
    LayerType(
        name="Concatenate",
        schema=schema(Param("axis", "int", 0, min=0, max=MAX_RANK - 1, doc="0 = features/channels (the first non-batch dim)")),
        infer=_infer_cat,
        build=lambda shapes, p: merge_module_classes()[1](p["axis"]),
        doc="Concatenate: stacks its inputs' features (in edge order) so the next layer sees both branches.",
        group="Merge",
        variadic=True,
        min_inputs=2,
        key_params=("axis",),
    )
)
