"""Forward-mode differentiation on the user's own graph, beside backpropagation's reverse mode (lecture 001).

The notes build the derivative of the loss with respect to one weight W in two ways. *Forward
mode* carries dξ/dW along with every variable ξ while the values are computed, node by node from
the input ("forward is easier to implement and to understand"); *reverse mode* (backpropagation)
first computes the values, then sends ∂L/∂ξ back from the loss. Both give the same number. The
difference is the cost "when there are multiple nodes per layer": forward mode needs one pass per
weight, reverse mode one backward pass for all of them.

``forward_mode`` runs one forward pass with a dual number on the chosen weight (torch's forward-mode
AD, ``torch.autograd.forward_ad``) and returns, for every node, dz/dW and da/dW, and finally dL/dW —
to be set beside the inspector's reverse-mode gradient of the same weight.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput


@dataclass(frozen=True)
class ForwardTangents:
    param: str  # "node.weight"
    index: tuple
    nodes: dict  # node id → (dz/dW or None, da/dW), arrays with the batch as first axis
    order: list
    loss: float
    dL_dW: float
    reverse: float  # backpropagation's ∂L/∂W for the same entry
    n_params: int  # forward passes forward mode would need for the whole gradient

    @property
    def agrees(self) -> bool:
        return abs(self.dL_dW - self.reverse) <= 1e-9 * max(1.0, abs(self.reverse))


def weight_entries(inspector) -> list[tuple[str, tuple]]:
    """(name, index) of every trainable parameter entry, in the network's order (for a chooser)."""
    out = []
    for name, value in inspector.current().params.items():
        arr = np.asarray(value)
        out.extend((name, tuple(int(i) for i in idx)) for idx in np.ndindex(arr.shape))
    return out


def forward_mode(inspector, name: str, index) -> ForwardTangents:
    """dz/dW, da/dW at every node and dL/dW for the entry ``index`` of parameter ``name`` ("node.param")."""
    import torch
    import torch.autograd.forward_ad as fwad
    from torch.func import functional_call

    model = inspector.model
    keys = {f"layers.{k}": k for k in inspector.current().params}
    key = next((full for full, short in keys.items() if short == name), None)
    if key is None:
        raise InvalidInput(f"the network has no parameter {name!r}; it has {', '.join(sorted(keys.values()))}")
    params = {k: v.detach() for k, v in model.named_parameters()}
    index = tuple(int(i) for i in np.atleast_1d(index)) if np.ndim(index) else (int(index),)
    shape = tuple(params[key].shape)
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        raise InvalidInput(f"{name} has shape {shape}; entry {index} is outside it")
    x, y = inspector._batch()

    class _Recorded(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, t):
            return self.inner.forward_record(t)

    wrapper = _Recorded(model)
    tangent = torch.zeros_like(params[key])
    tangent[index] = 1.0
    with torch.no_grad(), fwad.dual_level():
        with warnings.catch_warnings():  # torch scripts its jvp decompositions on first use, with a deprecation note
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
            duals = {f"inner.{k}": (fwad.make_dual(v, tangent) if k == key else v) for k, v in params.items()}
        out, rec = functional_call(wrapper, duals, (x,), strict=False)
        loss = inspector.loss_fn(out, y)

        def tan(t):
            if t is None:
                return None
            d = fwad.unpack_dual(t)
            return np.zeros(tuple(t.shape)) if d.tangent is None else d.tangent.double().cpu().numpy().copy()

        nodes = {nid: (tan(r["pre"]), tan(r["post"])) for nid, r in rec.items()}
        value = fwad.unpack_dual(loss)
        dl = 0.0 if value.tangent is None else float(value.tangent)
        loss_value = float(value.primal)
    reverse = float(np.asarray(inspector.current().grads.get(name, np.zeros(shape)))[index])
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return ForwardTangents(name, index, nodes, list(model.order), loss_value, dl, reverse, n)
