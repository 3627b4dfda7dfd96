"""The dataset's preprocessing as torch layers, so an exported model takes raw inputs.

A network trained on standardised (or feature-crossed, or PCA-whitened) inputs
gives wrong answers on raw rows: the scaling belongs to the model. ``Preprocess``
replays ``engine.data.preprocess.apply_preprocess`` with the fitted numbers held
as float32 buffers (mean, std, min, range, PCA components and scales), using only
ops that trace into ONNX and TorchScript, and ``WithPreprocess`` puts it in front
of the network. ``describe`` gives the same numbers as plain JSON for the weights
export and the report.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.preprocess import FEATURES

# feature name -> (input column, operation); the same table as FEATURES, in torch terms
_FEATURE_OPS = {"x1": (0, "id"), "x2": (1, "id"), "x1^2": (0, "sq"), "x2^2": (1, "sq"), "x1*x2": (None, "prod"),
                "sin(x1)": (0, "sin"), "sin(x2)": (1, "sin")}
assert set(_FEATURE_OPS) == set(FEATURES)


def has_preprocessing(state) -> bool:
    """True when the fitted state changes the inputs (a scaling or a feature expansion)."""
    return bool(state) and (state.get("scale", "none") != "none" or bool(state.get("features")))


def raw_input_shape(state, network_shape) -> tuple:
    """The shape of one raw sample: 2 coordinates before a feature expansion, else the network's input."""
    if state and state.get("features"):
        return (2,)
    return tuple(network_shape)


def _tensor(values):
    return torch.tensor(values, dtype=torch.float64)


class Preprocess(nn.Module):
    """Feature expansion (TF Playground crosses), then one scaling, exactly as the training data got it.

    Buffers by scaling: standardize ``mean``, ``std``: (x − mean) / std; minmax ``min``, ``range``:
    (x − min) / range; pca_whiten ``mean``, ``components`` (rows = eigenvectors, largest variance
    first), ``scales`` (1/√eigenvalue, 0 for dropped directions): ((x − mean) @ componentsᵀ) · scales.
    The arithmetic runs in float64 and the result is rounded to float32, as in training: with
    features thousands of times apart, float32 arithmetic here would move the outputs by ~1e-5.
    """

    def __init__(self, state: dict):
        super().__init__()
        self.features = list(state.get("features") or [])
        self.scale = state.get("scale", "none")
        self.shape = tuple(state.get("input_shape") or ())
        if self.scale == "standardize":
            self.register_buffer("mean", _tensor(state["mean"]))
            self.register_buffer("std", _tensor(state["std"]))
        elif self.scale == "minmax":
            self.register_buffer("min", _tensor(state["min"]))
            self.register_buffer("range", _tensor(state["range"]))
        elif self.scale == "pca_whiten":
            self.register_buffer("mean", _tensor(state["mean"]))
            self.register_buffer("components", _tensor(state["components"]))
            self.register_buffer("scales", _tensor(state["scales"]))

    def _expand(self, x):
        x = x.to(torch.float64)
        cols = []
        for name in self.features:
            col, op = _FEATURE_OPS[name]
            if op == "prod":
                cols.append(x[:, 0] * x[:, 1])
            elif op == "id":
                cols.append(x[:, col])
            elif op == "sq":
                cols.append(x[:, col] * x[:, col])
            else:
                cols.append(torch.sin(x[:, col]))
        return torch.stack(cols, dim=1)

    def forward(self, x):
        if self.features:
            x = self._expand(x).to(torch.float32)  # the training data's features were stored as float32
        if self.scale == "none":
            return x
        flat = x.reshape(x.shape[0], -1).to(torch.float64)
        if self.scale == "standardize":
            flat = (flat - self.mean) / self.std
        elif self.scale == "minmax":
            flat = (flat - self.min) / self.range
        else:
            flat = torch.matmul(flat - self.mean, self.components.t()) * self.scales
        return flat.to(torch.float32).reshape(x.shape)


class WithPreprocess(nn.Module):
    """``network(preprocess(x))``: the model as trained, taking the raw inputs."""

    def __init__(self, preprocess: Preprocess, network: nn.Module):
        super().__init__()
        self.preprocess = preprocess
        self.network = network

    def forward(self, x):
        return self.network(self.preprocess(x))


FORMULAS = {
    "none": "x (no scaling)",
    "standardize": "(x - mean) / std",
    "minmax": "(x - min) / range",
    "pca_whiten": "((x - mean) @ components^T) * scales",
}


def describe(state) -> dict | None:
    """The fitted preprocessing as plain JSON: what to apply to raw inputs before the bare network."""
    if not has_preprocessing(state):
        return None
    scale = state.get("scale", "none")
    out = {"features": list(state.get("features") or []) or None, "scale": scale, "formula": FORMULAS[scale],
           "input_shape": list(state.get("input_shape") or [])}
    for key in ("mean", "std", "min", "range", "components", "scales"):
        if key in state:
            out[key] = state[key]
    if out["features"]:
        out["features_note"] = ("each raw point (x1, x2) becomes the listed features, in this order, "
                                "before the scaling; sin is in radians")
    return out
