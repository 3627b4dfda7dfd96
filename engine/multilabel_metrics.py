"""Metrics for multi-label classification (lecture 002: one sigmoid and one binary cross-entropy per label).

Each sample carries k independent yes/no labels, so "accuracy" has two readings and both are reported:

* **per-label accuracy**, averaged over all N·k decisions, which is ``1 − Hamming loss`` (the Hamming
  loss is the fraction of label decisions that are wrong); it is what the training curves call accuracy;
* **subset accuracy** (exact match): the fraction of samples whose k labels are *all* right, much
  stricter -- with 3 labels each right 90 % of the time independently it is only 0.9³ ≈ 0.73.

Precision, recall and F1 are computed per label (label j is the positive class of its own binary
problem); **macro** averages them over labels, **micro** pools the TP/FP/FN counts of every label first
(so frequent labels weigh more). ROC/AUC are per label too (``nan`` for a label that is always on or
always off in the split); their macro mean is the headline AUC. Zero denominators give 0, as in
``engine.metrics``.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidInput
from .metrics import LOGIT_LOSSES, PROBABILITY_LOSSES, _safe_div, _sigmoid, auc, roc_curve


def _targets(y, what="y_true") -> np.ndarray:
    t = np.asarray(y, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise InvalidInput(f"multi-label {what} must have shape (N, k), got {t.shape}")
    if not np.isin(t, (0.0, 1.0)).all():
        bad = np.argwhere(~np.isin(t, (0.0, 1.0)))[0]
        raise InvalidInput(f"multi-label {what}[{bad[0]}][{bad[1]}] is {t[tuple(bad)]:g}; labels are 0 or 1")
    return t.astype(np.int64)


def _pair(y_true, y_pred):
    t, p = _targets(y_true), _targets(y_pred, "y_pred")
    if t.shape != p.shape:
        raise InvalidInput(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t, p


def label_probabilities(output, loss_name: str) -> np.ndarray:
    """P(label j) per sample and label, ``(N, k)``: the sigmoid of raw scores for a logit loss (``bce_logits``),
    the output itself (clipped to [0, 1]) for ``bce``; an unknown loss reads [0, 1] outputs as probabilities."""
    out = np.asarray(output, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    name = str(loss_name).lower()
    is_prob = name in PROBABILITY_LOSSES or (name not in LOGIT_LOSSES and bool(np.all((out >= 0) & (out <= 1))))
    return np.clip(out, 0.0, 1.0) if is_prob else _sigmoid(out)


def decide(probabilities, threshold: float = 0.5) -> np.ndarray:
    """Label j is on where P(label j) ≥ ``threshold`` (one threshold for every label)."""
    return (np.asarray(probabilities, dtype=np.float64) >= float(threshold)).astype(np.int64)


def hamming_loss(y_true, y_pred) -> float:
    """Fraction of the N·k label decisions that are wrong."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t != p)) if t.size else float("nan")


def subset_accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose labels are all right (exact match)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.all(t == p, axis=1))) if len(t) else float("nan")


def label_counts(y_true, y_pred) -> dict:
    """Per label: TP, FP, FN, TN arrays of length k."""
    t, p = _pair(y_true, y_pred)
    return {"tp": ((t == 1) & (p == 1)).sum(0), "fp": ((t == 0) & (p == 1)).sum(0),
            "fn": ((t == 1) & (p == 0)).sum(0), "tn": ((t == 0) & (p == 0)).sum(0)}


def precision_recall_f1(y_true, y_pred, average: str | None = "macro"):
    """Per-label precision, recall, F1 (``average=None``: arrays of length k), their ``"macro"`` means over
    labels, or ``"micro"`` from the counts pooled over labels."""
    if average not in ("macro", "micro", None):
        raise InvalidInput(f"average must be 'macro', 'micro' or None, got {average!r}")
    c = label_counts(y_true, y_pred)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    prec, rec = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * prec * rec, prec + rec)
    if average == "micro":
        return float(prec), float(rec), float(f1)
    if average is None:
        return prec, rec, f1
    return float(np.mean(prec)), float(np.mean(rec)), float(np.mean(f1))


def label_aucs(y_true, probabilities) -> list:
    """ROC AUC of each label (``nan`` where the split has only positives or only negatives of it)."""
    t = _targets(y_true)
    s = np.asarray(probabilities, dtype=np.float64).reshape(t.shape)
    return [auc(*roc_curve(t[:, j], s[:, j])[:2]) if 0 < t[:, j].sum() < len(t) else float("nan")
            for j in range(t.shape[1])]


def macro_auc(aucs) -> float:
    ok = [a for a in aucs if a == a]
    return float(np.mean(ok)) if ok else float("nan")


def evaluate_multilabel(output, y_true, loss_name: str, threshold: float = 0.5) -> dict:
    """The epoch metrics of a multi-label network: ``accuracy`` (per label, = 1 − ``hamming_loss``),
    ``subset_accuracy``, macro ``precision``/``recall``/``f1``, ``micro_f1`` and macro ``auc``.
    Non-finite outputs (a diverged network) give ``nan`` everywhere."""
    out = np.asarray(output, dtype=np.float64)
    out = out[:, None] if out.ndim == 1 else out
    t = _targets(y_true)
    if t.shape != out.shape:
        raise InvalidInput(f"multi-label targets have shape {t.shape} but the output has shape {out.shape}; "
                           f"give the last layer one unit per label ({t.shape[1]})")
    keys = ("accuracy", "subset_accuracy", "hamming_loss", "precision", "recall", "f1", "micro_f1", "auc")
    if not np.all(np.isfinite(out)):
        return dict.fromkeys(keys, float("nan"))
    probs = label_probabilities(out, loss_name)
    pred = decide(probs, threshold)
    hl = hamming_loss(t, pred)
    prec, rec, f1 = precision_recall_f1(t, pred, "macro")
    return {"accuracy": 1.0 - hl, "subset_accuracy": subset_accuracy(t, pred), "hamming_loss": hl,
            "precision": prec, "recall": rec, "f1": f1, "micro_f1": precision_recall_f1(t, pred, "micro")[2],
            "auc": macro_auc(label_aucs(t, probs))}
