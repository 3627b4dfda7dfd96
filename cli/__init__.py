"""Command line: ``main.py`` with no arguments (or one session file) opens the window; subcommands run headless.

Exit codes: 0 success, 2 invalid input (one-line reason on stderr), 1 internal error,
130 interrupted (Ctrl-C; ``train --out`` saves what was trained first).
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
import warnings

from engine import __version__

COMMANDS = ("validate", "train", "trace", "export", "evaluate", "explain", "new", "cv", "sweep", "sweep-worker",
            "cluster", "advise", "bias-variance", "linear-solve")
ANALYSIS = ("evaluate", "explain")  # implemented in cli/analysis.py
WINDOW_FILES = (".nnp", ".json")
MAX_EPOCHS = 1_000_000  # the same cap as a session's training.epochs
MAX_SEED = 2**63 - 1

EPILOG = """\
commands:
  validate SESSION    check everything train checks before its first step (memory too);
                      print each node's output shape and parameter count
  train SESSION       train headless (progress on stderr, or --json lines on stdout)
  trace SESSION       one sample forward and backward, every number, as JSON
  export SESSION      write the model as ONNX, TorchScript, safetensors, PyTorch source, or an HTML report
  new --csv FILE      write a session for a CSV file with the import dialog's defaults
  cv SESSION          k-fold cross-validation of a session (per-fold scores, mean ± std)
  sweep SESSION       hyperparameter search on Optuna over a SPACE file (grid, random, TPE)
  sweep-worker        run trials of a study that sweep created, from any machine sharing its storage
  evaluate SESSION    metrics of a trained .nnp: ROC/AUC, precision/recall/F1 per class, completeness,
                      contamination, efficiency; MAE/RMSE/R² and residuals for regression;
                      for classifiers the entropy of the predictions (cross-entropy = entropy + KL)
  explain SESSION     permutation importance with bootstrap intervals, partial dependence per feature
  cluster SESSION     k-means and PCA of the session's training inputs (no labels used): inertia,
                      sizes, silhouette, elbow over k, explained variance; agreement with the classes
  advise SESSION      the notes' rules of thumb: a batch size from the training data's outliers
                      (b ≈ 1.5 × outliers), the architecture rules (heuristics, not laws)
  bias-variance SESSION  bias² + variance + noise of the test error over --repeats fresh networks
                      (regression: squared error; circle/xor/gauss: Brier score and 0-1 loss)
  linear-solve SESSION|--kappa K  LU, QR, Cholesky, Jacobi, Gauss-Seidel, CG, PCG on one system
                      (the session's least squares or Newton step, or a synthetic SPD matrix)

SESSION is a .json session or a saved .nnp file. `main.py` alone, or `main.py FILE.nnp|FILE.json`,
opens the window; anything else must start with a command.
--out never writes over the session being read, a folder, a device or a FIFO, or a file
NN Playground did not write, unless --force is given (folders, devices, FIFOs and an export's
own source: never).
Exit codes: 0 ok, 2 invalid input (one line on stderr), 1 internal error, 130 interrupted.
See docs/cli.md.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ("error: ..."), like every other refusal, and exit 2."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _int_in(lo, hi, name):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r:.40}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{name} must be at least {lo}, got {v}")
        if v > hi:
            raise argparse.ArgumentTypeError(f"{name} must be at most {hi:,}, got {text:.40}")
        return v
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py", description="NN Playground: build, train and inspect neural networks.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"NN Playground {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("validate", help="check everything train checks before its first step (the network, "
                                        "the data against it, memory); print shapes, parameters and memory")
    v.add_argument("session")
    v.add_argument("--json", action="store_true", help="print the report as JSON")

    t = sub.add_parser("train", help="train a session headless",
                       epilog="Ctrl-C stops after the current step; with --out the trained state is saved, "
                              "then the exit code is 130.")
    t.add_argument("session")
    t.add_argument("--epochs", type=_int_in(1, MAX_EPOCHS, "--epochs"),
                   help=f"total epochs, 1 to {MAX_EPOCHS:,} (default: the session's)")
    t.add_argument("--seed", type=_int_in(0, MAX_SEED, "--seed"),
                   help="override the session's seed; resuming a trained .nnp keeps its data and split and "
                        "reseeds only shuffling, dropout and noise from here on")
    t.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="default: the session's (auto)")
    t.add_argument("--threads", type=_int_in(1, 1024, "--threads"),
                   help="torch threads (default: 1 for a small model, every core for a large one; on a busy "
                        "shared machine 1 can be faster)")
    t.add_argument("--no-cache-frozen", action="store_true",
                   help="compute the frozen layers' outputs at every step instead of once, for this run (the "
                        "session's training.cache_frozen stays as it is; the training is the same either way)")
    t.add_argument("--out", help="save the trained session as OUT.nnp (see --force)")
    t.add_argument("--force", action="store_true",
                   help="let --out replace the input session or a file NN Playground did not write")
    t.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout, then a 'done' line")

    r = sub.add_parser("trace", help="forward and backward pass of one sample, as JSON")
    r.add_argument("session")
    r.add_argument("--sample", type=_int_in(0, 2**31 - 1, "--sample"), default=0,
                   help="index into the split (default 0)")
    r.add_argument("--split", choices=("train", "val", "test"), default="train")
    r.add_argument("--lr", type=float, help="rate of the one SGD step shown (default: the optimizer's lr)")
    r.add_argument("--json", action="store_true", help="accepted for clarity; output is always JSON")

    e = sub.add_parser("export", help="export a trained model or a report")
    e.add_argument("session")
    e.add_argument("--format", required=True, choices=("onnx", "torchscript", "safetensors", "pytorch", "report"))
    e.add_argument("--out", required=True, help="output path (safetensors and pytorch also write a file beside it)")
    e.add_argument("--force", action="store_true",
                   help="replace existing files NN Playground did not write (never folders, devices or FIFOs)")
    e.add_argument("--bare", action="store_true",
                   help="onnx/torchscript/pytorch: the network alone, without the dataset's scaling and feature "
                        "crosses in front (by default the exported model takes raw inputs)")
    _analysis_parsers(sub)
    from .experiments import add_parsers  # new, cv, sweep, sweep-worker: cli/experiments.py

    add_parsers(sub, _int_in)
    from . import unsupervised  # cluster: cli/unsupervised.py

    unsupervised.add_parsers(sub, _int_in)
    from .advice import add_parser as add_advice  # advise: cli/advice.py

    add_advice(sub)
    from . import numerics  # bias-variance, linear-solve: cli/numerics.py

    numerics.add_parsers(sub, _int_in)
    return p


def _analysis_parsers(sub):
    ev = sub.add_parser("evaluate", help="every metric of the evaluation views, for a trained .nnp")
    ev.add_argument("session", help="a trained .nnp")
    ev.add_argument("--split", choices=("train", "val", "test"), default="test", help="default: test")
    ev.add_argument("--threshold", type=float, default=0.5,
                    help="binary tasks: P(class 1) at or above which a sample is called positive; multi-label: "
                         "the same threshold for every label (default 0.5)")
    ev.add_argument("--json", action="store_true", help="one JSON object: metrics and the ROC and "
                    "completeness-efficiency curves")
    ev.add_argument("--per-sample", action="store_true", help="with --json: also every sample's score or residual")
    ex = sub.add_parser("explain", help="permutation importance and partial dependence of a trained .nnp")
    ex.add_argument("session", help="a trained .nnp")
    ex.add_argument("--split", choices=("train", "val", "test"), default="test", help="default: test")
    ex.add_argument("--at", choices=("mean", "median", "mode"), default="mean",
                    help="where the other features are held for partial dependence (mode: most common value)")
    ex.add_argument("--boot", type=_int_in(2, 10_000, "--boot"), default=30,
                    help="bootstrap rounds for the importance intervals (default 30)")
    ex.add_argument("--grid", type=_int_in(2, 1000, "--grid"), default=20, help="points per PDP curve (default 20)")
    ex.add_argument("--seed", type=_int_in(0, MAX_SEED, "--seed"), default=0, help="shuffles and resamples")
    ex.add_argument("--json", action="store_true", help="one JSON object: importances, intervals, PDP per feature")
    ex.add_argument("--ice", action="store_true", help="with --json: also the ICE curves and the Ŷ-vs-X_j scatter")


def _usage_error(argv) -> str | None:
    """Why ``argv`` is neither a command nor "open this file in the window", or None when it opens the window."""
    first = argv[0]
    if len(argv) == 1 and first.lower().endswith(WINDOW_FILES):
        return None
    if os.path.isfile(first) and first.lower().endswith(WINDOW_FILES):
        return (f"the window opens with one session file and no options; to work headless put a command "
                f"first, e.g. main.py train {first} {' '.join(argv[1:])}").rstrip()
    guess = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.5)
    hint = f" — did you mean '{guess[0]}'?" if guess else f"; the commands are {', '.join(COMMANDS)}."
    return f"unknown command {first[:60]!r}{hint} See main.py --help."


def _display_problem() -> str | None:
    """On Linux without X11 or Wayland, Qt aborts with a page of text; say it in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: the window needs a desktop session (DISPLAY or WAYLAND_DISPLAY is not set); "
            "run a command headless instead (main.py --help), or set QT_QPA_PLATFORM=offscreen")


def _open_window(argv) -> int:
    problem = _display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from gui.app import main as gui_main

    return gui_main(argv)


def run_cli(argv) -> int:
    argv = list(argv)
    if not argv:
        return _open_window(argv)
    if argv[0] not in COMMANDS and not argv[0].startswith("-"):
        problem = _usage_error(argv)
        if problem is None:
            return _open_window(argv)
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (already printed)
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        build_parser().print_help()
        return 0
    from engine.errors import InvalidInput

    try:
        with warnings.catch_warnings():
            # numpy's RuntimeWarnings (a mean of an empty split, 0/0 in a metric) are reported as null
            # values and diagnoses; stderr is for the user's messages, one line each
            warnings.simplefilter("ignore", RuntimeWarning)
            return _dispatch(args)
    except InvalidInput as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head -1`): nothing more to say to it
        _silence_stdout()
        print("error: the output pipe was closed before the command finished", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: the input is nested too deeply to process", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: not enough memory for this session (make the network or the dataset smaller)", file=sys.stderr)
        return 2
    except Exception as e:  # an engine bug: say so, with the traceback for the report
        import traceback

        traceback.print_exc()
        print(f"internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def _dispatch(args) -> int:
    from . import commands

    if args.command in ANALYSIS:
        from . import analysis as commands
    if args.command == "advise":
        from . import advice as commands
    from . import experiments

    if args.command in experiments.COMMANDS:
        return experiments.run(args)
    from . import unsupervised

    if args.command in unsupervised.COMMANDS:
        return unsupervised.run(args)
    from . import numerics

    if args.command in numerics.COMMANDS:
        return numerics.run(args)
    return getattr(commands, f"cmd_{args.command}")(args)


def one_line(e, limit: int = 400) -> str:
    """An error as one line of readable length (a message that quotes a huge value must not flood the terminal)."""
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _silence_stdout():
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # an in-memory stream (tests): nothing will flush it
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass
