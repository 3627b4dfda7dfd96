"""Dropout: zero each unit with probability p during training, a cheap ensemble of 2^N sub-networks."""
from __future__ import annotations

import functools

from ..errors import InvalidInput
from ..params import Param, schema
from .base import LayerType, register_layer


@functools.cache
def dropout_module_class():
    """Honours ``self.training``; masks come from ``self.generator``, the run's own dropout stream.

    ``GraphModule.set_generator`` hands every Dropout the generator of the training that owns it, so
    two trainings in one process never draw from a shared (global) random stream. Without one (a model
    built outside a training) torch's global generator is used.
    """
    import torch

    class Dropout(torch.nn.Module):
        def __init__(self, p=0.5, mode="inverted"):
            super().__init__()
            self.p, self.mode = float(p), mode
            self.generator = None

        def forward(self, x):
            if self.p == 0.0:
                return x
            keep = 1.0 - self.p
            if self.training:
                mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
                return x * mask if self.mode == "weight_scaling" else x * mask / keep  # inverted: x·mask/(1−p)
            return x * keep if self.mode == "weight_scaling" else x

        def extra_repr(self):
            return f"p={self.p}, mode={self.mode!r}"

    Dropout.__module__ = __name__
    globals()["Dropout"] = Dropout
    return Dropout


def _infer(shapes, p):
    if p["p"] >= 1.0:
        raise InvalidInput(f"Dropout.p must be < 1 (p = 1 drops every unit), got {p['p']!r}")
    return tuple(shapes[0])


register_layer(
    LayerType(
        name="Dropout",
        schema=schema(
            Param("p", "float", 0.5, min=0.0, max=1.0, doc="dropout rate: probability of zeroing a unit (0.2 inputs, 0.5 hidden is typical)"),
            Param(
                "mode",
                "choice",
                "inverted",
                choices=("inverted", "weight_scaling"),
                doc="inverted: scale kept units by 1/(1−p) while training; weight_scaling: scale by (1−p) at test time (the lecture's variant)",
            ),
        ),
        infer=_infer,
        build=lambda shapes, p: dropout_module_class()(p["p"], p["mode"]),
        doc=(
            "Dropout: each training step drops units with probability p, averaging many sub-networks; "
            "at test time all units stay and the weights are scaled by the keep rate (or, inverted, the scaling happens while training)."
        ),
        group="Regularization",
        key_params=("p",),
    )
)
