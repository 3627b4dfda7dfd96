"""Explaining the current model (lecture 001) from a ``Run``: what the explanation view and ``main.py explain`` show.

``engine.interpret`` has the tools on a plain ``predict`` function; this module runs them on a frozen copy
of a run's network (``engine.evaluation.Frozen``) in data units, and adds what a bar chart of importances
needs to be read honestly: a bootstrap confidence interval. One shuffle of one column on one sample of
rows is a noisy number; the interval says whether a feature's drop in score is distinguishable from zero.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidInput
from .evaluation import Frozen
from .interpret import ice_curves, partial_dependence, prediction_scatter

AT_CHOICES = ("mean", "median", "mode")
MAX_ICE = 50  # ICE curves drawn at most (every observation would be a grey wall)


def score_function(task: str):
    """Higher-is-better score of probabilities/values: accuracy (classification), per-label accuracy
    (multi-label) or R² (regression)."""
    from .metrics import r2

    if task == "classification":
        def accuracy(y, s):
            s = np.asarray(s)
            pred = (s >= 0.5).astype(np.int64) if s.ndim == 1 else s.argmax(axis=1)
            return float(np.mean(pred == np.asarray(y).reshape(-1)))
        return accuracy
    if task == "multilabel":  # per-label accuracy (1 − Hamming loss) of P(label j) ≥ 0.5
        return lambda y, s: float(np.mean((np.asarray(s) >= 0.5) == (np.asarray(y) >= 0.5)))
    return lambda y, s: r2(y, s)


def _flat(frozen: Frozen, x):
    """(N, d) table of a split's raw inputs and the predict function on such tables (images are flattened)."""
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape[1:]
    table = x.reshape(len(x), -1)

    def predict(t):
        return frozen.scores(np.asarray(t, dtype=np.float32).reshape(len(t), *shape))

    return table, predict


def feature_names(frozen: Frozen, d: int) -> list[str]:
    names = list(frozen.data.feature_names or [])
    return names if len(names) == d else [f"x{j}" for j in range(d)]


def importance_with_intervals(predict, x, y, score, *, n_boot: int = 30, level: float = 0.95, seed: int = 0) -> dict:
    """Permutation importance of every column with a bootstrap percentile interval.

    Bootstrap round b (``numpy.random.default_rng(seed)``, in order): draw n row indices with replacement
    (``rng.integers(0, n, n)``), score the resample as it is, then for each column j shuffle that column
    within the resample (``rng.permutation(n)``) and record baseline − shuffled score. The importance is the
    mean over rounds, the interval the (1 − level)/2 and (1 + level)/2 percentiles of the rounds' values.
    Returns ``{"baseline" (full data), "rounds" (B, d), "mean", "lower", "upper"}``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 2:
        raise InvalidInput(f"n_boot must be a whole number ≥ 2, got {n_boot!r}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InvalidInput(f"level must lie strictly between 0 and 1, got {level!r}")
    n, d = x.shape
    rng = np.random.default_rng(seed)
    rounds = np.empty((n_boot, d))
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        xb, yb = x[idx], y[idx]
        base = float(score(yb, predict(xb)))
        for j in range(d):
            xp = xb.copy()
            xp[:, j] = xb[rng.permutation(n), j]
            rounds[b, j] = base - float(score(yb, predict(xp)))
    tail = 100 * (1 - level) / 2
    return {"baseline": float(score(y, predict(x))), "rounds": rounds, "mean": rounds.mean(axis=0),
            "lower": np.percentile(rounds, tail, axis=0), "upper": np.percentile(rounds, 100 - tail, axis=0),
            "level": float(level)}


def output_column(frozen: Frozen, out: np.ndarray, column: int | None = None) -> np.ndarray:
    """The column a curve shows: P(class 1) (binary), P(``column``) (multi-class) or target ``column`` (regression)."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 1:
        return out
    if out.shape[-1] == 1:
        return out[..., 0]
    c = 1 if column is None else int(column)
    if not 0 <= c < out.shape[-1]:
        raise InvalidInput(f"output column must be 0..{out.shape[-1] - 1}, got {column!r}")
    return out[..., c]


def feature_curves(frozen: Frozen, x, feature: int, *, at: str = "mean", n_grid: int = 20, column=None,
                   max_ice: int = MAX_ICE, seed: int = 0) -> dict:
    """Partial dependence (others at their mean, median or most common value), ICE curves and the Ŷ-vs-X_j scatter.

    ICE curves are drawn for at most ``max_ice`` observations (a fixed random choice); their mean is the
    "average ICE" the PDP at the mean approximates for a nearly additive model.
    """
    if at not in AT_CHOICES:
        raise InvalidInput(f"'at' must be mean, median or mode (the most common value), got {at!r}")
    table, predict = _flat(frozen, x)

    def one(o):
        o = np.asarray(o)
        return o if o.ndim > 1 else o[:, None]

    def pred(t):
        return one(predict(t))

    grid, pd = partial_dependence(pred, table, feature, at=at, n_grid=n_grid)
    pick = np.sort(np.random.default_rng(seed).permutation(len(table))[:max_ice])
    _, ice = ice_curves(pred, table[pick], feature, grid=grid)
    xs, yhat = prediction_scatter(pred, table, feature)
    return {"feature": int(feature), "at": at, "grid": grid.tolist(),
            "pdp": output_column(frozen, pd, column).tolist(),
            "ice": output_column(frozen, ice, column).tolist(), "ice_rows": pick.tolist(),
            "scatter_x": xs.tolist(), "scatter_y": output_column(frozen, yhat, column).tolist()}


def explain_run(source, split: str = "test", *, n_boot: int = 30, level: float = 0.95, at: str = "mean",
                n_grid: int = 20, features=None, column=None, seed: int = 0, frozen: Frozen | None = None,
                curves: bool = True) -> dict:
    """Permutation importance with intervals for every feature, and PDP/ICE/scatter per feature (``features``: all)."""
    f = frozen or (source if isinstance(source, Frozen) else Frozen(source))
    x, y = f.split(split)
    table, predict = _flat(f, x)
    names = feature_names(f, table.shape[1])
    imp = importance_with_intervals(predict, table, y, score_function(f.task), n_boot=n_boot, level=level, seed=seed)
    wanted = range(table.shape[1]) if features is None else features
    for j in wanted:
        if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < table.shape[1]:
            raise InvalidInput(f"feature must be a column index 0..{table.shape[1] - 1}, got {j!r}")
    rep = {"split": split, "task": f.task, "score": {"classification": "accuracy", "multilabel": "per-label accuracy"}.get(f.task, "r2"),
           "features": names, "baseline": imp["baseline"], "level": imp["level"], "n_boot": n_boot,
           "importance": [{"feature": names[j], "mean": float(imp["mean"][j]), "lower": float(imp["lower"][j]),
                           "upper": float(imp["upper"][j])} for j in range(table.shape[1])]}
    if curves:
        rep["curves"] = {names[j]: feature_curves(f, x, int(j), at=at, n_grid=n_grid, column=column, seed=seed)
                         for j in wanted}
    return rep
