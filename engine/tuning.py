"""Hyperparameter tuning: grid search and random search over session settings, headless.

Lectures 000 and 003: hyperparameters (learning rate, batch size, units, ...) are
inputs of training, not outputs; tuning trains the model to completion for each
candidate and keeps the one with the best validation score. Grid search tries
every combination of listed values; random search samples each setting from a
range, which covers every single dimension more densely for the same budget.
A setting is addressed by a dotted path into the session: ``optimizer.params.lr``,
``training.batch_size``, ``graph.<node id>.<param>``, ``regularizers``, ``seed``...
``folds=k`` scores each candidate by k-fold cross-validation (the mean over the folds,
lecture 002) instead of the single validation split, so one lucky split cannot pick it.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .errors import InvalidInput

MAX_TRIALS = 1000
_TOP = ("seed", "graph", "dataset", "loss", "optimizer", "schedule", "regularizers", "training")
_LOWER_IS_BETTER = ("loss", "val_loss", "mae", "rmse")


def with_setting(session, path: str, value):
    """A copy of ``session`` with the setting at ``path`` replaced by ``value``."""
    from .session import Session

    if not isinstance(path, str) or not path:
        raise InvalidInput(f"a setting path must be a non-empty string like 'optimizer.params.lr', got {path!r}")
    d = session.to_dict()
    parts = path.split(".")
    if parts[0] not in _TOP:
        raise InvalidInput(f"unknown setting {path!r}; paths start with one of: {', '.join(_TOP)}")
    if parts[0] == "graph" and len(parts) > 1:
        if len(parts) != 3:
            raise InvalidInput(f"graph settings are 'graph.<node id>.<param>', got {path!r}")
        nodes = {n["id"]: n for n in d["graph"]["nodes"]}
        if parts[1] not in nodes:
            raise InvalidInput(f"setting {path!r} names unknown node {parts[1]!r} (nodes: {', '.join(nodes)})")
        nodes[parts[1]].setdefault("params", {})[parts[2]] = value
        return Session.from_dict(d)
    target = d
    for i, key in enumerate(parts[:-1]):
        nxt = target.get(key)
        if isinstance(nxt, str) and i == 0:  # "mse" → {"type": "mse", "params": {}}
            nxt = target[key] = {"type": nxt, "params": {}}
        if nxt is None and key == "params":
            nxt = target[key] = {}
        if not isinstance(nxt, dict):
            raise InvalidInput(f"setting {path!r}: {'.'.join(parts[:i + 1])!r} is not an object")
        target = nxt
    target[parts[-1]] = value
    return Session.from_dict(d)


def _sample(path, spec, rng):
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise InvalidInput(f"search space {path!r} is an empty list")
        return spec[int(rng.integers(len(spec)))]
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, bounds), = spec.items()
        if kind in ("uniform", "log_uniform", "int") and isinstance(bounds, (list, tuple)) and len(bounds) == 2 \
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) and bounds[0] <= bounds[1]:
            lo, hi = bounds
            if kind == "uniform":
                return float(rng.uniform(lo, hi))
            if kind == "int":
                return int(rng.integers(int(lo), int(hi) + 1))
            if lo > 0:
                return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    raise InvalidInput(f"search space {path!r} must be a list of values or one of {{'uniform' | 'log_uniform' | 'int': "
                       f"[low, high]}} (log_uniform needs low > 0); got {spec!r}")


def _mode(metric):
    return "min" if metric in _LOWER_IS_BETTER else "max"


def run_trial(session, config: dict, *, epochs=None, metric="val_loss", device=None, folds=None) -> dict:
    """Apply ``config`` ({path: value}), train to completion, score on the validation split (training split if empty).

    ``folds``: score by k-fold cross-validation instead, the mean of the folds' validation scores.
    """
    from .trainer import Trainer

    s = session
    for path, value in config.items():
        s = with_setting(s, path, value)
    if folds is not None:
        return _cv_trial(s, config, folds, epochs, metric, device)
    tr = Trainer(s, device=device)
    reason = None
    for ev in tr.run(epochs):
        reason = getattr(ev, "reason", reason)
    split = "val" if len(tr.x["val"]) else "train"
    loss, metrics, _ = tr.evaluate_split(split)
    if metric in ("loss", "val_loss"):
        score = loss
    elif metric in metrics:
        score = metrics[metric]
    else:
        raise InvalidInput(f"unknown tuning metric {metric!r}; choose val_loss or one of: {', '.join(metrics)}")
    score = float(score) if score is not None and math.isfinite(float(score)) else float("nan")
    return {"config": dict(config), "score": score, "split": split, "epochs": tr.epoch, "finished": reason}


def _cv_trial(s, config, folds, epochs, metric, device):
    from .crossval import cross_validate

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidInput(f"folds must be a whole number ≥ 2 (k of k-fold cross-validation), got {folds!r}")
    cv = cross_validate(s, folds, epochs=epochs, device=device)
    key = "val_loss" if metric in ("loss", "val_loss") else metric
    if key not in cv["mean"]:
        raise InvalidInput(f"unknown tuning metric {metric!r}; choose val_loss or one of: {', '.join(cv['mean'])}")
    score = cv["mean"][key]
    return {"config": dict(config), "score": score if math.isfinite(score) else float("nan"), "split": f"{folds}-fold",
            "epochs": [f["epochs"] for f in cv["folds"]], "finished": [f["finished"] for f in cv["folds"]],
            "fold_scores": [f.get(key) for f in cv["folds"]]}


def _result(trials, metric):
    mode = _mode(metric)
    ok = [t for t in trials if math.isfinite(t["score"])]
    best = (min if mode == "min" else max)(ok, key=lambda t: t["score"]) if ok else None
    return {"metric": metric, "mode": mode, "trials": trials, "best": best}


def grid_search(session, grid: dict, *, epochs=None, metric="val_loss", device=None, folds=None) -> dict:
    """Every combination of the listed values, in order (the last path varies fastest)."""
    if not isinstance(grid, dict) or not grid:
        raise InvalidInput(f"grid must map setting paths to lists of values, got {grid!r}")
    for path, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InvalidInput(f"grid values for {path!r} must be a non-empty list, got {values!r}")
    n = math.prod(len(v) for v in grid.values())
    if n > MAX_TRIALS:
        raise InvalidInput(f"the grid has {n} combinations (limit {MAX_TRIALS}); use random_search")
    keys = list(grid)
    trials = [run_trial(session, dict(zip(keys, combo)), epochs=epochs, metric=metric, device=device, folds=folds)
              for combo in itertools.product(*(grid[k] for k in keys))]
    return _result(trials, metric)


def random_search(session, space: dict, n_trials: int, *, seed: int = 0, epochs=None, metric="val_loss",
                  device=None, folds=None) -> dict:
    """``n_trials`` configurations, each setting drawn independently (seeded) from its list or range."""
    if not isinstance(space, dict) or not space:
        raise InvalidInput(f"space must map setting paths to lists or ranges, got {space!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or not 1 <= n_trials <= MAX_TRIALS:
        raise InvalidInput(f"n_trials must be a whole number from 1 to {MAX_TRIALS}, got {n_trials!r}")
    rng = np.random.default_rng(seed)
    configs = [{path: _sample(path, spec, rng) for path, spec in space.items()} for _ in range(n_trials)]
    return _result([run_trial(session, c, epochs=epochs, metric=metric, device=device, folds=folds) for c in configs],
                   metric)
