"""Side-by-side variants: K copies of one network that differ in a few settings, trained together.

The engine part of comparing runs in the window (issue 11, item 4): one session, and per
variant any of ``seed`` (initial weights and batch order), ``lr``, ``optimizer``,
``batch_size``, ``schedule``, ``regularizers`` or ``init`` (``{node id: {"weight": spec}}``).
Every variant is a full ``CompiledTrainer`` on the same dataset, with its own history, state
and events; they run in threads, and the kernels release the GIL, so variants use every core
at once. A variant trains exactly as it would alone (the tests check it bit for bit).
"""
from __future__ import annotations

import os
import queue
import threading

from ..data import make_dataset
from ..errors import InvalidInput

VARIANT_KEYS = frozenset({"seed", "lr", "optimizer", "batch_size", "schedule", "regularizers", "init"})
_DONE = object()


def variant_session(session, change: dict):
    """``session`` with one variant's changes applied (a copy)."""
    bad = set(change) - VARIANT_KEYS
    if bad:
        raise InvalidInput(f"a variant cannot change {sorted(bad)[0]!r} (it may change: {', '.join(sorted(VARIANT_KEYS))})")
    s = session.copy()
    if "seed" in change:
        s.seed = int(change["seed"])
    if "optimizer" in change:
        s.optimizer = change["optimizer"] if isinstance(change["optimizer"], dict) else {"type": change["optimizer"]}
    if "lr" in change:
        opt = s.optimizer if isinstance(s.optimizer, dict) else {"type": s.optimizer}
        s.optimizer = dict(opt, params=dict(opt.get("params", {}), lr=float(change["lr"])))
    if "batch_size" in change:
        s.training = dict(s.training, batch_size=int(change["batch_size"]))
    if "schedule" in change:
        s.schedule = change["schedule"]
    if "regularizers" in change:
        s.regularizers = list(change["regularizers"])
    for nid, targets in (change.get("init") or {}).items():
        node = s.graph.node(nid)
        node.init = dict(node.init, **targets)
    return s


class Variants:
    """``Variants(session, [{"lr": 0.1}, {"lr": 0.03, "seed": 2}, ...]).run(epochs)`` yields ``(index, event)``."""

    def __init__(self, session, variants: list, *, dataset=None, dtype=None, threads: int | None = None, **kw):
        from .trainer import CompiledTrainer

        if not variants:
            raise InvalidInput("side-by-side training needs at least one variant")
        # One dataset for all: a variant's seed changes its weights and batch order, not the data.
        self.data = dataset if dataset is not None else make_dataset(session.dataset, seed=session.seed)
        self.sessions = [variant_session(session, dict(v)) for v in variants]
        self.trainers = [CompiledTrainer(s, dataset=self.data, dtype=dtype, **kw) for s in self.sessions]
        self.threads = max(1, min(len(self.trainers), threads or os.cpu_count() or 1))

    def __len__(self):
        return len(self.trainers)

    def stop(self):
        for tr in self.trainers:
            tr.stop()

    def pause(self):
        for tr in self.trainers:
            tr.pause()

    def resume(self):
        for tr in self.trainers:
            tr.resume()

    @property
    def histories(self):
        return [tr.history for tr in self.trainers]

    def run(self, epochs: int | None = None, *, max_steps: int | None = None):
        """Train every variant; yields ``(variant index, event)`` as they come (each variant's own order kept).

        ``threads`` workers take the variants in turn, a chunk of steps at a time, so all of them
        progress together. Closing the generator stops them all.
        """
        events: queue.Queue = queue.Queue(maxsize=4096)
        runs = {i: tr.run(epochs, max_steps=max_steps) for i, tr in enumerate(self.trainers)}
        ready: queue.Queue = queue.Queue()
        for i in runs:
            ready.put(i)
        errors, quit_ = [], threading.Event()

        def worker():
            while not quit_.is_set():
                try:
                    i = ready.get_nowait()
                except queue.Empty:
                    return
                try:
                    ev = next(runs[i], _DONE)
                except Exception as e:  # noqa: BLE001 - re-raised in the consumer's thread
                    errors.append(e)
                    quit_.set()
                    events.put((i, _DONE))
                    return
                events.put((i, ev))
                if ev is not _DONE:
                    ready.put(i)  # back of the line: the variants take turns

        pool = [threading.Thread(target=worker, daemon=True, name=f"variants-{k}") for k in range(self.threads)]
        for t in pool:
            t.start()
        remaining = len(runs)
        try:
            while remaining:
                i, ev = events.get()
                if errors:
                    raise errors[0]
                if ev is _DONE:
                    remaining -= 1
                    continue
                yield i, ev
        finally:
            quit_.set()
            self.stop()
            while any(t.is_alive() for t in pool):  # drain, so no worker stays blocked on a full queue
                try:
                    events.get(timeout=0.01)
                except queue.Empty:
                    pass
