"""Compile the kernels ahead of the first training: ``warm_up()`` in a worker while the window shows.

numba compiles each kernel on its first call (~15 s per dtype on a 2-core machine) and caches
the machine code on disk beside the sources (``__pycache__``), so later processes only load it
(well under a second). Every network runs the same few kernels, whatever its layers, so training
one tiny network for a few steps compiles everything a real run needs.
"""
from __future__ import annotations

import numpy as np


def warm_up(dtype: str = "float32") -> float:
    """Compile or load every kernel for ``dtype``; returns the seconds it took."""
    import time

    from ..data.dataset import Dataset
    from ..session import Session
    from ..spec import GraphSpec
    from .trainer import CompiledTrainer

    t0 = time.perf_counter()
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    y = (x[:, 0] > 0).astype(np.int64)
    data = Dataset(name="warm-up", task="classification", n_classes=2, input_shape=(2,), feature_names=["a", "b"],
                   class_names=["0", "1"], x_train=x, y_train=y, x_val=x[:2], y_val=y[:2], x_test=x[:0], y_test=y[:0])
    graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "h", "type": "Dense", "params": {"units": 3, "activation": "tanh"}},
        {"id": "drop", "type": "Dropout", "params": {"p": 0.1}},
        {"id": "out", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"}]})
    s = Session(graph=graph, loss={"type": "bce_logits", "params": {}}, optimizer={"type": "sgd", "params": {"lr": 0.1}},
                dataset={"type": "circle", "params": {}},
                training={"epochs": 2, "batch_size": 4, "device": "cpu", "stats_every": 1})
    tr = CompiledTrainer(s, dataset=data, dtype=dtype, metrics_every=1, stats_min_steps=1)
    for _ in tr.run():
        pass
    s.training.update(epochs=5, stats_every=1000)  # epochs 2-5 in one call: the whole-epoch kernel
    tr = CompiledTrainer(s, dataset=data, dtype=dtype, metrics_every=5)
    for _ in tr.run():
        pass
    return time.perf_counter() - t0


# -- ahead of the window's first training ------------------------------------------------------
def _sources_key() -> str:
    """Changes whenever the kernels' sources or numba change (numba then compiles again)."""
    import hashlib
    from pathlib import Path

    import numba

    h = hashlib.sha256(numba.__version__.encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def marker_path():
    """The file that says the kernels of these sources are compiled and cached on disk."""
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_cache_dir("NNPlayground")) / f"compiled-{_sources_key()}"


def is_warm() -> bool:
    """True once ``main()`` compiled (or loaded) every kernel of these sources: a run starts in < 1 s."""
    from .support import numba_available

    try:
        return numba_available() and marker_path().exists()
    except (OSError, ImportError):
        return False


def main() -> int:
    """``python -m engine.compiled.warm``: compile both dtypes, then leave the marker (the window starts this)."""
    for dtype in ("float32", "float64"):
        warm_up(dtype)
    path = marker_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("compiled\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
