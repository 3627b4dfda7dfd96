"""Shared builders for the compiled-path tests: small datasets and sessions, and both paths side by side."""
from __future__ import annotations

import numpy as np
import torch

from engine.data.dataset import Dataset
from engine.events import Step
from engine.optimizers import OPTIMIZERS
from engine.session import Session
from engine.spec import GraphSpec
from engine.trainer import Trainer


def dataset(task="binary", n=60, d=2, seed=0, val=20):
    """``n`` training and ``val`` validation points; binary/3-class labels or 2 regression targets."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + val, d)).astype(np.float32)
    if task == "binary":
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
        kind, classes = "classification", 2
    elif task == "multi":
        y = (np.arctan2(x[:, 1], x[:, 0]) // (2 * np.pi / 3) % 3).astype(np.int64)
        kind, classes = "classification", 3
    else:
        y = np.stack([np.sin(x[:, 0]) + 0.5 * x[:, 1], x[:, 0] * x[:, 1]], 1).astype(np.float32)
        kind, classes = "regression", 0
    empty_x = np.zeros((0, d), np.float32)
    empty_y = y[:0]
    return Dataset(name=task, task=kind, n_classes=classes, input_shape=(d,),
                   feature_names=[f"x{i}" for i in range(d)], class_names=[str(c) for c in range(classes)],
                   x_train=x[:n], y_train=y[:n], x_val=x[n:], y_val=y[n:], x_test=empty_x, y_test=empty_y)


def chain(*layers, d=2):
    """Input(d) → Dense layers given as (units, activation[, activation_params]) → Output."""
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [d]}}]
    for i, spec in enumerate(layers, 1):
        if isinstance(spec, dict):
            nodes.append(dict(spec, id=spec.get("id", f"n{i}")))
            continue
        units, act, *ap = spec
        p = {"units": units, "activation": act}
        if ap:
            p["activation_params"] = ap[0]
        nodes.append({"id": f"d{i}", "type": "Dense", "params": p})
    nodes.append({"id": "output", "type": "Output"})
    return {"layers": nodes}


def session(graph, loss="bce_logits", optimizer=("sgd", {"lr": 0.05}), schedule="constant", regularizers=(),
            seed=0, **training):
    t = {"epochs": 1000, "batch_size": 10, "device": "cpu"}
    t.update(training)
    loss = loss if isinstance(loss, dict) else {"type": loss, "params": {}}
    sched = schedule if isinstance(schedule, dict) else {"type": schedule, "params": {}}
    return Session(seed=seed, graph=GraphSpec.from_dict(graph), loss=loss,
                   optimizer={"type": optimizer[0], "params": dict(optimizer[1])}, schedule=sched,
                   regularizers=list(regularizers), dataset={"type": "circle", "params": {}}, training=t)


def torch_trainer(s, data, dtype="float32"):
    tr = Trainer(s, dataset=data)
    if dtype == "float64":  # the same initial weights, in float64 (parameters converted in place)
        tr.model.double()
        tr.x = {k: v.double() for k, v in tr.x.items()}
        tr.y = {k: (v.double() if v.is_floating_point() else v) for k, v in tr.y.items()}
        # Adagrad creates its accumulators in its constructor: build the optimizer again in float64
        tr.optimizer = OPTIMIZERS.create(tr.session.optimizer, tr.model.trainable_parameters())
    return tr


def steps_of(events):
    return np.array([e.loss for e in events if isinstance(e, Step)])


def weights(model):
    return {k: v.detach().double().numpy().copy() for k, v in model.state_dict().items()}


def assert_close_run(ta, ca, tol, label=""):
    """Per-step losses and final weights of the torch (t) and compiled (c) runs agree to ``tol`` relative."""
    (tl, tw), (cl, cw) = ta, ca
    assert len(tl) == len(cl), f"{label}: {len(tl)} torch steps vs {len(cl)} compiled"
    scale = np.maximum(np.abs(tl), 1e-2 * np.abs(tl).max() + 1e-30)
    worst = float(np.max(np.abs(cl - tl) / scale))
    assert worst <= tol, f"{label}: losses differ by {worst:.3g} relative (tolerance {tol:g})"
    for k in tw:
        w_scale = max(np.abs(tw[k]).max(), 1e-6)
        err = float(np.abs(cw[k] - tw[k]).max() / w_scale)
        assert err <= tol, f"{label}: {k} differs by {err:.3g} relative (tolerance {tol:g})"


def run_both(s, data, steps=200, dtype="float32"):
    from engine.compiled import CompiledTrainer

    torch.manual_seed(0)
    tr = torch_trainer(s, data, dtype)
    cr = CompiledTrainer(s, dataset=data, dtype=dtype, batched=False)
    for a, b in zip(tr.model.state_dict().values(), cr.model.state_dict().values()):
        assert torch.equal(a.double(), b.double()), "both paths must start from the same weights"
    te = list(tr.run(max_steps=steps))
    ce = list(cr.run(max_steps=steps))
    return (steps_of(te), weights(tr.model)), (steps_of(ce), weights(cr.model)), te, ce, tr, cr
