"""Imported data that scales: fingerprint, session copy and .nnp save of a 100,000 × 10 CSV, lists against arrays.

"before" holds the data as the session used to (nested JSON lists in the dataset params);
"after" as DataArrays (engine/data/arrays.py). The fingerprint is the canonical JSON the
window and ``engine.run.structure_key`` compare (``json.dumps(..., default=str)``); a copy is
``Session.copy()``; the save is ``build_archive_bytes`` (.npy members against lists in
session.json). Medians of 5 runs; the ratio is before / after.

    .venv/bin/python benchmarks/bench_data.py
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from engine.archive import build_archive_bytes  # noqa: E402
from engine.data.arrays import DataArray  # noqa: E402
from engine.session import Session  # noqa: E402

ROWS, COLS = 100_000, 10


def sessions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, COLS))
    y = rng.integers(0, 3, ROWS)
    lists, arrays = Session(), Session()
    common = {"task": "classification", "feature_names": [f"f{j}" for j in range(COLS)],
              "class_names": ["a", "b", "c"], "source": "big.csv", "skip_rows": 0}
    lists.dataset = {"type": "csv", "params": {"x": x.tolist(), "y": y.tolist(), **common}}
    arrays.dataset = {"type": "csv", "params": {"x": DataArray(x), "y": DataArray(y), **common}}
    return lists, arrays


def fingerprint(s: Session) -> str:
    return json.dumps(s.to_dict(), sort_keys=True, default=str)


def median_time(fn, rounds=5):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    before, after = sessions()
    after.dataset["params"]["x"].digest  # noqa: B018  the hash is computed once, when first needed
    print(f"{ROWS:,} × {COLS} CSV rows            before (lists)   after (arrays)   ratio")
    for name, fn in (("fingerprint", fingerprint), ("session copy", Session.copy),
                     (".nnp build", lambda s: build_archive_bytes(s))):
        b, a = median_time(lambda: fn(before)), median_time(lambda: fn(after))
        print(f"{name:<30} {b * 1e3:>10.1f} ms {a * 1e3:>13.1f} ms {b / a:>8.0f}×")
    t = time.perf_counter()
    DataArray(np.random.default_rng(1).normal(size=(ROWS, COLS))).digest  # noqa: B018
    print(f"first SHA-256 of the 100k × 10 array: {(time.perf_counter() - t) * 1e3:.1f} ms (once per import)")


if __name__ == "__main__":
    main()
