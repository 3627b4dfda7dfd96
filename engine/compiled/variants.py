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

from ..data import make_dataset
from ..errors import InvalidInput
from ..events import Steps

VARIANT_KEYS = frozenset({"seed", "lr", "optimizer", "batch_size", "schedule", "regularizers", "init"})
_DONE = object()
_TURN_EVENTS = 256  # events of one turn at most (unbatched Steps expand into one event per step)
_BACKLOG = 512  # helper turns waiting for the consumer before helpers pause


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

        The variants take turns, one kernel chunk (with the events around it) per turn. The thread
        iterating this generator takes turns itself and ``threads − 1`` helper threads take the
        others, so with ``threads`` = cores every core runs a kernel while one thread runs the
        Python between chunks. Why so: at ~100k steps/s a chunk lasts half a millisecond, about
        what the Python around it costs, so every hand-over between threads counts — a helper puts
        a whole turn's events in one ``SimpleQueue.put``, the queue of waiting variants is a
        lock-free deque, and the consumer never sleeps while there is a turn it could take.
        Closing the generator stops them all.
        """
        from ..turns import take_turns

        runs = {i: tr.run(epochs, max_steps=max_steps) for i, tr in enumerate(self.trainers)}

        def turn(i):
            """Advance variant ``i`` to the end of its next chunk; returns (its events, whether it finished)."""
            out, it = [], runs[i]
            while True:
                ev = next(it, _DONE)
                if ev is _DONE:
                    return out, True
                out.append(ev)
                if isinstance(ev, Steps) or len(out) >= _TURN_EVENTS:  # a chunk ran (or unbatched Steps piled up)
                    return out, False

        # closing the stream stops every trainer first, so a helper waiting in a paused one returns
        yield from take_turns(list(runs), turn, self.threads, backlog=_BACKLOG, on_close=self.stop)
