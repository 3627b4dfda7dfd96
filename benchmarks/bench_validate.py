"""Validation cost against graph size: it must grow linearly (it used to be quadratic: 68 s at 20,000 nodes).

Prints, for chains of 1,000 / 5,000 / 20,000 Dense layers, the CPU seconds to read the session
file and validate the graph (shapes, parameter counts, the memory estimate), and the
CPU seconds of the cheap preflight checks (registry names, dataset against the network, memory;
not building the network). Target: 20,000 nodes validate in under 1 s. The per-node cost
(µs/node) stays flat when validation is linear.

    .venv/bin/python benchmarks/bench_validate.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.graph import validate  # noqa: E402
from engine.memory import estimate  # noqa: E402
from engine.preflight import preflight  # noqa: E402
from engine.session import load_session  # noqa: E402


def chain_session(n: int) -> dict:
    layers = [{"type": "Input", "params": {"shape": [2]}}]
    layers += [{"type": "Dense", "params": {"units": 2, "activation": "tanh"}} for _ in range(n - 3)]
    layers += [{"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]
    return {"format_version": 1, "name": f"chain{n}", "seed": 0, "graph": {"layers": layers},
            "dataset": {"type": "circle", "params": {"n": 200}}, "loss": "bce_logits",
            "optimizer": {"type": "sgd", "params": {"lr": 0.1}}}


def best_of(fn, rounds=3):
    """Best CPU seconds of a few rounds: on these shared 2-core machines wall time mostly measures the neighbours."""
    times = []
    for _ in range(rounds):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def main():
    print(f"{'nodes':>7} {'load+validate s':>16} {'µs/node':>8} {'preflight s':>12} {'µs/node':>8}")
    with tempfile.TemporaryDirectory() as d:
        for n in (1_000, 5_000, 20_000):
            path = os.path.join(d, f"chain{n}.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(chain_session(n), f)

            def check():
                s = load_session(path)
                estimate(s, validate(s.graph))

            session = load_session(path)
            t_val = best_of(check)
            t_pre = best_of(lambda: preflight(session, build=False))
            print(f"{n:>7,} {t_val:>16.3f} {t_val / n * 1e6:>8.1f} {t_pre:>12.3f} {t_pre / n * 1e6:>8.1f}")
    print("target: 20,000 nodes load+validate < 1 s")


if __name__ == "__main__":
    main()
