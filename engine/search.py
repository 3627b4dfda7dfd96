"""Hyperparameter search on Optuna: a search space over session settings, trials in an Optuna storage.

Lecture 003's grid and random search (and Optuna's TPE) as studies that outlive the process: the
trials live in a storage, by default a journal file beside the session, or any database URL Optuna
accepts, so several machines (``main.py sweep-worker``) work on one study and the window shows their
trials arriving. The study carries everything a worker needs (the session, the space, the metric,
the sampler) in its user attributes: a worker is given only the storage and the study's name.

A SPACE maps a setting's path to a distribution::

    {"optimizer.lr": {"type": "float", "low": 0.001, "high": 0.3, "log": true},
     "graph.d1.units": {"type": "int", "low": 4, "high": 32},
     "optimizer.type": {"type": "categorical", "choices": ["sgd", "adam"]}}

Paths are ``engine.tuning.with_setting``'s, plus shorthands: ``optimizer.lr`` (= ``optimizer.params.lr``),
``regularizers.l2`` (an L2 penalty with that λ; also l1, weight_decay), ``graph.hidden_layers`` (the
number of hidden Dense layers of a plain stack), ``graph.units`` and ``graph.activation`` (every hidden
Dense of that stack) and ``graph.dropout`` (the rate of every Dropout layer).

Queue: ``enqueue(study, n)`` puts n empty trials in the study's queue; ``work()`` claims them one at a
time (a claim is atomic in the storage), so two workers draining one queue run each trial exactly once.
Optuna is optional (the ``sweep`` extra): without it every entry point says how to install it.
"""
from __future__ import annotations

import json
import math
import os

from .errors import InvalidInput

SAMPLERS = ("grid", "random", "tpe")
_LOWER = ("loss", "val_loss", "mae", "rmse", "mse")
_ATTR = "nnp"  # the study's user attribute holding the sweep's definition


def require_optuna():
    """The optuna module, or a clear one-line refusal naming the install command."""
    try:
        import optuna
    except ImportError:
        raise InvalidInput("hyperparameter search needs Optuna, which is not installed: "
                           "pip install 'nn-playground[sweep]' (or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


from .search_space import (GRID_POINTS, apply_params, check_space, grid_values, load_space,  # noqa: F401
                           parse_space, suggest)


# -- storage and studies --------------------------------------------------------------------------
def default_storage(session_path) -> str:
    """The journal file beside a session: ``spiral.json`` → ``spiral.optuna.journal``."""
    stem = os.path.splitext(os.fspath(session_path))[0]
    return f"{stem}.optuna.journal"


def open_storage(url: str):
    """An Optuna storage: a database URL (``sqlite:///x.db``, ``postgresql://…``) or a journal file path."""
    optuna = require_optuna()
    if not isinstance(url, str) or not url:
        raise InvalidInput("--storage must be a database URL (sqlite:///file.db, postgresql://…) or a journal file")
    try:
        if "://" in url:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True} if
                                              not url.startswith("sqlite") else {})
        path = url[len("journal:"):] if url.startswith("journal:") else url
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise InvalidInput(f"cannot open the storage {url}: the folder {folder} does not exist")
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    except InvalidInput:
        raise
    except ImportError as e:
        raise InvalidInput(f"cannot open the storage {_safe(url)}: its database driver is missing "
                           f"({e.name or ' '.join(str(e).split())[:120]})") from None
    except Exception as e:  # noqa: BLE001 - sqlalchemy/driver errors: say it in one line
        raise InvalidInput(f"cannot reach the storage {_safe(url)}: {type(e).__name__}: "
                           f"{' '.join(str(e).split())[:200]}") from None


def _safe(url: str) -> str:
    """A URL with its password hidden."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def make_sampler(kind: str, space: dict, seed=None):
    optuna = require_optuna()
    if kind == "grid":
        return optuna.samplers.GridSampler({p: grid_values(s) for p, s in space.items()}, seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    raise InvalidInput(f"sampler must be one of {', '.join(SAMPLERS)}; got {kind!r}")


def make_pruner(kind):
    optuna = require_optuna()
    if kind in (None, "none"):
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    raise InvalidInput(f"pruner must be none or median; got {kind!r}")


def direction(metric: str) -> str:
    return "minimize" if metric in _LOWER else "maximize"


def create_study(storage, name: str, session, space: dict, *, sampler="tpe", metric="val_loss", folds=None,
                 epochs=None, pruner=None, path="auto", seed=None):
    """Create (or join, when its definition matches) the study ``name`` in ``storage``; returns the Study."""
    optuna = require_optuna()
    from .session import save_session_json  # noqa: F401 - the same JSON a .json session holds
    from .data.arrays import json_default
    from .data.dataset import dataset_for_json

    space = parse_space(space)  # normalised: every key a trial reads is there
    check_space(session, space)
    if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 2):
        raise InvalidInput(f"folds must be a whole number ≥ 2, got {folds!r}")
    d = session.to_dict()
    d.pop("view", None)
    d["dataset"] = dataset_for_json(d["dataset"])
    definition = {"session": d, "space": space, "sampler": sampler, "metric": metric, "folds": folds,
                  "epochs": epochs, "pruner": pruner or "none", "path": path,
                  "seed": session.seed if seed is None else seed}
    text = json.dumps(definition, sort_keys=True, default=json_default)
    study = optuna.create_study(storage=storage, study_name=name, direction=direction(metric),
                                sampler=make_sampler(sampler, space, definition["seed"]),
                                pruner=make_pruner(pruner), load_if_exists=True)
    have = study.user_attrs.get(_ATTR)
    if have is None:
        study.set_user_attr(_ATTR, text)
    elif json.loads(have)["space"] != json.loads(text)["space"] or json.loads(have)["metric"] != metric:
        raise InvalidInput(f"the study {name!r} already exists with another space or metric; choose another --study")
    return study


def load_study(storage, name: str, *, seed=None):
    """Join the study ``name`` (created by ``sweep``); returns ``(study, definition)``."""
    optuna = require_optuna()
    try:
        summaries = optuna.get_all_study_names(storage)
    except Exception as e:  # noqa: BLE001
        raise InvalidInput(f"cannot read the storage: {type(e).__name__}: {' '.join(str(e).split())[:200]}") from None
    if name not in summaries:
        known = ", ".join(summaries[:10]) or "none"
        raise InvalidInput(f"the storage has no study {name!r} (studies: {known}); create it with main.py sweep")
    probe = optuna.load_study(study_name=name, storage=storage)
    raw = probe.user_attrs.get(_ATTR)
    if raw is None:
        raise InvalidInput(f"the study {name!r} was not created by NN Playground (it has no session)")
    definition = json.loads(raw)
    if seed is None:  # each worker draws its own random stream: two workers never propose the same sequence
        seed = (int(definition.get("seed") or 0) * 1_000_003 + os.getpid()) % (2**31)
    study = optuna.load_study(study_name=name, storage=storage,
                              sampler=make_sampler(definition["sampler"], definition["space"], seed),
                              pruner=make_pruner(definition.get("pruner")))
    return study, definition


def definition_session(definition):
    from .session import Session

    return Session.from_dict(definition["session"])


def enqueue(study, n: int, space: dict | None = None, sampler: str | None = None):
    """Put ``n`` trials in the study's queue; a worker claims each one exactly once.

    Random and TPE trials are queued empty (their values are drawn when claimed, from all results so
    far); a grid search queues its next ``n`` untried combinations, in order (the grid's values are
    fixed, and Optuna's grid sampler needs them spelled out for a queued trial).
    """
    if sampler == "grid" and space:
        import itertools

        keys = list(space)
        seen = {json.dumps([t.params.get(k) for k in keys], default=str) for t in study.get_trials(deepcopy=False)}
        seen |= {json.dumps([t.system_attrs.get("fixed_params", {}).get(k) for k in keys], default=str)
                 for t in study.get_trials(deepcopy=False) if "fixed_params" in t.system_attrs}
        added = 0
        for combo in itertools.product(*(grid_values(space[k]) for k in keys)):
            if added >= n:
                break
            if json.dumps(list(combo), default=str) in seen:
                continue
            study.enqueue_trial(dict(zip(keys, combo)), skip_if_exists=False)
            added += 1
        return added
    for _ in range(int(n)):
        study.enqueue_trial({}, skip_if_exists=False)
    return int(n)


def _claim(study):
    """A waiting trial of the queue, claimed atomically (None when the queue is empty).

    As ``Study.ask`` claims one, but without creating a new trial when the queue is empty: two
    workers draining a queue of N run exactly N trials.
    """
    optuna = require_optuna()
    storage, sid = study._storage, study._study_id  # noqa: SLF001 - the claim is the storage's own
    for t in storage.get_all_trials(sid, deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.RUNNING):  # noqa: SLF001
                return optuna.trial.Trial(study, t._trial_id)  # noqa: SLF001
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


# -- one trial -------------------------------------------------------------------------------------
def _score(metric, loss, metrics):
    if metric in ("loss", "val_loss"):
        v = loss
    elif metric in metrics:
        v = metrics[metric]
    else:
        raise InvalidInput(f"unknown metric {metric!r}; choose val_loss or one of: "
                           f"{', '.join(k for k, x in metrics.items() if isinstance(x, (int, float)))}")
    return float(v) if v is not None and math.isfinite(float(v)) else float("nan")


def evaluate_trial(session, params, definition, trial=None, stop=None) -> float:
    """Train the session with ``params`` and return its score; reports each epoch to ``trial`` for pruning."""
    optuna = require_optuna()
    s = apply_params(session, params)
    metric, folds, epochs = definition["metric"], definition.get("folds"), definition.get("epochs")
    if folds:
        from .crossval import cross_validate

        cv = cross_validate(s, int(folds), epochs=epochs)
        key = "val_loss" if metric in ("loss", "val_loss") else metric
        if key not in cv["mean"]:
            raise InvalidInput(f"unknown metric {metric!r}; choose val_loss or one of: {', '.join(cv['mean'])}")
        return cv["mean"][key]
    from .events import EpochEnd
    from .run import Run

    run = Run(s, path=definition.get("path") or "auto")
    for ev in run.events(epochs, whole_epochs=True):  # reads only the events (and the state once it ends)
        if stop is not None and stop.is_set():
            run.stop()
        if isinstance(ev, EpochEnd) and trial is not None:
            has_val = ev.val_loss is not None
            value = _score(metric, ev.val_loss if has_val else ev.train_loss,
                           ev.val_metrics if has_val else ev.train_metrics)
            if math.isfinite(value):
                trial.report(value, ev.epoch)
            if trial.should_prune():
                run.stop()
                raise optuna.TrialPruned()
    split = "val" if len(run.trainer.x["val"]) else "train"
    with run.snapshot() as tr:
        loss, metrics, _ = tr.evaluate_split(split)
    return _score(metric, loss, metrics)


def work(study, definition, n_trials=None, *, on_trial=None, stop=None) -> int:
    """Run trials: claim the queue's, then (when ``n_trials`` is given) new ones, until ``n_trials`` ran.

    ``n_trials=None`` drains the queue only. ``on_trial(FrozenTrial)`` after each. Returns how many ran.
    """
    optuna = require_optuna()
    session = definition_session(definition)
    space = definition["space"]
    done = 0
    while n_trials is None or done < n_trials:
        if stop is not None and stop.is_set():
            break
        trial = _claim(study)
        if trial is None:
            if n_trials is None:
                break
            trial = study.ask()
        state, value = optuna.trial.TrialState.COMPLETE, None
        try:
            params = suggest(trial, space)
            value = evaluate_trial(session, params, definition, trial, stop)
            if not math.isfinite(value):
                state = optuna.trial.TrialState.FAIL
                trial.set_user_attr("error", "the score is not finite (the training diverged)")
        except optuna.TrialPruned:
            state = optuna.trial.TrialState.PRUNED
        except InvalidInput as e:
            state = optuna.trial.TrialState.FAIL
            trial.set_user_attr("error", str(e)[:300])
        except BaseException as e:  # a bug or Ctrl-C: the trial is marked failed, never left "running"
            trial.set_user_attr("error", f"{type(e).__name__}: {e}"[:300])
            study.tell(trial, None, state=optuna.trial.TrialState.FAIL)
            raise
        frozen = study.tell(trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state)
        done += 1
        if on_trial is not None:
            on_trial(frozen)
    return done


def trial_rows(study) -> list:
    """Every trial as a plain dict: number, state, value, params, seconds, error."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        secs = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete is not None and t.datetime_start is not None else None
        rows.append({"number": t.number, "state": t.state.name.lower(), "value": t.value, "params": dict(t.params),
                     "seconds": secs, "error": t.user_attrs.get("error")})
    return rows


def best_row(study, definition):
    """The best complete trial's row, or None."""
    rows = [r for r in trial_rows(study) if r["state"] == "complete" and r["value"] is not None
            and math.isfinite(r["value"])]
    if not rows:
        return None
    pick = min if direction(definition["metric"]) == "minimize" else max
    return pick(rows, key=lambda r: r["value"])
