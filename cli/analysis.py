"""``main.py evaluate`` and ``main.py explain``: the window's evaluation and explanation views, headless.

Both read a trained ``.nnp`` (a ``.json`` session or an untrained archive has no weights to judge and is
refused with the command that trains it), print a short table, or with ``--json`` one JSON object on stdout.
"""
from __future__ import annotations

import os

from engine.errors import InvalidInput

from .commands import json_line


def _trained_run(path):
    from engine.archive import load_archive
    from engine.run import Run

    if not os.path.isfile(path):
        raise InvalidInput(f"{path!r:.200} is not a file")
    with open(path, "rb") as f:
        zipped = f.read(4) == b"PK\x03\x04"
    if not zipped:
        raise InvalidInput(f"{os.path.basename(path)} holds settings but no trained weights; train it first: "
                           f"main.py train {path} --out trained.nnp")
    archive = load_archive(path)
    if not archive.trained:
        raise InvalidInput(f"{os.path.basename(path)} was saved before any training: there are no weights to "
                           f"evaluate (main.py train {path} --out trained.nnp)")
    return Run(archive, device="cpu", path="torch")


def _g(v, spec=".4g"):
    return "—" if v is None or v != v else format(v, spec)


def cmd_evaluate(args) -> int:
    from engine.evaluation import evaluate_run

    rep = evaluate_run(_trained_run(args.session), args.split, threshold=args.threshold)
    if args.json:
        if not args.per_sample:
            for k in ("scores", "y", "true", "predicted", "residuals"):
                rep.pop(k, None)
            for k in ("per_sample", "points"):
                (rep.get("entropy") or {}).pop(k, None)
        print(json_line(rep))
        return 0
    print(f"{args.split} split, {rep['n']} samples")
    if rep["task"] == "regression":
        print(f"MAE {_g(rep['mae'])}   RMSE {_g(rep['rmse'])}   R² {_g(rep['r2'])}   "
              f"residuals mean {_g(rep['residual_mean'])} std {_g(rep['residual_std'])}")
        return 0
    if rep["task"] == "multilabel":
        _print_multilabel(rep)
        _print_entropy(rep["entropy"])
        return 0
    print(f"accuracy {_g(rep['accuracy'])}   AUC {_g(rep['auc'])}")
    w = max(8, *(len(c["class"]) for c in rep["per_class"]))
    print(f"{'class':<{w}}  {'precision':>9} {'recall':>7} {'F1':>7} {'support':>8}")
    for c in rep["per_class"]:
        print(f"{c['class']:<{w}}  {_g(c['precision'], '.3f'):>9} {_g(c['recall'], '.3f'):>7} "
              f"{_g(c['f1'], '.3f'):>7} {c['support']:>8}")
    m = rep["macro"]
    print(f"{'macro':<{w}}  {_g(m['precision'], '.3f'):>9} {_g(m['recall'], '.3f'):>7} {_g(m['f1'], '.3f'):>7}")
    if "at_threshold" in rep:
        t = rep["at_threshold"]
        print(f"threshold {t['threshold']:g}: TP {t['tp']} FN {t['fn']} TN {t['tn']} FP {t['fp']}   "
              f"completeness {_g(t['completeness'], '.3f')}   contamination {_g(t['contamination'], '.3f')}   "
              f"efficiency {_g(t['efficiency'], '.3f')}")
    print("confusion (rows true, columns predicted): " + " | ".join(" ".join(map(str, r)) for r in rep["confusion"]))
    _print_entropy(rep["entropy"])
    return 0


def _print_entropy(e):
    """Lecture 002's entropy of the predictions and H(p, q) = H(p) + KL(p‖q) on the split (engine/entropy.py)."""
    print(f"entropy of the predictions: mean {_g(e['mean_nats'])} nats = {_g(e['mean_bits'])} bits "
          f"(largest possible {_g(e['max_nats'])} nats = {_g(e['max_bits'])} bit{'' if e['max_bits'] == 1 else 's'})" +
          ("" if e["calibrated"] else "; the loss gives ranking scores, not probabilities"))
    for what, i in (("labels", e["identity"]["per_sample"]), ("class frequencies", e["identity"]["marginal"])):
        print(f"  cross-entropy = entropy + KL on the {what}: {_g(i['cross_entropy'])} = {_g(i['entropy'])} + "
              f"{_g(i['kl'])}")
    top = e["most_uncertain"][:3]
    print("  most uncertain samples (index in the split: nats): " +
          ", ".join(f"{r['index']}: {_g(r['entropy_nats'], '.3f')}" for r in top))


def _print_multilabel(rep):
    """Per label precision/recall/F1/AUC at the threshold, micro and macro means, Hamming loss and subset accuracy."""
    print(f"multi-label, {rep['n_labels']} labels, threshold {rep['threshold']:g} for every label")
    print(f"subset accuracy (all labels right) {_g(rep['subset_accuracy'])}   Hamming loss {_g(rep['hamming_loss'])}   "
          f"per-label accuracy {_g(rep['accuracy'])}   macro AUC {_g(rep['auc'])}")
    w = max(8, *(len(r["label"]) for r in rep["per_label"]))
    print(f"{'label':<{w}}  {'precision':>9} {'recall':>7} {'F1':>7} {'AUC':>7} {'support':>8}")
    for r in rep["per_label"]:
        print(f"{r['label']:<{w}}  {_g(r['precision'], '.3f'):>9} {_g(r['recall'], '.3f'):>7} "
              f"{_g(r['f1'], '.3f'):>7} {_g(r['auc'], '.3f'):>7} {r['support']:>8}")
    for avg in ("micro", "macro"):
        m = rep[avg]
        print(f"{avg:<{w}}  {_g(m['precision'], '.3f'):>9} {_g(m['recall'], '.3f'):>7} {_g(m['f1'], '.3f'):>7}")


def cmd_explain(args) -> int:
    from engine.explain import explain_run

    rep = explain_run(_trained_run(args.session), args.split, n_boot=args.boot, at=args.at, n_grid=args.grid,
                      seed=args.seed)
    if args.json:
        if not args.ice:
            for c in rep.get("curves", {}).values():
                for k in ("ice", "ice_rows", "scatter_x", "scatter_y"):
                    c.pop(k, None)
        print(json_line(rep))
        return 0
    pct = int(round(100 * rep["level"]))
    print(f"{args.split} split; score {rep['score']} {_g(rep['baseline'])}; permutation importance = drop in "
          f"{rep['score']} when the feature is shuffled ({pct}% bootstrap interval, {rep['n_boot']} rounds)")
    w = max(8, *(len(i["feature"]) for i in rep["importance"]))
    for i in sorted(rep["importance"], key=lambda i: -i["mean"]):
        print(f"{i['feature']:<{w}}  {_g(i['mean'], '+.4f')}  [{_g(i['lower'], '+.4f')}, {_g(i['upper'], '+.4f')}]")
    print(f"partial dependence (others at their {rep['curves'] and next(iter(rep['curves'].values()))['at']}):")
    for name, c in rep["curves"].items():
        g, p = c["grid"], c["pdp"]
        picks = sorted({0, len(g) // 2, len(g) - 1})
        print(f"  {name}: " + "   ".join(f"{g[i]:.3g} → {p[i]:.3g}" for i in picks))
    return 0
