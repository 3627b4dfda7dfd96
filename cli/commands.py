"""The headless subcommands. Each returns an exit code; InvalidInput is turned into exit 2 by the caller.

``train`` is a handful of small steps (load, check --out, build, run, report, save) so that the
loop it drives can be swapped without touching the rest.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading

from engine.errors import InvalidInput
from engine.layers import shape_str

from . import one_line


def _load(path):
    from engine.session import load_session

    return load_session(path)


def cmd_validate(args) -> int:
    from engine.graph import validate
    from engine.memory import estimate
    from engine.preflight import preflight

    session = _load(args.session)
    rep = validate(session.graph)
    for w in preflight(session):  # everything train checks before its first step, memory included
        print(f"warning: {w}", file=sys.stderr)
    memory = estimate(session, rep)
    nodes = session.graph.node_map()
    rows = [(nid, nodes[nid].type, rep.shapes[nid], rep.param_counts[nid]) for nid in rep.order]
    if args.json:
        print(json_line({"nodes": [{"id": i, "type": t, "shape": list(s), "params": c} for i, t, s, c in rows],
                         "total_params": rep.total_params, "memory_bytes": memory.total_bytes}))
        return 0
    w = max(len(r[0]) for r in rows)
    tw = max(len(r[1]) for r in rows)
    print(f"{'node':<{w}}  {'type':<{tw}}  {'output shape':<14} {'params':>10}")
    for nid, typ, shape, count in rows:
        print(f"{nid:<{w}}  {typ:<{tw}}  {shape_str(shape):<14} {count:>10,}")
    print(f"total trainable parameters: {rep.total_params:,}")
    print(f"memory to train: {memory.describe()}")
    return 0


# -- JSON that every parser accepts ----------------------------------------------------------------
def clean(o):
    """NaN and infinities become null (JSON has neither); numpy scalars and tuples become plain values."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if hasattr(o, "item") and callable(o.item) and getattr(o, "ndim", 0) == 0:  # numpy / torch scalar
        return clean(o.item())
    return o


def json_line(o) -> str:
    return json.dumps(clean(o), allow_nan=False)


def _epoch_line(ev) -> dict:
    return {"epoch": ev.epoch, "train_loss": ev.train_loss, "val_loss": ev.val_loss,
            "train_acc": ev.train_metrics.get("accuracy"), "val_acc": ev.val_metrics.get("accuracy"), "lr": ev.lr}


# -- train --------------------------------------------------------------------------------------
def _load_for_training(path):
    """(session, archive or None): a ``.nnp`` carries weights and state to continue from."""
    if path.endswith(".nnp"):
        from engine.archive import load_archive

        archive = load_archive(path)
        return archive.session, archive
    return _load(path), None


def _checked_out(args) -> str | None:
    """Where --out will be written, refused before any training (never over the input or a stranger's file)."""
    if not args.out:
        return None
    from engine.safe_io import check_output

    if not args.out.lower().endswith(".nnp"):
        raise InvalidInput(f"--out must name a .nnp file (the archive with weights and history), got {args.out!r:.200}")
    return check_output(args.out, "nnp", inputs=[args.session], force=args.force)


def _say_frozen_cache(run, off: bool):
    """``--no-cache-frozen`` turns the cache off for this training; with frozen layers, one line says what is cached."""
    fc = getattr(run.trainer, "frozen_cache", None)
    if fc is None:
        return
    if off:
        run.trainer.training["cache_frozen"] = False  # read before each use: the cache is released
    fc.active()  # plans (and fills) it now, so the line below is about this training
    rep = run.frozen_cache
    if rep is not None and rep.applies:
        said = "not cached (--no-cache-frozen)" if off else rep.text()
        print(f"note: frozen layers' outputs {said}", file=sys.stderr)


def _build_run(args, session, archive):
    """The ``engine.Run`` to train: built from the session, or from the archive it continues.

    The command line is the application here: it tunes the process once and gives a large model every
    core (the window keeps one for its GUI thread); a Run itself changes nothing process-wide.
    """
    from engine import Run
    from engine.device import apply_thread_policy, configure_process

    configure_process()
    resuming = archive is not None and archive.trained
    if args.seed is not None and not resuming:
        session.seed = args.seed
    run = Run(archive if resuming else session, device=args.device, build=False)
    try:
        run.build()
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, NotImplementedError, AttributeError,
            OverflowError) as e:
        if not resuming:
            raise
        raise InvalidInput(f"{os.path.basename(args.session)}: the saved training state is damaged "
                           f"({type(e).__name__}: {one_line(e, 160)})") from None
    trainer = run.trainer
    if resuming and args.seed is not None:
        _reseed(trainer, args.seed)
        print(f"note: resuming at epoch {trainer.epoch}: --seed {args.seed} reseeds shuffling, dropout and noise "
              f"from here on; the data, its split and the weights are the saved ones (seed {session.seed})",
              file=sys.stderr)
    apply_thread_policy(trainer.n_params, trainer.batch_size, headless=True, threads=args.threads)
    _say_frozen_cache(run, off=args.no_cache_frozen)
    for w in run.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return run


def _reseed(trainer, seed):
    """The random streams a trainer draws from after a resume, seeded as a fresh trainer seeds them."""
    for name, offset in (("gen", 1), ("reg_gen", 2), ("dropout_gen", 3)):
        gen = getattr(trainer, name, None)
        if gen is not None:
            gen.manual_seed(seed + offset)


class _Stdout:
    """JSON lines on stdout; a closed pipe (``| head -1``) stops training instead of raising mid-run."""

    def __init__(self, on_close):
        self.closed = False
        self._on_close = on_close

    def line(self, obj):
        if self.closed:
            return
        try:
            print(json_line(obj), flush=True)
        except BrokenPipeError:
            self.closed = True
            from . import _silence_stdout

            _silence_stdout()
            self._on_close()


@contextlib.contextmanager
def _stop_on_ctrl_c(run):
    """First Ctrl-C: stop after the current step (so the state is whole and can be saved); the second: abort."""
    state = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["interrupted"]:
            raise KeyboardInterrupt
        state["interrupted"] = True
        print("\ninterrupt: stopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        run.stop()

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, old)


def _run(run, args, out: _Stdout):
    """Drive the run; returns (Finished event, the last epoch's warnings)."""
    from engine.events import EpochEnd, Finished, Started, Step, Steps

    bar, finished, pending, notes = None, None, 0, []
    try:
        for ev in run.events(args.epochs, whole_epochs=True):  # reads only the events, saves at the end
            if isinstance(ev, (Step, Steps)):
                pending += 1 if isinstance(ev, Step) else len(ev)
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
                    out.line(_epoch_line(ev))
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
    return finished, notes


def _save(target, run) -> str | None:
    """Save the archive; returns the one-line reason on failure (the run's results are still reported)."""
    try:
        run.save(target)
    except InvalidInput as e:
        return one_line(e)
    return None


def _summary(run, finished, notes, args, saved, save_error):
    h = run.history
    last = {k: h.epochs[k][-1] for k in ("train_loss", "val_loss", "train_acc", "val_acc") if h.epochs[k]}
    parts = [f"{k}={v:.4g}" for k, v in last.items() if v is not None and not math.isnan(v)]
    print(f"{finished.reason} after {finished.epochs_run} epochs in {finished.seconds:.1f}s"
          + (": " + ", ".join(parts) if parts else ""), file=sys.stderr)
    if finished.diagnosis:
        print(f"diagnosis: {finished.diagnosis}", file=sys.stderr)
    for d in notes:  # what the curves say at the end (e.g. a loss that grew), as the window shows it
        print(f"note: {d.message} {d.advice}", file=sys.stderr)
    if saved:
        print(f"saved {saved}", file=sys.stderr)


def cmd_train(args) -> int:
    session, archive = _load_for_training(args.session)
    target = _checked_out(args)
    run = _build_run(args, session, archive)  # numpy's RuntimeWarnings are silenced by run_cli
    out = _Stdout(on_close=run.stop)
    with _stop_on_ctrl_c(run) as ctrl_c:
        finished, notes = _run(run, args, out)
    save_error = _save(target, run) if target else None
    saved = args.out if target and save_error is None else None
    if out.closed:
        print("error: the output pipe was closed; training stopped"
              + (f" and was saved to {saved}" if saved else ""), file=sys.stderr)
        return 2
    done = {"event": "done", "epochs_run": finished.epochs_run, "best_epoch": finished.best_epoch,
            "stop_reason": "interrupted" if ctrl_c["interrupted"] else finished.reason,
            "seconds": round(finished.seconds, 3), "diagnosis": finished.diagnosis, "test": finished.test_metrics}
    if args.out:
        done["saved"] = saved
    if save_error:
        done["error"] = save_error
    if args.json:
        out.line(done)
    else:
        _summary(run, finished, notes, args, saved, save_error)
    if save_error:
        print(f"error: {save_error}", file=sys.stderr)
        return 2
    if ctrl_c["interrupted"]:
        print("interrupted" + (f"; the trained state is saved in {saved}" if saved else ""), file=sys.stderr)
        return 130
    return 2 if finished.reason == "diverged" else 0


def cmd_trace(args) -> int:
    from engine.trace import trace

    session = _load(args.session)
    print(json_line(trace(session, sample=args.sample, lr=args.lr, split=args.split)))
    return 0


def cmd_export(args) -> int:
    from engine.export import export_session

    written = export_session(args.session, args.format, args.out, force=args.force, inputs=[args.session],
                             bare=args.bare)
    print(f"wrote {written}", file=sys.stderr)
    return 0
