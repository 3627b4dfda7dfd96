"""A trainer's full state as (flat tensor dict, JSON-able meta), for safetensors + JSON.

Everything needed so that "train 10, save, load, train 10" equals "train 20":
weights, optimizer slots, schedule, early stopping, position in the epoch and
every random generator. No pickle: tensors go to safetensors, the rest to JSON.
"""
from __future__ import annotations

import torch

from .errors import SessionError


def _flatten_optimizer(sd, tensors):
    meta = {"param_groups": sd["param_groups"], "state": {}}
    for idx, st in sd["state"].items():
        m = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{idx}.{k}"] = v
                m[k] = ["tensor"]
            elif isinstance(v, (list, tuple)) and all(torch.is_tensor(t) for t in v):
                for j, t in enumerate(v):
                    tensors[f"optim.{idx}.{k}.{j}"] = t
                m[k] = ["list", len(v)]
            elif v is None or isinstance(v, (bool, int, float)):
                m[k] = ["value", v]
            else:
                raise TypeError(f"optimizer state {k!r} of type {type(v).__name__} cannot be saved")
        meta["state"][str(idx)] = m
    return meta


def _unflatten_optimizer(meta, tensors):
    state = {}
    for idx, m in meta["state"].items():
        st = {}
        for k, how in m.items():
            if how[0] == "tensor":
                st[k] = tensors[f"optim.{idx}.{k}"]
            elif how[0] == "list":
                st[k] = [tensors[f"optim.{idx}.{k}.{j}"] for j in range(how[1])]
            else:
                st[k] = how[1]
        state[int(idx)] = st
    return {"state": state, "param_groups": meta["param_groups"]}


def trainer_state(tr) -> tuple[dict, dict]:
    tensors = {f"model.{k}": v for k, v in tr.model.state_dict().items()}
    meta = {
        "epoch": tr.epoch,
        "step": tr.step,
        "batch_in_epoch": tr.batch_in_epoch,
        "epoch_loss": list(tr._epoch_loss),
        "lr": tr._lr,
        "base_lr": tr.base_lr,
        "training": dict(tr.training),
        "grad_norms": [float(g) for g in tr._grad_norms[-1000:]],
        "optimizer": _flatten_optimizer(tr.optimizer.state_dict(), tensors),
        "schedule": tr.schedule.state_dict(),
        "early_stopping": None,
        "epoch_metrics": tr.history.epoch_metrics,
    }
    tensors["rng.dropout"] = tr.dropout_gen.get_state()
    tensors["rng.shuffle"] = tr.gen.get_state()
    tensors["rng.reg"] = tr.reg_gen.get_state()
    if tr._perm is not None:
        tensors["perm"] = tr._perm
    if tr.early is not None:
        meta["early_stopping"] = tr.early.state_dict()
        for k, v in (tr.early.best_state or {}).items():
            tensors[f"best.{k}"] = v
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, meta


def restore_trainer_state(tr, tensors: dict, meta: dict):
    try:
        model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        tr.model.load_state_dict(model_sd)
        tr.optimizer.load_state_dict(_unflatten_optimizer(meta["optimizer"], tensors))
        tr.schedule.load_state_dict(meta["schedule"])
        tr.epoch, tr.step, tr.batch_in_epoch = int(meta["epoch"]), int(meta["step"]), int(meta["batch_in_epoch"])
        tr._epoch_loss = [float(meta["epoch_loss"][0]), int(meta["epoch_loss"][1])]
        tr._lr = meta["lr"]
        tr.base_lr = float(meta["base_lr"])
        tr.training.update(meta.get("training", {}))
        tr.batch_size = tr._effective_batch(tr.training["batch_size"])
        tr._grad_norms = list(meta.get("grad_norms", []))
        # Archives before per-run generators saved torch's global state ("rng.global"); it is never restored
        # (that would change every other training in the process): their dropout stream starts afresh.
        if "rng.dropout" in tensors:
            tr.dropout_gen.set_state(tensors["rng.dropout"])
        tr.gen.set_state(tensors["rng.shuffle"])
        tr.reg_gen.set_state(tensors["rng.reg"])
        tr._perm = tensors["perm"].to(tr.device) if "perm" in tensors else None
        if tr.early is not None and meta.get("early_stopping"):
            best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}
            tr.early.load_state_dict(meta["early_stopping"])
            tr.early.best_state = best or None
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as e:
        raise SessionError(f"the saved training state does not fit this network: {e}") from None
