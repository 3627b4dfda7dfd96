"""Everything the evaluation views show, for one trained network and one split, as plain numbers.

``engine.metrics`` has the formulas; this module applies them to a ``Run`` the way the window and
``main.py evaluate`` need them: a frozen copy of the network (``Frozen``: taken between two steps, so a
training that goes on cannot change the numbers half-way through a report), the ROC curve with its AUC
and the completeness-versus-efficiency curve of lecture 002, precision/recall/F1 per class, the rates at
a chosen threshold, residuals for regression, and the learning curve of lecture 000 (the error against
the number of training samples), computed with fresh ``Run``s on nested subsets of the training split.
Multi-label data (several labels per sample) gets per-label precision/recall/F1 and ROC, their micro and
macro averages, the Hamming loss and the subset accuracy, all at one threshold for every label.
Classifiers also get the entropy of their predictions (``engine.entropy``: per sample, the most uncertain
samples, and cross-entropy = entropy + KL on the split's own labels).
"""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from .errors import InvalidInput
from .metrics import (binary_rates, completeness_efficiency_curve, confusion_matrix, mae, precision_recall_f1, predictions,
                      r2, rmse, roc_auc, roc_curve)

SPLITS = ("train", "val", "test")


class Frozen:
    """A copy of a run's network and data at one moment: predictions that a running training cannot change.

    Taken under ``run.snapshot()`` (between two steps). ``outputs(x_raw)`` gives the network's raw outputs
    for inputs in data units (the dataset's fitted scaling and crosses applied first); ``scores`` turns them
    into class probabilities (P(class 1) for a binary network) or regression values.
    """

    def __init__(self, source):
        lock = source.snapshot() if hasattr(source, "snapshot") else _nolock(source)  # a Run, or a Trainer
        with lock as tr:
            self.data = tr.data
            self.loss_name = tr.loss_name
            self.session = tr.session.copy()
            # the compiled path keeps its model's parameters equal to its numba arrays between two steps too
            self.model = copy.deepcopy(tr.model).cpu().eval()
        self.task = self.data.task
        self.n_classes = self.data.n_classes

    def outputs(self, x_raw, *, preprocessed: bool = False) -> np.ndarray:
        x = np.asarray(x_raw, dtype=np.float32)
        state = self.data.preprocess_state
        if state and not preprocessed:
            from .data.preprocess import apply_preprocess

            x = apply_preprocess(x, state)
        import torch

        dtype = next(self.model.parameters()).dtype if any(True for _ in self.model.parameters()) else torch.float32
        with torch.no_grad():
            t = torch.as_tensor(x, dtype=dtype)
            out = torch.cat([self.model(t[i:i + 4096]) for i in range(0, len(t), 4096)]) if len(t) else None
        return out.float().numpy() if out is not None else np.zeros((0, self.data.n_outputs), np.float32)

    def scores(self, x_raw) -> np.ndarray:
        """Classification: P(class 1) ``(N,)`` for a binary network, ``(N, k)`` probabilities otherwise; multi-label:
        P(label j) ``(N, k)``; regression: the predicted values ``(N, k)``."""
        out = self.outputs(x_raw)
        if self.task == "multilabel":
            from .multilabel_metrics import label_probabilities

            return label_probabilities(out, self.loss_name)
        if self.task != "classification":
            return out.astype(np.float64)
        return predictions(out, self.loss_name)[1]

    def split(self, split: str):
        """(raw x, y) of a split; an empty split is refused with the reason."""
        if split not in SPLITS:
            raise InvalidInput(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
        x, y = self.data.raw_x(split), self.data.split(split)[1]
        if len(y) == 0:
            sizes = self.data.sizes
            others = [s for s in SPLITS if sizes[s]]
            raise InvalidInput(f"the {split} split is empty (sizes: " +
                               ", ".join(f"{s} {sizes[s]}" for s in SPLITS) + ")" +
                               (f"; choose {' or '.join(others)}" if others else ""))
        return np.asarray(x), np.asarray(y)


class _nolock:
    def __init__(self, tr):
        self.tr = tr

    def __enter__(self):
        return self.tr

    def __exit__(self, *exc):
        return False


def _finite(a):
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def at_threshold(y01, p1, threshold: float) -> dict:
    """Confusion counts and lecture 002's rates when every sample with P(class 1) ≥ ``threshold`` is called positive."""
    t = float(threshold)
    if not np.isfinite(t):
        raise InvalidInput(f"threshold must be a number, got {threshold!r}")
    pred = (np.asarray(p1, dtype=np.float64) >= t).astype(np.int64)
    rates = binary_rates(y01, pred)
    prec, rec, f1 = precision_recall_f1(y01, pred, 2, "binary")
    return dict(rates, threshold=t, accuracy=float(np.mean(pred == np.asarray(y01))), precision=prec, recall=rec,
                f1=f1)


def classification_report(y, scores, n_classes: int, class_names=None, *, threshold: float = 0.5) -> dict:
    """Every number of the classification views from labels and scores (P(class 1) or ``(N, k)`` probabilities).

    Binary: the ROC curve (fpr, tpr, thresholds) and AUC, the completeness/efficiency curve, and the rates at
    ``threshold``. Multi-class: one-vs-rest ROC curves and their mean AUC. Both: accuracy, precision, recall and
    F1 per class, their macro means, and the confusion matrix (rows true, columns predicted) of argmax/threshold.
    """
    y = np.asarray(y).astype(np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64)
    n = int(n_classes)
    names = list(class_names) if class_names else [str(c) for c in range(n)]
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    binary = s.ndim == 1
    pred = (s >= threshold).astype(np.int64) if binary else s.argmax(axis=1)
    prec, rec, f1 = precision_recall_f1(y, pred, n, None)
    support = np.bincount(y, minlength=n)
    rep = {
        "task": "classification", "n": int(y.size), "n_classes": n, "class_names": names,
        "accuracy": float(np.mean(pred == y)),
        "per_class": [{"class": names[c], "precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                       "support": int(support[c])} for c in range(n)],
        "macro": {"precision": float(np.mean(prec)), "recall": float(np.mean(rec)), "f1": float(np.mean(f1))},
        "confusion": confusion_matrix(y, pred, n).tolist(),
        "auc": roc_auc(y, s, n),
    }
    if binary:
        fpr, tpr, thr = roc_curve(y, s)
        comp, eff, thr2 = completeness_efficiency_curve(y, s)
        rep["roc"] = {"fpr": _finite(fpr), "tpr": _finite(tpr), "thresholds": _finite(thr)}
        rep["completeness_efficiency"] = {"completeness": _finite(comp), "efficiency": _finite(eff),
                                          "thresholds": _finite(thr2)}
        rep["at_threshold"] = at_threshold(y, s, threshold)
    else:
        curves = []
        for c in range(n):
            yc = (y == c).astype(np.int64)
            if 0 < yc.sum() < yc.size:
                fpr, tpr, _ = roc_curve(yc, s[:, c])
                from .metrics import auc

                curves.append({"class": names[c], "fpr": _finite(fpr), "tpr": _finite(tpr), "auc": auc(fpr, tpr)})
        rep["roc_per_class"] = curves
    return rep


def multilabel_at_threshold(y, probs, threshold: float = 0.5, label_names=None) -> dict:
    """The threshold-dependent numbers of a multi-label report: every label is on where P(label j) ≥ ``threshold``.

    Per label precision, recall, F1, accuracy and TP/FP/FN/TN; their macro (mean over labels) and micro (counts
    pooled over labels) averages; the Hamming loss (wrong label decisions / N·k) and the subset accuracy (samples
    with every label right).
    """
    from . import multilabel_metrics as ml

    t = float(threshold)
    if not np.isfinite(t):
        raise InvalidInput(f"threshold must be a number, got {threshold!r}")
    y = np.asarray(y, dtype=np.int64)
    pred = ml.decide(probs, t)
    k = y.shape[1]
    names = list(label_names) if label_names else [f"label {j + 1}" for j in range(k)]
    prec, rec, f1 = ml.precision_recall_f1(y, pred, None)
    c = ml.label_counts(y, pred)
    per = [{"label": names[j], "precision": float(prec[j]), "recall": float(rec[j]), "f1": float(f1[j]),
            "accuracy": float(np.mean(y[:, j] == pred[:, j])), "support": int(y[:, j].sum()),
            **{key: int(c[key][j]) for key in ("tp", "fp", "fn", "tn")}} for j in range(k)]
    macro = dict(zip(("precision", "recall", "f1"), ml.precision_recall_f1(y, pred, "macro")))
    micro = dict(zip(("precision", "recall", "f1"), ml.precision_recall_f1(y, pred, "micro")))
    hl = ml.hamming_loss(y, pred)
    return {"threshold": t, "per_label": per, "macro": macro, "micro": micro, "hamming_loss": hl,
            "accuracy": 1.0 - hl, "subset_accuracy": ml.subset_accuracy(y, pred)}


def multilabel_report(y, probs, label_names=None, *, threshold: float = 0.5) -> dict:
    """Every number of the multi-label evaluation view: ``multilabel_at_threshold`` plus each label's ROC curve
    and AUC (labels always on or always off in the split have none) and the macro AUC."""
    from . import multilabel_metrics as ml

    y = np.asarray(y, dtype=np.int64)
    s = np.asarray(probs, dtype=np.float64).reshape(y.shape)
    rep = {"task": "multilabel", "n": int(len(y)), "n_labels": int(y.shape[1])}
    rep.update(multilabel_at_threshold(y, s, threshold, label_names))
    names = [r["label"] for r in rep["per_label"]]
    aucs = ml.label_aucs(y, s)
    curves = []
    for j, a in enumerate(aucs):
        rep["per_label"][j]["auc"] = a
        if a == a:
            fpr, tpr, _ = roc_curve(y[:, j], s[:, j])
            curves.append({"label": names[j], "fpr": _finite(fpr), "tpr": _finite(tpr), "auc": a})
    rep["roc_per_label"] = curves
    rep["auc"] = ml.macro_auc(aucs)
    rep["label_names"] = names
    return rep


def regression_report(y, pred) -> dict:
    """MAE, RMSE, R², and per sample the true value, the prediction and the residual (true − predicted)."""
    t = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    res = t - p
    return {"task": "regression", "n": int(len(t)), "mae": mae(t, p), "rmse": rmse(t, p), "r2": r2(t, p),
            "residual_mean": float(res.mean()), "residual_std": float(res.std()),
            "true": t.tolist(), "predicted": p.tolist(), "residuals": res.tolist()}


def evaluate_run(source, split: str = "test", *, threshold: float = 0.5, frozen: Frozen | None = None) -> dict:
    """The evaluation views' report for ``source`` (a Run, Trainer or Frozen) on ``split``.

    Adds ``split`` and the loss-agnostic ``scores`` (classification) so a view can redraw at another threshold
    without the network.
    """
    f = frozen or (source if isinstance(source, Frozen) else Frozen(source))
    x, y = f.split(split)
    s = f.scores(x)
    if not np.all(np.isfinite(s)):
        raise InvalidInput("the network's outputs are not finite (the training diverged): nothing to evaluate")
    if f.task == "classification":
        rep = classification_report(y, s, f.n_classes, f.data.class_names, threshold=threshold)
        rep["scores"] = s.tolist()
        rep["y"] = y.astype(int).tolist()
    elif f.task == "multilabel":
        rep = multilabel_report(y, s, f.data.class_names, threshold=threshold)
        rep["scores"] = s.tolist()
        rep["y"] = y.astype(int).tolist()
    else:
        rep = regression_report(y, s)
    if f.task in ("classification", "multilabel"):  # lecture 002's entropy of the predictions (engine/entropy.py)
        from .entropy import entropy_report

        rep["entropy"] = entropy_report(y, s, f.task, loss_name=f.loss_name, class_names=f.data.class_names, x=x)
    rep["split"] = split
    return rep


# ---------------------------------------------------------------------------
# Learning curve: the error against the number of training samples (lecture 000)
# ---------------------------------------------------------------------------
DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


def subset_sizes(n_train: int, fractions=DEFAULT_FRACTIONS, minimum: int = 4) -> list[int]:
    """Distinct training-set sizes ``round(f·n)`` (at least ``minimum``, at most ``n``), increasing."""
    if not fractions:
        raise InvalidInput("give at least one fraction of the training set")
    for f in fractions:
        if not isinstance(f, (int, float)) or isinstance(f, bool) or not 0 < f <= 1:
            raise InvalidInput(f"fractions must lie in (0, 1], got {f!r}")
    if n_train < minimum:
        raise InvalidInput(f"the training split has {n_train} samples; a learning curve needs at least {minimum}")
    return sorted({min(n_train, max(minimum, int(round(f * n_train)))) for f in fractions})


def learning_curve(session, *, fractions=DEFAULT_FRACTIONS, epochs: int | None = None, seed: int = 0,
                   should_stop=None, on_point=None, device=None) -> dict:
    """Train a fresh network on nested random subsets of the training split; final train and validation loss.

    Each point is its own ``Run`` (same settings, same initial weights from the session's seed) on the
    first n samples of one fixed permutation (``numpy.random.default_rng(seed)``), so a larger subset
    contains every smaller one. The validation split (the test split if it is empty) is the same for all.
    The notes' reading: a training error that rises and a validation error that falls as n grows,
    meeting at the noise level; a wide gap at the largest n means more data would still help.
    ``should_stop()`` is checked between points; ``on_point(point)`` sees each one as it is done.
    """
    from .data import make_dataset
    from .run import Run
    from .session import Session

    s = session.copy() if isinstance(session, Session) else Session.from_dict(session)
    s.training = dict(s.training or {}, early_stopping=None)
    data = make_dataset(s.dataset, seed=s.seed)
    n = len(data.y_train)
    sizes = subset_sizes(n, fractions)
    eval_split = "val" if len(data.y_val) else "test"
    if len(data.split(eval_split)[1]) == 0:
        raise InvalidInput("a learning curve needs a validation or test split to measure the generalization error on")
    order = np.random.default_rng(seed).permutation(n)
    points = []
    for size in sizes:
        if should_stop is not None and should_stop():
            break
        idx = order[:size]
        sub = replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx])
        run = Run(s, dataset=sub, device=device, path="torch")
        run.fit(epochs)
        tr = run.evaluate("train")
        va = run.evaluate(eval_split)
        point = {"n": int(size), "epochs": run.epoch, "train_loss": tr.get("loss"), "val_loss": va.get("loss"),
                 "train_accuracy": tr.get("accuracy"), "val_accuracy": va.get("accuracy"),
                 "train_r2": tr.get("r2"), "val_r2": va.get("r2")}
        points.append(point)
        if on_point is not None:
            on_point(point)
    return {"eval_split": eval_split, "n_train": n, "sizes": sizes, "points": points, "task": data.task}
