"""Entropy of the network's predictions (lecture 002: S = −Σ p(x) ln p(x)) and cross-entropy = entropy + KL.

Lecture 002 introduces the classification losses through entropy: "Entropy signifies uncertainty ... If the
entropy is larger, we are less sure about x being from p(x)." The losses ``bce`` and ``cross_entropy`` are
cross-entropies H(p, q) = −Σ p ln q of the labels p and the predictions q, and H(p, q) = H(p) + KL(p‖q).
This module makes both visible as numbers of their own:

* the **predictive entropy** of every sample: the entropy of the predicted class distribution (softmax),
  of (P(class 1), 1 − P(class 1)) for one sigmoid output, and for multi-label data the binary entropy of each
  label (a sample's value is their sum, the entropy of the joint prediction of independent labels, as the
  loss sums its labels too; each label's mean is reported as well), in nats (ln, as the notes write it) and
  in bits (log₂; 1 bit is a fair coin), with the largest possible value (ln k; k·ln 2 for k labels) beside it;
* the identity, checked on the run's own predictions twice: per sample, with the one-hot labels as p (their
  entropy is 0, so the mean loss *is* the KL divergence of the predictions from the labels), and on the class
  frequencies of the split against the mean predicted distribution, where H(p) is not 0.

Conventions: 0 · ln 0 = 0; ln q is taken of max(q, 1e-12), the same clipped value in H(p, q) and in KL, so the
identity holds to rounding and a confident wrong prediction costs ln(1e12) ≈ 27.6 nats instead of infinity.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidInput

EPS = 1e-12  # the floor of q inside ln q
LN2 = math.log(2.0)
# losses whose outputs are calibrated probabilities (or logits of them); a hinge loss gives ranking scores
PROBABILISTIC_LOSSES = ("bce", "bce_logits", "cross_entropy", "nll")


def _dist(p, what="p") -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 1:
        raise InvalidInput(f"{what} must be a distribution per row (N, k), got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InvalidInput(f"{what} must hold finite non-negative probabilities")
    return a


def _plogp(p):
    out = np.zeros_like(p)
    m = p > 0
    out[m] = p[m] * np.log(p[m])
    return out


def entropy(p) -> np.ndarray:
    """S = −Σ_x p(x) ln p(x) of each row of ``p`` (N, k), in nats; 0 · ln 0 = 0."""
    return -_plogp(_dist(p)).sum(axis=1)


def binary_entropy(p1) -> np.ndarray:
    """The entropy of (p, 1 − p) for each p, in nats: ln 2 at p = ½, 0 at p = 0 or 1."""
    p = np.clip(np.asarray(p1, dtype=np.float64).reshape(-1), 0.0, 1.0)
    return -(_plogp(p) + _plogp(1.0 - p))


def cross_entropy(p, q) -> np.ndarray:
    """H(p, q) = −Σ_x p(x) ln q(x) per row, with ln of max(q, 1e-12)."""
    p, q = _dist(p), _dist(q, "q")
    if p.shape != q.shape:
        raise InvalidInput(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return -(p * np.log(np.maximum(q, EPS))).sum(axis=1)


def kl_divergence(p, q) -> np.ndarray:
    """KL(p‖q) = Σ_x p(x) ln(p(x)/q(x)) per row (terms with p(x) = 0 are 0), ln q clipped as in cross_entropy."""
    p, q = _dist(p), _dist(q, "q")
    if p.shape != q.shape:
        raise InvalidInput(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return (_plogp(p) - p * np.log(np.maximum(q, EPS))).sum(axis=1)


def _two_columns(p1):
    p = np.clip(np.asarray(p1, dtype=np.float64).reshape(-1), 0.0, 1.0)
    return np.stack([1.0 - p, p], axis=1)


def _identity(p, q) -> dict:
    """Mean H(p, q), H(p) and KL(p‖q) over the rows, and how far H(p, q) − H(p) − KL is from 0."""
    ce, h, kl = (float(np.mean(f(p, q))) for f in (cross_entropy, lambda a, _b: entropy(a), kl_divergence))
    return {"cross_entropy": ce, "entropy": h, "kl": kl, "gap": ce - h - kl}


def prediction_distributions(scores, task: str) -> list[np.ndarray]:
    """The predicted distributions whose entropy is reported: one (N, k) array for a classifier (two columns
    (1 − p, p) for one sigmoid output), one (N, 2) array per label for multi-label data."""
    s = np.asarray(scores, dtype=np.float64)
    if task == "multilabel":
        s = s.reshape(len(s), -1)
        return [_two_columns(s[:, j]) for j in range(s.shape[1])]
    if s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 1):
        return [_two_columns(s)]
    return [_dist(s, "scores")]


def _summary(h: np.ndarray, k: int) -> dict:
    top = math.log(k)
    mean = float(np.mean(h)) if h.size else float("nan")
    return {"mean_nats": mean, "mean_bits": mean / LN2, "max_nats": top, "max_bits": top / LN2,
            "fraction_of_max": mean / top if top else float("nan")}


def entropy_report(y, scores, task: str, *, loss_name: str = "", class_names=None, x=None, top: int = 10) -> dict:
    """The evaluation views' entropy numbers for labels ``y`` and predicted ``scores`` of one split.

    ``per_sample`` (nats), the mean in nats and bits against the largest possible (ln k), a histogram, the
    ``top`` most uncertain samples (index in the split, inputs ``x`` if given, true and predicted class,
    probabilities), per label for multi-label data, and ``identity``: H(y, q) = H(y) + KL(y‖q) per sample and
    on the split's class frequencies against the mean prediction. ``calibrated`` is False for a hinge loss,
    whose sigmoid/softmax scores rank samples but are not probabilities.
    """
    if task not in ("classification", "multilabel"):
        raise InvalidInput(f"entropy needs class probabilities; a {task} network predicts values")
    dists = prediction_distributions(scores, task)
    n = len(dists[0])
    if n == 0:
        raise InvalidInput("the split is empty: no predictions to take the entropy of")
    per_label_h = np.stack([entropy(d) for d in dists], axis=1)  # (N, labels)
    h = per_label_h.sum(axis=1)  # multi-label: the labels' entropies add up (independent sigmoids)
    k = dists[0].shape[1] ** len(dists)  # outcomes: k classes, or 2^labels label combinations
    if task == "multilabel":
        yy = np.asarray(y, dtype=np.float64).reshape(n, -1)
        truths = [_two_columns(yy[:, j]) for j in range(yy.shape[1])]
    else:
        labels = np.asarray(y).astype(np.int64).reshape(-1)
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise InvalidInput(f"labels must lie in 0..{k - 1}, got {labels.min()}..{labels.max()}")
        truths = [np.eye(k)[labels]]
    rep = {"task": task, "n": n, "outcomes": k, "per_sample": h.tolist(), **_summary(h, k),
           "calibrated": str(loss_name).lower() in PROBABILISTIC_LOSSES,
           "unit_note": "nats use ln as the notes do; bits = nats / ln 2"}
    counts, edges = np.histogram(h, bins=20, range=(0.0, math.log(k)))  # the range ends at the largest entropy
    rep["histogram"] = {"counts": counts.astype(int).tolist(), "edges": edges.tolist()}
    # per sample: the labels are p, so H(p) = 0 for hard labels and the mean loss equals the mean KL
    per = [_identity(t, d) for t, d in zip(truths, dists)]
    rep["identity"] = {"per_sample": {key: float(np.sum([p[key] for p in per])) for key in per[0]}}
    marg = [_identity(t.mean(axis=0), d.mean(axis=0)) for t, d in zip(truths, dists)]
    rep["identity"]["marginal"] = {key: float(np.sum([m[key] for m in marg])) for key in marg[0]}
    rep["identity"]["marginal"]["p"] = [t.mean(axis=0).tolist() for t in truths]
    rep["identity"]["marginal"]["q"] = [d.mean(axis=0).tolist() for d in dists]
    if task == "multilabel":
        names = list(class_names) if class_names else [f"label {j + 1}" for j in range(len(dists))]
        rep["per_label"] = [{"label": names[j], **_summary(per_label_h[:, j], 2)} for j in range(len(dists))]
    order = np.argsort(-h, kind="stable")[:max(0, int(top))]
    xs = None if x is None else np.asarray(x, dtype=np.float64).reshape(n, -1)
    rows = []
    for i in order:
        probs = [d[i].tolist() for d in dists]
        row = {"index": int(i), "entropy_nats": float(h[i]), "entropy_bits": float(h[i]) / LN2}
        if task == "multilabel":
            row["probabilities"] = [p[1] for p in probs]
            row["true"] = [int(v) for v in np.asarray(y)[i]]
        else:
            row["probabilities"] = probs[0]
            row["true"] = int(labels[i])
            row["predicted"] = int(np.argmax(probs[0]))
        if xs is not None:
            row["x"] = xs[i, :8].tolist()
        rows.append(row)
    rep["most_uncertain"] = rows
    if xs is not None and xs.shape[1] == 2:  # 2-D inputs: the points, for a map of the entropy in the input plane
        rep["points"] = xs.tolist()
    return rep
