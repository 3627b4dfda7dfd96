"""Side-by-side variants: K copies of one network that differ in a few settings, trained together.

The engine part of comparing runs in the window (issue 11, item 4): one session, and per
variant any of ``seed`` (initial weights and batch order), ``lr``, ``optimizer``,
``batch_size``, ``schedule``, ``regularizers`` or ``init`` (``{node id: {"weight": spec}}``).
Every variant is a full ``CompiledTrainer`` on the same dataset, with its own history, state
and events; they run in threads, and the kernels release the GIL, so variants use every core
at once. A variant trains exactly as it would alone (the tests check it bit for bit).
"""
from __future__ import annotations

import collections
import os
import queue
import threading
import time

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
        runs = {i: tr.run(epochs, max_steps=max_steps) for i, tr in enumerate(self.trainers)}
        ready = collections.deque(runs)  # variants waiting for a turn; append/popleft are atomic
        events = queue.SimpleQueue()  # (index, [events], done) per helper turn, or (None, error, True)
        quit_ = threading.Event()

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

        def helper():
            try:
                while not quit_.is_set():
                    try:
                        i = ready.popleft()
                    except IndexError:
                        if all_taken.is_set():
                            return
                        time.sleep(0.0005)
                        continue
                    out, done = turn(i)
                    events.put((i, out, done))  # before ``i`` is ready again: its events stay in order
                    if not done:
                        ready.append(i)
                    while events.qsize() > _BACKLOG and not quit_.is_set():
                        time.sleep(0.0005)  # the consumer is behind: wait rather than pile up events
            except BaseException as e:  # noqa: BLE001 - re-raised in the consumer's thread
                quit_.set()
                events.put((None, e, True))

        all_taken = threading.Event()  # set once no variant will be ready again
        pool = [threading.Thread(target=helper, daemon=True, name=f"variants-{k}") for k in range(self.threads - 1)]
        for t in pool:
            t.start()
        remaining = len(runs)

        def drained():
            nonlocal remaining
            while True:
                try:
                    i, out, done = events.get_nowait()
                except queue.Empty:
                    return
                if i is None:
                    raise out
                remaining -= done
                for ev in out:
                    yield i, ev

        try:
            while remaining:
                yield from drained()
                if not remaining:
                    break
                try:
                    i = ready.popleft()
                except IndexError:  # every unfinished variant is in a helper's turn: wait for one
                    try:
                        j, out, done = events.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    if j is None:
                        raise out
                    remaining -= done
                    for ev in out:  # the oldest turn in the queue: yielding it now keeps the order
                        yield j, ev
                    continue
                # any earlier turn of ``i`` was put before ``i`` was ready again, so drained() yielded it
                yield from drained()
                out, done = turn(i)
                remaining -= done
                if not done:
                    ready.append(i)
                for ev in out:
                    yield i, ev
        finally:
            quit_.set()
            all_taken.set()
            self.stop()
            for t in pool:
                t.join()
