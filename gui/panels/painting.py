"""Painting points by hand: the pure-data half (the dataset panel does the mouse half).

A painted dataset is an ``inline`` spec whose params hold every point as
plain lists, so the session stays pure data and undo is a spec swap.
"""
from __future__ import annotations

import math

import numpy as np

DECIMALS = 4  # painted/converted coordinates are rounded: sessions stay small and readable


def to_inline(ds) -> dict:
    """Params of an ``inline`` dataset holding every point of ``ds`` (all splits, raw inputs)."""
    xs = [np.asarray(ds.raw_x(s), np.float64) for s in ("train", "val", "test")]
    ys = [ds.split(s)[1] for s in ("train", "val", "test")]
    x = np.round(np.concatenate(xs), DECIMALS).tolist()
    if ds.task == "regression":
        y = np.concatenate(ys)
        y = np.round(y[:, 0] if y.shape[1] == 1 else y, DECIMALS).astype(np.float64).tolist()
    else:
        y = np.concatenate(ys).astype(int).tolist()
    raw_names = None if ds.preprocess_state.get("features") else list(ds.feature_names)
    return {"x": x, "y": y, "task": ds.task, "feature_names": raw_names,
            "class_names": list(ds.class_names) if ds.task == "classification" else None}


def add_point(params: dict, x: float, y: float, target):
    """Append one point (in place); a class beyond the known names gets a name of its own."""
    params["x"].append([round(float(x), DECIMALS), round(float(y), DECIMALS)])
    if params["task"] == "regression":
        params["y"].append(round(float(target), DECIMALS))
        return
    target = int(target)
    params["y"].append(target)
    names = params.get("class_names")
    if names is not None and target >= len(names):
        params["class_names"] = list(names) + [f"class {c}" for c in range(len(names), target + 1)]


def erase_near(params: dict, x: float, y: float, radius: float):
    """Remove (in place) every point within ``radius`` of (x, y), but never the last one."""
    dist = [math.hypot(p[0] - x, p[1] - y) for p in params["x"]]
    keep = [i for i, d in enumerate(dist) if d > radius]
    if not keep:  # a dataset needs at least one point: keep the farthest
        keep = [max(range(len(dist)), key=dist.__getitem__)]
    params["x"] = [params["x"][i] for i in keep]
    params["y"] = [params["y"][i] for i in keep]
