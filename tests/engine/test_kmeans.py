"""k-means (engine/kmeans.py) against explicit sums, brute-force loops and pair counts."""
import itertools

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.kmeans import Silhouette, adjusted_rand_index, contingency, inertia, kmeans, kmeans_plus_plus, lloyd, silhouette


def blobs(seed=0, n=40, centres=((0, 0), (10, 0), (0, 10)), std=0.5):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, std, size=(n, 2)) for c in centres])
    return x, np.repeat(np.arange(len(centres)), n)


def test_three_separated_blobs_are_recovered_exactly():
    x, truth = blobs()
    r = kmeans(x, 3, n_init=5, seed=1)
    assert adjusted_rand_index(truth, r.labels) == 1.0
    assert sorted(r.sizes) == [40, 40, 40] and r.converged
    for c in ((0, 0), (10, 0), (0, 10)):  # each centroid is its blob's mean
        j = int(np.argmin(((r.centroids - c) ** 2).sum(1)))
        assert np.allclose(r.centroids[j], x[r.labels == j].mean(0))


def test_inertia_is_the_explicit_within_cluster_sum():
    x, _ = blobs(seed=3, std=3.0)
    r = kmeans(x, 4, n_init=3, seed=0)
    explicit = sum(float(np.sum((x[i] - r.centroids[r.labels[i]]) ** 2)) for i in range(len(x)))
    assert r.inertia == pytest.approx(explicit, rel=1e-12)
    assert inertia(x, r.centroids, r.labels) == pytest.approx(explicit, rel=1e-12)
    # converged: every point sits with its nearest centroid
    d = ((x[:, None, :] - r.centroids[None]) ** 2).sum(-1)
    assert np.array_equal(d.argmin(1), r.labels)


def test_lloyd_never_increases_inertia_and_alternates_phases():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 3))  # no real clusters: many iterations
    steps, converged = lloyd(x, x[:6].copy())  # a poor start on purpose
    assert converged and steps[0].phase == "init" and steps[0].labels is None
    phases = [s.phase for s in steps[1:]]
    assert phases == ["assign", "update"] * (len(phases) // 2) and len(phases) > 6
    vals = [s.inertia for s in steps[1:]]
    assert all(b <= a + 1e-9 for a, b in zip(vals, vals[1:]))
    assert vals[-1] < vals[0] * 0.9  # it really went down
    for s in steps[1:]:  # each recorded inertia is that step's own pair
        assert s.inertia == pytest.approx(float(((x - s.centroids[s.labels]) ** 2).sum()))
    for a, u in zip(steps[1::2], steps[2::2]):  # update = the mean of the points just assigned
        for j in range(6):
            assert np.allclose(u.centroids[j], x[a.labels == j].mean(0))


def test_an_empty_cluster_is_reseeded_at_the_farthest_point():
    x = np.array([[0.0], [0.1], [0.2], [10.0]])
    steps, _ = lloyd(x, np.array([[0.0], [100.0]]))  # nobody is nearest to 100
    assign, update = steps[1], steps[2]
    assert assign.labels.tolist() == [0, 0, 0, 0]
    assert update.labels.tolist() == [0, 0, 0, 1] and update.moved == 1
    assert update.centroids.ravel().tolist() == pytest.approx([0.1, 10.0])
    assert update.inertia < assign.inertia


def test_kmeans_plus_plus_is_deterministic_per_seed_and_spreads_out():
    x, _ = blobs(seed=2)
    a = kmeans_plus_plus(x, 3, np.random.default_rng(5))
    b = kmeans_plus_plus(x, 3, np.random.default_rng(5))
    c = kmeans_plus_plus(x, 3, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # D² seeding on far-apart blobs: one seed in each blob (uniform picks would share a blob 7 times in 9)
    hits = [{int(np.argmin([np.sum((s - m) ** 2) for m in ((0, 0), (10, 0), (0, 10))])) for s in
             kmeans_plus_plus(x, 3, np.random.default_rng(seed))} for seed in range(20)]
    assert sum(len(h) == 3 for h in hits) >= 18
    r1, r2 = kmeans(x, 3, seed=11), kmeans(x, 3, seed=11)
    assert np.array_equal(r1.labels, r2.labels) and r1.restarts == r2.restarts


def test_best_restart_is_kept():
    x, _ = blobs(seed=4, std=4.0)
    r = kmeans(x, 5, n_init=6, seed=3)
    assert len(r.restarts) == 6 and r.inertia == min(r.restarts)


def brute_silhouette(x, labels):
    n, s = len(x), []
    for i in range(n):
        same = [j for j in range(n) if labels[j] == labels[i] and j != i]
        if not same:
            s.append(0.0)
            continue
        a = np.mean([np.linalg.norm(x[i] - x[j]) for j in same])
        b = min(np.mean([np.linalg.norm(x[i] - x[j]) for j in range(n) if labels[j] == c])
                for c in set(labels) if c != labels[i])
        s.append((b - a) / max(a, b))
    return float(np.mean(s))


def test_silhouette_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 3))
    labels = rng.integers(0, 4, size=37)
    labels[5] = 9  # a singleton scores 0
    assert silhouette(x, labels) == pytest.approx(brute_silhouette(x, labels.tolist()), rel=1e-10)
    xb, truth = blobs(n=10)
    assert silhouette(xb, truth) == pytest.approx(brute_silhouette(xb, truth.tolist()), rel=1e-10)
    assert silhouette(xb, truth) > 0.8
    assert silhouette(x, np.zeros(37)) is None and silhouette(x, np.arange(37)) is None
    keep = np.sort(np.random.default_rng(4).choice(37, 20, replace=False))  # above max_n: a seeded subsample
    assert silhouette(x, labels, max_n=20, seed=4) == pytest.approx(
        brute_silhouette(x[keep], labels[keep].tolist()), rel=1e-10)
    score = Silhouette(x)  # one distance matrix, many labelings
    assert score(labels) == silhouette(x, labels) and score(labels % 2) == silhouette(x, labels % 2)


def brute_ari(a, b):
    """Hubert & Arabie by pair counting: both same (ss), same/different (sd, ds), both different (dd)."""
    ss = sd = ds = dd = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        s1, s2 = a[i] == a[j], b[i] == b[j]
        ss += s1 and s2
        sd += s1 and not s2
        ds += s2 and not s1
        dd += not s1 and not s2
    return 2 * (ss * dd - sd * ds) / ((ss + sd) * (sd + dd) + (ss + ds) * (ds + dd))


def test_adjusted_rand_index_against_pair_counting():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, 60), rng.integers(0, 4, 60)
    b[:30] = a[:30]
    assert adjusted_rand_index(a, b) == pytest.approx(brute_ari(a.tolist(), b.tolist()), rel=1e-12)
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2]) == 1.0  # names of clusters do not matter
    table, rows, cols = contingency([0, 0, 1, 1, 1], [2, 3, 3, 3, 2])
    assert table.tolist() == [[1, 1], [1, 2]] and rows == [0, 1] and cols == [2, 3]


@pytest.mark.parametrize("x, k, words", [
    (np.zeros((5, 2)) + np.arange(5)[:, None], 0, "at least 1"),
    (np.zeros((5, 2)) + np.arange(5)[:, None], 6, "more than the 5 samples"),
    (np.array([[1.0, np.nan], [2.0, 3.0]]), 1, "NaN"),
    (np.array([[1.0, 2.0]]), 1, "single sample"),
    (np.array([[1.0, 1.0]] * 3 + [[2.0, 2.0]]), 3, "only 2 distinct points"),
])
def test_bad_inputs_are_one_line_refusals(x, k, words):
    with pytest.raises(InvalidInput, match=words) as e:
        kmeans(x, k)
    assert "\n" not in str(e.value)
