"""Training history kept compact: numpy buffers that thin themselves out.

A ``Series`` stores (x, y) pairs; when full it keeps every second point and
from then on records every 2nd, 4th, ... point, so a million-step run stays
within a fixed budget while the curve keeps its shape.
"""
from __future__ import annotations

import numpy as np


class Series:
    def __init__(self, capacity: int = 200_000, width: int = 0, dtype=np.float32):
        self.capacity = capacity
        size = min(capacity, 1024)  # grows by doubling up to capacity
        self.x = np.zeros(size, dtype=np.int64)
        self.y = np.zeros((size,) if width == 0 else (size, width), dtype=dtype)
        self.n = 0
        self.stride = 1
        self._skip = 0

    def _grow(self, need):
        size = len(self.x)
        if need <= size:
            return
        size = min(self.capacity, max(need, 2 * size))
        x = np.zeros(size, dtype=self.x.dtype)
        y = np.zeros((size,) + self.y.shape[1:], dtype=self.y.dtype)
        x[: self.n], y[: self.n] = self.x[: self.n], self.y[: self.n]
        self.x, self.y = x, y

    def append(self, x, y):
        if self._skip:
            self._skip -= 1
            return
        if self.n == len(self.x) and self.n < self.capacity:
            self._grow(self.n + 1)
        if self.n == self.capacity:
            keep = slice(0, self.n, 2)
            m = len(range(*keep.indices(self.n)))
            self.x[:m] = self.x[keep]
            self.y[:m] = self.y[keep]
            self.n = m
            self.stride *= 2
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1
        self._skip = self.stride - 1

    def data(self):
        return self.x[: self.n], self.y[: self.n]

    def __len__(self):
        return self.n

    def nbytes(self):
        return self.x.nbytes + self.y.nbytes

    def state(self) -> dict:
        return {"x": self.x[: self.n].copy(), "y": self.y[: self.n].copy(),
                "stride": self.stride, "skip": self._skip, "capacity": self.capacity}

    @classmethod
    def from_state(cls, st: dict) -> "Series":
        y = np.asarray(st["y"])
        s = cls(int(st["capacity"]), 0 if y.ndim == 1 else y.shape[1], y.dtype)
        s._grow(len(y))
        s.n = len(y)
        s.x[: s.n] = st["x"]
        s.y[: s.n] = y
        s.stride, s._skip = int(st["stride"]), int(st["skip"])
        return s


EPOCH_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds")


class History:
    """Per-step loss and lr, per-epoch summaries, and periodic per-layer statistics."""

    HIST_BINS = 30

    def __init__(self, step_capacity: int = 500_000, stats_capacity: int = 1000):
        self.step_loss = Series(step_capacity)
        self.step_lr = Series(step_capacity)
        self.epochs = {k: [] for k in EPOCH_KEYS}
        self.epoch_metrics: list[dict] = []  # full validation metrics per epoch (small dicts)
        self.stats_capacity = stats_capacity
        self.layer_stats: dict[str, Series] = {}  # "node.param" -> rows (mean, std, norm, grad_norm)
        self.layer_hists: dict[str, Series] = {}  # "node.param" -> histogram counts over time
        self.layer_edges: dict[str, np.ndarray] = {}  # latest histogram edges per key

    def add_step(self, step, loss, lr):
        self.step_loss.append(step, loss)
        self.step_lr.append(step, lr)

    def add_epoch(self, **values):
        for k in EPOCH_KEYS:
            v = values.get(k)
            self.epochs[k].append(float("nan") if v is None else float(v))
        self.epoch_metrics.append(values.get("metrics") or {})

    def add_stats(self, stats):
        for ls in stats.layers:
            key = f"{ls.node}.{ls.param}"
            if key not in self.layer_stats:
                self.layer_stats[key] = Series(self.stats_capacity, 4)
                self.layer_hists[key] = Series(self.stats_capacity, self.HIST_BINS, np.int32)
            self.layer_stats[key].append(stats.step, (ls.mean, ls.std, ls.norm, ls.grad_norm))
            self.layer_hists[key].append(stats.step, np.asarray(ls.hist_counts, dtype=np.int32))
            self.layer_edges[key] = np.asarray(ls.hist_edges, dtype=np.float32)

    @property
    def n_epochs(self):
        return len(self.epochs["train_loss"])

    def epoch_array(self, key) -> np.ndarray:
        return np.asarray(self.epochs[key], dtype=np.float64)

    def nbytes(self) -> int:
        total = self.step_loss.nbytes() + self.step_lr.nbytes()
        for d in (self.layer_stats, self.layer_hists):
            total += sum(s.nbytes() for s in d.values())
        return total

    def copy(self) -> "History":
        """An independent copy (the live history keeps growing; a reader gets a stable one)."""
        import copy as _copy

        arrays = {k: np.array(v, copy=True) for k, v in self.to_arrays().items()}
        h = History.from_arrays(arrays, _copy.deepcopy(self.epoch_metrics))
        h.stats_capacity = self.stats_capacity
        return h

    # -- persistence: flat dict of numpy arrays (saved as .npy, no pickle) --
    def to_arrays(self) -> dict:
        out = {}
        for name, s in (("step_loss", self.step_loss), ("step_lr", self.step_lr)):
            st = s.state()
            out[f"{name}.x"], out[f"{name}.y"] = st["x"], st["y"]
            out[f"{name}.meta"] = np.array([st["stride"], st["skip"], st["capacity"]], dtype=np.int64)
        for k in EPOCH_KEYS:
            out[f"epochs.{k}"] = self.epoch_array(k)
        for key in self.layer_stats:
            for kind, d in (("stats", self.layer_stats), ("hist", self.layer_hists)):
                st = d[key].state()
                out[f"{kind}.{key}.x"], out[f"{kind}.{key}.y"] = st["x"], st["y"]
                out[f"{kind}.{key}.meta"] = np.array([st["stride"], st["skip"], st["capacity"]], dtype=np.int64)
            out[f"edges.{key}"] = self.layer_edges[key]
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, epoch_metrics=None) -> "History":
        h = cls()

        def series(prefix):
            meta = arrays[f"{prefix}.meta"]
            return Series.from_state({"x": arrays[f"{prefix}.x"], "y": arrays[f"{prefix}.y"],
                                      "stride": meta[0], "skip": meta[1], "capacity": meta[2]})

        h.step_loss, h.step_lr = series("step_loss"), series("step_lr")
        for k in EPOCH_KEYS:
            h.epochs[k] = [float(v) for v in arrays.get(f"epochs.{k}", [])]
        h.epoch_metrics = list(epoch_metrics or [{} for _ in h.epochs["train_loss"]])
        keys = {k[len("stats."):-len(".meta")] for k in arrays if k.startswith("stats.") and k.endswith(".meta")}
        for key in sorted(keys):
            h.layer_stats[key] = series(f"stats.{key}")
            h.layer_hists[key] = series(f"hist.{key}")
            h.layer_edges[key] = np.asarray(arrays[f"edges.{key}"])
        return h
