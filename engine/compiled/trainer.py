"""``CompiledTrainer``: the torch ``Trainer`` with its steps run by numba kernels, a chunk of steps per call.

It *is* a ``Trainer`` (a subclass): the torch model (its seeded initial weights; the
view through which checkpoints, early stopping and export see the weights), the
optimizer (its state-dict format), schedule, early stopping, generators, live
changes, epoch ends and the finish all stay the torch trainer's own code, so a
checkpoint moves between the two paths and both see the same initial weights and
batch order. The model's parameters are re-pointed at one flat vector that the
kernels update in place (``program.lower``); only the step arithmetic moves into
``step.train_chunk``.

Events: one ``Steps`` per chunk (or one ``Step`` per step with ``batched=False``),
``Stats`` at the end of each chunk that reached a ``stats_every`` boundary (their own,
coarser cadence; chunks end on those boundaries where the epoch allows), and the torch trainer's ``Started``/``EpochEnd``/``Finished``.
Stop, pause and requested changes act between chunks (a few milliseconds).
Epochs shorter than a chunk train several to a call (``epochs.run_epochs``): the same training and
events, yielded after the call.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..errors import InvalidInput
from ..events import EpochEnd, Started, Steps
from ..trainer import Trainer
from .optstate import export_optimizer_state, import_optimizer_state
from .program import clip_table, dense_targets, loss_code, lower, optimizer_table, regularizer_tables
from .records import add_steps, layer_stats
from .step import eval_loss, eval_outputs, train_chunk
from .epochs import NOT_RUN, run_epochs
from .support import change_reason, supports

EVAL_ROWS = 1024  # samples per slab of the evaluation buffer
CHUNK_WORK = 2_000_000  # multiply-adds per chunk: ~1-5 ms, so stop/pause answer at once
MAX_CHUNK = 2048
# Full epoch-end evaluations (train/val metrics, diagnoses) at least this many steps apart, and weight
# statistics no closer than STATS_MIN_STEPS: each costs ~1 ms and ~0.1–0.2 ms of Python that holds the
# GIL, which side-by-side variants share. At 50–100k steps/s these still come 25–100 times a second,
# more than the window redraws (≤ 30 Hz); at 500 and 256 they took a third of a tiny net's step time.
FULL_EVAL_STEPS = 2000
STATS_MIN_STEPS = 1024
_EVALUATE = object()  # _end_epoch: compute the validation loss


class NotCompiled(InvalidInput):
    """What the compiled path cannot run: a session (raised by the constructor — train it with ``Trainer``)
    or a live change (raised by ``request`` — continue the run on torch: ``state()`` → ``Trainer.load_state``)."""


class CompiledTrainer(Trainer):
    path = "compiled"

    def __init__(self, session, *, device: str | None = None, dataset=None, checkpoint=None, dtype=None,
                 batched: bool = True, metrics_every: int | None = None, stats_min_steps: int = STATS_MIN_STEPS,
                 whole_epochs: bool = True):
        """As ``Trainer``; ``dtype`` "float32" (default) or "float64"; ``batched`` False yields one ``Step`` per step.

        ``metrics_every``: full evaluations (train/val metrics, diagnoses) every this many epochs; the epochs
        between carry the losses only (see ``_end_epoch``). None: every epoch once epochs have ≥ 2,000 steps,
        else often enough for one per ~2,000 steps. ``stats_min_steps``: weight statistics come every
        ``stats_every`` steps, but no closer than this (a multiple of ``stats_every``; 1: as on torch).
        ``whole_epochs``: train several short epochs per kernel call where nothing in between needs
        Python (engine.compiled.epochs; the same training bit for bit); False: one call per epoch at most.
        """
        reason = supports(session, device, dataset=dataset)
        if reason:
            raise NotCompiled(f"this session cannot use the compiled path: {reason}")
        super().__init__(session, device="cpu", dataset=dataset, checkpoint=checkpoint)
        reason = supports(self.session, "cpu", dataset=self.data)  # the full-batch size is known now
        if reason:  # e.g. full batch on a large dataset: a caller on "auto" builds the torch Trainer instead
            raise NotCompiled(f"this session cannot use the compiled path: {reason}")
        self.batched = bool(batched)
        dtype = str(dtype or self.training.get("dtype") or "float32").replace("torch.", "")
        if dtype not in ("float32", "float64"):
            raise InvalidInput(f"the compiled path trains in float32 or float64, not {dtype!r}")
        self.dtype = np.float64 if dtype == "float64" else np.float32
        if self.dtype == np.float64:
            self.model.double()  # in place: the optimizer keeps the same parameter objects
        self.prog = lower(self.model, self.dtype)
        self.theta = self.prog.theta
        self.grad = np.zeros_like(self.theta)
        self.s1, self.s2, self.wprev = (np.zeros_like(self.theta) for _ in range(3))
        self.opt_steps = 0
        self._loss_code, self._loss_param = loss_code(self.session.loss)
        self._np_x = {k: np.ascontiguousarray(getattr(self.data, f"x_{k}"), dtype=self.dtype).reshape(
            -1, self.prog.in_w) for k in ("train", "val", "test")}
        self._np_y = {k: np.asarray(getattr(self.data, f"y_{k}")) for k in ("train", "val", "test")}
        self._targets_np = {k: dense_targets(v, self.prog.k, self.data.task, self.dtype) for k, v in self._np_y.items()}
        self._set_optimizer_tables()
        self._set_tables()
        self._alloc()
        if metrics_every is not None and (isinstance(metrics_every, bool) or not isinstance(metrics_every, int)
                                          or metrics_every < 1):
            raise InvalidInput(f"metrics_every must be a whole number ≥ 1, got {metrics_every!r}")
        self.metrics_every = metrics_every
        self.stats_min_steps = max(1, int(stats_min_steps))
        self.whole_epochs = bool(whole_epochs)  # an engine.Run sets it for each events() call
        self._last_diags = ()

    # -- tables the kernels read -------------------------------------------------------
    def _set_optimizer_tables(self):
        self._opt_code, self._opt_h = optimizer_table(self.session.optimizer)

    def _set_tables(self):
        (self._l1, self._l2, self._has_pen, self._post_kind, self._post_val,
         self._post_mask) = regularizer_tables(self.prog, self.regularizers, self.training)
        self._clip_mode, self._clip_val = clip_table(self.training)

    def _set_regularizers(self, specs):
        super()._set_regularizers(specs)
        if hasattr(self, "prog"):
            self._set_tables()

    def _alloc(self):
        rows = max(self.batch_size, 1)
        w, k = self.prog.width, self.prog.k
        self._buf, self._dbuf, self._mask = (np.zeros((rows, w), dtype=self.dtype) for _ in range(3))
        self._tb = np.zeros((rows, k), dtype=self.dtype)
        self._cb = np.zeros(rows, dtype=np.int64)
        ev = max(1, min(EVAL_ROWS, max(len(v) for v in self._np_x.values())))
        self._ebuf, self._emask = np.zeros((ev, w), dtype=self.dtype), np.zeros((ev, w), dtype=self.dtype)
        self._vout = np.zeros((len(self._np_x["val"]), k), dtype=self.dtype)  # whole-epoch chunks' validation outputs
        self._dummy = np.zeros((1, 1), dtype=self.dtype)
        stats_every = int(self.training["stats_every"])
        chunk = max(1, min(MAX_CHUNK, CHUNK_WORK // max(1, self.n_params * rows)))
        if chunk > stats_every:
            chunk -= chunk % stats_every  # chunks end on stats_every boundaries where the epoch allows
        self._chunk = chunk

    # -- live changes --------------------------------------------------------------------
    def request(self, **changes):
        """As ``Trainer.request``; a change the kernels do not implement raises ``NotCompiled`` (nothing is queued)."""
        why = change_reason(self, changes)
        if why:
            raise NotCompiled(f"this change takes the training off the compiled path ({why}); "
                              f"continue it on torch")
        super().request(**changes)

    def _apply_pending(self):
        with self._lock:
            swap = "optimizer" in self._pending
            old_type = self.session.optimizer["type"], self.session.optimizer["params"].get("form")
        if swap:
            export_optimizer_state(self)  # so the torch swap carries the slots over when the type stays
        super()._apply_pending()
        self._set_optimizer_tables()
        if swap:
            new_type = self.session.optimizer["type"], self.session.optimizer["params"].get("form")
            if new_type != old_type:
                self.optimizer.state.clear()
            import_optimizer_state(self)
        self._set_tables()
        self._alloc()

    # -- helpers ---------------------------------------------------------------------
    def _lrs(self, n):
        """Learning rates of the next ``n`` steps: the schedule is asked once per chunk, per step only in warm-up."""
        sch = self.schedule
        if sch.name == "warmup" and self.step < sch.params["warmup_steps"]:
            out = np.array([sch.lr(self.epoch, self.step + i) for i in range(n)], dtype=np.float64)
            bad = out[~(np.isfinite(out) & (out >= 0))]
            if len(bad):
                raise InvalidInput(f"learning rate must be a finite number ≥ 0, got {float(bad[0])!r}")
            return out
        lr = float(sch.lr(self.epoch, self.step))
        if not (math.isfinite(lr) and lr >= 0):
            raise InvalidInput(f"learning rate must be a finite number ≥ 0, got {lr!r}")
        out = np.empty(n)
        out.fill(lr)
        return out

    def _run_chunk(self, n):
        p = self.prog
        lrs = self._lrs(n)
        losses = np.empty(n)
        seed = self._dropout_seed()
        t, c = self._targets_np["train"]
        done = train_chunk(self.theta, self.grad, self.s1, self.s2, self.wprev, p.ops, p.fops, p.merge, self._buf,
                           self._dbuf, self._mask, self._tb, self._cb, self._np_x["train"], t, c, self._perm_np,
                           self.batch_size, self.steps_per_epoch, self.batch_in_epoch, n, lrs, self.opt_steps,
                           self.step, seed, self._opt_code, self._opt_h, self._l1, self._l2, self._has_pen,
                           self._clip_mode, self._clip_val, p.param_off, self._post_kind, self._post_val,
                           self._post_mask, p.dense, self._loss_code, self._loss_param, p.out_off, p.k, p.in_w,
                           losses, True)
        self.opt_steps += done
        self.step += done
        self.batch_in_epoch += done
        self._lr = float(lrs[done - 1])
        return losses[:done], lrs[:done]

    def _dropout_seed(self) -> int:
        """The seed of the dropout masks' hash (kernels.py): every call that trains steps passes the same one."""
        return (self.session.seed * 1_000_003 + 12345) & 0x7FFFFFFFFFFFFFFF

    def _draw_perm(self) -> np.ndarray:
        """The next epoch's batch order: a permutation from the trainer's generator (the torch path's), or in order."""
        n = len(self._np_x["train"])
        return torch.randperm(n, generator=self.gen).numpy() if self.training["shuffle"] else np.arange(n, dtype=np.int64)

    @staticmethod
    def _stats_due(step: int, n: int, every: int) -> bool:
        """Whether the ``n`` steps that ended at ``step`` passed a multiple of ``every`` (weight statistics are due)."""
        return step // every > (step - n) // every

    def _take_steps(self, first: int, batch: int, losses, lrs):
        """Count a chunk's steps (those before a non-finite loss) into the epoch's loss and the history.

        Returns their events (one ``Steps``, or a ``Step`` each unbatched) and whether the last loss was not
        finite. ``first``: the step count after the chunk's first step; ``batch``: its batch in the epoch.
        """
        bad = not math.isfinite(losses[-1])
        good, good_lrs = (losses[:-1], lrs[:-1]) if bad else (losses, lrs)
        if not len(good):
            return [], bad
        self._epoch_loss[0] += float(good.sum())
        self._epoch_loss[1] += len(good)
        add_steps(self.history, first, good, good_lrs)
        chunk = Steps(first, self.epoch, good, good_lrs, batch)
        return ([chunk] if self.batched else chunk.steps()), bad

    def outputs(self, x) -> np.ndarray:
        """Network outputs for inputs ``x`` in eval mode, as a (N, k) array of the training dtype."""
        p = self.prog
        x = np.ascontiguousarray(x, dtype=self.dtype).reshape(-1, p.in_w)
        out = np.empty((len(x), p.k), dtype=self.dtype)
        if len(x):
            eval_outputs(self.theta, p.ops, p.fops, p.merge, self._ebuf, self._emask, x, len(self._ebuf),
                         p.in_w, p.out_off, p.k, out, False, 0, 0)
        return out

    def evaluate_split(self, split: str, limit: int | None = None):
        """(mean loss, metrics dict, raw outputs as a torch tensor) on a split, in eval mode."""
        from ..metrics import evaluate

        x, (t, c), y = self._np_x[split], self._targets_np[split], self._np_y[split]
        if limit is not None and len(x) > limit:
            x, t, c, y = x[:limit], t[:limit], c[:limit], y[:limit]
        if len(x) == 0:
            return None, {}, None
        out = self.outputs(x)
        loss = float(eval_loss(self._loss_code, self._loss_param, out, self._dummy, 0, t, c, False))
        metrics = evaluate(out.astype(np.float32), y, self.data.task, self.loss_name, self.data.n_classes)
        return loss, metrics, torch.from_numpy(out)

    def predict(self, x) -> np.ndarray:
        """Model outputs for raw inputs (already preprocessed), in eval mode (float32)."""
        return self.outputs(np.asarray(x)).astype(np.float32)

    def _stats(self):
        st = layer_stats(self.prog, self.theta, self.grad, self.step, self.epoch)
        self._grad_norms.append(st.grad_norm)
        return st

    def _stats_interval(self) -> int:
        every = int(self.training["stats_every"])
        return every * max(1, -(-self.stats_min_steps // every))

    def _full_epoch_due(self, epoch: int | None = None) -> bool:
        """Whether epoch ``epoch`` (default: the one now ending; 0 is the first) gets the full evaluation.

        Deterministic: by epoch number; the first and last always.
        """
        k = self.metrics_every or max(1, -(-FULL_EVAL_STEPS // self.steps_per_epoch))
        done = (self.epoch if epoch is None else epoch) + 1
        es = self.early
        needs_scores = es is not None and es.monitor not in ("val_loss", "train_loss", "loss")
        return k == 1 or done == 1 or done % k == 0 or done >= self.training["epochs"] or needs_scores

    def _end_epoch(self, t0, val_loss=_EVALUATE):
        """The torch trainer's epoch end, or on the epochs between full evaluations a light one.

        At 100k steps/s a 50-step epoch lasts half a millisecond, less than evaluating metrics and
        diagnoses costs, so those run every ``metrics_every`` epochs (and on the last). The light
        epoch end keeps everything that steers training — the training loss (from the steps), the
        validation loss (for the schedule, early stopping and the curves) — and carries empty metric
        dicts (history accuracy NaN) and the last diagnoses. ``val_loss``: the validation loss when the
        kernel already computed it (engine.compiled.epochs).
        """
        if self._full_epoch_due():
            ev = super()._end_epoch(t0)
            self._last_diags = ev.diagnoses
            return ev
        s, c = self._epoch_loss
        train_loss = s / c if c else float("nan")
        val_loss = self._split_loss("val") if val_loss is _EVALUATE else val_loss
        self.epoch += 1
        self.batch_in_epoch = 0
        self._epoch_loss = [0.0, 0]
        dt = max(time.perf_counter() - t0, 1e-9)
        lr = self._lr if self._lr is not None else self.base_lr
        self.history.add_epoch(train_loss=train_loss, val_loss=val_loss, train_acc=None, val_acc=None, lr=lr,
                               seconds=dt, metrics={})
        self.schedule.observe(self.epoch, val_loss if val_loss is not None else train_loss)
        return EpochEnd(self.epoch, train_loss, val_loss, {}, {}, lr, dt, self.steps_per_epoch / dt, self._last_diags)

    def _split_loss(self, split):
        x, (t, c) = self._np_x[split], self._targets_np[split]
        if len(x) == 0:
            return None
        return float(eval_loss(self._loss_code, self._loss_param, self.outputs(x), self._dummy, 0, t, c, False))

    # -- the loop (the torch trainer's, a chunk at a time) -----------------------------
    def run(self, epochs: int | None = None, *, max_steps: int | None = None, to_epoch_end: bool = False):
        """Yield events until ``epochs`` total epochs are done, a stop, a divergence or ``max_steps`` steps."""
        if epochs is not None:
            self.training["epochs"] = int(epochs)
        self._stop.clear()
        t_start = time.perf_counter()
        self.model.train()
        yield Started(self.training["epochs"], self.steps_per_epoch, str(self.device), self.n_params, self.epoch)
        steps_done = 0
        t0 = time.perf_counter()
        reason = "completed"
        # The Python here runs once per chunk and serialises on the GIL while variants train in
        # threads (variants.py), so what does not change between chunks is looked up once.
        spe, every = self.steps_per_epoch, self._stats_interval()
        while self.epoch < self.training["epochs"]:
            if self.batch_in_epoch == 0 and self.whole_epochs:  # several short epochs in one call
                if self._stop.is_set() or not self._running.is_set():
                    if self._halted():
                        return (yield self._finish("stopped", t_start))
                outcome = yield from run_epochs(self, max_steps, t_start)
                if outcome is not NOT_RUN:
                    if outcome is not None:
                        return (yield outcome)
                    spe, every = self.steps_per_epoch, self._stats_interval()
                    continue
            if self.batch_in_epoch == 0 or self._perm is None:
                self._perm = self._draw_perm()
                t0 = time.perf_counter()
            while self.batch_in_epoch < spe:
                if self._stop.is_set() or not self._running.is_set():
                    if self._halted():
                        return (yield self._finish("stopped", t_start))
                st = None
                with self.step_lock:  # a snapshot waits for this chunk, never races it
                    if self._pending:
                        self._apply_pending()
                        spe, every = self.steps_per_epoch, self._stats_interval()
                        if self.batch_in_epoch >= spe:
                            break
                    k = min(self._chunk, spe - self.batch_in_epoch)
                    if max_steps is not None:
                        k = min(k, max_steps - steps_done)
                    first, batch = self.step + 1, self.batch_in_epoch
                    losses, lrs = self._run_chunk(k)
                    events, bad = self._take_steps(first, batch, losses, lrs)
                    if not bad and self._stats_due(self.step, len(losses), every):
                        st = self._stats()  # one per chunk that reached a stats_every boundary
                        self.history.add_stats(st)
                steps_done += len(losses)
                yield from events
                if bad:
                    return (yield self._diverged(float(losses[-1]), float(lrs[-1]), t_start))
                if st is not None:
                    if not math.isfinite(st.grad_norm):
                        return (yield self._diverged(float("nan"), float(lrs[-1]), t_start))
                    yield st
                if max_steps is not None and steps_done >= max_steps:
                    if self.batch_in_epoch < spe:
                        return (yield self._finish("step", t_start))
                    to_epoch_end = True
                    break
            outcome = yield from self._close_epoch(t0, t_start, to_epoch_end)
            if outcome == "early_stopping":
                reason = outcome
                break
            if outcome is not None:
                return (yield outcome)
            spe, every = self.steps_per_epoch, self._stats_interval()  # a request applied at the epoch end
        yield self._finish(reason, t_start, test=True)

    @property
    def _perm_np(self):
        p = self._perm
        if not isinstance(p, np.ndarray):
            p = self._perm = np.ascontiguousarray(p.cpu().numpy(), dtype=np.int64)  # randperm's int64: no copy
        return p

    def reset_weights(self, seed: int | None = None):
        """New initial weights and optimizer state; history is cleared."""
        super().reset_weights(seed)  # model.reinitialize writes through the views into theta
        self.s1[:] = 0.0
        self.s2[:] = 0.0
        self.opt_steps = 0

    # -- persistence: the torch trainer's format (engine/checkpoint.py) ------------------
    def state(self):
        export_optimizer_state(self)
        perm = self._perm
        if isinstance(perm, np.ndarray):
            self._perm = torch.from_numpy(perm)
        try:
            return super().state()
        finally:
            self._perm = perm

    def load_state(self, tensors: dict, meta: dict):
        super().load_state(tensors, meta)  # weights land in theta through the views
        if self._perm is not None:
            self._perm = self._perm.cpu().numpy().astype(np.int64)
        import_optimizer_state(self)
        self._set_optimizer_tables()
        self._set_tables()
        self._alloc()
