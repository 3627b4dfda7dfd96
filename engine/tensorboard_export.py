"""Export a run as a TensorBoard log directory with TensorBoard's own writer (optional dependency).

What TensorBoard then shows (``tensorboard --logdir DIR``): per-epoch scalars (``epoch/train_loss``,
``epoch/val_loss``, accuracy, learning rate...), the per-step loss and learning rate (``step/*``), each
parameter's norm and gradient norm over time (``norm/*``, ``grad_norm/*``), a histogram of every final
weight tensor, and the network's graph (traced with one training sample; a graph that cannot be traced
is skipped with the reason in a text entry). The writer always creates a new events file with a unique
name, so nothing already in the folder is replaced.
"""
from __future__ import annotations

import os

import numpy as np

from .errors import InvalidInput

MAX_STEP_POINTS = 50_000  # step curves are thinned evenly past this


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # the tensorboard package is an optional extra
        raise InvalidInput("TensorBoard export needs the tensorboard package: "
                           "pip install 'nn-playground[tensorboard]' (or pip install tensorboard)") from e
    return SummaryWriter


def export_tensorboard(source, logdir: str) -> dict:
    """Write ``source`` (a Run, or a .nnp/.json path) under ``logdir``; returns what was written."""
    import torch

    from .run import Run

    logdir = os.fspath(logdir)
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise InvalidInput(f"{logdir} is a file, not a folder: TensorBoard logs go into a folder")
    SummaryWriter = _writer_class()
    run = source if isinstance(source, Run) else Run(source)
    hist = run.history
    weights = run.weights()
    written = {"scalars": [], "histograms": [], "graph": None}
    w = SummaryWriter(log_dir=logdir)
    try:
        for key, values in hist.epochs.items():
            arr = np.asarray(values, dtype=np.float64)
            if len(arr) and np.isfinite(arr).any():
                for e, v in enumerate(arr, start=1):
                    if np.isfinite(v):
                        w.add_scalar(f"epoch/{key}", float(v), e)
                written["scalars"].append(f"epoch/{key}")
        for name, series in (("loss", hist.step_loss), ("lr", hist.step_lr)):
            xs, ys = series.data()
            if len(xs):
                stride = max(1, len(xs) // MAX_STEP_POINTS)
                for x, y in zip(xs[::stride], ys[::stride]):
                    if np.isfinite(y):
                        w.add_scalar(f"step/{name}", float(y), int(x))
                written["scalars"].append(f"step/{name}")
        for key, series in hist.layer_stats.items():
            xs, rows = series.data()
            for x, row in zip(xs, rows):
                w.add_scalar(f"norm/{key}", float(row[2]), int(x))
                if np.isfinite(row[3]):
                    w.add_scalar(f"grad_norm/{key}", float(row[3]), int(x))
            written["scalars"] += [f"norm/{key}", f"grad_norm/{key}"]
        for key, arr in weights.items():
            if np.issubdtype(arr.dtype, np.floating) and arr.size:
                tag = f"weights/{key.removeprefix('layers.')}"
                w.add_histogram(tag, arr.astype(np.float64), run.step)
                written["histograms"].append(tag)
        try:
            with run.snapshot() as tr:
                model = tr.model
                was = model.training
                model.eval()
                try:
                    w.add_graph(model, tr.x["train"][:1])
                finally:
                    model.train(was)
            written["graph"] = "traced"
        except Exception as e:  # noqa: BLE001  a graph the tracer cannot follow is only skipped
            w.add_text("graph", f"the graph was not exported: {e}")
            written["graph"] = f"skipped: {e}"
    finally:
        w.flush()
        w.close()
    del torch
    written["logdir"] = logdir
    return written
