"""``main.py bias-variance`` and ``main.py linear-solve``: Analyze ▸ Bias–Variance and Teach ▸ Linear Solvers headless.

``bias-variance SESSION`` trains ``--repeats`` fresh networks of the session on as many training sets drawn
from its generator (``engine.bias_variance.decompose``) and prints bias², variance, the noise and their sum
next to the error measured on fresh targets; on a 2-class dataset with a known class probability (circle,
xor, gauss) the Brier score and Domingos' 0-1 loss decomposition instead.

``linear-solve SESSION|--kappa K`` solves one linear system with the methods of lecture 003 §4.3.1
(``engine.linear_solvers.solve_all``): the normal equations of a least-squares fit of the session's data,
the Newton step of its network (``--system newton``), or a synthetic SPD matrix of condition number κ.
"""
from __future__ import annotations

import os

from engine.errors import InvalidInput

COMMANDS = ("bias-variance", "linear-solve")
# the command line's method names → engine.linear_solvers.METHODS
METHOD_NAMES = {"lu": "lu", "qr": "qr", "cholesky": "cholesky", "jacobi": "jacobi", "gauss-seidel": "gauss_seidel",
                "cg": "cg", "pcg": "pcg_jacobi", "pcg-ic": "pcg_ic"}


def _float_in(lo, hi, name):
    import argparse
    import math

    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r:.40}") from None
        if not math.isfinite(v) or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be a number from {lo:g} to {hi:g}, got {text:.40}")
        return v
    return parse


def add_parsers(sub, int_in):
    """Register both commands on ``sub`` (argparse subparsers); ``int_in`` is cli's bounded-int type."""
    from engine.bias_variance import MAX_SETS
    from engine.linear_solvers import MAX_N

    b = sub.add_parser("bias-variance", help="bias² + variance + noise of the test error, by training many networks",
                       epilog="Needs a generated dataset whose noise is known: sine, plane or multi_gauss "
                              "(regression: squared error), circle, xor or gauss (2 classes: Brier score, and the "
                              "0-1 loss as Domingos decomposes it). Your session file is only read.")
    b.add_argument("session", help="a .json session or a .nnp (its settings; saved weights are not used)")
    b.add_argument("--repeats", type=int_in(2, MAX_SETS, "--repeats"), default=20,
                   help=f"training sets (one fresh network each), 2 to {MAX_SETS} (default 20)")
    b.add_argument("--epochs", type=int_in(1, 100_000, "--epochs"), help="per network (default: the session's)")
    b.add_argument("--seed", type=int_in(0, 2**31 - 1, "--seed"), default=0, help="picks the training sets (default 0)")
    b.add_argument("--bootstrap", action="store_true",
                   help="resample the session's own training split instead of drawing fresh sets (an approximation)")
    b.add_argument("--vary-init", action="store_true",
                   help="give each network its own initial weights and batch order (the variance then includes them)")
    b.add_argument("--json", action="store_true", help="one JSON object: the terms averaged over the test inputs")

    s = sub.add_parser("linear-solve", help="solve one linear system with LU, QR, Cholesky, Jacobi, Gauss-Seidel, "
                                            "CG and PCG side by side",
                       epilog="With SESSION: the normal equations (XᵀX + λI)θ = Xᵀy of a least-squares fit of its "
                              "training data, or with --system newton the Newton step (H + λI)Δ = −g of its network "
                              "(a trained .nnp: at its weights; a .json: at the initial ones). With --kappa: a "
                              "seeded synthetic SPD matrix of condition number K. Methods: "
                              + ", ".join(METHOD_NAMES) + " (pcg: Jacobi preconditioner).")
    s.add_argument("session", nargs="?", help="a .json session or a .nnp (or give --kappa instead)")
    s.add_argument("--kappa", type=_float_in(1.0, 1e12, "--kappa"),
                   help="a synthetic SPD system of condition number K instead of a session")
    s.add_argument("--n", type=int_in(2, MAX_N, "--n"), default=50, help=f"with --kappa: its size, 2 to {MAX_N} "
                                                                           "(default 50)")
    s.add_argument("--seed", type=int_in(0, 2**31 - 1, "--seed"), default=0, help="with --kappa: its seed (default 0)")
    s.add_argument("--system", choices=("least-squares", "newton"), default="least-squares",
                   help="with SESSION: which system (default least-squares)")
    s.add_argument("--lambda", dest="lam", type=_float_in(0.0, 1e12, "--lambda"), default=0.0,
                   help="ridge λ of the normal equations, or the Newton damping (default 0)")
    s.add_argument("--target", type=int_in(0, 100_000, "--target"),
                   help="least squares: the target column (regression) or class (default: the first / class 1)")
    s.add_argument("--method", action="append", metavar="METHOD",
                   help="a method to run (repeat or separate by commas; default: all of " + "|".join(METHOD_NAMES) + ")")
    s.add_argument("--tol", type=_float_in(1e-16, 1.0, "--tol"), default=1e-10,
                   help="iterative methods stop at ‖Ax − b‖ ≤ tol·‖b‖ (default 1e-10)")
    s.add_argument("--max-iter", type=int_in(1, 1_000_000, "--max-iter"), default=1000,
                   help="iterative methods' limit (default 1000)")
    s.add_argument("--json", action="store_true", help="one JSON object: the system and every method's result")


def run(args) -> int:
    if args.command == "bias-variance":
        return cmd_bias_variance(args)
    return cmd_linear_solve(args)


def _g(v, spec=".4g"):
    return "—" if v is None or v != v else format(v, spec)


# -- bias-variance -------------------------------------------------------------------------------
def cmd_bias_variance(args) -> int:
    from engine.bias_variance import decompose
    from engine.device import configure_process
    from engine.session import load_session

    from .commands import json_line

    session = load_session(args.session)
    configure_process()
    d = decompose(session, n_sets=args.repeats, epochs=args.epochs, seed=args.seed,
                  sampling="bootstrap" if args.bootstrap else "fresh", vary_init=args.vary_init)
    s = d.summary()
    cls = d.task == "classification"
    if args.json:
        print(json_line({"task": d.task, "loss": "brier" if cls else "mse", "n_sets": d.n_sets, "epochs": d.epochs,
                         "n_train": d.n_train, "sampling": d.sampling, "vary_init": d.vary_init,
                         "engine_paths": list(d.engine_paths), "noise_model": d.noise_text,
                         "test_inputs": len(d.x), **s}))
        return 0
    print(f"{d.n_sets} networks, {d.epochs} epochs each, on "
          f"{'fresh training sets' if d.sampling == 'fresh' else 'bootstrap resamples'} of {d.n_train} points "
          f"({', '.join(d.engine_paths)}); {d.noise_text}")
    what, noise = ("Brier score of P(class 1)", "η(1−η)") if cls else ("squared error", "σ²")
    print(f"{what}: bias² {_g(s['bias2'])} + variance {_g(s['variance'])} + {noise} {_g(s['noise'])} = "
          f"{_g(s['total'])}   measured {_g(s['measured'])} ± {2 * s['mc_se']:.2g}   train {_g(s['train_mse'])}")
    if cls:
        print(f"0-1 loss (Domingos): c₁·noise {_g(s['noise_01'])} + bias {_g(s['bias_01'])} + net variance "
              f"{_g(s['net_variance_01'])} (unbiased {_g(s['unbiased_variance_01'])} − biased "
              f"{_g(s['biased_variance_01'])}) = {_g(s['total_01'])}   measured {_g(s['measured_01'])} ± "
              f"{2 * s['mc_se_01']:.2g}   Bayes error {_g(s['bayes_error'])}")
    return 0


# -- linear-solve --------------------------------------------------------------------------------
def _methods(given) -> list:
    if not given:
        return list(METHOD_NAMES.values())
    out = []
    for part in (p.strip().lower() for g in given for p in g.split(",")):
        if not part:
            continue
        if part not in METHOD_NAMES:
            raise InvalidInput(f"unknown method {part[:40]!r}; choose from {', '.join(METHOD_NAMES)}")
        if METHOD_NAMES[part] not in out:
            out.append(METHOD_NAMES[part])
    if not out:
        raise InvalidInput(f"--method names no method; choose from {', '.join(METHOD_NAMES)}")
    return out


def _system(args):
    from engine import linear_systems as ls

    if (args.session is None) == (args.kappa is None):
        raise InvalidInput("give either a SESSION or --kappa K (a synthetic SPD system), not "
                           + ("both" if args.session is not None else "neither"))
    if args.kappa is not None:
        return ls.synthetic("spd", args.n, float(args.kappa), args.seed)
    if args.system == "least-squares":
        from engine.data import make_dataset
        from engine.session import load_session

        session = load_session(args.session)
        return ls.least_squares(make_dataset(session.dataset, seed=session.seed), args.lam, args.target)
    return ls.newton_system(_network(args.session), args.lam)


def _network(path):
    """A trained .nnp's run at its weights, else the session's network at its initial weights."""
    from engine.session import load_session
    from engine.trainer import Trainer

    if path.endswith(".nnp") and os.path.isfile(path):
        from engine.archive import load_archive
        from engine.run import Run

        archive = load_archive(path)
        if archive.trained:
            return Run(archive, device="cpu", path="torch")
    return Trainer(load_session(path))


def cmd_linear_solve(args) -> int:
    from engine.linear_solvers import solve_all

    from .commands import json_line

    methods = _methods(args.method)
    system = _system(args)
    rows = solve_all(system.a, system.b, methods, tol=args.tol, max_iter=args.max_iter)
    if args.json:
        out = []
        for r in rows:
            sol = r.solution
            item = {"method": r.method, "title": r.title, "refused": r.refused, "error_vs_best": r.error}
            if sol is not None:
                item.update(kind=sol.kind, converged=sol.converged, status=sol.status, residual=sol.residual,
                            iterations=sol.iterations, flops=sol.flops, flops_formula=sol.flops_formula,
                            spectral_radius=sol.spectral_radius, seconds=sol.seconds, x=sol.x.tolist(),
                            history=sol.history.tolist())
            out.append(item)
        print(json_line({"system": system.name, "description": system.description, "n": system.n,
                         "meta": system.meta, "methods": out}))
        return 0
    print(system.description)
    w = max(len(r.title) for r in rows)
    print(f"{'method':<{w}}  {'iterations':>10}  {'‖Ax − b‖':>10}  {'error vs best':>13}  result")
    for r in rows:
        s = r.solution
        if s is None:
            print(f"{r.title:<{w}}  {'—':>10}  {'—':>10}  {'—':>13}  refused: {r.refused}")
            continue
        its = "direct" if s.kind == "direct" else str(s.iterations)
        print(f"{r.title:<{w}}  {its:>10}  {_g(s.residual, '.3g'):>10}  {_g(r.error, '.2e'):>13}  {s.status}")
    return 0
