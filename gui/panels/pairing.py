"""The "common mistakes" check of the training panel: loss vs. last activation, output width and task.

Pure functions over a Session and a GraphReport (no Qt, no torch), so they
are cheap enough to run on every edit.
"""
from __future__ import annotations

import sys

from engine.data import DATASETS, dataset_canonical
from engine.graph import final_activation
from engine.losses import check_pairing


def last_activation(graph, report):
    """``(activation name, node id)`` the loss sees, or ``(None, None)``: ``engine.graph.final_activation``, the
    rule the trainer's warning uses too (the window used to walk through any one-input layer, BatchNorm included)."""
    return final_activation(graph, report)


def dataset_facts(spec) -> tuple[str, int]:
    """``(task, n_classes)`` of a dataset spec without generating it (0 classes: regression or unknown;
    multi-label: the number of labels)."""
    canon = dataset_canonical(spec)
    t, p = canon["type"], canon["params"]
    if t in ("inline", "csv"):
        if p["task"] == "regression":
            return "regression", 0
        if p["task"] == "multilabel":  # k labels: the width of a sample's 0/1 list
            y = p.get("y")
            shape = getattr(y, "shape", None)
            k = int(shape[1]) if shape is not None and len(shape) == 2 else \
                len(y[0]) if y is not None and len(y) and isinstance(y[0], (list, tuple)) else 0
            return "multilabel", k
        names = p.get("class_names") or []
        ys = [int(v) for v in p.get("y") or []]
        return "classification", max(len(names), (max(ys) + 1) if ys else 0, 2)
    if DATASETS.entry(t).group == "regression":
        return "regression", 0
    if DATASETS.entry(t).group == "multi-label":
        from engine.data.generators import MULTI_LABEL_NAMES

        return "multilabel", len(MULTI_LABEL_NAMES)
    return "classification", int(p.get("classes", 10 if t == "digits" else 2))


def pairing_warnings(session, report) -> list[str]:
    """check_pairing plus the output width against the number of classes."""
    act, _ = last_activation(session.graph, report)
    out = report.shapes.get(report.output_id) if report.output_id else None
    k = int(out[0]) if out is not None and len(out) == 1 else 0
    task, n_classes = dataset_facts(session.dataset)
    warnings = check_pairing(session.loss, act, k, task)
    if task == "multilabel" and n_classes and k and k != n_classes:
        warnings.append(f"The output has {k} unit{'s' if k != 1 else ''} but the dataset has {n_classes} labels; give "
                        f"the last layer {n_classes} units, one sigmoid per label.")
    if task == "classification" and n_classes and k:
        if k == 1 and n_classes > 2:
            warnings.append(f"One output unit can only separate 2 classes, but the dataset has {n_classes}; give the "
                            f"last layer {n_classes} units and use cross_entropy.")
        elif k > 1 and k != n_classes:
            warnings.append(f"The output has {k} units but the dataset has {n_classes} classes; give the last layer "
                            f"{n_classes} units.")
    return warnings


def torch_devices():
    """Which devices torch can use, or None while torch is not imported (never imports it)."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "cuda"):
        return None
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    return {"auto": True, "cpu": True, "cuda": bool(torch.cuda.is_available()),
            "mps": bool(mps is not None and mps.is_available())}
