"""Experiments' quality bar and speed (issue 12), printed as figures.

1. Defaults on standard tabular sets: each dataset written as a CSV, a session made exactly as
   ``main.py new --csv`` makes it (engine.tabular), 5-fold CV accuracy (R² for diabetes) against
   scikit-learn's ``MLPClassifier(hidden_layer_sizes=(32,))`` / ``MLPRegressor`` on standardised
   features, 5-fold (stratified for classification). Needs scikit-learn (test-only).
2. A 20-trial random sweep of a tiny net (compiled path when available), wall time.

    .venv/bin/python benchmarks/bench_experiments.py [--only iris,wine] [--sweep-only]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")


def load(name):
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")()
    return d.data.astype(np.float64), d.target, name != "diabetes"


def ours(name, x, y, path="auto"):
    from engine.data import read_csv
    from engine.folds import FoldRuns
    from engine.tabular import session_for_table

    folder = tempfile.mkdtemp()
    csv = os.path.join(folder, f"{name}.csv")
    cols = [f"f{i}" for i in range(x.shape[1])] + ["target"]
    with open(csv, "w") as f:
        f.write(",".join(cols) + "\n")
        for row, t in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{t}\n")
    session = session_for_table(read_csv(csv, task="classification" if name != "diabetes" else "regression"))
    t0 = time.perf_counter()
    summary = FoldRuns(session, 5, path=path).fit()
    m = summary["metric"]
    return summary["mean"][m], summary["std"][m], time.perf_counter() - t0


def sklearn_score(x, y, classification):
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if classification:
            model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=500))
            cv = StratifiedKFold(5, shuffle=True, random_state=0)
            s = cross_val_score(model, x, y, cv=cv, scoring="accuracy")
        else:
            model = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), random_state=0, max_iter=2000))
            s = cross_val_score(model, x, (y - y.mean()) / y.std(), cv=KFold(5, shuffle=True, random_state=0), scoring="r2")
    return float(s.mean()), float(s.std())


def bench_sweep(n_trials=20, path="auto"):
    from engine import search
    from engine.session import Session

    s = Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "out", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 200, "noise": 0.1}}, "loss": "bce_logits",
        "optimizer": {"type": "sgd", "params": {"lr": 0.1}}, "training": {"epochs": 20, "batch_size": 10}})
    space = search.parse_space({"optimizer.lr": {"type": "float", "low": 0.003, "high": 0.3, "log": True},
                                "graph.h.units": {"type": "int", "low": 2, "high": 8}})
    st = search.open_storage(os.path.join(tempfile.mkdtemp(), "b.optuna.journal"))
    study = search.create_study(st, "bench", s, space, sampler="random", path=path)
    search.enqueue(study, n_trials)
    study, d = search.load_study(st, "bench", seed=0)
    from engine import Run

    Run(s, path=path).fit(1)  # the first compile (cached on disk afterwards) is not the sweep's time
    t0 = time.perf_counter()
    search.work(study, d)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only")
    ap.add_argument("--sweep-only", action="store_true")
    ap.add_argument("--path", default="auto")
    args = ap.parse_args()
    if not args.sweep_only:
        names = args.only.split(",") if args.only else DATASETS
        print(f"{'dataset':<14} {'ours (5-fold)':>18} {'sklearn MLP(32)':>18} {'diff':>7} {'seconds':>8}")
        for name in names:
            x, y, cls = load(name)
            m, s, secs = ours(name, x, y, args.path)
            sm, ss = sklearn_score(x, y, cls)
            print(f"{name:<14} {m:>10.4f} ± {s:.4f} {sm:>10.4f} ± {ss:.4f} {m - sm:>+7.4f} {secs:>8.1f}", flush=True)
    secs = bench_sweep(path=args.path)
    print(f"sweep: 20 trials of a 2-8-1 net on 200 points, 20 epochs each: {secs:.1f} s ({args.path} path)")


if __name__ == "__main__":
    main()
