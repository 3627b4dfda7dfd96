"""The defaults for a table of data: what a session for an imported CSV starts with.

A person who imports a CSV and presses Train should get a sensible model without tuning: features
standardised (lecture 002: unscaled inputs slow gradient descent), one hidden ReLU layer of 32 units
(the size scikit-learn's MLP comparison in the tests uses), the loss that fits the task (binary
cross-entropy on logits, softmax cross-entropy, MSE, or for several 0/1 target columns one raw output per
label with binary cross-entropy on logits), Adam, and enough epochs for a few thousand
steps. ``main.py new --csv`` writes exactly this; the import dialog can use it too.
"""
from __future__ import annotations

import math
import os

HIDDEN_UNITS = 32
BATCH = 32
TARGET_STEPS = 3000


def default_epochs(n_train: int, batch: int = BATCH) -> int:
    steps = max(1, math.ceil(n_train / batch))
    return int(min(300, max(30, math.ceil(TARGET_STEPS / steps))))


def session_for_table(table, target=None, *, path: str | None = None, name: str | None = None,
                      split=None, params: dict | None = None):
    """A Session training a small MLP on ``table`` (an ``engine.data.Table``) predicting ``target``.

    ``path``: store the CSV by this path (a ``.json`` session stays small and readable); otherwise the
    data is embedded (``csv_dataset_params``, or the already chosen ``params`` of the import dialog).
    """
    from .data import csv_dataset_params
    from .session import Session
    from .spec import GraphSpec

    params = params if params is not None else csv_dataset_params(table, target)  # the import dialog's choice
    task, d = params["task"], int(params["x"].shape[1])
    n_classes = len(params["class_names"] or []) if task == "classification" else 0
    n_out = 1 if task == "regression" or n_classes <= 2 else n_classes
    if task == "multilabel":  # one raw output per label, bce_logits applies each label's sigmoid
        n_out = len(params["class_names"])
    loss = "mse" if task == "regression" else "bce_logits" if n_out == 1 or task == "multilabel" else "cross_entropy"
    if path is not None and task == "multilabel":
        cols = table.target_columns(target if target is not None else table.target)
        params = {"path": path, "target": [table.columns[j] if table.header else j for j in cols], "task": task}
        if getattr(table, "skip_rows", 0):
            params["skip_rows"] = table.skip_rows
    elif path is not None:
        j = table.column_index(target if target is not None else table.target)
        params = {"path": path, "target": table.columns[j] if table.header else j, "task": task}
        if getattr(table, "skip_rows", 0):
            params["skip_rows"] = table.skip_rows
    split = split or {"train": 0.7, "val": 0.15, "test": 0.15}
    graph = GraphSpec.from_dict({"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [d]}, "pos": [0, 0]},
        {"id": "hidden", "type": "Dense", "params": {"units": HIDDEN_UNITS, "activation": "relu"}, "pos": [240, 0]},
        {"id": "out", "type": "Dense", "params": {"units": n_out}, "pos": [480, 0]},
        {"id": "output", "type": "Output", "pos": [720, 0]}],
        "edges": [{"from": "input", "to": "hidden"}, {"from": "hidden", "to": "out"}, {"from": "out", "to": "output"}]})
    s = Session()
    s.name = name or os.path.splitext(os.path.basename(table.name or "table"))[0] or "table"
    s.graph = graph
    s.dataset = {"type": "csv", "params": params, "split": split,
                 "preprocess": {"scale": "standardize", "features": None}}
    s.loss = {"type": loss, "params": {}}
    s.optimizer = {"type": "adam", "params": {"lr": 0.003}}
    n_train = int(round(len(table.values) * split["train"]))
    s.training = dict(s.training, epochs=default_epochs(n_train), batch_size=BATCH)
    return s
