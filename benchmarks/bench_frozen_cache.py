"""What caching the outputs of frozen layers buys (lecture 004, ``engine/frozen_cache.py``).

A deep frozen feature extractor with a small trainable head, the transfer-learning shape the notes
describe: 64-256-256-256 ReLU frozen, a 256-10 head, on the 8×8 digits (64 features, 1,797 samples),
Adam, batch 32. The same session trains with ``training.cache_frozen`` on and off, alternately, several
rounds back to back (these machines are noisy), and the median ratio of cached / uncached steps per
second is printed, with the multiply-adds ratio the engine reports. Both runs use the command line's
thread policy (``engine.device.apply_thread_policy``) and include the epoch-end evaluations; the cached
run's one-time cost of filling the cache is reported apart.

    .venv/bin/python benchmarks/bench_frozen_cache.py [--seconds 1.5] [--rounds 5] [--batch 32] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.device import apply_thread_policy  # noqa: E402
from engine.session import Session  # noqa: E402
from engine.trainer import Trainer  # noqa: E402


def session(cache: bool, batch: int) -> Session:
    def dense(nid, units, act, frozen):
        return {"id": nid, "type": "Dense", "params": {"units": units, "activation": act}, "trainable": not frozen}

    return Session.from_dict({
        "seed": 0,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [64]}},
                             dense("d1", 256, "relu", True), dense("d2", 256, "relu", True),
                             dense("d3", 256, "relu", True), dense("head", 10, "identity", False),
                             {"id": "output", "type": "Output"}]},
        "dataset": {"type": "digits", "params": {"flat": True}}, "loss": "cross_entropy",
        "optimizer": {"type": "adam", "params": {"lr": 0.001}},
        "training": {"epochs": 1_000_000, "batch_size": batch, "device": "cpu", "cache_frozen": cache,
                     "stats_every": 50}})


def rate(cache: bool, batch: int, seconds: float, threads: int | None = None):
    """(steps/s over ``seconds`` of training after a warm-up, seconds to fill the cache, the CacheReport)."""
    tr = Trainer(session(cache, batch))
    if threads:
        torch.set_num_threads(threads)
    else:
        apply_thread_policy(tr.n_params, tr.batch_size, headless=True)
    t = time.perf_counter()
    tr.frozen_cache.active()
    fill = time.perf_counter() - t
    gen = tr.run()
    for _ in range(150):  # warm-up: allocator, the first statistics (their kernel compiles once), an epoch end
        next(gen)
    steps, t0 = tr.step, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        next(gen)
    dt = time.perf_counter() - t0
    gen.close()
    return (tr.step - steps) / dt, fill, tr.frozen_cache.report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="training time per measurement")
    ap.add_argument("--rounds", type=int, default=5, help="cached/uncached pairs, back to back")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: the command line's policy)")
    a = ap.parse_args()
    on, off, ratios = [], [], []
    for _ in range(a.rounds):
        r_on, fill, rep = rate(True, a.batch, a.seconds, a.threads)
        r_off, _, _ = rate(False, a.batch, a.seconds, a.threads)
        on.append(r_on)
        off.append(r_off)
        ratios.append(r_on / r_off)
    print(f"64-256-256-256 frozen + 256-10 head, digits (1,797 × 64), Adam, batch {a.batch}, "
          f"{torch.get_num_threads()} torch thread{'s' * (torch.get_num_threads() != 1)}")
    print(f"  {rep.text()}")
    print(f"  cached   {statistics.median(on):8.0f} steps/s   (filling the cache once: {1000 * fill:.0f} ms)")
    print(f"  uncached {statistics.median(off):8.0f} steps/s")
    print(f"  cached / uncached, median of {len(ratios)} back-to-back rounds: {statistics.median(ratios):.2f}×")


if __name__ == "__main__":
    main()
