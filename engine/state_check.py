"""Checking a saved training state against the trainer it is restored into, before anything is restored.

Why: torch accepts an optimizer state whose ``eps`` is null or whose ``lr`` is NaN
and fails many steps later inside ``adam`` with a TypeError, or trains to NaN and
reports a "divergence" that is really a damaged file. Every defect found here is
one ``SessionError`` naming the field, raised while the trainer is still fresh.
"""
from __future__ import annotations

import math

from .errors import InvalidInput, SessionError


FLOAT32_MAX = 3.4e38  # the optimizers compute in float32: a larger hyperparameter overflows inside torch
BELOW_ONE = ("betas", "momentum", "dampening", "rho", "alpha")  # decay factors: 1 - factor must stay positive


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count(meta, key, where):
    v = meta.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise SessionError(f"{where}: training_state.{key} must be a whole number ≥ 0, got {_short(v)}")
    return v


def _short(v, limit=60):
    text = repr(v)
    return text if len(text) <= limit else text[:limit] + "…"


def _same_kind(saved, fresh, field, where):
    """A saved hyperparameter must have the type the optimizer uses, and be finite (lr and the rest ≥ 0)."""
    if isinstance(fresh, bool) or fresh is None or isinstance(fresh, str):
        if type(saved) is not type(fresh):
            raise SessionError(f"{where}: {field} must be {_short(fresh)}-like, got {_short(saved)}")
    elif _number(fresh):
        if not _number(saved) or not math.isfinite(saved) or abs(saved) > FLOAT32_MAX:
            raise SessionError(f"{where}: {field} must be a finite number, got {_short(saved)}")
        if saved < 0 and fresh >= 0:
            raise SessionError(f"{where}: {field} must be ≥ 0, got {_short(saved)}")
        if isinstance(fresh, int) and (not isinstance(saved, int) or saved > 10**9):
            raise SessionError(f"{where}: {field} must be a whole number up to 1,000,000,000, got {_short(saved)}")
        if field.rsplit(".", 1)[-1].split("[")[0] in BELOW_ONE and not 0 <= saved < 1:
            raise SessionError(f"{where}: {field} must be in [0, 1), got {_short(saved)}")
    elif isinstance(fresh, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(fresh):
            raise SessionError(f"{where}: {field} must be a list of {len(fresh)}, got {_short(saved)}")
        for i, (s, f) in enumerate(zip(saved, fresh)):
            _same_kind(s, f, f"{field}[{i}]", where)


def _finite_leaves(doc, field, where):
    """Every number in a small state object is finite (null stands for "none yet")."""
    stack = [(doc, field)]
    while stack:
        v, f = stack.pop()
        if isinstance(v, dict):
            stack.extend((x, f"{f}.{k}") for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{f}[{i}]") for i, x in enumerate(v))
        elif _number(v) and not math.isfinite(v):
            raise SessionError(f"{where}: {f} must be a finite number, got {_short(v)}")


def check_optimizer(saved, fresh_sd, param_shapes, tensors, where):
    """``saved``: the meta's optimizer entry; ``fresh_sd``: the fresh optimizer's state_dict."""
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list) \
            or not isinstance(saved.get("state"), dict):
        raise SessionError(f"{where}: training_state.optimizer must hold 'param_groups' and 'state'")
    groups, fresh_groups = saved["param_groups"], fresh_sd["param_groups"]
    if len(groups) != len(fresh_groups):
        raise SessionError(f"{where}: the saved optimizer has {len(groups)} parameter groups, this network needs "
                           f"{len(fresh_groups)}")
    for g, (group, fresh) in enumerate(zip(groups, fresh_groups)):
        if not isinstance(group, dict):
            raise SessionError(f"{where}: optimizer parameter group {g} must be an object")
        for key, value in fresh.items():
            field = f"training_state.optimizer.param_groups[{g}].{key}"
            if key not in group:
                raise SessionError(f"{where}: {field} is missing")
            if key == "params":
                if group[key] != value:
                    raise SessionError(f"{where}: {field} does not match this network's parameters")
                continue
            _same_kind(group[key], value, field, where)
    keys = {frozenset(e) for e in saved["state"].values() if isinstance(e, dict)}
    if len(keys) > 1:  # every parameter's slots are the same few (Adam: step, exp_avg, exp_avg_sq)
        raise SessionError(f"{where}: the saved optimizer state is incomplete (parameters hold different slots: "
                           f"{', '.join(sorted(min(keys, key=len)))} vs {', '.join(sorted(max(keys, key=len)))})")
    shape_total = [sum(math.prod(s) for s in param_shapes)]
    for idx, entry in saved["state"].items():
        if not (isinstance(idx, str) and idx.isdigit() and int(idx) < len(param_shapes)) or not isinstance(entry, dict):
            raise SessionError(f"{where}: optimizer state {_short(idx)} does not belong to a parameter of this network")
        shape = param_shapes[int(idx)]
        for key, how in entry.items():
            _check_slot(idx, key, how, shape, tensors, where, shape_total)


def _check_slot(idx, key, how, shape, tensors, where, shape_total):
    field = f"optimizer state {idx}.{key}"
    if not isinstance(how, list) or not how or how[0] not in ("tensor", "list", "value"):
        raise SessionError(f"{where}: {field} is damaged ({_short(how)})")
    if how[0] == "value":
        if len(how) != 2 or not (how[1] is None or isinstance(how[1], bool) or _number(how[1])
                                 and math.isfinite(how[1])):
            raise SessionError(f"{where}: {field} must be a finite number, got {_short(how[1:])}")
        return
    if how[0] == "tensor":
        names = [f"optim.{idx}.{key}"]
    else:
        if len(how) != 2 or not isinstance(how[1], int) or isinstance(how[1], bool) or not 0 <= how[1] <= 1000:
            raise SessionError(f"{where}: {field} is damaged ({_short(how)})")
        names = [f"optim.{idx}.{key}.{j}" for j in range(how[1])]
    for name in names:
        t = tensors.get(name)
        if t is None:
            raise SessionError(f"{where}: weights.safetensors has no tensor {name!r}, which the optimizer state needs")
        if not t.is_floating_point():
            raise SessionError(f"{where}: tensor {name!r} holds {str(t.dtype).replace('torch.', '')} values, "
                               "not floating-point numbers")
        total = shape_total[0]
        flat = t.ndim and all(d == total for d in t.shape)  # L-BFGS / Newton keep flat vectors and n×n matrices
        if t.ndim and tuple(t.shape) != tuple(shape) and not flat:
            raise SessionError(f"{where}: tensor {name!r} has shape {tuple(t.shape)} but its parameter has "
                               f"{tuple(shape)}")
        if not bool(t.isfinite().all()):
            raise SessionError(f"{where}: tensor {name!r} holds NaN or infinity; the file is damaged")


def check_generators(trainer, tensors, where):
    """Random-generator states are byte tensors of exactly the size the generator uses."""
    import torch

    for name, gen in (("rng.shuffle", getattr(trainer, "gen", None)), ("rng.reg", getattr(trainer, "reg_gen", None)),
                      ("rng.dropout", getattr(trainer, "dropout_gen", None))):
        t = tensors.get(name)
        if gen is None or t is None:
            if gen is not None and name != "rng.dropout":
                raise SessionError(f"{where}: weights.safetensors has no tensor {name!r} (a random generator's state)")
            continue
        want = gen.get_state()
        if t.dtype != torch.uint8 or tuple(t.shape) != tuple(want.shape):
            raise SessionError(f"{where}: tensor {name!r} is not a random generator's state "
                               f"({str(t.dtype).replace('torch.', '')}{tuple(t.shape)})")
    t = tensors.get("rng.global")
    if t is not None and (t.dtype != torch.uint8 or t.ndim != 1):
        raise SessionError(f"{where}: tensor 'rng.global' is not a random generator's state")


def check_perm(tensors, n_train, where):
    """The shuffled order of the epoch in progress must be a permutation of the training split."""
    import torch

    perm = tensors.get("perm")
    if perm is None:
        return
    if perm.dtype not in (torch.int64, torch.int32) or perm.ndim != 1 or len(perm) != n_train \
            or not torch.equal(torch.sort(perm.long()).values, torch.arange(n_train)):
        raise SessionError(f"{where}: the saved epoch order ('perm') is not a permutation of the {n_train} training "
                           "samples; the file is damaged")


def check_weights_finite(tensors, where):
    bad = [k for k, t in tensors.items() if k.startswith(("model.", "best.")) and t.is_floating_point()
           and not bool(t.isfinite().all())]
    if bad:
        raise SessionError(f"{where}: tensor {bad[0]!r} holds NaN or infinity (a run that diverged, or a damaged "
                           "file); train from the settings again (File > New from settings, or the .json)")


def check_state_fits(trainer, tensors: dict, meta: dict, where: str):
    """Everything ``Trainer.load_state`` reads, checked against the fresh ``trainer`` first."""
    from .session import TRAINING_SCHEMA, check_early_stopping

    if not isinstance(meta, dict):
        raise SessionError(f"{where}: training_state must be an object")
    for key in ("epoch", "step", "batch_in_epoch"):
        _count(meta, key, where)
    if meta["batch_in_epoch"] > getattr(trainer, "steps_per_epoch", len(trainer.data.x_train)):
        raise SessionError(f"{where}: training_state.batch_in_epoch ({meta['batch_in_epoch']}) is past the end "
                           "of the epoch")
    loss = meta.get("epoch_loss")
    if not (isinstance(loss, list) and len(loss) == 2 and _number(loss[0]) and isinstance(loss[1], int)
            and not isinstance(loss[1], bool) and loss[1] >= 0):
        raise SessionError(f"{where}: training_state.epoch_loss must be [sum, count], got {_short(loss)}")
    for key, optional in (("lr", True), ("base_lr", False)):
        v = meta.get(key)
        if v is None and optional:
            continue
        if not _number(v) or not math.isfinite(v) or v < 0:
            raise SessionError(f"{where}: training_state.{key} must be a finite learning rate ≥ 0, got {_short(v)}")
    norms = meta.get("grad_norms", [])
    if not isinstance(norms, list) or not all(_number(v) for v in norms):
        raise SessionError(f"{where}: training_state.grad_norms must be a list of numbers")
    training = meta.get("training", {})
    if not isinstance(training, dict):
        raise SessionError(f"{where}: training_state.training must be an object")
    try:
        check_early_stopping(TRAINING_SCHEMA.validate(training, owner="training_state.training")
                             .get("early_stopping"))
    except InvalidInput as e:
        raise SessionError(f"{where}: {e}") from None
    for key in ("schedule",):
        if not isinstance(meta.get(key), dict):
            raise SessionError(f"{where}: training_state.{key} must be an object, got {_short(meta.get(key))}")
    _finite_leaves(meta["schedule"], "training_state.schedule", where)
    es = meta.get("early_stopping")
    if es is not None:
        if not isinstance(es, dict):
            raise SessionError(f"{where}: training_state.early_stopping must be an object or null")
        _finite_leaves(es, "training_state.early_stopping", where)
        for key in ("best_epoch", "bad_epochs", "stopped_epoch"):
            v = es.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise SessionError(f"{where}: training_state.early_stopping.{key} must be a whole number ≥ 0, "
                                   f"got {_short(v)}")
    params = list(trainer.model.trainable_parameters())
    check_optimizer(meta.get("optimizer"), trainer.optimizer.state_dict(), [tuple(p.shape) for p in params],
                    tensors, where)
    check_generators(trainer, tensors, where)
    check_perm(tensors, len(trainer.data.x_train), where)
    check_weights_finite(tensors, where)
