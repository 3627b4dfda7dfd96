"""``main.py cluster``: k-means and PCA on a session's training inputs, the Teach ▸ Unsupervised window headless.

Reads a ``.json`` session or a ``.nnp`` (only its dataset is used; no network is trained or needed), prints
the inertia, cluster sizes, silhouette, the elbow sweep, PCA's explained-variance ratios and, when the
dataset has classes, how the clusters agree with them (the labels are not used to cluster).
"""
from __future__ import annotations

COMMANDS = ("cluster",)


def add_parsers(sub, int_in):
    """Register ``cluster`` on ``sub`` (argparse subparsers); ``int_in`` is cli's bounded-int type."""
    c = sub.add_parser("cluster", help="k-means and PCA of a session's training inputs (unsupervised: labels unused)",
                       epilog="The inputs are the training split as the network sees it (after the session's "
                              "scaling and feature crosses) unless --raw. The true classes, when the dataset has "
                              "them, are compared with the clusters afterwards (adjusted Rand index).")
    c.add_argument("session", help="a .json session or a .nnp (only its dataset is used)")
    c.add_argument("--k", type=int_in(1, 1000, "--k"), default=3, help="number of clusters (default 3)")
    c.add_argument("--pca", type=int_in(1, 10_000, "--pca"),
                   help="principal components to report (default 2, or 1 for one input)")
    c.add_argument("--n-init", type=int_in(1, 1000, "--n-init"), default=10,
                   help="k-means++ restarts; the lowest inertia is kept (default 10)")
    c.add_argument("--seed", type=int_in(0, 2**63 - 1, "--seed"), default=0, help="k-means++ seeding (default 0)")
    c.add_argument("--raw", action="store_true", help="cluster the raw inputs, before the session's scaling")
    c.add_argument("--json", action="store_true", help="one JSON object: everything above plus the centroids, "
                                                       "loadings and reconstruction errors")


def _g(v, spec=".4g"):
    return "—" if v is None else format(v, spec)


def run(args) -> int:
    from engine.session import load_session
    from engine.unsupervised import analyse, session_inputs

    from .commands import json_line

    inputs = session_inputs(load_session(args.session), "raw" if args.raw else "scaled")
    n_pca = args.pca if args.pca is not None else min(2, *inputs.x.shape)
    rep = analyse(inputs, args.k, n_init=args.n_init, seed=args.seed, n_pca=n_pca)
    rep.pop("_objects")
    if args.json:
        print(json_line(rep))
        return 0
    print(rep["inputs"])
    print(f"k-means, k = {rep['k']} (best of {rep['n_init']} k-means++ restarts, seed {rep['seed']}): inertia "
          f"{_g(rep['inertia'])} after {rep['iterations']} iterations"
          f"{'' if rep['converged'] else ' (not converged)'}")
    print(f"cluster sizes: {' '.join(map(str, rep['sizes']))}   silhouette {_g(rep['silhouette'], '.3f')}")
    print("elbow (k: inertia, silhouette): " + "  ".join(
        f"{e['k']}: {_g(e['inertia'])}, {_g(e['silhouette'], '.2f')}" for e in rep["elbow"]))
    p = rep["pca"]
    print("PCA explained variance ratio: " + " ".join(f"{r:.4f}" for r in p["explained_variance_ratio"])
          + f"   (cumulative {p['cumulative_ratio'][-1]:.4f} with {p['components']})")
    if "agreement" in rep:
        a = rep["agreement"]
        print(f"agreement with the true classes (not used to cluster): ARI {a['ari']:.3f}")
        w = max(5, *(len(c) for c in a["classes"]))
        print(f"{'class':<{w}}  " + " ".join(f"{'c' + str(c):>6}" for c in a["clusters"]))
        for name, row in zip(a["classes"], a["table"]):
            print(f"{name:<{w}}  " + " ".join(f"{v:>6}" for v in row))
    return 0
