"""The Activation layer, and the activation parameters Dense and Conv fuse in.

Fusing lets the trace show a unit's pre-activation z and its output f(z) side by side.
"""
from __future__ import annotations

import functools

from ..activations import ACTIVATIONS, activation_param_count, activation_shape
from ..errors import InvalidInput
from ..params import Param, brief, schema
from .base import LayerType, register_layer

ACT_PARAMS = (
    Param("activation", "str", "identity", choices=tuple(ACTIVATIONS.names()), doc="non-linearity applied to the layer's output"),
    Param("activation_params", "any", {}, doc='e.g. {"slope": 0.1} for leaky_relu, {"pieces": 3} for maxout'),
)


def act_spec(p) -> dict:
    """``{"type", "params"}`` of the layer's activation, validated (unknown names list the choices)."""
    ap = p.get("activation_params")
    if ap is None:
        ap = {}
    if not isinstance(ap, dict):
        raise InvalidInput(f"activation_params must be an object such as {{\"slope\": 0.1}}, got {brief(ap)}")
    if not ap and isinstance(p["activation"], str):  # the usual case, asked for several times per node
        spec = _plain_act_spec(p["activation"])
        return {"type": spec["type"], "params": dict(spec["params"])}
    return ACTIVATIONS.canonical({"type": p["activation"], "params": ap})


@functools.lru_cache(maxsize=256)
def _plain_act_spec(name):
    return ACTIVATIONS.canonical({"type": name, "params": {}})


def act_pieces(p) -> int:
    """Linear pieces per unit: k for maxout (the layer computes k outputs per unit), else 1."""
    spec = act_spec(p)
    return spec["params"]["pieces"] if spec["type"] == "maxout" else 1


def make_act(p):
    """The torch module of the activation, or None for identity (skipped on the hot path)."""
    spec = act_spec(p)
    return None if spec["type"] == "identity" else ACTIVATIONS.create(spec)


def _infer(shapes, p):
    return activation_shape(act_spec(p), shapes[0])


register_layer(
    LayerType(
        name="Activation",
        schema=schema(*ACT_PARAMS),
        infer=_infer,
        build=lambda shapes, p: ACTIVATIONS.create(act_spec(p)),
        count_params=lambda shapes, p: activation_param_count(act_spec(p), shapes[0]),
        doc="Activation: a non-linearity f(z) on its own node, so the trace shows z and f(z); without one, stacked layers stay linear.",
        group="Activation",
        key_params=("activation",),
    )
)
