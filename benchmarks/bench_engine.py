"""Engine throughput (an ``engine.Run`` on the torch path, events on) vs a plain hand-written torch loop.

Prints steps/s for both and their ratio, for a TF-Playground-sized task
(2-8-8-1 tanh, 500 points, batch 10, SGD) and a 784-256-128-10 MLP (batch 128,
Adam). Runs alternate A/B several times and report the median of the per-round ratios (each
pair ran back to back, on the same machine load), because these machines are noisy. The
engine runs as the command line runs it: the thread
policy of ``engine.device.apply_thread_policy(headless=True)`` (one thread for
tiny nets, every core for large ones). Targets: tiny >= 0.7 of the plain loop at
the same thread count; MLP >= 0.95 of it, and >= 0.9 of a plain loop on every core.
(The compiled path for tiny nets is ``bench_compiled.py``.)

    .venv/bin/python benchmarks/bench_engine.py [--seconds 1.0] [--rounds 15] [--only tiny|mlp]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.data.dataset import Dataset  # noqa: E402
from engine.session import Session  # noqa: E402
from engine.spec import GraphSpec  # noqa: E402
from engine import Run  # noqa: E402
from engine.device import apply_thread_policy  # noqa: E402


def make_case(kind):
    rng = np.random.default_rng(0)
    if kind == "tiny":
        n, d, hidden, classes, act, bs = 500, 2, [8, 8], 1, "tanh", 10
        opt = {"type": "sgd", "params": {"lr": 0.03}}
        loss = {"type": "bce_logits", "params": {}}
        y = (rng.random(n) > 0.5).astype(np.int64)
    else:
        n, d, hidden, classes, act, bs = 12_800, 784, [256, 128], 10, "relu", 128
        opt = {"type": "adam", "params": {"lr": 1e-3}}
        loss = {"type": "cross_entropy", "params": {}}
        y = rng.integers(0, classes, n).astype(np.int64)
    x = rng.standard_normal((n, d)).astype(np.float32)
    layers = [{"id": "input", "type": "Input", "params": {"shape": [d]}}]
    for i, h in enumerate(hidden, 1):
        layers.append({"id": f"d{i}", "type": "Dense", "params": {"units": h, "activation": act}})
    layers += [{"id": "out", "type": "Dense", "params": {"units": classes}}, {"id": "output", "type": "Output"}]
    empty_x, empty_y = np.zeros((0, d), np.float32), np.zeros((0,), np.int64)
    data = Dataset(name=kind, x_train=x, y_train=y, x_val=empty_x, y_val=empty_y, x_test=empty_x, y_test=empty_y,
                   task="classification", n_classes=max(classes, 2), input_shape=(d,),
                   feature_names=[f"x{i}" for i in range(d)], class_names=[str(c) for c in range(max(classes, 2))])
    session = Session(graph=GraphSpec.from_dict({"layers": layers}), loss=loss, optimizer=opt,
                      dataset={"type": "inline", "params": {"x": [[0.0] * d], "y": [0], "task": "classification"}},
                      training={"epochs": 10**6, "batch_size": bs, "shuffle": True, "device": "cpu"})
    return session, data, hidden, act, classes, bs, opt


def engine_rate(session, data, seconds, threads=None):
    run = Run(session, dataset=data, path="torch")
    tr = run.trainer
    apply_thread_policy(tr.n_params, tr.batch_size, headless=True)  # what main.py train does
    if threads:  # --threads: the engine's own cost without a second thread waiting on a busy core
        torch.set_num_threads(threads)
    it = run.events()
    for _ in range(20):  # warm-up: first calls of the optimizer and allocator
        next(it)
    steps, t0 = 0, time.perf_counter()
    for ev in it:
        if type(ev).__name__ == "Step":
            steps += 1
            if steps % 64 == 0 and time.perf_counter() - t0 > seconds:
                break
    rate = steps / (time.perf_counter() - t0)
    run.stop()
    for _ in it:
        pass
    return rate, torch.get_num_threads()


def plain_rate(data, hidden, act, classes, bs, opt, seconds):
    d = data.x_train.shape[1]
    mods, prev = [], d
    for h in hidden:
        mods += [torch.nn.Linear(prev, h), torch.nn.Tanh() if act == "tanh" else torch.nn.ReLU()]
        prev = h
    mods.append(torch.nn.Linear(prev, classes))
    model = torch.nn.Sequential(*mods)
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    if classes == 1:
        lossf, y = torch.nn.BCEWithLogitsLoss(), y.float().unsqueeze(1)
        optim = torch.optim.SGD(model.parameters(), lr=opt["params"]["lr"])
    else:
        lossf = torch.nn.CrossEntropyLoss()
        optim = torch.optim.Adam(model.parameters(), lr=opt["params"]["lr"])
    n = len(x)
    g = torch.Generator().manual_seed(0)
    steps, t0 = 0, None
    while True:
        perm = torch.randperm(n, generator=g)
        for b in range(0, n, bs):
            idx = perm[b:b + bs]
            optim.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            optim.step()
            loss.item()  # a real loop looks at its loss; the engine does too
            steps += 1
            if t0 is None and steps == 20:  # warm-up done: start the clock
                t0, steps = time.perf_counter(), 0
            if t0 is not None and steps % 64 == 0 and time.perf_counter() - t0 > seconds:
                return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short pairs rather than a few long ones: another tenant taking a core for a second spoils one
    # pair, not the median (with 7 × 1.5 s the median moved by ±0.03 between runs minutes apart).
    ap.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", choices=("tiny", "mlp"))
    ap.add_argument("--threads", type=int, help="both loops on this many threads instead of the command line's policy")
    args = ap.parse_args()
    import os

    targets = {"tiny": 0.7, "mlp": 0.95}
    cores = os.cpu_count() or 1
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {cores} cores")
    for kind in ("tiny", "mlp"):
        if args.only and kind != args.only:
            continue
        session, data, hidden, act, classes, bs, opt = make_case(kind)
        eng, base, every = [], [], []
        for _ in range(args.rounds):  # engine and plain loop back to back: each pair saw the same machine
            r, threads = engine_rate(session, data, args.seconds, args.threads)
            eng.append(r)
            base.append(plain_rate(data, hidden, act, classes, bs, opt, args.seconds))  # same thread count
            if kind == "mlp" and threads != cores and not args.threads:
                torch.set_num_threads(cores)
                every.append(plain_rate(data, hidden, act, classes, bs, opt, args.seconds))
        e, b = statistics.median(eng), statistics.median(base)
        pairs = [x / y for x, y in zip(eng, base)]
        ratio = statistics.median(pairs)
        status = "ok" if ratio >= targets[kind] else "BELOW TARGET"
        print(f"{kind:5s} threads={threads}  engine {e:8.0f} steps/s ({min(eng):.0f}–{max(eng):.0f})   "
              f"plain torch {b:8.0f} steps/s ({min(base):.0f}–{max(base):.0f})")
        print(f"{kind:5s} engine / plain, median of {len(pairs)} back-to-back rounds: {ratio:.2f} "
              f"(rounds {min(pairs):.2f}–{max(pairs):.2f}; target >= {targets[kind]}) {status}")
        if kind == "mlp" and not args.threads:
            alls = every if every else base  # the policy already used every core: the same loop
            r2 = statistics.median([x / y for x, y in zip(eng, alls)])
            print(f"mlp   vs a plain loop on all {cores} cores: {statistics.median(alls):8.0f} steps/s   ratio {r2:.2f} "
                  f"(target >= 0.9) {'ok' if r2 >= 0.9 else 'BELOW TARGET'}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
