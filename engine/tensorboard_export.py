"""Export a run as a TensorBoard log directory with TensorBoard's own writer (optional dependency).

What TensorBoard then shows (``tensorboard --logdir DIR``): per-epoch scalars (``epoch/train_loss``,
``epoch/val_loss``, accuracy, learning rate...), the per-step loss and learning rate (``step/*``), each
parameter's norm and gradient norm over time (``norm/*``, ``grad_norm/*``), a histogram of every final
weight tensor, and the network's graph (traced with one training sample; a graph that cannot be traced
is skipped with the reason in a text entry). The writer always creates a new events file with a unique
name, so nothing already in the folder is replaced.

Export is two halves so a window can do it while the training goes on: ``capture`` copies what the log
needs between two steps (fast: arrays and a copy of the network), ``write`` turns a capture into
events anywhere, on a background thread too. ``export_logs`` writes the current run and kept runs
(``engine.runs.RunRecord``: their per-epoch curves) as sibling subfolders of one new folder, so
``tensorboard --logdir`` on it compares them.
"""
from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput

MAX_STEP_POINTS = 50_000  # step curves are thinned evenly past this
INSTALL = "pip install '.[tensorboard]' in the project folder (or pip install tensorboard)"


def missing() -> str | None:
    """A one-line reason when the tensorboard package is not installed, else None (cheap: imports nothing)."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        return f"TensorBoard export needs the tensorboard package: {INSTALL}"
    return None


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # the tensorboard package is an optional extra
        raise InvalidInput(f"TensorBoard export needs the tensorboard package: {INSTALL}") from e
    return SummaryWriter


@dataclass
class Capture:
    """Everything one log holds, copied: writing it never touches a training that goes on."""

    epochs: dict  # key -> float64 (epochs,)
    steps: dict = field(default_factory=dict)  # "loss"/"lr" -> (x int64, y)
    layer_stats: dict = field(default_factory=dict)  # key -> (x, rows (n, 4+))
    weights: dict = field(default_factory=dict)  # "layers.node.param" -> array
    step: int = 0
    model: object = None  # a copy of the network, for the graph (None: no graph)
    sample: object = None  # one training input for tracing
    text: dict = field(default_factory=dict)  # tag -> text (a kept run's settings)


def capture_trainer(tr) -> Capture:
    """Copy a Trainer's history, weights and network; call between two steps (``Run.snapshot()``)."""
    h = tr.history
    cap = Capture(epochs={k: np.asarray(v, dtype=np.float64).copy() for k, v in h.epochs.items()},
                  step=int(tr.step))
    for name, series in (("loss", h.step_loss), ("lr", h.step_lr)):
        xs, ys = series.data()
        cap.steps[name] = (np.array(xs, copy=True), np.array(ys, copy=True))
    for key, series in h.layer_stats.items():
        xs, rows = series.data()
        cap.layer_stats[key] = (np.array(xs, copy=True), np.array(rows, copy=True))
    cap.weights = {k: v.detach().cpu().numpy().copy() for k, v in tr.model.state_dict().items()}
    try:
        cap.model = copy.deepcopy(tr.model)
        cap.sample = tr.x["train"][:1].detach().clone()
    except Exception:  # noqa: BLE001  a network that cannot be copied only loses its graph
        cap.model = cap.sample = None
    return cap


def capture(source) -> Capture:
    """A capture of a Run (between two of its steps) or of a .nnp/.json path."""
    from .run import Run

    run = source if isinstance(source, Run) else Run(source)
    with run.snapshot() as tr:
        return capture_trainer(tr)


def capture_record(record) -> Capture:
    """A kept run (``RunRecord``): its per-epoch curves, final weights when it kept them, its settings as text."""
    epochs = {k: np.asarray(v, dtype=np.float64) for k, v in record.curves.items()}
    text = {"settings": "```\n" + json.dumps(record.settings, indent=1, default=str)[:20_000] + "\n```"}
    return Capture(epochs=epochs, weights=dict(record.weights or {}), step=int(record.steps), text=text)


def write(cap: Capture, logdir) -> dict:
    """Write a capture as TensorBoard events under ``logdir`` (a new events file); returns what was written."""
    logdir = os.fspath(logdir)
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise InvalidInput(f"{logdir} is a file, not a folder: TensorBoard logs go into a folder")
    SummaryWriter = _writer_class()
    written = {"scalars": [], "histograms": [], "graph": None, "logdir": logdir}
    w = SummaryWriter(log_dir=logdir)
    try:
        for key, arr in cap.epochs.items():
            if len(arr) and np.isfinite(arr).any():
                for e, v in enumerate(arr, start=1):
                    if np.isfinite(v):
                        w.add_scalar(f"epoch/{key}", float(v), e)
                written["scalars"].append(f"epoch/{key}")
        for name, (xs, ys) in cap.steps.items():
            if len(xs):
                stride = max(1, len(xs) // MAX_STEP_POINTS)
                for x, y in zip(xs[::stride], ys[::stride]):
                    if np.isfinite(y):
                        w.add_scalar(f"step/{name}", float(y), int(x))
                written["scalars"].append(f"step/{name}")
        for key, (xs, rows) in cap.layer_stats.items():
            for x, row in zip(xs, rows):
                w.add_scalar(f"norm/{key}", float(row[2]), int(x))
                if np.isfinite(row[3]):
                    w.add_scalar(f"grad_norm/{key}", float(row[3]), int(x))
            written["scalars"] += [f"norm/{key}", f"grad_norm/{key}"]
        for key, arr in cap.weights.items():
            arr = np.asarray(arr)
            if np.issubdtype(arr.dtype, np.floating) and arr.size:
                tag = f"weights/{key.removeprefix('layers.')}"
                w.add_histogram(tag, arr.astype(np.float64), cap.step)
                written["histograms"].append(tag)
        for tag, text in cap.text.items():
            w.add_text(tag, text)
        if cap.model is not None:
            try:
                cap.model.eval()
                w.add_graph(cap.model, cap.sample)
                written["graph"] = "traced"
            except Exception as e:  # noqa: BLE001  a graph the tracer cannot follow is only skipped
                w.add_text("graph", f"the graph was not exported: {e}")
                written["graph"] = f"skipped: {e}"
    finally:
        w.flush()
        w.close()
    return written


def export_tensorboard(source, logdir: str) -> dict:
    """Write ``source`` (a Run, or a .nnp/.json path) under ``logdir``; returns what was written."""
    logdir = os.fspath(logdir)
    if os.path.exists(logdir) and not os.path.isdir(logdir):
        raise InvalidInput(f"{logdir} is a file, not a folder: TensorBoard logs go into a folder")
    _writer_class()  # the missing extra is said before anything is built
    return write(capture(source), logdir)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").lower()[:60] or "run"


def new_folder(parent, name: str) -> str:
    """Create and return a folder ``parent/name`` that did not exist (``name-2``, ``name-3``... if taken).

    ``os.mkdir`` fails on an existing path, so a folder someone else (or an earlier export) holds is
    never written into. An unwritable ``parent`` is one line: "cannot create a folder in ...".
    """
    parent = os.fspath(parent)
    if not os.path.isdir(parent):
        raise InvalidInput(f"{parent} is not a folder")
    for k in range(1, 1000):
        path = os.path.join(parent, name if k == 1 else f"{name}-{k}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise InvalidInput(f"cannot create a folder in {parent}: {e.strerror or e}") from None
    raise InvalidInput(f"{parent} already holds {name}, {name}-2 ... {name}-999")


def export_logs(root, current: Capture | None, records=(), *, stop=None) -> list:
    """``[(subfolder, written)]``: ``current`` in ``root/current``, each kept run in ``root/NN-<name>``.

    ``root`` should be a folder made for this export (``new_folder``); each subfolder is created new.
    ``records`` are ``(name, Capture)`` pairs; ``stop()`` true ends the export between two logs.
    """
    out = []
    jobs = ([("current", current)] if current is not None else [])
    jobs += [(f"{i:02d}-{slug(name)}", cap) for i, (name, cap) in enumerate(records, start=1)]
    for sub, cap in jobs:
        if stop is not None and stop():
            break
        out.append((sub, write(cap, new_folder(root, sub))))
    return out
