"""The compiled small-network path against a plain torch loop and a hand-written numpy loop, in one run.

Case: TensorFlow Playground's size, 2-8-8-1 tanh, 500 points, batch 10, SGD, BCE on logits
(the ``tiny`` case of bench_engine.py). Three loops train it in turn, several alternating
rounds, medians reported:

* compiled: ``engine.compiled.CompiledTrainer.run()`` with its whole event stream
  (batched Steps, Stats, an EpochEnd with evaluation every 50 steps) — what a run costs;
* plain torch: the hand-written torch loop of bench_engine.py (torch.optim.SGD, one thread);
* numpy: a hand-written numpy forward/backward/update (array ops, allocating).

Then 16 side-by-side variants of it trained together on every core, their aggregate
model-steps/s against the plain torch loop of the same round: ``engine.compiled.Variants`` (seeds
and learning rates) and ``engine.variants.VariantSet`` (seeds; what the window's comparison runs).
The cores the process kept busy are printed with them: on a loaded machine the second core is
often not free, and the variants' figure then halves while the one-thread torch loop's does not.

Targets (issue 11): compiled ≥ 30× the plain torch loop and ≥ 3.5× the numpy loop; 16 variants
≥ 60× one plain torch loop.

    .venv/bin/python benchmarks/bench_compiled.py [--seconds 2] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.bench_engine import make_case, plain_rate  # noqa: E402
from engine.compiled import CompiledTrainer, Variants, supports  # noqa: E402
from engine.events import Steps  # noqa: E402

TARGETS = {"plain torch": 30.0, "numpy": 3.5}
VARIANTS_TARGET = 60.0


def compiled_rate(session, data, seconds):
    tr = CompiledTrainer(session, dataset=data)
    it = tr.run()
    steps, t0 = 0, None
    for ev in it:
        if isinstance(ev, Steps):
            if t0 is None:  # the first chunk loads the compiled kernels: start the clock after it
                t0 = time.perf_counter()
                continue
            steps += len(ev)
            if time.perf_counter() - t0 > seconds:
                break
    rate = steps / (time.perf_counter() - t0)
    tr.stop()
    return rate, tr


def variants_rate(session, data, k, seconds, api="compiled"):
    """Aggregate model-steps/s of ``k`` variants trained together on every core, and the cores the process
    kept busy meanwhile (CPU time ÷ wall time: below 2 the machine had no second core free).

    ``api`` "compiled": ``engine.compiled.Variants`` (seed and lr differ); "window": ``engine.variants.VariantSet``
    (seeds differ), what the window's comparison runs, each variant an ``engine.Run`` on the compiled path.
    """
    import os

    from engine.variants import VariantSet

    if api == "compiled":
        v = Variants(session, [{"seed": i, "lr": 0.01 * (1 + i % 4)} for i in range(k)], dataset=data)
        it = v.run()
    else:
        v = VariantSet(session, "seed", list(range(k)), dataset=data)
        it = v.events(threads=os.cpu_count() or 1)
    steps, t0 = 0, None
    for _, ev in it:
        if isinstance(ev, Steps):
            if t0 is None:
                t0, c0 = time.perf_counter(), time.process_time()
                continue
            steps += len(ev)
            if time.perf_counter() - t0 > seconds:
                break
    dt = time.perf_counter() - t0
    cores = (time.process_time() - c0) / dt
    v.stop()
    it.close()
    return steps / dt, cores


def kernel_rate(tr, seconds):
    """The chunk kernel alone, an epoch (50 steps) per call, without events or epoch ends."""
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        tr.batch_in_epoch = 0
        tr._perm = np.random.default_rng(steps).permutation(len(tr.data.x_train))
        steps += len(tr._run_chunk(tr.steps_per_epoch)[0])
    return steps / (time.perf_counter() - t0)


def numpy_rate(data, bs, lr, seconds):
    rng = np.random.default_rng(0)
    x, y = data.x_train.astype(np.float32), data.y_train.astype(np.float32).reshape(-1, 1)
    sizes = [2, 8, 8, 1]
    W = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    B = [np.zeros(b, np.float32) for b in sizes[1:]]
    n = len(x)
    steps, t0 = 0, time.perf_counter()
    while True:
        perm = rng.permutation(n)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            a0 = x[idx]
            a1 = np.tanh(a0 @ W[0] + B[0])
            a2 = np.tanh(a1 @ W[1] + B[1])
            z3 = a2 @ W[2] + B[2]
            t = y[idx]
            loss = np.mean(np.maximum(z3, 0) - z3 * t + np.log1p(np.exp(-np.abs(z3))))
            d3 = (1.0 / (1.0 + np.exp(-z3)) - t) / len(idx)
            d2 = (d3 @ W[2].T) * (1 - a2 * a2)
            d1 = (d2 @ W[1].T) * (1 - a1 * a1)
            for i, (a, d) in enumerate(((a0, d1), (a1, d2), (a2, d3))):
                W[i] -= lr * (a.T @ d)
                B[i] -= lr * d.sum(0)
            float(loss)
            steps += 1
            if steps % 64 == 0 and time.perf_counter() - t0 > seconds:
                return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    session, data, hidden, act, classes, bs, opt = make_case("tiny")
    reason = supports(session, "cpu", dataset=data)
    if reason:
        sys.exit(f"the tiny case does not run compiled: {reason}")
    t = time.perf_counter()
    compiled_rate(session, data, 0.05)  # compile (or load the on-disk cache) once, outside the measurement
    print(f"compiled kernels ready in {time.perf_counter() - t:.1f} s (first run compiles, later ones load the cache)")
    rates = {"compiled": [], "compiled kernel only": [], "plain torch": [], "numpy": [], "16 variants": [],
             "16 variants (window)": []}
    cores = {"16 variants": [], "16 variants (window)": []}
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    for _ in range(args.rounds):
        r, tr = compiled_rate(session, data, args.seconds)
        rates["compiled"].append(r)
        rates["compiled kernel only"].append(kernel_rate(tr, args.seconds / 2))
        rates["plain torch"].append(plain_rate(data, hidden, act, classes, bs, opt, args.seconds))
        rates["numpy"].append(numpy_rate(data, bs, opt["params"]["lr"], args.seconds))
        for name, api in (("16 variants", "compiled"), ("16 variants (window)", "window")):
            r, c = variants_rate(session, data, 16, args.seconds, api)
            rates[name].append(r)
            cores[name].append(c)
    med = {k: statistics.median(v) for k, v in rates.items()}
    for k, v in med.items():
        busy = f"  ({statistics.median(cores[k]):.2f} cores busy)" if k in cores else ""
        spread = f"{min(rates[k]):,.0f}–{max(rates[k]):,.0f}"
        print(f"{k:22s} {v:10,.0f} {'model-' if 'variants' in k else ''}steps/s  (range {spread}){busy}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    ok = True
    checks = [("compiled", base, target) for base, target in TARGETS.items()]
    checks += [(name, "plain torch", VARIANTS_TARGET) for name in ("16 variants", "16 variants (window)")]
    for name, base, target in checks:  # each round's ratio (both measured back to back), then their median
        per_round = [a / b for a, b in zip(rates[name], rates[base])]
        ratio = statistics.median(per_round)
        good = ratio >= target
        ok &= good
        print(f"{name} / {base}: {ratio:6.1f}x (rounds {min(per_round):.1f}–{max(per_round):.1f}x; "
              f"target >= {target}) {'ok' if good else 'BELOW TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
