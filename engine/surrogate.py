"""A surrogate decision tree fitted to the network's predictions: a readable stand-in and its variable importance.

Lecture 001 asks how to measure feature importance in a neural network and offers: "calculate the
predictions from a neural net, and then fit a decision tree model to the predicted values", then
infer the tree's variable importance — the total amount the impurity (SSE for regression, Gini for
classification) decreases over the splits on a feature. What can go wrong: "it's going to be very
reliant on your tree method". So this module fits CART trees (binary splits at midpoints, greedy,
depth-limited) to the network's outputs, reports the importance and the fidelity (how well the
tree reproduces the network: R² on the outputs, or agreement on the predicted class), and the
window shows two depths side by side so the reliance is visible.

Written out in numpy so the product needs no tree library and the numbers can be checked by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput

MAX_DEPTH = 20
MAX_ROWS = 50_000


@dataclass
class TreeNode:
    value: np.ndarray  # mean output (sse) or class frequencies (gini)
    n: int
    impurity: float
    feature: int = -1  # -1: a leaf
    threshold: float = 0.0
    left: "TreeNode | None" = None
    right: "TreeNode | None" = None


@dataclass
class Tree:
    root: TreeNode
    criterion: str
    n_features: int
    importances: np.ndarray = field(default=None)

    def predict(self, x) -> np.ndarray:
        """Per row: the leaf's mean output (sse) or its most frequent class (gini)."""
        x = np.asarray(x, dtype=np.float64)
        out = []
        for row in x:
            node = self.root
            while node.feature >= 0:
                node = node.left if row[node.feature] <= node.threshold else node.right
            out.append(node.value if self.criterion == "sse" else np.argmax(node.value))
        return np.asarray(out)

    def depth(self) -> int:
        def d(node):
            return 0 if node.feature < 0 else 1 + max(d(node.left), d(node.right))
        return d(self.root)

    def leaves(self) -> int:
        def c(node):
            return 1 if node.feature < 0 else c(node.left) + c(node.right)
        return c(self.root)

    def rules(self, names, *, max_lines: int = 60, class_names=None) -> list[str]:
        """The tree as indented if/else lines ("x1 ≤ 0.25:"), leaves with their value and sample count."""
        lines: list[str] = []

        def leaf_text(node):
            if self.criterion == "gini":
                k = int(np.argmax(node.value))
                label = class_names[k] if class_names and k < len(class_names) else str(k)
                return f"class {label} ({node.value[k]:.0%} of {node.n})"
            v = ", ".join(f"{t:.3g}" for t in np.atleast_1d(node.value))
            return f"ŷ = {v} (n = {node.n})"

        def walk(node, indent):
            if len(lines) >= max_lines:
                return
            pad = "    " * indent
            if node.feature < 0:
                lines.append(pad + leaf_text(node))
                return
            name = names[node.feature]
            lines.append(f"{pad}{name} ≤ {node.threshold:.4g}:")
            walk(node.left, indent + 1)
            lines.append(f"{pad}{name} > {node.threshold:.4g}:")
            walk(node.right, indent + 1)

        walk(self.root, 0)
        if len(lines) >= max_lines:
            lines.append("…")
        return lines


def _sse(y):
    return float(((y - y.mean(axis=0)) ** 2).sum() / len(y)) if len(y) else 0.0


def _gini(counts, n):
    return float(1.0 - ((counts / n) ** 2).sum()) if n else 0.0


def _best_split(x, y, criterion, n_classes, min_leaf):
    """(gain, feature, threshold): the split that most lowers n·impurity, over midpoints of distinct values."""
    n = len(x)
    best = (0.0, -1, 0.0)
    if criterion == "sse":
        parent = _sse(y) * n
    else:
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        parent = _gini(counts, n) * n
    for f in range(x.shape[1]):
        order = np.argsort(x[:, f], kind="stable")
        xs, ys = x[order, f], y[order]
        cand = np.nonzero(xs[1:] > xs[:-1])[0] + 1  # left = first i rows
        cand = cand[(cand >= min_leaf) & (cand <= n - min_leaf)]
        if not len(cand):
            continue
        nl = cand.astype(np.float64)
        nr = n - nl
        if criterion == "sse":
            c1 = np.cumsum(ys, axis=0)
            c2 = np.cumsum(ys ** 2, axis=0)
            tot1, tot2 = c1[-1], c2[-1]
            l1, l2 = c1[cand - 1], c2[cand - 1]
            left = (l2 - l1 ** 2 / nl[:, None]).sum(axis=1)
            right = ((tot2 - l2) - (tot1 - l1) ** 2 / nr[:, None]).sum(axis=1)
            child = left + right
        else:
            onehot = np.eye(n_classes)[ys]
            cl = np.cumsum(onehot, axis=0)[cand - 1]
            cr = counts - cl
            child = nl * (1 - ((cl / nl[:, None]) ** 2).sum(axis=1)) + nr * (1 - ((cr / nr[:, None]) ** 2).sum(axis=1))
        k = int(np.argmin(child))
        gain = parent - float(child[k])
        if gain > best[0] + 1e-12 * max(abs(parent), 1.0):
            i = cand[k]
            best = (gain, f, float((xs[i - 1] + xs[i]) / 2.0))
    return best


def fit_tree(x, y, *, max_depth: int = 3, min_leaf: int = 5, criterion: str = "sse", n_classes: int | None = None) -> Tree:
    """A CART tree of at most ``max_depth`` levels on ``x`` → ``y`` (SSE on values, Gini on class labels)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not len(x):
        raise InvalidInput(f"a surrogate tree needs a (rows, features) table with rows, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InvalidInput("the inputs hold NaN or infinite values: a tree cannot split on them")
    if not (isinstance(max_depth, int) and 0 <= max_depth <= MAX_DEPTH):
        raise InvalidInput(f"the tree depth must be a whole number from 0 to {MAX_DEPTH}, got {max_depth!r}")
    if not (isinstance(min_leaf, int) and min_leaf >= 1):
        raise InvalidInput(f"min_leaf must be a whole number ≥ 1, got {min_leaf!r}")
    if criterion == "sse":
        y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
        if not np.isfinite(y).all():
            raise InvalidInput("the network's outputs are not finite: nothing to fit a tree to")
    elif criterion == "gini":
        y = np.asarray(y).astype(np.int64).reshape(-1)
        n_classes = int(n_classes or (y.max() + 1))
    else:
        raise InvalidInput(f"criterion must be 'sse' or 'gini', got {criterion!r}")
    gains = np.zeros(x.shape[1])

    def node_for(idx, depth):
        ys = y[idx]
        n = len(idx)
        if criterion == "sse":
            value, imp = ys.mean(axis=0), _sse(ys)
        else:
            counts = np.bincount(ys, minlength=n_classes).astype(np.float64)
            value, imp = counts / n, _gini(counts, n)
        node = TreeNode(value, n, imp)
        if depth >= max_depth or n < 2 * min_leaf or imp <= 0.0:
            return node
        gain, f, thr = _best_split(x[idx], ys, criterion, n_classes, min_leaf)
        if f < 0:
            return node
        gains[f] += gain
        go_left = x[idx, f] <= thr
        node.feature, node.threshold = f, thr
        node.left, node.right = node_for(idx[go_left], depth + 1), node_for(idx[~go_left], depth + 1)
        return node

    tree = Tree(node_for(np.arange(len(x)), 0), criterion, x.shape[1])
    total = gains.sum()
    tree.importances = gains / total if total > 0 else gains
    return tree


def surrogate_trees(source, split: str = "train", depths=(3, 10), *, min_leaf: int = 5) -> dict:
    """Trees of each depth fitted to the network's predictions on ``split``: importances, fidelity and rules.

    Regression and binary classification fit the network's outputs (values, P(class 1)) with SSE; a
    multi-class network's predicted class with Gini. Fidelity is R² (SSE) or the share of rows where the
    tree predicts the network's class (Gini).
    """
    from .evaluation import Frozen
    from .explain import feature_names

    f = source if isinstance(source, Frozen) else Frozen(source)
    x, _ = f.split(split)
    x = np.asarray(x, dtype=np.float64)[:MAX_ROWS]
    if not len(x):
        raise InvalidInput(f"the {split} split is empty: there is nothing to explain")
    x2 = x.reshape(len(x), -1)
    s = np.asarray(f.scores(x), dtype=np.float64)
    multiclass = f.task == "classification" and s.ndim == 2 and s.shape[1] > 1
    names = feature_names(f, x2.shape[1])
    out = {"split": split, "names": names, "n": len(x2), "target": "predicted class" if multiclass else
           ("P(class 1)" if f.task == "classification" else "predicted values"), "trees": []}
    for depth in depths:
        if multiclass:
            target = s.argmax(axis=1)
            tree = fit_tree(x2, target, max_depth=int(depth), min_leaf=min_leaf, criterion="gini",
                            n_classes=s.shape[1])
            fidelity = float(np.mean(tree.predict(x2) == target))
        else:
            target = s.reshape(len(x2), -1)
            tree = fit_tree(x2, target, max_depth=int(depth), min_leaf=min_leaf)
            pred = tree.predict(x2).reshape(target.shape)
            ss_tot = float(((target - target.mean(axis=0)) ** 2).sum())
            fidelity = 1.0 - float(((target - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
        out["trees"].append({"depth": int(depth), "tree": tree, "importances": tree.importances.tolist(),
                             "fidelity": fidelity, "leaves": tree.leaves(),
                             "rules": tree.rules(names, class_names=f.data.class_names)})
    return out
