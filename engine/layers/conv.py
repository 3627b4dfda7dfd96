"""Convolutions: small shared filters slid over a signal (C, L) or an image (C, H, W)."""
from __future__ import annotations

import functools

from ..activations import activation_param_count, activation_shape
from ..params import Param, schema
from .activation import ACT_PARAMS, act_pieces, act_spec, make_act
from .base import MAX_UNITS, MAX_WINDOW, TOO_BIG, LayerType, ShapeError, register_layer, shape_str


@functools.cache
def conv_module_class():
    """One torch module for 1-D and 2-D: own weight/bias (zero until initialized) and a fused activation."""
    import torch

    F = torch.nn.functional

    class Conv(torch.nn.Module):
        def __init__(self, dims, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, act=None):
            super().__init__()
            self.dims, self.stride, self.padding = dims, stride, padding
            self.weight = torch.nn.Parameter(torch.zeros(out_channels, in_channels, *([kernel_size] * dims)))
            self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None
            self.act = act
            self._conv = F.conv1d if dims == 1 else F.conv2d

        def forward(self, x):
            z = self._conv(x, self.weight, self.bias, self.stride, self.padding)
            return z if self.act is None else self.act(z)

        def record(self, x):
            z = self._conv(x, self.weight, self.bias, self.stride, self.padding)
            return (None, z) if self.act is None else (z, self.act(z))

        def extra_repr(self):
            o, i, *k = self.weight.shape
            return f"{i}, {o}, kernel_size={tuple(k)}, stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"

    Conv.__module__ = __name__
    globals()["Conv"] = Conv
    return Conv


def _spatial(name, dims, shapes, p):
    """Output spatial sizes floor((L + 2p − k)/s) + 1, or a ShapeError naming the input."""
    s = tuple(shapes[0])
    if len(s) != dims + 1:
        want = "(C, L)" if dims == 1 else "(C, H, W)"
        hint = ": add a Reshape" if len(s) == 1 else ""
        raise ShapeError(f"{name} needs input {want}, got {shape_str(s)}{hint}")
    k, st, pad = p["kernel_size"], p["stride"], p["padding"]
    out = tuple((n + 2 * pad - k) // st + 1 for n in s[1:])
    if any(o <= 0 for o in out):
        raise ShapeError(f"{name} kernel {k} (padding {pad}) does not fit input {shape_str(s)}")
    return s[0], out


def _conv_type(name, dims):
    def infer(shapes, p):
        _, out = _spatial(name, dims, shapes, p)
        return activation_shape(act_spec(p), (p["filters"] * act_pieces(p), *out))

    def count(shapes, p):
        c, out = _spatial(name, dims, shapes, p)
        f = p["filters"] * act_pieces(p)
        return f * c * p["kernel_size"] ** dims + (f if p["use_bias"] else 0) + activation_param_count(act_spec(p), (f, *out))

    def build(shapes, p):
        c, _ = _spatial(name, dims, shapes, p)
        f = p["filters"] * act_pieces(p)
        return conv_module_class()(dims, c, f, p["kernel_size"], p["stride"], p["padding"], p["use_bias"], make_act(p))

    what = "signal (C, L)" if dims == 1 else "image (C, H, W)"
    return LayerType(
        name=name,
        schema=schema(
            Param("filters", "int", 8, min=1, max=MAX_UNITS, max_why=TOO_BIG, doc="output channels (feature maps)"),
            Param("kernel_size", "int", 3, min=1, max=MAX_WINDOW),
            Param("stride", "int", 1, min=1, max=MAX_WINDOW),
            Param("padding", "int", 0, min=0, max=MAX_WINDOW, doc="zeros added on each side"),
            *ACT_PARAMS,
            Param("use_bias", "bool", True),
        ),
        infer=infer,
        build=build,
        count_params=count,
        doc=(
            f"{name}: slides {'k' if dims == 1 else 'k×k'} filters over a {what}, sharing weights across positions "
            f"(far fewer parameters than Dense); output size ⌊(n + 2p − k)/s⌋ + 1."
        ),
        group="Convolution",
        key_params=("filters", "kernel_size", "activation"),
        init_targets=("weight", "bias"),
    )


register_layer(_conv_type("Conv1d", 1))
register_layer(_conv_type("Conv2d", 2))

