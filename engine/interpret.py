"""Looking inside the black box (lecture 001): permutation importance, prediction curves, bootstrap intervals.

A trained network does not state how a predictor relates to the response, so
these tools vary the inputs and watch the predictions:

* permutation feature importance: shuffle one column, measure how much the score drops;
* partial dependence: vary X_j with every other predictor held at its mean (or median);
* ICE curves: vary X_j for each observation, keeping its other observed values;
* bootstrap: refit on resamples of the training data for a percentile interval of the predictions.

Everything works on a plain ``predict(x) -> outputs`` function; ``predictor``
turns a Trainer into one (probabilities for classifiers, raw units in).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import InvalidInput


def _table(x, who="x"):
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{who} must be numeric, got {type(x).__name__}") from None
    if a.ndim != 2 or a.shape[0] == 0:
        raise InvalidInput(f"{who} must be a table (samples, features) with at least one row, got shape {a.shape}")
    return a


def _feature(x, j):
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < x.shape[1]:
        raise InvalidInput(f"feature must be a column index 0..{x.shape[1] - 1}, got {j!r}")
    return int(j)


def _outputs(y):
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), -1)


def predictor(trainer, *, raw: bool = True):
    """``predict(x)`` for a Trainer: P(class 1) or class probabilities for classifiers, outputs for regression.

    ``raw=True`` takes inputs in data units and applies the dataset's fitted preprocessing first.
    """
    from .data import apply_preprocess
    from .metrics import predictions

    data = trainer.data

    def predict(x):
        x = np.asarray(x, dtype=np.float32)
        out = trainer.predict(apply_preprocess(x, data.preprocess_state) if raw else x)
        if data.task == "classification":
            return predictions(out, trainer.loss_name)[1]
        return out

    return predict


def default_score(task: str, loss_name: str):
    """Higher-is-better score of raw network outputs: accuracy (classification) or R² (regression)."""
    from .metrics import accuracy, predictions, r2

    if task == "classification":
        return lambda y, out: accuracy(y, predictions(out, loss_name)[0])
    if task == "multilabel":  # per-label accuracy (1 − Hamming loss)
        from .multilabel_metrics import evaluate_multilabel

        return lambda y, out: evaluate_multilabel(out, y, loss_name)["accuracy"]
    return lambda y, out: r2(y, out)


def permutation_importance(predict, x, y, score, *, n_repeats: int = 5, seed: int = 0) -> dict:
    """Drop of ``score(y, predict(x))`` when one column is shuffled, per feature, over ``n_repeats`` shuffles.

    Returns ``{"baseline", "importances" (features, repeats), "mean", "std"}``. Shuffles are drawn
    feature by feature, repeat by repeat, from ``numpy.random.default_rng(seed)``. Correlated features
    share credit: shuffling one leaves its twin to carry the information.
    """
    x = _table(x)
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise InvalidInput(f"n_repeats must be a whole number ≥ 1, got {n_repeats!r}")
    base = float(score(y, predict(x)))
    rng = np.random.default_rng(seed)
    imp = np.empty((x.shape[1], n_repeats))
    for j in range(x.shape[1]):
        for r in range(n_repeats):
            xp = x.copy()
            xp[:, j] = x[rng.permutation(len(x)), j]
            imp[j, r] = base - float(score(y, predict(xp)))
    return {"baseline": base, "importances": imp, "mean": imp.mean(1), "std": imp.std(1)}


def _grid(x, j, grid, n_grid):
    if grid is None:
        return np.linspace(x[:, j].min(), x[:, j].max(), int(n_grid))
    g = np.asarray(grid, dtype=np.float64).reshape(-1)
    if g.size == 0 or not np.all(np.isfinite(g)):
        raise InvalidInput(f"grid must be a non-empty list of finite numbers, got {grid!r}")
    return g


def most_common(x) -> np.ndarray:
    """Each column's most frequent value (the smallest on a tie): the notes' "most common" reference for categories."""
    x = _table(x)
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        vals, counts = np.unique(x[:, j], return_counts=True)
        out[j] = vals[np.argmax(counts)]
    return out


def partial_dependence(predict, x, feature: int, grid=None, *, at: str = "mean", n_grid: int = 20):
    """(grid, predictions (G, k)): X_j swept over ``grid``, every other predictor at its mean, median or most
    common value (``at="mode"``, for categorical predictors, as the notes allow)."""
    x = _table(x)
    j = _feature(x, feature)
    if at not in ("mean", "median", "mode"):
        raise InvalidInput(f"'at' must be mean, median or mode (the most common value), got {at!r}")
    g = _grid(x, j, grid, n_grid)
    ref = x.mean(0) if at == "mean" else np.median(x, 0) if at == "median" else most_common(x)
    rows = np.tile(ref, (len(g), 1))
    rows[:, j] = g
    return g, _outputs(predict(rows))


def prediction_scatter(predict, x, feature: int):
    """(x_j, ŷ (N, k)): the notes' prediction scatterplot, every observation's prediction against its X_j."""
    x = _table(x)
    j = _feature(x, feature)
    return x[:, j].copy(), _outputs(predict(x))


def ice_curves(predict, x, feature: int, grid=None, *, n_grid: int = 20):
    """(grid, predictions (N, G, k)): one curve per observation, X_j swept, its other values as observed."""
    x = _table(x)
    j = _feature(x, feature)
    g = _grid(x, j, grid, n_grid)
    rows = np.repeat(x[:, None, :], len(g), axis=1)
    rows[:, :, j] = g
    out = _outputs(predict(rows.reshape(-1, x.shape[1])))
    return g, out.reshape(len(x), len(g), -1)


def bootstrap_interval(fit_predict, x, y, x_query, *, n_boot: int = 20, level: float = 0.95, seed: int = 0) -> dict:
    """Refit ``fit_predict(x_b, y_b) -> predictions at x_query`` on ``n_boot`` resamples (n draws with replacement).

    Returns ``{"predictions" (B, Q, k), "lower", "median", "upper"}``: the percentile interval, e.g.
    2.5th and 97.5th percentiles for ``level=0.95``. Resample b uses ``rng.integers(0, n, n)`` of
    ``numpy.random.default_rng(seed)``, in order.
    """
    x, y = np.asarray(x), np.asarray(y)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 2:
        raise InvalidInput(f"n_boot must be a whole number ≥ 2, got {n_boot!r}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InvalidInput(f"level must lie strictly between 0 and 1, got {level!r}")
    if len(x) == 0 or len(x) != len(y):
        raise InvalidInput(f"x and y need the same, non-zero number of rows; got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    preds = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(x), len(x))
        preds.append(_outputs(fit_predict(x[idx], y[idx])))
    p = np.stack(preds)
    tail = 100 * (1 - level) / 2
    return {"predictions": p, "lower": np.percentile(p, tail, axis=0), "median": np.median(p, axis=0),
            "upper": np.percentile(p, 100 - tail, axis=0)}


def bootstrap_predictions(session, x_query, *, n_boot: int = 20, level: float = 0.95, epochs=None, seed: int = 0,
                          device=None) -> dict:
    """``bootstrap_interval`` for a session: retrain on resamples of its (preprocessed) training split.

    ``x_query`` is in data units. The preprocessing fitted on the full training split is kept.
    """
    from .data import make_dataset
    from .trainer import Trainer

    s = session.copy().canonicalize()
    data = make_dataset(s.dataset, seed=s.seed)

    def fit_predict(xb, yb):
        tr = Trainer(s, dataset=replace(data, x_train=xb, y_train=yb), device=device)
        for _ in tr.run(epochs):
            pass
        return predictor(tr)(x_query)

    return bootstrap_interval(fit_predict, data.x_train, data.y_train, x_query, n_boot=n_boot, level=level, seed=seed)
