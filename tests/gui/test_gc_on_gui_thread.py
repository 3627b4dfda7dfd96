"""Qt objects are freed on the GUI thread, whichever thread dropped them or made the garbage collector run.

A widget freed on a worker thread makes Qt crash later, in an unrelated paint (a segfault or an abort
in the middle of the suite). These tests pin the two ways it happened: the cyclic collector running
on a worker that allocates, and a worker thread holding the last reference to a view.
"""
import ast
import gc
import threading
import time
import weakref
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

ROOT = Path(__file__).resolve().parents[2]


class Probe(QObject):
    """Records the thread its Python side is freed on."""

    freed_on: list = []

    def __del__(self):
        Probe.freed_on.append(threading.current_thread().name)


def _cycle_holding_a_probe():
    a = {"probe": Probe()}
    a["self"] = a  # only the cyclic collector can free it
    return weakref.ref(a["probe"])


def test_the_app_turns_automatic_collection_off_and_collects_from_a_timer(gc_on_gui_thread, qtbot):
    assert not gc.isenabled()
    assert gc_on_gui_thread.timer.isActive() and gc_on_gui_thread.threshold == gc.get_threshold()
    Probe.freed_on.clear()
    alive = _cycle_holding_a_probe()

    def allocate():  # enough cycles that automatic collection would run here, on this thread, many times
        junk = []
        for i in range(200_000):
            d = {}
            d["d"] = d
            junk.append(d)
            if len(junk) > 1000:
                junk.clear()

    worker = threading.Thread(target=allocate, name="allocating-worker")
    worker.start()
    worker.join()
    assert alive() is not None  # the worker's allocations did not collect it
    qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # the timer did, on the GUI thread
    assert Probe.freed_on == ["MainThread"]


def test_check_collects_only_past_the_threshold(gc_on_gui_thread):
    gc.collect()
    before = gc_on_gui_thread.collections
    gc_on_gui_thread.check()  # nothing allocated since: below the threshold
    assert gc_on_gui_thread.collections == before
    alive = _cycle_holding_a_probe()
    keep = [[] for _ in range(gc_on_gui_thread.threshold[0] + 10)]  # containers count towards generation 0
    gc_on_gui_thread.check()
    assert gc_on_gui_thread.collections == before + 1 and alive() is None
    del keep


def test_a_full_collection_waits_until_the_oldest_generation_grew_by_a_quarter(gc_on_gui_thread):
    """CPython's rule for the oldest generation: a full pass over the app's objects stalls every thread."""
    c = gc_on_gui_thread
    gc.collect()
    c.long_lived, c.pending = len(gc.get_objects(2)), 0
    a = {"probe": Probe()}
    a["self"] = a
    alive, keep = weakref.ref(a["probe"]), a
    del a
    survivors = [[] for _ in range(5000)]  # alive: a generation-1 pass moves them into the oldest generation
    for _ in range(c.threshold[1] + 1):
        gc.collect(0)  # each counts towards generation 1's threshold
    junk = [[] for _ in range(c.threshold[0] + 10)]
    c.check()  # generation 1 is due: ``keep`` and the survivors move up, and are counted
    assert 5000 <= c.pending <= 5000 + len(junk) + 2000
    del keep  # garbage in the oldest generation now: only a full collection frees it
    for _ in range(c.threshold[2] + 1):
        gc.collect(1)
    assert gc.get_count()[2] > c.threshold[2]
    c.pending = 0
    junk += [[] for _ in range(c.threshold[0] + 10)]
    c.check()  # past the threshold, but the oldest generation has not grown by a quarter
    assert alive() is not None
    c.pending = c.long_lived // 4 + 1  # now it has
    junk += [[] for _ in range(c.threshold[0] + 10)]
    c.check()
    assert alive() is None and c.pending == 0 and abs(c.long_lived - len(gc.get_objects(2))) < 100
    del junk, survivors


def test_a_live_jobs_function_and_what_it_holds_are_freed_on_the_gui_thread(qtbot):
    from gui.experiments.live import LiveJob

    owner = QWidget()
    qtbot.addWidget(owner)
    got = []
    job = LiveJob(owner, got.extend)
    Probe.freed_on.clear()
    probe = Probe()
    alive = weakref.ref(probe)

    def fn(put, stopped, probe=probe):  # what a view's job holds: the view itself
        time.sleep(0.05)
        put(("done", probe.objectName()))

    job.start(fn)
    del probe, fn
    job.thread.join(5)
    assert not job.running and alive() is not None  # the worker let go; the GUI thread still holds it
    qtbot.waitUntil(lambda: alive() is None, timeout=5000)
    assert Probe.freed_on == ["MainThread"] and got == [("done", ""), ("ended",)]


def _holds_self(node) -> bool:
    """``self.method`` (a bound method), a lambda using ``self``, or ``self`` itself."""
    if isinstance(node, ast.Name):
        return node.id == "self"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return callable_attr(node)
    if isinstance(node, ast.Lambda):
        return any(isinstance(n, ast.Name) and n.id == "self" for n in ast.walk(node.body))
    return False


def callable_attr(node) -> bool:
    """``self.x`` passed as a thread's target is a bound method; as one of its args, data (``self.q``) is fine."""
    return getattr(node, "_as_target", False)


def threads_holding_self(source: str) -> list:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Thread"):
            continue
        for kw in node.keywords:
            if kw.arg == "target":
                kw.value._as_target = True
                if _holds_self(kw.value):
                    found.append(node.lineno)
            elif kw.arg == "args" and isinstance(kw.value, ast.Tuple):
                if any(_holds_self(e) for e in kw.value.elts):
                    found.append(node.lineno)
    return found


def test_no_gui_thread_holds_its_owner():
    """A thread started on ``self.method`` (or given ``self``) holds a Qt object and drops it on that thread."""
    assert threads_holding_self("threading.Thread(target=self._work, daemon=True)") == [1]
    assert threads_holding_self("threading.Thread(target=lambda: self.go(), daemon=True)") == [1]
    assert threads_holding_self("threading.Thread(target=_work, args=(self, 1))") == [1]
    assert threads_holding_self("threading.Thread(target=_work, args=(self.q, self.stop_event))") == []
    found = [f"{p.relative_to(ROOT)}:{line}" for p in sorted((ROOT / "gui").rglob("*.py"))
             for line in threads_holding_self(p.read_text())]
    assert found == []


def test_settle_makes_the_full_collection_a_burst_of_objects_calls_for_before_a_training(gc_on_gui_thread,
                                                                                         live_windows, qtbot):
    """``import torch`` or a new window leaves ~10⁵ objects in the youngest generation; collected mid-training
    that froze the plots for ~0.4 s (bench_ui's max lateness). Pressing Train collects them first."""
    from gui import gc_on_gui_thread as module

    c = gc_on_gui_thread
    win = live_windows()
    gc.collect()
    c.long_lived, c.pending = len(gc.get_objects(2)), 0
    before = c.collections
    module.settle()  # nothing new since: no full collection
    assert c.collections == before
    alive = _cycle_holding_a_probe()
    burst = [[] for _ in range(c.long_lived // 3)]  # a third more objects, all still in generation 0
    full = []
    gc.callbacks.append(lambda phase, info: full.append(info["generation"]) if phase == "start" else None)
    try:
        win.controller.train()
    finally:
        gc.callbacks.pop()
    assert full[:1] == [2] and alive() is None  # collected as the training started, on this thread
    assert c.long_lived >= len(burst)
    win.controller.stop()
    qtbot.waitUntil(lambda: not win.controller.busy, timeout=30000)
    del burst
