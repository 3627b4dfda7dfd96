"""Dense (fully connected, torch's Linear): every input feeds every unit, z = W x + b, then f(z)."""
from __future__ import annotations

import functools

from ..activations import activation_param_count, activation_shape
from ..params import Param, schema
from .activation import ACT_PARAMS, act_pieces, act_spec, make_act
from .base import MAX_UNITS, TOO_BIG, LayerType, ShapeError, register_layer, shape_str


@functools.cache
def dense_module_class():
    """torch module: own weight/bias (zero until the builder initializes them) plus an optional fused activation."""
    import torch

    linear = torch.nn.functional.linear

    class Dense(torch.nn.Module):
        def __init__(self, in_features, out_features, bias=True, act=None):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            # zeros, not torch's random reset: building must not consume the global RNG
            self.weight = torch.nn.Parameter(torch.zeros(out_features, in_features))
            self.bias = torch.nn.Parameter(torch.zeros(out_features)) if bias else None
            self.act = act

        def forward(self, x):
            z = linear(x, self.weight, self.bias)
            return z if self.act is None else self.act(z)

        def record(self, x):
            """(pre-activation or None when there is no activation, output)."""
            z = linear(x, self.weight, self.bias)
            return (None, z) if self.act is None else (z, self.act(z))

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    Dense.__module__ = __name__
    globals()["Dense"] = Dense
    return Dense


def _flat(shapes, p):
    s = tuple(shapes[0])
    if len(s) != 1:
        raise ShapeError(f"Dense needs a flat input (n,), got {shape_str(s)}: add a Flatten")
    return s[0]


def _infer(shapes, p):
    _flat(shapes, p)
    return activation_shape(act_spec(p), (p["units"] * act_pieces(p),))


def _count(shapes, p):
    n, out = _flat(shapes, p), p["units"] * act_pieces(p)
    return n * out + (out if p["use_bias"] else 0) + activation_param_count(act_spec(p), (out,))


def _build(shapes, p):
    return dense_module_class()(_flat(shapes, p), p["units"] * act_pieces(p), p["use_bias"], make_act(p))


register_layer(
    LayerType(
        name="Dense",
        schema=schema(
            Param("units", "int", 8, min=1, max=MAX_UNITS, max_why=TOO_BIG, doc="number of units (neurons)"),
            *ACT_PARAMS,
            Param("use_bias", "bool", True),
        ),
        infer=_infer,
        build=_build,
        count_params=_count,
        doc=(
            "Dense (fully connected; torch calls it Linear): each unit j computes z_j = Σ_i w_ji x_i + b_j, then f(z_j); "
            "m_in·m + m parameters. With maxout(k) it computes k pieces per unit."
        ),
        group="Core",
        key_params=("units", "activation"),
        init_targets=("weight", "bias"),
    )
)
