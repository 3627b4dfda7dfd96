"""Surrogate decision trees (lecture 001): CART splits and impurity-decrease importance against brute force."""
import itertools

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.surrogate import fit_tree, surrogate_trees


def sse(v):
    return float(((v - v.mean()) ** 2).sum()) if len(v) else 0.0


def brute_root_split(x, y, min_leaf):
    """Every feature, every midpoint between distinct values: the split with the lowest summed SSE."""
    best = (sse(y), -1, 0.0)
    for f in range(x.shape[1]):
        vals = np.unique(x[:, f])
        for a, b in zip(vals[:-1], vals[1:]):
            t = (a + b) / 2
            left, right = y[x[:, f] <= t], y[x[:, f] > t]
            if len(left) < min_leaf or len(right) < min_leaf:
                continue
            c = sse(left) + sse(right)
            if c < best[0] - 1e-12:
                best = (c, f, t)
    return best


def test_the_root_split_is_the_brute_force_best():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    y = np.sin(2 * x[:, 1]) + 0.3 * x[:, 2] + 0.05 * rng.normal(size=40)
    tree = fit_tree(x, y, max_depth=1, min_leaf=3)
    child, f, t = brute_root_split(x, y, 3)
    assert (tree.root.feature, tree.root.threshold) == (f, pytest.approx(t))
    left = y[x[:, f] <= t]
    assert tree.root.left.value[0] == pytest.approx(left.mean()) and tree.root.left.n == len(left)
    assert tree.predict(x[:2]).shape == (2, 1)


def test_importance_is_the_share_of_impurity_decrease():
    """Two levels by hand: the gains of each split, summed per feature and normalised, are the importances."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 3))
    y = 3.0 * (x[:, 0] > 0) + 1.0 * (x[:, 2] > 0.5)  # x1 never matters
    tree = fit_tree(x, y, max_depth=2, min_leaf=1)
    gains = np.zeros(3)

    def walk(node, rows):
        if node.feature < 0:
            return
        left = rows[x[rows, node.feature] <= node.threshold]
        right = rows[x[rows, node.feature] > node.threshold]
        gains[node.feature] += sse(y[rows]) - sse(y[left]) - sse(y[right])
        walk(node.left, left)
        walk(node.right, right)

    walk(tree.root, np.arange(200))
    np.testing.assert_allclose(tree.importances, gains / gains.sum(), rtol=1e-9)
    assert tree.root.feature == 0 and tree.importances[1] == 0.0 and tree.importances[0] > tree.importances[2] > 0
    assert tree.depth() == 2 and tree.leaves() == 4


def test_gini_splits_a_class_boundary_exactly():
    x = np.array([[v, w] for v, w in itertools.product(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9))])
    y = (x[:, 1] > 0.1).astype(int)
    tree = fit_tree(x, y, max_depth=3, criterion="gini", min_leaf=1)
    assert tree.root.feature == 1 and tree.root.threshold == pytest.approx(0.125)
    assert np.array_equal(tree.predict(x), y) and tree.importances.tolist() == [0.0, 1.0]
    assert tree.rules(["a", "b"])[0] == "b ≤ 0.125:"


def test_deeper_trees_fit_the_network_better_and_fidelity_is_r2():
    from engine import Run
    from tests.gui.test_analysis_window import circle_session

    run = Run(circle_session(epochs=3), path="torch")
    run.fit()
    out = surrogate_trees(run, "train", depths=(2, 6))
    shallow, deep = out["trees"]
    assert out["target"] == "P(class 1)" and len(shallow["importances"]) == 2
    x = run.data.raw_x("train")
    p = run.predict(x)[:, 0]
    pred = shallow["tree"].predict(x)[:, 0]  # thresholds in data units: the raw inputs
    assert shallow["fidelity"] == pytest.approx(1 - ((p - pred) ** 2).sum() / ((p - p.mean()) ** 2).sum(), rel=1e-5)
    assert deep["fidelity"] > shallow["fidelity"] and deep["leaves"] > shallow["leaves"]
    assert sum(shallow["importances"]) == pytest.approx(1.0)


def test_bad_inputs_are_one_line():
    with pytest.raises(InvalidInput, match="NaN"):
        fit_tree(np.array([[np.nan], [1.0]]), [0.0, 1.0])
    with pytest.raises(InvalidInput, match="depth must be a whole number from 0 to 20"):
        fit_tree(np.zeros((3, 1)), [0, 1, 2], max_depth=50)
    with pytest.raises(InvalidInput, match="criterion"):
        fit_tree(np.zeros((3, 1)), [0, 1, 2], criterion="entropy")
