"""Command line: ``main.py`` with no arguments opens the window; subcommands run headless.

Exit codes: 0 success, 2 invalid input (one-line reason on stderr), 1 internal error.
"""
from __future__ import annotations

import argparse
import sys

from engine import __version__

COMMANDS = ("validate", "train", "trace", "export")

EPILOG = """\
commands:
  validate SESSION    print each node's output shape and parameter count
  train SESSION       train headless (progress on stderr, or --json lines on stdout)
  trace SESSION       one sample forward and backward, every number, as JSON
  export SESSION      write the model as ONNX, TorchScript, safetensors, PyTorch source, or an HTML report

SESSION is a .json session or a saved .nnp file. With no command, the window opens
(optionally with FILE). Exit codes: 0 ok, 2 invalid input, 1 internal error.
See docs/cli.md.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description="NN Playground: build, train and inspect neural networks.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"NN Playground {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("validate", help="check a session's network and print shapes and parameter counts")
    v.add_argument("session")
    v.add_argument("--json", action="store_true", help="print the report as JSON")

    t = sub.add_parser("train", help="train a session headless")
    t.add_argument("session")
    t.add_argument("--epochs", type=int, help="total epochs (default: the session's)")
    t.add_argument("--seed", type=int, help="override the session's seed")
    t.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="default: the session's (auto)")
    t.add_argument("--out", help="save the trained session to OUT.nnp")
    t.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout, then a 'done' line")

    r = sub.add_parser("trace", help="forward and backward pass of one sample, as JSON")
    r.add_argument("session")
    r.add_argument("--sample", type=int, default=0, help="index into the split (default 0)")
    r.add_argument("--split", choices=("train", "val", "test"), default="train")
    r.add_argument("--lr", type=float, help="rate of the one SGD step shown (default: the optimizer's lr)")
    r.add_argument("--json", action="store_true", help="accepted for clarity; output is always JSON")

    e = sub.add_parser("export", help="export a trained model or a report")
    e.add_argument("session")
    e.add_argument("--format", required=True, choices=("onnx", "torchscript", "safetensors", "pytorch", "report"))
    e.add_argument("--out", required=True, help="output path")
    return p


def run_cli(argv) -> int:
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        from gui.app import main as gui_main

        return gui_main(argv)
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 0
    from engine.errors import InvalidInput

    try:
        from . import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except InvalidInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an engine bug: say so, with the traceback for the report
        import traceback

        traceback.print_exc()
        print(f"internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
