"""What a layer type is: schema, ports, shape inference and a torch builder in one place.

Shape inference and parameter counting never import torch, so the canvas can
flag a bad graph instantly; ``build`` imports torch lazily.
Shapes exclude the batch dimension: a dense feature vector is ``(n,)``, an image ``(C, H, W)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import GraphError
from ..params import Schema, brief

# Caps on sizes typed into a layer: far beyond anything a laptop trains, so only typos hit them
# (10⁹ units used to show "valid" and then exhaust memory). engine/memory.py refuses what is
# below the caps but still does not fit the machine.
MAX_UNITS = 1_000_000  # Dense units, Conv filters, embedding width
MAX_DIM = 10_000_000  # one dimension of a shape (Input, Reshape), an embedding vocabulary
MAX_WINDOW = 4096  # kernel, pool window, stride, padding
MAX_RANK = 8  # entries of a shape
TOO_BIG = " (a larger size would not fit in memory)"


class ShapeError(GraphError):
    """Raised by ``infer``: the message names the shapes involved."""

    def __init__(self, message):
        super().__init__(message)


@dataclass(frozen=True)
class LayerType:
    name: str
    schema: Schema
    # (input shapes in edge order, validated params) -> output shape
    infer: Callable[[list, dict], tuple]
    # (input shapes, params) -> torch.nn.Module. Called only by the builder.
    build: Callable[[list, dict], object]
    # (input shapes, params) -> number of trainable scalars
    count_params: Callable[[list, dict], int] = lambda shapes, p: 0
    doc: str = ""
    group: str = "Core"
    ports: tuple = ("in",)  # input port names; () for a source such as Input
    variadic: bool = False  # the single port takes several edges (Add, Concatenate)
    min_inputs: int = 1
    key_params: tuple = ()  # shown on the canvas node
    # Parameters the initializer table may target, e.g. ("weight", "bias").
    init_targets: tuple = ()


LAYERS: dict[str, LayerType] = {}
_ALL_LOADED = False


def _mark_loaded():
    global _ALL_LOADED
    _ALL_LOADED = True


def register_layer(lt: LayerType) -> LayerType:
    if lt.name in LAYERS:
        raise ValueError(f"layer {lt.name!r} registered twice")
    LAYERS[lt.name] = lt
    return lt


def get_layer(name: str, node: str | None = None) -> LayerType:
    lt = LAYERS.get(name) if _ALL_LOADED else None  # called per node: skip the import machinery once loaded
    if lt is not None:
        return lt
    from . import _load_all

    _load_all()
    _mark_loaded()
    if name not in LAYERS:
        raise GraphError(f"unknown layer type {brief(name)}; choose one of: {', '.join(sorted(LAYERS))}", node=node)
    return LAYERS[name]


def shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
