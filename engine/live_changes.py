"""Live changes to a running training: what may change between two steps, checked at once, applied later.

``Trainer.request`` checks a change on the caller's thread (a bad value is refused there, with its
reason, before anything is queued); the loop applies the queue at the start of its next step. Weights,
curves and optimizer state survive: new hyperparameters keep momentum buffers and Adam's moments, a
new optimizer type starts its own state, a schedule of the same type keeps its counters.
"""
from __future__ import annotations

import math

from .early_stopping import EarlyStopping
from .errors import InvalidInput
from .optimizers import OPTIMIZERS, check_clipping, needs_closure
from .regularizers import regularizers_from
from .schedules import SCHEDULES

LIVE_KEYS = frozenset({"lr", "optimizer", "schedule", "regularizers", "epochs", "batch_size", "shuffle", "clip",
                       "clip_value", "max_norm", "early_stopping", "stats_every",
                       "cache_frozen"})


def check_live_changes(tr, changes: dict) -> dict:
    """The changes in canonical form, or InvalidInput naming the first bad one."""
    changes = dict(changes)
    bad = set(changes) - LIVE_KEYS
    if bad:
        raise InvalidInput(f"cannot change {sorted(bad)[0]!r} while training "
                           f"(changeable: {', '.join(sorted(LIVE_KEYS))})")
    from .session import TRAINING_SCHEMA

    training = {k: v for k, v in changes.items() if k in TRAINING_SCHEMA.names()}
    if training:
        checked = TRAINING_SCHEMA.validate(dict(tr.training, **training), owner="training")
        changes.update({k: checked[k] for k in training})
    if changes.get("batch_size") == 1 and tr._has_batchnorm:
        raise InvalidInput("BatchNorm needs batches of at least 2 samples; raise the batch size")
    if "lr" in changes:
        lr = changes["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
            raise InvalidInput(f"the learning rate must be a finite number ≥ 0, got {lr!r}")
    if "optimizer" in changes:
        changes["optimizer"] = OPTIMIZERS.canonical(changes["optimizer"])
    if "optimizer" in changes or "clip" in changes:  # L-BFGS and second-order methods refuse clipping
        check_clipping((changes.get("optimizer") or tr.session.optimizer)["type"], changes.get("clip", tr.training["clip"]))
    if "schedule" in changes:
        changes["schedule"] = SCHEDULES.canonical(changes["schedule"])
    if "regularizers" in changes:
        regularizers_from(changes["regularizers"], tr.session.graph.nodes)  # validates
    if changes.get("early_stopping"):
        EarlyStopping(**changes["early_stopping"])  # validates
    return changes


def apply_live_changes(tr, changes: dict):
    """Apply checked changes to ``tr`` (a Trainer) between two steps; its session follows."""
    s = tr.session
    if "optimizer" in changes:
        _swap_optimizer(tr, changes["optimizer"])
    if "lr" in changes:
        s.optimizer = dict(s.optimizer, params=dict(s.optimizer["params"], lr=float(changes["lr"])))
        tr.base_lr = float(changes["lr"])
    if "schedule" in changes or "lr" in changes or "optimizer" in changes:
        old = tr.schedule
        if "schedule" in changes:
            s.schedule = changes["schedule"]
        tr.schedule = SCHEDULES.create(s.schedule, tr.base_lr)
        if type(old) is type(tr.schedule):
            try:
                tr.schedule.load_state_dict(old.state_dict())
            except (KeyError, TypeError, ValueError):
                pass  # a schedule of another shape starts its own state
        tr._lr = None
    if "batch_size" in changes:
        tr.training["batch_size"] = int(changes["batch_size"])
        tr.batch_size = tr._effective_batch(tr.training["batch_size"])
        tr.batch_in_epoch = min(tr.batch_in_epoch, tr.steps_per_epoch)
    if "regularizers" in changes:
        s.regularizers = list(changes["regularizers"])
        tr._set_regularizers(s.regularizers)
    if "early_stopping" in changes:
        es = changes["early_stopping"]
        old, tr.early = tr.early, (EarlyStopping(**es) if es else None)
        if old is not None and tr.early is not None and old.monitor == tr.early.monitor:
            tr.early.best_value, tr.early.best_epoch = old.best_value, old.best_epoch
            tr.early.best_state = old.best_state
    for k in ("epochs", "shuffle", "clip", "clip_value", "max_norm", "early_stopping", "stats_every", "cache_frozen"):
        if k in changes:
            tr.training[k] = changes[k]
    s.training = dict(tr.training)


def _swap_optimizer(tr, spec):
    """New hyperparameters keep the optimizer's state (momentum, Adam's moments); a new type starts afresh."""
    old = tr.optimizer
    new = OPTIMIZERS.create(spec, tr.model.trainable_parameters())
    # Compare with the optimizer that runs, not the session (a Run's session already shows the request).
    if spec["type"] == getattr(tr, "optimizer_type", None) and type(new) is type(old):
        sd_old, sd_new = old.state_dict(), new.state_dict()
        try:  # state from the old optimizer, hyperparameters from the new one
            new.load_state_dict({"state": sd_old["state"], "param_groups": sd_new["param_groups"]})
        except (KeyError, ValueError, RuntimeError):
            pass
    tr.optimizer, tr.optimizer_type = new, spec["type"]
    tr._closure = needs_closure(new)
    tr.session.optimizer = spec
    tr.base_lr = float(spec["params"]["lr"])
