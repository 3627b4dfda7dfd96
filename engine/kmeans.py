"""k-means clustering (lecture 003 §1.1, unsupervised learning): Lloyd's algorithm with k-means++ seeding.

Unsupervised means no label is looked at: the algorithm only sees the inputs and looks for structure in
them. Lloyd's algorithm alternates two phases, each of which can only lower the within-cluster sum of
squares (the *inertia*): **assign** every point to its nearest centroid, then **update** every centroid to
the mean of its points. Every step is recorded (``KMeansResult.steps``) so the window can walk through
them. The start matters — Lloyd finds a local minimum — so the centroids are seeded by k-means++ (far
apart with probability ∝ D²) from a ``numpy.random.Generator`` of the given seed, and the best of
``n_init`` restarts is kept. Plain numpy, no scikit-learn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput

MAX_ITER = 300
MAX_SILHOUETTE_N = 3000  # silhouette needs all n² distances; beyond this a seeded subsample is scored


def as_points(x, what="inputs") -> np.ndarray:
    """``x`` as float64 (N, d): images and other shapes are flattened; NaN, infinities and N < 2 refused."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim < 2 or x.shape[0] == 0:
        raise InvalidInput(f"the {what} are empty: there is nothing to cluster")
    x = x.reshape(len(x), -1)
    if x.shape[1] == 0:
        raise InvalidInput(f"the {what} have no features")
    if len(x) < 2:
        raise InvalidInput(f"the {what} hold a single sample: clustering and PCA need at least 2")
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InvalidInput(f"the {what} hold {int(bad.sum())} NaN or infinite values (the first at sample {r}, "
                           f"feature {c}): remove or fill them first")
    return x


def check_k(k, n) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidInput(f"k must be a whole number of clusters, got {k!r:.40}")
    if k < 1:
        raise InvalidInput(f"k must be at least 1 cluster, got {k}")
    if k > n:
        raise InvalidInput(f"k = {k} clusters is more than the {n} samples: choose k ≤ {n}")
    return int(k)


def sq_distances(x, centroids, xx=None) -> np.ndarray:
    """(N, k) squared Euclidean distances, clipped at 0 (the expanded form can round a hair below);
    ``xx`` = Σ x² per row when the caller has it already."""
    xx = (x * x).sum(1) if xx is None else xx
    d = xx[:, None] - 2.0 * x @ centroids.T + (centroids * centroids).sum(1)[None, :]
    return np.maximum(d, 0.0)


def inertia(x, centroids, labels) -> float:
    """Within-cluster sum of squares: Σᵢ ‖xᵢ − c_{label i}‖²."""
    diff = x - centroids[labels]
    return float((diff * diff).sum())


def kmeans_plus_plus(x, k, rng) -> np.ndarray:
    """Arthur & Vassilvitskii's seeding: the first centroid uniformly, each next one with probability ∝ D(x)²,
    D the distance to the nearest centroid chosen so far (spread-out starts, fewer bad local minima)."""
    n = len(x)
    idx = [int(rng.integers(n))]
    d2 = sq_distances(x, x[idx])[:, 0]
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0.0:
            distinct = len(np.unique(x, axis=0))
            raise InvalidInput(f"k = {k} clusters but the data hold only {distinct} distinct points: choose k ≤ "
                               f"{distinct}")
        i = int(rng.choice(n, p=d2 / total))
        idx.append(i)
        d2 = np.minimum(d2, sq_distances(x, x[i:i + 1])[:, 0])
    return x[idx].copy()


@dataclass(frozen=True)
class Step:
    """One phase of Lloyd's algorithm: the centroids and assignment after it, and the inertia of that pair.

    ``phase`` is "init" (the seeded centroids, nothing assigned yet: ``labels`` is None), "assign" (each point
    to its nearest centroid) or "update" (each centroid moved to the mean of its points).
    """

    phase: str
    iteration: int
    centroids: np.ndarray
    labels: np.ndarray | None
    inertia: float | None
    moved: int = 0  # assign: points that changed cluster; update: empty clusters re-seeded


def lloyd(x, centroids, max_iter=MAX_ITER):
    """Run Lloyd from ``centroids`` until an assignment repeats (then the update repeats too: converged).

    An empty cluster is re-seeded at the point farthest from its centroid, which only lowers the inertia.
    Returns ``(steps, converged)``.
    """
    c = np.array(centroids, dtype=np.float64)
    k = len(c)
    steps = [Step("init", 0, c.copy(), None, None)]
    prev = None
    xx = (x * x).sum(1)
    rows = np.arange(len(x))
    for it in range(1, max_iter + 1):
        d2 = sq_distances(x, c, xx)
        labels = d2.argmin(1).astype(np.int32)
        if prev is not None and np.array_equal(labels, prev):
            return steps, True
        moved = len(x) if prev is None else int((labels != prev).sum())
        steps.append(Step("assign", it, c.copy(), labels.copy(), float(d2[rows, labels].sum()), moved))
        counts = np.bincount(labels, minlength=k)
        onehot = np.zeros((len(x), k))
        onehot[rows, labels] = 1.0
        new = onehot.T @ x  # per-cluster sums
        empty = np.flatnonzero(counts == 0)
        reseeded = len(empty)
        if len(empty):  # the points farthest from their centroids start the empty clusters
            order = np.argsort(-((x - c[labels]) ** 2).sum(1), kind="stable")
            for far in order:
                if not len(empty):
                    break
                if counts[labels[far]] < 2:
                    continue  # it would empty its own cluster
                j, empty = empty[0], empty[1:]
                counts[labels[far]] -= 1
                new[labels[far]] -= x[far]
                labels[far] = j
                counts[j], new[j] = 1, x[far]
        c = new / counts[:, None]
        # each cluster's Σ‖x − mean‖² = Σ‖x‖² − n·‖mean‖²: no second pass over the points
        steps.append(Step("update", it, c.copy(), labels.copy(),
                          max(float(xx.sum() - (counts * (c * c).sum(1)).sum()), 0.0), reseeded))
        prev = labels
    return steps, False


@dataclass(frozen=True)
class KMeansResult:
    k: int
    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    steps: list = field(repr=False)  # the best restart's Lloyd steps (Step)
    restarts: list = field(default_factory=list)  # the final inertia of every restart, in order
    seed: int = 0

    @property
    def sizes(self) -> list:
        return np.bincount(self.labels, minlength=self.k).tolist()


def kmeans(x, k, *, n_init=10, seed=0, max_iter=MAX_ITER) -> KMeansResult:
    """The best (lowest inertia) of ``n_init`` k-means++-seeded Lloyd runs; restarts draw one after the other
    from ``np.random.default_rng(seed)``, so the same seed gives the same clustering."""
    x = as_points(x)
    k = check_k(k, len(x))
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or not 1 <= n_init <= 1000:
        raise InvalidInput(f"n_init (restarts) must be a whole number from 1 to 1000, got {n_init!r:.40}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidInput(f"max_iter must be a whole number ≥ 1, got {max_iter!r:.40}")
    rng = np.random.default_rng(seed)
    best, restarts = None, []
    for _ in range(int(n_init)):
        steps, converged = lloyd(x, kmeans_plus_plus(x, k, rng), max_iter)
        last = steps[-1]
        restarts.append(inertia(x, last.centroids, last.labels))  # exact, not the steps' running form
        if best is None or restarts[-1] < best[2]:
            best = (steps, converged, restarts[-1])
    steps, converged, value = best
    last = steps[-1]
    return KMeansResult(k, last.centroids, last.labels, value, last.iteration, converged, steps, restarts, int(seed))


def elbow(x, ks, *, n_init=5, seed=0, max_iter=MAX_ITER, should_stop=None) -> list:
    """Inertia of the best clustering for each k in ``ks`` (it falls as k grows; look for the bend, the
    'elbow', past which more clusters stop paying). Returns the KMeansResult of each k."""
    x = as_points(x)
    out = []
    for k in ks:
        if should_stop is not None and should_stop():
            break
        out.append(kmeans(x, int(k), n_init=n_init, seed=seed, max_iter=max_iter))
    return out


def silhouette(x, labels, *, max_n=MAX_SILHOUETTE_N, seed=0):
    """Mean silhouette (b − a)/max(a, b): a is a point's mean distance to the rest of its cluster, b the
    smallest mean distance to another cluster; 1 = tight and well apart, ≈ 0 = on a border, < 0 = closer to
    another cluster. A point alone in its cluster scores 0. ``None`` when k < 2 or k = n (undefined).

    Above ``max_n`` points a seeded random subsample of ``max_n`` is scored (the n² distances would not fit).
    """
    return Silhouette(x, max_n=max_n, seed=seed)(labels)


class Silhouette:
    """``silhouette`` for many labelings of the same points: the n² distances are computed once."""

    def __init__(self, x, *, max_n=MAX_SILHOUETTE_N, seed=0):
        x = as_points(x)
        self.n = len(x)
        self.keep = None
        if len(x) > max_n:
            self.keep = np.sort(np.random.default_rng(seed).choice(len(x), max_n, replace=False))
            x = x[self.keep]
        self.d = np.sqrt(sq_distances(x, x))
        np.fill_diagonal(self.d, 0.0)

    def __call__(self, labels):
        labels = np.asarray(labels)
        if len(labels) != self.n:
            raise InvalidInput(f"{len(labels)} labels for {self.n} points")
        ids, labels = np.unique(labels, return_inverse=True)
        if not 2 <= len(ids) <= self.n - 1:
            return None
        if self.keep is not None:
            labels = labels[self.keep]
            if len(np.unique(labels)) < 2:
                return None
        d, m = self.d, len(labels)
        k = int(labels.max()) + 1
        onehot = np.zeros((m, k))
        onehot[np.arange(m), labels] = 1.0
        counts = onehot.sum(0)
        sums = d @ onehot  # (m, k): total distance from each point to each cluster
        own = counts[labels]
        a = np.where(own > 1, sums[np.arange(m), labels] / np.maximum(own - 1, 1), 0.0)
        mean_other = np.where(onehot > 0, np.inf, sums / np.where(counts > 0, counts, 1.0))
        mean_other[:, counts == 0] = np.inf
        b = mean_other.min(1)
        denom = np.maximum(a, b)
        s = np.where((own > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
        return float(s.mean())


def contingency(a, b):
    """Counts of each (a, b) pair: rows the values of ``a``, columns those of ``b``; and both value lists."""
    ra, ia = np.unique(np.asarray(a), return_inverse=True)
    rb, ib = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((len(ra), len(rb)), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table, ra.tolist(), rb.tolist()


def adjusted_rand_index(a, b) -> float:
    """Hubert & Arabie's ARI: 1 for the same partition (whatever the cluster numbers), ≈ 0 for chance."""
    if len(a) != len(b):
        raise InvalidInput(f"the two labelings have {len(a)} and {len(b)} samples")
    table, _, _ = contingency(a, b)

    def pairs(v):
        v = np.asarray(v, dtype=np.float64)
        return float((v * (v - 1) / 2).sum())

    n = float(table.sum())
    index, ra, rb, total = pairs(table), pairs(table.sum(1)), pairs(table.sum(0)), n * (n - 1) / 2
    expected = ra * rb / total if total else 0.0
    top = (ra + rb) / 2
    if top == expected:  # both partitions trivial (one cluster each, or all singletons): identical
        return 1.0
    return float((index - expected) / (top - expected))
