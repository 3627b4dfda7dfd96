"""k-means and PCA on a session's data: which inputs, and one report that the window and ``main.py cluster`` share.

The inputs are the session dataset's training split, either as the network sees them (after the session's
feature crosses and input scaling — its name is in ``Inputs.description``) or raw (in data coordinates).
Scaling matters to both methods: they measure Euclidean distance and variance, so a feature in
thousands outweighs one in fractions. The true labels, when the dataset has classes, are kept apart and
only used *after* clustering, to say how well the clusters agree with them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .kmeans import Silhouette, adjusted_rand_index, as_points, check_k, contingency, elbow, kmeans
from .pca import pca

SOURCES = ("scaled", "raw")
MAX_ELBOW_K = 10


@dataclass(frozen=True)
class Inputs:
    x: np.ndarray  # (N, d) float64
    labels: np.ndarray | None  # the true classes (classification only), never given to k-means
    class_names: list
    feature_names: list
    description: str


def dataset_inputs(data, source="scaled") -> Inputs:
    """The training inputs of an ``engine.data.Dataset``: ``scaled`` (what the network trains on) or ``raw``."""
    if source not in SOURCES:
        raise InvalidInput(f"inputs must be one of {', '.join(SOURCES)}, got {source!r:.40}")
    x = data.x_train if source == "scaled" else data.raw_x("train")
    x = as_points(x, "training inputs")
    scale = data.preprocess_state.get("scale", "none")
    features = data.preprocess_state.get("features") or []
    if source == "scaled":
        how = f"after the session's scaling ({scale})" if scale != "none" else "unscaled (the session's scaling is none)"
        if features:
            how += " and feature crosses"
        names = list(data.feature_names)
    else:
        how = "raw, before the session's scaling"
        names = list(data.feature_names) if not features else [f"x{i + 1}" for i in range(x.shape[1])]
    if len(names) != x.shape[1]:
        names = [f"x{i + 1}" for i in range(x.shape[1])]
    labels = data.y_train if data.task == "classification" else None
    desc = f"{data.name}: {len(x)} training samples × {x.shape[1]} inputs, {how}"
    return Inputs(x, labels, list(data.class_names) if labels is not None else [], names, desc)


def session_inputs(session, source="scaled") -> Inputs:
    from .data import make_dataset

    return dataset_inputs(make_dataset(session.dataset, seed=session.seed), source)


def elbow_ks(n, k, max_k=MAX_ELBOW_K) -> list:
    """1 … max(max_k, k), never past n."""
    return list(range(1, min(n, max(max_k, k)) + 1))


def _one_blas_thread():
    """Lloyd multiplies small matrices (N × d by d × k) thousands of times; multi-threaded OpenBLAS spends
    longer waking its threads than multiplying, worst when the cores are busy (the digits, k = 10: 6.6 s
    against 1.2 s on one thread, measured on 2 shared cores). threadpoolctl (it comes with scikit-learn)
    limits it (the whole process's BLAS, for the seconds this takes) when installed; without it the numbers
    are the same, only slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def analyse(inputs: Inputs, k, *, n_init=10, seed=0, n_pca=None, elbow_k=None, progress=None,
            should_stop=None) -> dict:
    """Cluster into ``k``, sweep k for the elbow, score the silhouette, fit PCA; a dict of plain values plus
    the result objects (``kmeans``, ``pca``, ``elbow``) for drawing."""
    with _one_blas_thread():
        return _analyse(inputs, k, n_init=n_init, seed=seed, n_pca=n_pca, elbow_k=elbow_k, progress=progress,
                        should_stop=should_stop)


def _analyse(inputs, k, *, n_init, seed, n_pca, elbow_k, progress, should_stop):
    x = inputs.x
    k = check_k(k, len(x))
    say = progress or (lambda _text: None)
    say(f"k-means with k = {k}, {n_init} restarts…")
    km = kmeans(x, k, n_init=n_init, seed=seed)
    ks = elbow_ks(len(x), k) if elbow_k is None else list(elbow_k)
    say(f"elbow sweep over k = {ks[0]}…{ks[-1]}…")
    sweep = elbow(x, ks, n_init=max(1, min(n_init, 5)), seed=seed, should_stop=should_stop)
    say("silhouettes…")
    score = Silhouette(x, seed=seed)
    sil = score(km.labels)
    sweep_sil = [score(r.labels) for r in sweep]
    fitted = pca(x)
    m = len(fitted.components) if n_pca is None else n_pca
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= len(fitted.components):
        raise InvalidInput(f"--pca must be 1 to {len(fitted.components)} components for these inputs, got {m!r:.40}")
    rep = {
        "inputs": inputs.description, "n": len(x), "d": x.shape[1], "k": k, "seed": int(seed), "n_init": n_init,
        "inertia": km.inertia, "sizes": km.sizes, "iterations": km.n_iter, "converged": km.converged,
        "restart_inertias": km.restarts, "silhouette": sil, "centroids": km.centroids.tolist(),
        "elbow": [{"k": r.k, "inertia": r.inertia, "silhouette": s} for r, s in zip(sweep, sweep_sil)],
        "pca": {"components": int(m), "explained_variance": fitted.explained_variance[:m].tolist(),
                "explained_variance_ratio": fitted.explained_variance_ratio[:m].tolist(),
                "cumulative_ratio": fitted.cumulative_ratio[:m].tolist(),
                "loadings": {name: fitted.loadings[j, :m].tolist() for j, name in enumerate(inputs.feature_names)},
                "reconstruction_error": fitted.error_curve(x)[:m + 1]},
        "labels_used": False,
    }
    if inputs.labels is not None:
        table, rows, cols = contingency(inputs.labels, km.labels)
        rep["agreement"] = {"ari": adjusted_rand_index(inputs.labels, km.labels),
                            "classes": [inputs.class_names[int(r)] if int(r) < len(inputs.class_names) else str(r)
                                        for r in rows],
                            "clusters": [int(c) for c in cols], "table": table.tolist()}
    rep["_objects"] = {"kmeans": km, "pca": fitted, "elbow": sweep}
    return rep
