"""Several trainings advanced together on a few threads, taking turns: the scheduler of side-by-side variants.

``take_turns(keys, turn, threads)`` yields ``(key, event)``. ``turn(key)`` advances one training a
little (one kernel chunk, one epoch) and returns ``(its events, whether it finished)``. The thread
iterating the generator takes turns itself and ``threads − 1`` helper threads take the others, so
with ``threads`` = cores every core trains while one thread runs the Python between turns.

Why it is built this way: on the compiled path a turn lasts about half a millisecond, about what the
Python around it costs, and every hand-over between threads holds the GIL the kernels wait to take
back. So a helper passes a whole turn's events in one ``SimpleQueue.put``, the trainings waiting for
a turn sit in a lock-free deque, and the reader never sleeps while there is a turn it could take.
A training's turns never overlap, and each turn is queued before the training is ready again, so
its events come out in its own order: each stream is exactly the stream it would give alone.
"""
from __future__ import annotations

import collections
import queue
import threading
import time

_IDLE_S = 0.0005  # a helper's wait when every unfinished training is in another thread's turn


def take_turns(keys, turn, threads: int, *, stopped=None, backlog: int | None = None, on_close=None):
    """``(key, event)`` of every training until each has finished (or ``stopped()`` turns true).

    ``backlog``: helper turns waiting for the reader before the helpers pause (None: no limit).
    ``on_close()`` runs when the stream ends or is closed, before the helpers are joined (e.g. stop
    the trainings, so that a helper waiting inside a paused one can return). A helper's unexpected
    error is raised in the reader's thread.
    """
    stopped = stopped or (lambda: False)
    ready = collections.deque(keys)  # append/popleft are atomic
    turns = queue.SimpleQueue()  # (key, [events], finished) per helper turn, or (None, error, True)
    quit_ = threading.Event()
    remaining = len(ready)  # trainings whose last event the reader has not had yet

    def helper():
        try:
            while not (quit_.is_set() or stopped()):
                try:
                    k = ready.popleft()
                except IndexError:
                    time.sleep(_IDLE_S)
                    continue
                out, done = turn(k)
                turns.put((k, out, done))  # before ``k`` is ready again: its events stay in order
                if not done:
                    ready.append(k)
                while backlog is not None and turns.qsize() > backlog and not quit_.is_set():
                    time.sleep(_IDLE_S)  # the reader is behind: wait rather than pile up events
        except BaseException as e:  # noqa: BLE001 - re-raised in the reader's thread
            quit_.set()
            turns.put((None, e, True))

    def drained():
        nonlocal remaining
        while True:
            try:
                k, out, done = turns.get_nowait()
            except queue.Empty:
                return
            if k is None:
                raise out
            remaining -= done
            for ev in out:
                yield k, ev

    pool = [threading.Thread(target=helper, daemon=True, name=f"turns-{n}") for n in range(threads - 1)]
    for t in pool:
        t.start()
    try:
        while remaining and not stopped():
            yield from drained()
            if not remaining:
                break
            try:
                k = ready.popleft()
            except IndexError:  # every unfinished training is in a helper's turn: wait for one
                try:
                    j, out, done = turns.get(timeout=0.05)
                except queue.Empty:
                    continue
                if j is None:
                    raise out
                remaining -= done
                for ev in out:  # the oldest turn queued: yielding it now keeps the order
                    yield j, ev
                continue
            # any earlier turn of ``k`` was queued before ``k`` was ready again: out before this one
            yield from drained()
            out, done = turn(k)
            remaining -= done
            if not done:
                ready.append(k)
            for ev in out:
                yield k, ev
    finally:
        quit_.set()
        if on_close is not None:
            on_close()
        for t in pool:
            t.join()
    yield from drained()  # stopped: the turns the helpers finished meanwhile
