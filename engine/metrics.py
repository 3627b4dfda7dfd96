"""Evaluation metrics in plain numpy: the numbers the lecture notes say to plot.

Called every epoch on the validation set, so everything is vectorised and
O(N log N) at worst (the ROC sort). No torch, no sklearn.

Conventions
-----------
* Classification labels are integers ``0..n_classes-1``; a one-hot ``(N, k)``
  array is accepted and turned into labels with ``argmax``. For binary tasks
  ``evaluate`` also accepts hinge-style labels ``{-1, +1}`` (``-1`` -> 0).
* "Positive" means class 1 (binary precision/recall/F1 and the ROC curve).
* Ratios with a zero denominator (precision of a class never predicted,
  recall of a class absent from ``y_true``) are 0, as sklearn does by default;
  ROC/AUC with only one class present are ``nan`` (the curve is undefined).
* Regression metrics are computed per output column and then averaged.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidInput

#: Losses whose single-column output is already a probability of class 1.
PROBABILITY_LOSSES = frozenset({"bce", "binary_cross_entropy", "binary_crossentropy"})
#: Losses trained on raw scores (logits/margins); probabilities need sigmoid/softmax.
LOGIT_LOSSES = frozenset({
    "bce_logits", "bce_with_logits", "hinge", "squared_hinge",
    "cross_entropy", "ce", "categorical_crossentropy", "multiclass_hinge", "nll",
})
TASKS = ("classification", "regression", "multilabel")


# ---------------------------------------------------------------------------
# Turning network outputs into classes and scores
# ---------------------------------------------------------------------------
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form of 1/(1+e^-z)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _as_output(output) -> np.ndarray:
    try:
        out = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"network output is not numeric: {exc}") from None
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] == 0:
        raise InvalidInput(f"network output must have shape (N, k) with N > 0, got {out.shape}")
    return out


def predictions(output, loss_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Predicted classes and scores from a classifier's output ``(N, k)``.

    Rules (``loss_name`` says what the output means):

    * ``k == 1`` (binary): with a probability loss (``bce``) the output is
      P(class 1) and the class is ``p >= 0.5``; with a logit/margin loss
      (``bce_logits``, ``hinge``...) the class is ``z >= 0`` and the score is
      ``sigmoid(z)`` -- monotone in ``z``, so ROC/AUC are unchanged (for hinge it
      is a ranking score, not a calibrated probability). An unknown loss name is
      read as probabilities if every value lies in [0, 1], else as logits.
      Returns scores of shape ``(N,)``.
    * ``k > 1``: the class is ``argmax``; scores are ``softmax(output)`` for logit
      losses (``cross_entropy``, ``multiclass_hinge``, ``nll`` on log-probs),
      the output itself if its rows are already distributions (non-negative,
      summing to 1), else ``softmax``. Returns scores of shape ``(N, k)``.
      Multi-label outputs (independent sigmoids per column) are read by
      ``engine.multilabel_metrics.label_probabilities`` instead.
    """
    out = _as_output(output)
    name = str(loss_name).lower()
    if out.shape[1] == 1:
        z = out[:, 0]
        is_prob = name in PROBABILITY_LOSSES or (
            name not in LOGIT_LOSSES and bool(np.all((z >= 0) & (z <= 1))))
        if is_prob:
            return (z >= 0.5).astype(np.int64), np.clip(z, 0.0, 1.0)
        return (z >= 0).astype(np.int64), _sigmoid(z)
    pred = out.argmax(axis=1).astype(np.int64)
    if name not in LOGIT_LOSSES and np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        return pred, out
    return pred, _softmax(out)


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------
def _labels(y, n_classes: int | None = None, what: str = "y_true") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)  # one-hot
    y = y.reshape(-1)
    if y.dtype.kind not in "biuf":
        raise InvalidInput(f"{what} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise InvalidInput(f"{what} must hold integer class labels, got {y[bad][0]!r}")
    y = y.astype(np.int64)
    if n_classes is not None and y.size:
        bad = (y < 0) | (y >= n_classes)
        if bad.any():
            raise InvalidInput(f"{what} holds label {int(y[bad][0])}, outside 0..{n_classes - 1}")
    return y


def _check_n_classes(n_classes) -> int:
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 2:
        raise InvalidInput(f"n_classes must be an integer >= 2, got {n_classes!r}")
    return int(n_classes)


def _pair(y_true, y_pred, n_classes):
    t, p = _labels(y_true, n_classes), _labels(y_pred, n_classes, "y_pred")
    if t.shape != p.shape:
        raise InvalidInput(f"y_true has {t.size} labels but y_pred has {p.size}")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of exact matches; ``nan`` for empty input."""
    t, p = _pair(y_true, y_pred, None)
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    n = _check_n_classes(n_classes)
    t, p = _pair(y_true, y_pred, n)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def _safe_div(num, den):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision_recall_f1(y_true, y_pred, n_classes: int, average: str | None = "binary"):
    """Precision, recall and F1 as a tuple.

    ``average``: ``"binary"`` (class 1 is positive; needs ``n_classes == 2``),
    ``"macro"`` (unweighted mean of per-class values over the classes present in
    ``y_true`` or ``y_pred``; macro-F1 is the mean of per-class F1s),
    ``"micro"`` (pooled counts; equals accuracy for single-label data) or
    ``None`` (per-class arrays of length ``n_classes``).
    Zero division gives 0, e.g. the precision of a class that is never predicted.
    """
    n = _check_n_classes(n_classes)
    if average not in ("binary", "macro", "micro", None):
        raise InvalidInput(f"average must be 'binary', 'macro', 'micro' or None, got {average!r}")
    if average == "binary" and n != 2:
        raise InvalidInput(f"average='binary' needs n_classes == 2, got {n}; use 'macro'")
    cm = confusion_matrix(y_true, y_pred, n)
    tp, predicted, actual = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    if average == "micro":
        p = r = float(_safe_div(tp.sum(), predicted.sum()))
        return p, r, p  # every miss is both one FP and one FN
    prec, rec = _safe_div(tp, predicted), _safe_div(tp, actual)
    f1 = _safe_div(2 * prec * rec, prec + rec)
    if average is None:
        return prec, rec, f1
    if average == "binary":
        return float(prec[1]), float(rec[1]), float(f1[1])
    present = (predicted + actual) > 0
    if not present.any():
        return 0.0, 0.0, 0.0
    return float(prec[present].mean()), float(rec[present].mean()), float(f1[present].mean())


def roc_curve(y_true01, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve: false/true positive rates for every distinct score threshold.

    ``thresholds`` are the distinct scores in decreasing order, preceded by
    ``inf`` (nothing predicted positive, the point (0, 0)); point ``i`` predicts
    positive every sample with ``score >= thresholds[i]``. Tied scores form a
    single point, so a tie contributes a diagonal segment (half credit to AUC).
    Rates are ``nan`` when ``y_true01`` lacks positives (tpr) or negatives (fpr).
    """
    y = _labels(y_true01, 2, "y_true01")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.shape != y.shape:
        raise InvalidInput(f"y_true01 has {y.size} labels but scores has {s.size} values")
    if not np.all(np.isfinite(s)):
        raise InvalidInput(f"scores contain a non-finite value: {s[~np.isfinite(s)][0]!r}")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1] if y.size else np.zeros(0, np.int64)
    tps = np.r_[0, np.cumsum(y)[last]].astype(np.float64)
    fps = np.r_[0, last + 1].astype(np.float64) - tps
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full_like(fps, np.nan)
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
    return fpr, tpr, np.r_[np.inf, s[last]]


def auc(fpr, tpr) -> float:
    """Area under a curve by the trapezoid rule; ``x`` must be monotone."""
    x, y = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidInput(f"fpr and tpr must be 1-D of equal length, got {x.shape} and {y.shape}")
    if x.size < 2 or np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    dx = np.diff(x)
    if np.any(dx < 0) and np.any(dx > 0):
        raise InvalidInput("fpr must be monotone to integrate the curve")
    return float(abs(np.sum(dx * (y[1:] + y[:-1]) * 0.5)))


def roc_auc(y_true, scores, n_classes: int) -> float:
    """Area under the ROC curve (0.5 = chance, 1 = perfect ranking).

    Binary: ``scores`` are P(class 1), shape ``(N,)``/``(N, 1)``, or ``(N, 2)``
    (column 1 is used). Multi-class: ``scores (N, k)`` and the result is the
    unweighted mean of the one-vs-rest AUCs over classes that have both
    positive and negative samples; ``nan`` if no class has.
    """
    n = _check_n_classes(n_classes)
    y = _labels(y_true, n)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if n == 2:
        if s.ndim == 2 and s.shape[1] == 2:
            s = s[:, 1]
        return auc(*roc_curve(y, s)[:2])
    if s.ndim != 2 or s.shape[1] != n:
        raise InvalidInput(f"multi-class scores must have shape (N, {n}), got {s.shape}")
    aucs = [rank_auc(y == c, s[:, c]) for c in range(n) if 0 < np.sum(y == c) < y.size]
    return float(np.mean(aucs)) if aucs else float("nan")


def rank_auc(positive, scores) -> float:
    """The ROC curve's trapezoid area by ranks (Mann–Whitney): (Σ ranks of the positives − n₁(n₁+1)/2) / (n₁n₀),
    tied scores sharing their mean rank, which is the trapezoid's half credit for a tie. One sort instead of the
    curve: 10 one-vs-rest AUCs of 1,024 samples, computed at every epoch end, took 2.1 ms as curves."""
    pos = np.asarray(positive, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n1 = int(pos.sum())
    n0 = pos.size - n1
    if n1 == 0 or n0 == 0 or np.isnan(s).any():
        return float("nan")
    ss = np.sort(s)
    sp = s[pos]
    lo, hi = np.searchsorted(ss, sp, "left"), np.searchsorted(ss, sp, "right")
    rank_sum = float((lo + hi + 1).sum()) / 2.0  # a tie group at sorted places lo … hi−1 shares rank (lo+1+hi)/2
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0)


# ---------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------
def _reg_pair(y_true, y_pred):
    try:
        t = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"regression targets must be numeric: {exc}") from None
    t = t.reshape(t.shape[0], -1) if t.ndim else t.reshape(1, 1)
    p = p.reshape(p.shape[0], -1) if p.ndim else p.reshape(1, 1)
    if t.shape != p.shape:
        raise InvalidInput(f"y_true has shape {t.shape} but predictions have shape {p.shape}")
    if t.shape[0] == 0:
        raise InvalidInput("cannot compute regression metrics on 0 samples")
    return t, p


def mae(y_true, y_pred) -> float:
    """Mean absolute error, per output then averaged."""
    t, p = _reg_pair(y_true, y_pred)
    return float(np.mean(np.mean(np.abs(t - p), axis=0)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, per output then averaged (same units as y)."""
    t, p = _reg_pair(y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0))))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``, per output then averaged.

    1 is a perfect fit, 0 is no better than predicting the mean, negative is
    worse. An output whose targets are constant has ``SS_tot = 0`` and an
    undefined R²: it is left out of the average, and the result is ``nan`` if
    every output is constant.
    """
    t, p = _reg_pair(y_true, y_pred)
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    ok = ss_tot > 0
    return float(np.mean(1.0 - ss_res[ok] / ss_tot[ok])) if ok.any() else float("nan")


# ---------------------------------------------------------------------------
# One call per epoch
# ---------------------------------------------------------------------------
def evaluate(output, y_true, task: str, loss_name: str, n_classes: int | None = None) -> dict:
    """All metrics for one evaluation, as plain Python floats and lists.

    classification -> ``accuracy, precision, recall, f1`` (binary, class 1
    positive, when there are 2 classes; macro otherwise), ``auc`` and
    ``confusion`` (list of lists, rows true, columns predicted).
    regression -> ``mae, rmse, r2``.
    multilabel -> ``engine.multilabel_metrics.evaluate_multilabel`` (``accuracy`` is per label, = 1 − Hamming loss;
    ``subset_accuracy`` is the exact match).
    If the output contains NaN/inf (a diverged network) every score is ``nan``
    and ``confusion`` is ``None``.
    """
    if task not in TASKS:
        raise InvalidInput(f"task must be one of {TASKS}, got {task!r}")
    out = _as_output(output)
    nan = float("nan")
    if task == "multilabel":
        from .multilabel_metrics import evaluate_multilabel

        return evaluate_multilabel(out, y_true, loss_name)
    if task == "regression":
        if not np.all(np.isfinite(out)):
            _reg_pair(y_true, out)
            return {"mae": nan, "rmse": nan, "r2": nan}
        return {"mae": mae(y_true, out), "rmse": rmse(y_true, out), "r2": r2(y_true, out)}

    k = out.shape[1]
    n = 2 if k == 1 else int(n_classes if n_classes is not None else k)
    if k > 1 and n != k:
        raise InvalidInput(f"n_classes is {n_classes!r} but the output has {k} columns")
    n = _check_n_classes(n)
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if n == 2 and y.size and y.ndim == 1 and np.isin(y, (-1, 1)).all() and (y == -1).any():
        y = (y == 1).astype(np.int64)  # hinge labels
    y = _labels(y, n)
    if y.size != out.shape[0]:
        raise InvalidInput(f"y_true has {y.size} labels but the output has {out.shape[0]} rows")
    if not np.all(np.isfinite(out)):
        return {"accuracy": nan, "precision": nan, "recall": nan, "f1": nan, "auc": nan,
                "confusion": None}
    pred, scores = predictions(out, loss_name)
    prec, rec, f1 = precision_recall_f1(y, pred, n, "binary" if n == 2 else "macro")
    return {
        "accuracy": accuracy(y, pred),
        "precision": prec, "recall": rec, "f1": f1,
        "auc": roc_auc(y, scores, n),
        "confusion": confusion_matrix(y, pred, n).tolist(),
    }


# ---------------------------------------------------------------------------
# Lecture 002's names for the binary rates (class 1 is the class to identify)
# ---------------------------------------------------------------------------
def binary_rates(y_true, y_pred) -> dict:
    """TP, FN, TN, FP and the rates built from them, under the names the notes use (see ``rates_from_counts``)."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred, 2).tolist()
    return rates_from_counts(tp, fn, tn, fp)


def rates_from_counts(tp: int, fn: int, tn: int, fp: int) -> dict:
    """The rates of lecture 002 from the four counts of a binary confusion matrix.

    completeness = TPR = recall = TP/(TP+FN); contamination = false discovery rate = FP/(TP+FP);
    efficiency = purity = precision = 1 − contamination; FPR = FP/(TN+FP). Zero denominators give 0.
    """
    counts = (tp, fn, tn, fp)
    if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0 for c in counts):
        raise InvalidInput(f"TP, FN, TN and FP must be whole numbers ≥ 0, got {counts}")
    tp, fn, tn, fp = (int(c) for c in counts)
    completeness = float(_safe_div(tp, tp + fn))
    contamination = float(_safe_div(fp, tp + fp))
    return {"tp": tp, "fn": fn, "tn": tn, "fp": fp, "completeness": completeness, "tpr": completeness,
            "contamination": contamination, "efficiency": (1.0 - contamination) if tp + fp else 0.0,
            "fpr": float(_safe_div(fp, tn + fp))}


def completeness_efficiency_curve(y_true01, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Completeness (recall) against efficiency (precision) for every threshold of ``roc_curve``.

    The notes prefer it to the ROC curve when negatives vastly outnumber positives. Point ``i``
    predicts positive every sample with ``score >= thresholds[i]``; efficiency is ``nan`` where
    nothing is predicted positive (the first point).
    """
    y = _labels(y_true01, 2, "y_true01")
    fpr, tpr, thresholds = roc_curve(y, scores)
    pos, neg = int(y.sum()), int(y.size - y.sum())
    tps = np.nan_to_num(tpr) * pos
    fps = np.nan_to_num(fpr) * neg
    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = np.where(tps + fps > 0, tps / np.where(tps + fps > 0, tps + fps, 1.0), np.nan)
    return tpr, efficiency, thresholds
