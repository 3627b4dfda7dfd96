"""The headless subcommands. Each returns an exit code; InvalidInput is turned into exit 2 by the caller."""
from __future__ import annotations

import json
import math
import sys

from engine.errors import InvalidInput
from engine.layers import shape_str


def _load(path):
    from engine.session import load_session

    return load_session(path)


def cmd_validate(args) -> int:
    from engine.graph import analyze

    session = _load(args.session)
    rep = analyze(session.graph)
    if rep.errors:
        raise rep.errors[0]
    from engine.data import make_dataset
    from engine.graph import last_activation, output_width
    from engine.losses import check_pairing

    canon = session.copy().canonicalize()  # unknown loss/optimizer/dataset names are input errors too
    task = make_dataset(canon.dataset, seed=canon.seed).task
    for w in check_pairing(canon.loss, last_activation(canon.graph, rep), output_width(rep), task):
        print(f"warning: {w}", file=sys.stderr)
    rows = [(nid, session.graph.node(nid).type, rep.shapes[nid], rep.param_counts[nid]) for nid in rep.order]
    if args.json:
        print(json.dumps({"nodes": [{"id": i, "type": t, "shape": list(s), "params": c} for i, t, s, c in rows],
                          "total_params": rep.total_params}))
        return 0
    w = max(len(r[0]) for r in rows)
    tw = max(len(r[1]) for r in rows)
    print(f"{'node':<{w}}  {'type':<{tw}}  {'output shape':<14} {'params':>10}")
    for nid, typ, shape, count in rows:
        print(f"{nid:<{w}}  {typ:<{tw}}  {shape_str(shape):<14} {count:>10,}")
    print(f"total trainable parameters: {rep.total_params:,}")
    return 0


def _epoch_line(ev) -> dict:
    def num(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    return {"epoch": ev.epoch, "train_loss": num(ev.train_loss), "val_loss": num(ev.val_loss),
            "train_acc": num(ev.train_metrics.get("accuracy")), "val_acc": num(ev.val_metrics.get("accuracy")),
            "lr": ev.lr}


def cmd_train(args) -> int:
    from engine.events import EpochEnd, Finished, Started, Step
    from engine.trainer import Trainer

    archive = None
    if args.session.endswith(".nnp"):
        from engine.archive import load_archive

        archive = load_archive(args.session)
        session = archive.session
    else:
        session = _load(args.session)
    if args.seed is not None:
        session.seed = args.seed
    if args.epochs is not None and args.epochs < 1:
        raise InvalidInput(f"--epochs must be at least 1, got {args.epochs}")
    trainer = Trainer(session, device=args.device)
    if archive is not None and archive.trained:
        archive.restore_into(trainer)
    for w in trainer.warnings:
        print(f"warning: {w}", file=sys.stderr)
    bar, finished, pending, notes = None, None, 0, []
    try:
        for ev in trainer.run(args.epochs):
            if isinstance(ev, Step):
                pending += 1
                if bar is not None and pending >= 50:
                    bar.update(pending)
                    pending = 0
            elif isinstance(ev, Started) and not args.json:
                from tqdm import tqdm

                total = max(ev.epochs - ev.epoch, 0) * ev.steps_per_epoch
                bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True,
                           desc="training", disable=None)
            elif isinstance(ev, EpochEnd):
                notes = [d for d in ev.diagnoses if d.severity != "info"]
                if args.json:
                    print(json.dumps(_epoch_line(ev)), flush=True)
                if bar is not None:
                    bar.update(pending)
                    pending = 0
                    post = {"epoch": ev.epoch, "loss": f"{ev.train_loss:.4g}"}
                    if ev.val_loss is not None:
                        post["val"] = f"{ev.val_loss:.4g}"
                    bar.set_postfix(post, refresh=False)
            elif isinstance(ev, Finished):
                finished = ev
    finally:
        if bar is not None:
            bar.close()
    done = {"event": "done", "epochs_run": finished.epochs_run, "best_epoch": finished.best_epoch,
            "stop_reason": finished.reason, "seconds": round(finished.seconds, 3),
            "diagnosis": finished.diagnosis, "test": finished.test_metrics}
    if args.out:
        from engine.archive import save_archive

        save_archive(args.out, trainer.session, trainer)
        done["saved"] = args.out
    if args.json:
        print(json.dumps(done), flush=True)
    else:
        h = trainer.history
        last = {k: h.epochs[k][-1] for k in ("train_loss", "val_loss", "train_acc", "val_acc") if h.epochs[k]}
        parts = [f"{k}={v:.4g}" for k, v in last.items() if not math.isnan(v)]
        print(f"{finished.reason} after {finished.epochs_run} epochs in {finished.seconds:.1f}s"
              + (": " + ", ".join(parts) if parts else ""), file=sys.stderr)
        if finished.diagnosis:
            print(f"diagnosis: {finished.diagnosis}", file=sys.stderr)
        for d in notes:  # what the curves say at the end (e.g. a loss that grew), as the window shows it
            print(f"note: {d.message} {d.advice}", file=sys.stderr)
        if args.out:
            print(f"saved {args.out}", file=sys.stderr)
    return 2 if finished.reason == "diverged" else 0


def cmd_trace(args) -> int:
    from engine.trace import trace

    session = _load(args.session)
    print(json.dumps(trace(session, sample=args.sample, lr=args.lr, split=args.split)))
    return 0


def cmd_export(args) -> int:
    from engine.export import export_session

    path = export_session(args.session, args.format, args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0
