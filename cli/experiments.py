"""The experiment subcommands: ``new --csv``, ``cv``, ``sweep`` and ``sweep-worker``.

Each returns an exit code; InvalidInput becomes exit 2 with one line on stderr (cli.run_cli).
Progress bars go to stderr; ``--json`` prints one JSON object per line on stdout, ending with a
``{"event": "done", ...}`` line.
"""
from __future__ import annotations

import os
import sys
import warnings

from engine.errors import InvalidInput

COMMANDS = ("new", "cv", "sweep", "sweep-worker")
EPILOG_LINES = """\
  new --csv FILE      write a session for a CSV file with the import dialog's defaults
  cv SESSION          k-fold cross-validation of a session (per-fold scores, mean ± std)
  sweep SESSION       hyperparameter search on Optuna over a SPACE file (grid, random, TPE)
  sweep-worker        run trials of a study that sweep created, from any machine sharing its storage
"""


def add_parsers(sub, int_in):
    """Register the subcommands on ``sub`` (argparse subparsers); ``int_in`` is cli's bounded-int type."""
    n = sub.add_parser("new", help="write a session for a CSV file (network sized to the data, scaling on)")
    n.add_argument("--csv", required=True, help="the CSV file (header row detected; the last column is the target)")
    n.add_argument("--target", help="target column: a name, or a 0-based index (default: the last column)")
    n.add_argument("--targets", help="multi-label: several 0/1 target columns, comma-separated names or 0-based "
                                     "indices, one label each (one sigmoid + binary cross-entropy per label)")
    n.add_argument("--out", required=True, help="the session to write (.json)")
    n.add_argument("--force", action="store_true", help="replace --out even if NN Playground did not write it")

    c = sub.add_parser("cv", help="k-fold cross-validation (stratified for classification, seeded)")
    c.add_argument("session")
    c.add_argument("--folds", type=int_in(2, 100, "--folds"), default=5, help="k, 2 to 100 (default 5)")
    c.add_argument("--epochs", type=int_in(1, 1_000_000, "--epochs"), help="epochs per fold (default: the session's)")
    c.add_argument("--json", action="store_true", help="one JSON line per fold, then a 'done' line with mean and std")

    s = sub.add_parser("sweep", help="hyperparameter search on Optuna",
                       epilog="Trials live in --storage (default: SESSION's name + .optuna.journal beside it). "
                              "--trials N puts N trials in the study's queue and works on them; sweep-workers "
                              "on the same storage share the queue. --trials 0 only creates the study.")
    s.add_argument("session")
    s.add_argument("--space", required=True, help="SPACE.json: {setting path: {type: float|int|categorical, ...}}")
    s.add_argument("--trials", type=int_in(0, 100_000, "--trials"), required=True, help="trials to queue and run")
    s.add_argument("--sampler", choices=("grid", "random", "tpe"), default="tpe")
    s.add_argument("--storage", help="an Optuna database URL (sqlite:///f.db, postgresql://…) or a journal file path")
    s.add_argument("--study", help="study name (default: the session's file name)")
    s.add_argument("--metric", default="val_loss", help="what to optimise: val_loss (default), accuracy, r2, f1, …")
    s.add_argument("--folds", type=int_in(2, 100, "--folds"), help="score each trial by k-fold CV instead")
    s.add_argument("--epochs", type=int_in(1, 1_000_000, "--epochs"), help="epochs per trial (default: the session's)")
    s.add_argument("--prune", choices=("none", "median"), default="none", help="stop hopeless trials early")
    s.add_argument("--seed", type=int_in(0, 2**31 - 1, "--seed"), help="sampler seed (default: the session's)")
    s.add_argument("--json", action="store_true", help="one JSON line per trial, then a 'done' line")

    w = sub.add_parser("sweep-worker", help="run trials of an existing study (several machines: one database)")
    w.add_argument("--storage", required=True, help="the study's storage (as given to sweep)")
    w.add_argument("--study", required=True, help="the study's name")
    w.add_argument("--trials", type=int_in(1, 100_000, "--trials"),
                   help="run this many trials (queued ones first); default: until the queue is empty")
    w.add_argument("--json", action="store_true", help="one JSON line per trial, then a 'done' line")


def run(args) -> int:
    return {"new": cmd_new, "cv": cmd_cv, "sweep": cmd_sweep, "sweep-worker": cmd_sweep_worker}[args.command](args)


def _out():
    from .commands import _Stdout

    return _Stdout(on_close=lambda: None)


# -- new ----------------------------------------------------------------------------------------
def cmd_new(args) -> int:
    from engine.data import read_csv
    from engine.safe_io import check_output
    from engine.session import save_session_json
    from engine.tabular import session_for_table

    if not args.out.lower().endswith(".json"):
        raise InvalidInput(f"--out must name a .json session file, got {args.out!r:.200}")
    target = check_output(args.out, "json", inputs=[args.csv], force=args.force)
    if not os.path.isfile(args.csv):
        raise InvalidInput(f"--csv {args.csv}: no such file")
    col = args.target
    if col is not None and col.lstrip("-").isdigit():
        col = int(col)
    task = "auto"
    if args.targets is not None:
        if col is not None:
            raise InvalidInput("give --target (one column) or --targets (several 0/1 columns, multi-label), not both")
        col = [int(c) if c.strip().lstrip("-").isdigit() else c.strip() for c in args.targets.split(",") if c.strip()]
        task = "multilabel"
    table = read_csv(args.csv, target=col, task=task)
    rel = os.path.relpath(os.path.abspath(args.csv), os.path.dirname(os.path.abspath(target)))
    session = session_for_table(table, col, path=rel)
    save_session_json(session, target)
    ds = session.dataset["params"]
    print(f"wrote {target}: {ds['task']}, {table.n_rows} rows, loss {session.loss['type']}, "
          f"{session.training['epochs']} epochs", file=sys.stderr)
    return 0


# -- cv -----------------------------------------------------------------------------------------
def _load(path):
    from .commands import _load_for_training

    session, _ = _load_for_training(path)
    return session


def cmd_cv(args) -> int:
    from engine.folds import FoldRuns

    session = _load(args.session)
    out = _out()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        folds = FoldRuns(session, args.folds)
        bar = None
        if not args.json:
            from tqdm import tqdm

            bar = tqdm(total=args.folds, unit="fold", file=sys.stderr, desc="cross-validation", disable=None)

        def on_fold(f):
            if args.json:
                out.line({"event": "fold", **f})
            if bar is not None:
                bar.update(1)

        try:
            summary = folds.fit(args.epochs, on_fold=on_fold)
        finally:
            if bar is not None:
                bar.close()
    metric = summary["metric"]
    mean, std = summary["mean"].get(metric), summary["std"].get(metric)
    if args.json:
        out.line({"event": "done", "metric": metric, "mean": mean, "std": std, "folds": summary["folds"],
                  "means": summary["mean"], "stds": summary["std"]})
    else:
        for f in summary["folds"]:
            print(f"fold {f['fold'] + 1}: {metric} {f.get(metric, float('nan')):.4f}, val_loss {f['val_loss']:.4g}"
                  f" ({f['n_train']} train / {f['n_val']} val, {f['epochs']} epochs)")
        print(f"{metric}: {mean:.4f} ± {std:.4f} over {summary['k']} folds")
    return 0


# -- sweep ----------------------------------------------------------------------------------------
def _trial_line(t) -> dict:
    return {"event": "trial", "number": t.number, "state": t.state.name.lower(), "value": t.value,
            "params": dict(t.params), "error": t.user_attrs.get("error")}


def _work(study, definition, n, args, total):
    from engine.search import best_row, work

    out = _out()
    bar = None
    if not args.json and (total or n):
        from tqdm import tqdm

        bar = tqdm(total=total or n, unit="trial", file=sys.stderr, desc="trials", disable=None)

    def on_trial(t):
        if args.json:
            out.line(_trial_line(t))
        if bar is not None:
            bar.update(1)
            if t.value is not None:
                bar.set_postfix({"last": f"{t.value:.4g}"}, refresh=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            ran = work(study, definition, n, on_trial=on_trial)
        finally:
            if bar is not None:
                bar.close()
    best = best_row(study, definition)
    states = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    if args.json:
        out.line({"event": "done", "ran": ran, "metric": definition["metric"], "best": best, "trials": states})
    else:
        print(f"ran {ran} trial{'s' * (ran != 1)}; study: " + ", ".join(f"{v} {k}" for k, v in sorted(states.items())),
              file=sys.stderr)
        if best is not None:
            print(f"best {definition['metric']} {best['value']:.4g} (trial {best['number']}): "
                  + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items()))
    return 0


def cmd_sweep(args) -> int:
    from engine.search import create_study, default_storage, enqueue, load_space, open_storage

    session = _load(args.session)
    space = load_space(args.space)
    url = args.storage or default_storage(args.session)
    storage = open_storage(url)
    name = args.study or os.path.splitext(os.path.basename(args.session))[0]
    study = create_study(storage, name, session, space, sampler=args.sampler, metric=args.metric, folds=args.folds,
                         epochs=args.epochs, pruner=args.prune, seed=args.seed)
    if not args.json:
        print(f"study {name!r} in {url}", file=sys.stderr)
    if args.trials == 0:
        if args.json:
            _out().line({"event": "done", "ran": 0, "study": name, "storage": url})
        return 0
    from engine.search import load_study

    queued = enqueue(study, args.trials, space, args.sampler)
    if queued < args.trials and not args.json:
        print(f"the grid has {queued} untried combination{'s' * (queued != 1)} left; queued those", file=sys.stderr)
    study, definition = load_study(storage, name, seed=args.seed if args.seed is not None else session.seed)
    return _work(study, definition, None, args, queued)


def cmd_sweep_worker(args) -> int:
    from engine.search import load_study, open_storage

    storage = open_storage(args.storage)
    study, definition = load_study(storage, args.study)
    return _work(study, definition, args.trials, args, args.trials)
