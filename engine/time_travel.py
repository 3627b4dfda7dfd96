"""Checkpoints along a training within a memory budget, and branching a new run from one of them.

A ``Recorder`` watches a run's events and keeps (weights, optimizer state) at the moments worth
going back to: every step early on (where most changes), then log-spaced steps, plus every epoch
end. When the kept checkpoints pass the budget, every second one of the older half is dropped
(never the first, the last or an epoch end when room allows), so the spacing stays dense-early,
sparse-late. ``branch`` starts a new ``Run`` from a checkpoint with changed settings.

This is the engine half of "time travel": the window's scrubber and the runs list build on it.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput
from .events import EpochEnd, Step, Steps


@dataclass
class Checkpoint:
    step: int
    epoch: int
    weights: dict  # "layers.node.param" → numpy array
    optimizer_state: dict  # a torch optimizer state_dict (tensors cloned)
    epoch_end: bool = False
    nbytes: int = field(default=0)


def _copy_optimizer_state(sd: dict) -> dict:
    """An independent copy of an optimizer ``state_dict()``: tensors cloned, lists copied (no deepcopy: it is
    the slow part of a checkpoint). Hyperparameters are numbers or tuples, immutable; nested lists are copied."""
    import torch

    def value(v):
        if torch.is_tensor(v):
            return v.detach().clone()
        if isinstance(v, list):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        return v

    state = {k: {n: value(t) for n, t in st.items()} for k, st in sd.get("state", {}).items()}
    groups = [{k: (list(v) if k == "params" else value(v) if isinstance(v, (list, dict)) else v) for k, v in g.items()}
              for g in sd.get("param_groups", [])]
    return {"state": state, "param_groups": groups}


def _state_bytes(state) -> int:
    import torch

    total = 0
    for st in state.get("state", {}).values():
        for v in st.values():
            if torch.is_tensor(v):
                total += v.numel() * v.element_size()
    return total


class Recorder:
    """Keep checkpoints of a run within ``budget_bytes``: steps 1..``dense`` each, then every ×``growth``."""

    # The share of the training's time that epoch-end checkpoints may take, when ``max_share`` is not given.
    # A class attribute so a test can make the window's recorders (built by gui.training) deterministic:
    # at 1.0 no epoch end is ever skipped (the time spent recording is part of the time elapsed).
    DEFAULT_MAX_SHARE = 0.03

    def __init__(self, budget_bytes: int = 64 * 2 ** 20, dense: int = 20, growth: float = 1.25,
                 max_share: float | None = None):
        if not (isinstance(budget_bytes, int) and budget_bytes > 0):
            raise InvalidInput(f"the checkpoint budget must be a whole number of bytes > 0, got {budget_bytes!r}")
        if not (isinstance(dense, int) and dense >= 0) or not (isinstance(growth, (int, float)) and growth > 1):
            raise InvalidInput("dense must be ≥ 0 and growth > 1")
        self.budget, self.dense, self.growth = budget_bytes, dense, float(growth)
        self.max_share = float(self.DEFAULT_MAX_SHARE if max_share is None else max_share)  # of the training's time that epoch-end checkpoints may take
        self.skipped_epoch_ends = 0
        self.checkpoints: list[Checkpoint] = []
        self.note: str | None = None  # why recording stopped (a checkpoint larger than the budget)
        self._counted, self._bytes = None, 0  # the list ``_bytes`` was counted for, and its total
        self._layout = None  # (model, where its tensors are) for ``_tensors``
        self._next_log = float(max(dense, 1)) * self.growth

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.checkpoints)

    def _total(self) -> int:
        """``nbytes`` without a sum over every checkpoint each time one is taken."""
        if self._counted is not self.checkpoints:  # the list was replaced (thinned, loaded, seeded)
            self._counted, self._bytes = self.checkpoints, self.nbytes
        return self._bytes

    def wants(self, step: int) -> bool:
        """Dense early, then log-spaced: 1..dense, then ≈ dense·growthᵏ."""
        if step <= self.dense:
            return True
        if step >= self._next_log:
            while self._next_log <= step:
                self._next_log = max(self._next_log * self.growth, self._next_log + 1)
            return True
        return False

    def wants_range(self, first: int, last: int) -> bool:
        """Whether any of the steps ``first..last`` is wanted (one compiled chunk), without asking step by step."""
        if last < first:
            return False
        hit = first <= self.dense or last >= self._next_log
        while self._next_log <= last:
            self._next_log = max(self._next_log * self.growth, self._next_log + 1)
        return hit

    def record(self, run, *, epoch_end: bool = False) -> Checkpoint:
        """Copy the run's weights and optimizer state now (between two steps, under its snapshot).

        Cheap on purpose (it runs on the training thread, ~every epoch end): the tensors to copy are
        found once per model, the optimizer state is copied tensor by tensor instead of deep-copied.
        """
        with run.snapshot() as tr:
            step, epoch = tr.step, tr.epoch
            last = self.checkpoints[-1] if self.checkpoints else None
            if last is not None and last.step == step:  # an epoch end right after its last step
                last.epoch_end |= epoch_end
                last.epoch = epoch
                return last
            if hasattr(tr, "_opt_code"):  # the compiled path keeps its optimizer slots outside torch
                from .compiled.optstate import export_optimizer_state
                export_optimizer_state(tr)
            weights = {k: v.detach().cpu().numpy().copy() for k, v in self._tensors(tr.model)}
            opt = _copy_optimizer_state(tr.optimizer.state_dict())
        cp = Checkpoint(step, epoch, weights, opt, epoch_end,
                        sum(a.nbytes for a in weights.values()) + _state_bytes(opt))
        if cp.nbytes > self.budget:
            raise InvalidInput(f"one checkpoint takes {cp.nbytes:,} bytes, more than the budget of {self.budget:,}")
        total = self._total()
        self.checkpoints.append(cp)
        self._bytes = total + cp.nbytes
        self._thin()
        return cp

    def _tensors(self, model):
        """``(state_dict key, tensor)`` now: parameters (kept as objects, so a re-pointed ``.data`` is seen)
        and persistent buffers (looked up afresh, in case one was reassigned), in state_dict order."""
        cached = self._layout
        if cached is None or cached[0] is not model:
            layout = []
            for prefix, mod in model.named_modules():
                pre = f"{prefix}." if prefix else ""
                params = [(pre + n, p) for n, p in mod._parameters.items() if p is not None]
                bufs = [n for n in mod._buffers if n not in mod._non_persistent_buffers_set]
                if params or bufs:
                    layout.append((pre, mod, params, bufs))
            cached = self._layout = (model, layout)
        out = []
        for pre, mod, params, bufs in cached[1]:
            out += params
            out += [(pre + n, mod._buffers[n]) for n in bufs if mod._buffers.get(n) is not None]
        return out

    def _thin(self):
        while self._total() > self.budget and len(self.checkpoints) > 2:
            old = self.checkpoints[1: max(2, len(self.checkpoints) // 2)]
            drop = [c for c in old[::2] if not c.epoch_end] or old[::2]
            ids = {id(c) for c in drop}
            self.checkpoints = [c for c in self.checkpoints if id(c) not in ids]

    def watch(self, run, events):
        """Pass ``events`` (from ``run.events(...)``) through, recording at the chosen steps and epoch ends.

        Epoch ends are skipped while the checkpoints past the dense start have taken more than ``max_share``
        of the time since the watch began (only very short epochs get there, e.g. a tiny net on the compiled path, whose epoch
        takes ~0.1 ms; the count is in ``skipped_epoch_ends``); the last step is always kept. A network whose one checkpoint is larger
        than the budget trains on unrecorded: ``note`` says why. While it watches, it keeps the trainer's
        ``wanted_step`` at the next step it would record, so a compiled run that trains several epochs per
        call (``events(whole_epochs=True)``) ends its calls there and gets the checkpoints of one call per epoch.
        """
        try:
            yield from self._watch(run, events)
        finally:
            if run.trainer is not None:
                run.trainer.wanted_step = None

    def _watch(self, run, events):
        from .events import Finished

        t0, spent = time.perf_counter(), 0.0  # spent: on checkpoints past the dense start
        for ev in events:
            if self.note is None:
                try:
                    first = last = None
                    if isinstance(ev, Step):
                        first = last = ev.step
                    elif isinstance(ev, Steps):  # a compiled chunk: one checkpoint at its end if any step is wanted
                        first, last = ev.first_step, ev.first_step + len(ev) - 1
                    if first is not None:
                        if self.wants_range(first, last):
                            t = time.perf_counter()
                            self.record(run)
                            if last > self.dense:  # the dense start is free; later ones make epoch ends wait
                                spent += time.perf_counter() - t
                    elif isinstance(ev, EpochEnd):
                        t = time.perf_counter()
                        if self.checkpoints and self.checkpoints[-1].step == run.step:
                            self.record(run, epoch_end=True)  # free: marks the checkpoint just taken
                        elif spent <= self.max_share * (t - t0):
                            self.record(run, epoch_end=True)
                            spent += time.perf_counter() - t
                        else:
                            self.skipped_epoch_ends += 1
                    elif isinstance(ev, Finished) and run.trainer is not None:
                        if not self.checkpoints or self.checkpoints[-1].step != run.step:
                            self.record(run)  # the present, wherever the training stopped
                except InvalidInput as e:
                    self.note = f"No checkpoints kept: {e}"
                if run.trainer is not None:
                    run.trainer.wanted_step = self._next_wanted(run.trainer.step, spent <= self.max_share * (
                        time.perf_counter() - t0))
            yield ev

    def _next_wanted(self, step: int, epoch_ends: bool) -> int | None:
        """The next step to record at: the next one while dense, the next log-spaced one, or the next step
        (so the next epoch end) while epoch ends fit the budget. Tells a compiled run where to end a chunk of
        epochs (engine.compiled.epochs), so it records what it would have one epoch per call."""
        if self.note is not None:
            return None
        if epoch_ends or step < self.dense:
            return step + 1
        return math.ceil(self._next_log)

    def set_budget(self, budget_bytes: int, *, thin: bool = True):
        """A new budget; ``thin`` drops checkpoints past it now (else at the next record, on the training thread)."""
        if not (isinstance(budget_bytes, int) and budget_bytes > 0):
            raise InvalidInput(f"the checkpoint budget must be a whole number of bytes > 0, got {budget_bytes!r}")
        self.budget, self.note = budget_bytes, None
        if thin:
            self._thin()

    def resume_after(self, step: int):
        """Continue the spacing after ``step`` (a restored or branched run goes on from there)."""
        while self._next_log <= step:
            self._next_log = max(self._next_log * self.growth, self._next_log + 1)

    def nearest(self, step: int) -> Checkpoint:
        if not self.checkpoints:
            raise InvalidInput("no checkpoint has been recorded yet")
        return min(self.checkpoints, key=lambda c: (abs(c.step - step), -c.step))


def history_until(history, step: int, epoch: int):
    """A copy of ``history`` as it was at ``step`` (after ``epoch`` epochs): a branch's curves start as the original's."""
    from .history import History

    a = history.to_arrays()
    out = {}
    for k, v in a.items():
        if k.endswith(".x") and k[:-2] + ".y" in a:
            keep = np.asarray(v) <= step
            out[k], out[k[:-2] + ".y"] = np.asarray(v)[keep].copy(), np.asarray(a[k[:-2] + ".y"])[keep].copy()
        elif k.endswith(".meta"):
            m = np.array(v, copy=True)
            m[1] = 0  # nothing to skip: the next point is recorded
            out[k] = m
        elif k.startswith("epochs."):
            out[k] = np.asarray(v)[:epoch].copy()
        elif k not in out:
            out[k] = np.array(v, copy=True)
    return History.from_arrays(out, copy.deepcopy(history.epoch_metrics[:epoch]))


def branch(session, checkpoint: Checkpoint, *, path: str = "torch", dataset=None, history=None, **changes):
    """A new Run of ``session`` with ``changes`` (session fields: optimizer, training, ...) from the checkpoint.

    The optimizer state comes along when the optimizer type is unchanged (a new type starts fresh,
    as a live change would). The step and epoch counters start from the checkpoint's (a checkpoint
    inside an epoch starts that epoch afresh). ``path`` and ``dataset`` are ``Run``'s (the window
    branches on the path it trains on); ``history``: the original run's, kept up to the checkpoint.
    """
    import torch

    from .run import Run

    s = session.copy()
    for key, value in changes.items():
        if not hasattr(s, key):
            raise InvalidInput(f"a branch can change session fields (optimizer, training, regularizers, ...), not {key!r}")
        setattr(s, key, copy.deepcopy(value))
    run = Run(s, path=path, dataset=dataset)
    same_type = s.canonicalize().optimizer["type"] == session.copy().canonicalize().optimizer["type"]
    with run.snapshot() as tr:
        tr.model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in checkpoint.weights.items()})
        if same_type and checkpoint.optimizer_state.get("state"):
            lrs = [g["lr"] for g in tr.optimizer.param_groups]
            tr.optimizer.load_state_dict(copy.deepcopy(checkpoint.optimizer_state))
            for g, lr in zip(tr.optimizer.param_groups, lrs):  # the branch's own settings win
                g["lr"] = lr
        if hasattr(tr, "_opt_code"):  # the compiled path reads its optimizer slots back from torch's state
            from .compiled.optstate import import_optimizer_state
            import_optimizer_state(tr)
        tr.step, tr.epoch = checkpoint.step, checkpoint.epoch
        if history is not None:
            tr.history = history_until(history, checkpoint.step, checkpoint.epoch)
    run.branched_from = (checkpoint.step, checkpoint.epoch)
    return run


def log_spaced_count(total_steps: int, dense: int = 20, growth: float = 1.25) -> int:
    """How many step checkpoints ``Recorder`` takes over ``total_steps`` (before thinning): for planning a budget."""
    if total_steps <= dense:
        return total_steps
    return dense + int(math.floor(math.log(total_steps / max(dense, 1)) / math.log(growth) + 1e-9))
