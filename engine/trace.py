"""One sample through the network and back, every number exposed, in float64.

This is what makes the lecture notes' worked examples checkable: pre- and
post-activations of every layer, the loss, each parameter's gradient, and each
parameter after one plain SGD step. Regularizers are left out and the model is
in eval mode (dropout off) so the numbers are the textbook ones. The step is
plain SGD whatever the session's optimizer (``update_rule`` in the output says
so): momentum, Nesterov and Adam need state that one sample cannot show.
"""
from __future__ import annotations

import math

import torch

from .builder import build_model
from .data import make_dataset
from .errors import InvalidInput
from .losses import LOSSES
from .session import Session


def _lst(t):
    return t.detach().cpu().double().tolist()


def trace(session: Session, *, sample: int = 0, lr: float | None = None, split: str = "train") -> dict:
    s = session.copy().canonicalize()
    data = make_dataset(s.dataset, seed=s.seed)
    x_all, y_all = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    if not 0 <= sample < len(x_all):
        raise InvalidInput(f"sample {sample} is out of range: the {split} split has {len(x_all)} samples (0..{len(x_all) - 1})")
    lr = float(s.optimizer["params"]["lr"]) if lr is None else float(lr)
    if not (math.isfinite(lr) and lr >= 0):
        raise InvalidInput(f"the learning rate of the traced SGD step must be a finite number ≥ 0, got {lr!r}")
    model = build_model(s.graph, seed=s.seed, dtype="float64")
    model.eval()
    loss_fn = LOSSES.create(s.loss)
    x = torch.as_tensor(x_all[sample : sample + 1], dtype=torch.float64)
    y = torch.as_tensor(y_all[sample : sample + 1])
    if y.is_floating_point():
        y = y.double()

    out, rec = model.forward_record(x)
    for r in rec.values():
        for k in ("pre", "post"):
            if r.get(k) is not None and r[k].requires_grad:
                r[k].retain_grad()
    loss = loss_fn(out, y)
    model.zero_grad(set_to_none=True)
    loss.backward()

    layers = []
    for nid in model.order:
        node = s.graph.node(nid)
        r = rec.get(nid, {})
        entry = {"id": nid, "type": node.type}
        for k in ("pre", "post"):
            t = r.get(k)
            if t is not None:
                entry[k] = _lst(t[0])
                if t.grad is not None:
                    entry[f"grad_{k}"] = _lst(t.grad[0])
        layers.append(entry)

    params, grads, updated = {}, {}, {}
    with torch.no_grad():
        for name, p in model.layers.named_parameters():
            params[name] = _lst(p)
            if p.grad is not None:
                grads[name] = _lst(p.grad)
                p -= lr * p.grad
            updated[name] = _lst(p)
        out_after = model(x)
        loss_after = loss_fn(out_after, y).item()
    return {
        "sample": sample,
        "split": split,
        "input": _lst(x[0]),
        "target": y[0].tolist(),
        "layers": layers,
        "output": _lst(out[0]),
        "loss": loss.item(),
        "loss_name": s.loss["type"],
        "lr": lr,
        "update_rule": "sgd: w - lr * grad (one plain step, whatever the session's optimizer)",
        "parameters": params,
        "gradients": grads,
        "updated": updated,
        "output_after": _lst(out_after[0]),
        "loss_after": loss_after,
    }
