"""Input preprocessing: TF-Playground feature expansion, then one scaling step.

Scalers are fitted on the training split only (statistics of validation or
test data must not leak into training) and their fitted state is plain lists
of numbers, so a session file can store it and reapply it at inference time.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidInput
from ..params import Param, schema

FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}
SCALES = ("none", "standardize", "minmax", "pca_whiten")

PREPROCESS_SCHEMA = schema(
    Param("scale", "choice", "none", choices=SCALES, doc="scaling fitted on the training split"),
    Param("features", "any", None, optional=True, doc="2-D inputs only: expand into these TF Playground features"),
)


def check_features(names):
    """Validate a feature list; return it as a list of str (or None)."""
    if names is None:
        return None
    if not isinstance(names, (list, tuple)) or not names:
        raise InvalidInput(f"preprocess features must be a non-empty list of names from {', '.join(FEATURES)}; got {names!r}")
    for name in names:
        if not isinstance(name, str) or name not in FEATURES:  # a list or object here is not hashable, let alone known
            raise InvalidInput(f"unknown feature {str(name)[:60]!r}; choose from: {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise InvalidInput(f"preprocess features list a name twice: {list(names)!r}")
    return list(names)


def preprocess_canonical(spec) -> dict:
    """Fill defaults; accept None or a bare scale name as shorthand."""
    if spec is None:
        spec = {}
    elif isinstance(spec, str):
        spec = {"scale": spec}
    elif not isinstance(spec, dict):
        raise InvalidInput(f"preprocess must be an object like {{'scale': 'standardize'}}, got {spec!r}")
    out = PREPROCESS_SCHEMA.validate(spec, owner="preprocess")
    out["features"] = check_features(out["features"])
    return out


def expand_features(x, names):
    """Map 2-D points (N, 2) to the named features (N, len(names)), TF Playground style."""
    names = check_features(names)
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise InvalidInput(f"feature expansion needs 2-D points (N, 2), got inputs of shape {tuple(x.shape[1:])}")
    a, b = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    return np.stack([FEATURES[n](a, b) for n in names], axis=1).astype(np.float32)


# ------------------------------------------------------------------ scalers
class Standardize:
    """Zero mean, unit variance per feature (constant features are only centred)."""

    name = "standardize"

    @staticmethod
    def fit(x):
        std = x.std(axis=0)
        return {"mean": x.mean(axis=0).tolist(), "std": np.where(std > 1e-12, std, 1.0).tolist()}

    @staticmethod
    def apply(x, st):
        return (x - np.asarray(st["mean"])) / np.asarray(st["std"])


class MinMax:
    """Map each feature's training range to [0, 1] (constant features are only shifted)."""

    name = "minmax"

    @staticmethod
    def fit(x):
        lo, hi = x.min(axis=0), x.max(axis=0)
        return {"min": lo.tolist(), "range": np.where(hi - lo > 1e-12, hi - lo, 1.0).tolist()}

    @staticmethod
    def apply(x, st):
        return (x - np.asarray(st["min"])) / np.asarray(st["range"])


class PCAWhiten:
    """Rotate onto the covariance eigenbasis and scale each axis to unit variance.

    Directions with (near-)zero variance, e.g. always-blank pixels, are mapped
    to 0 instead of being blown up by 1/sqrt(0).
    """

    name = "pca_whiten"

    @staticmethod
    def fit(x):
        mean = x.mean(axis=0)
        centred = x - mean
        cov = centred.T @ centred / max(len(x), 1)
        eig, vecs = np.linalg.eigh(cov)
        eig, vecs = eig[::-1], vecs[:, ::-1]  # largest variance first
        keep = eig > max(float(eig.max(initial=0.0)), 1e-300) * 1e-10
        scales = np.where(keep, 1.0 / np.sqrt(np.where(keep, eig, 1.0)), 0.0)
        return {"mean": mean.tolist(), "components": vecs.T.tolist(), "scales": scales.tolist()}

    @staticmethod
    def apply(x, st):
        return (x - np.asarray(st["mean"])) @ np.asarray(st["components"]).T * np.asarray(st["scales"])


SCALERS = {c.name: c for c in (Standardize, MinMax, PCAWhiten)}


def fit_preprocess(x_train, spec) -> dict:
    """Fit on the training inputs; return a JSON-ready state for ``apply_preprocess``."""
    spec = preprocess_canonical(spec)
    x = np.asarray(x_train)
    if spec["features"]:
        x = expand_features(x, spec["features"])
    state = {"scale": spec["scale"], "features": spec["features"], "input_shape": list(x.shape[1:])}
    if spec["scale"] != "none":
        if len(x) == 0:
            raise InvalidInput(f"cannot fit {spec['scale']!r} scaling on an empty training split")
        state.update(SCALERS[spec["scale"]].fit(x.reshape(len(x), -1).astype(np.float64)))
    return state


def apply_preprocess(x, state) -> np.ndarray:
    """Apply a fitted state to any inputs (training, validation, test or new points)."""
    if not isinstance(state, dict) or state.get("scale") not in SCALES:
        raise InvalidInput(f"preprocess state must be a dict from fit_preprocess, got {state!r:.80}")
    x = np.asarray(x, dtype=np.float32)
    if state.get("features"):
        x = expand_features(x, state["features"])
    shape = tuple(state.get("input_shape", x.shape[1:]))
    if tuple(x.shape[1:]) != shape:
        raise InvalidInput(f"inputs have shape {tuple(x.shape[1:])} but the preprocessing was fitted on {shape}")
    if state["scale"] == "none":
        return x.astype(np.float32, copy=False)
    flat = x.reshape(len(x), int(np.prod(shape))).astype(np.float64)  # (0, d) works for empty splits
    return SCALERS[state["scale"]].apply(flat, state).reshape(x.shape).astype(np.float32)
