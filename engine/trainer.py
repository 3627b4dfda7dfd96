"""The training loop, as a generator of events.

``Trainer.run()`` yields ``engine.events`` objects; it checks thread-safe stop
and pause flags between batches, so a GUI worker or the command line can drive
it the same way. Position inside an epoch is kept, so Step, Pause and a
save/load in the middle all continue the same curves.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import torch

from .builder import build_model
from .checkpoint import restore_trainer_state, trainer_state
from .data import make_dataset
from .device import LARGE_STEP_WORK, select_device
from .diagnostics import EXPLODED_FACTOR, diagnose_nan
from .early_stopping import EarlyStopping
from .frozen_cache import FrozenCache
from .epoch_curves import EpochCurves
from .errors import InvalidInput
from .graph import last_activation, output_width
from .events import EpochEnd, Finished, Started, Stats, Step
from .history import History
from .live_changes import apply_live_changes, check_live_changes
from .losses import LOSSES, check_pairing
from .metrics import evaluate
from .optimizers import OPTIMIZERS, apply_max_norm, check_clipping, clip_gradients, clip_in_closure, needs_closure, set_lr
from .regularizers import regularizers_from
from .schedules import SCHEDULES
from .second_order import bind_batch
from .session import Session
from .weight_stats import cpu_stats_kernel, layer_stats

EVAL_CHUNK = 4096
TRAIN_EVAL_LIMIT = 1024  # training metrics are measured on a fixed subset (the first rows) at most this large
# On a large model (device.LARGE_STEP_WORK) that subset is also held to ~1 % of an epoch's training work.
# A forward pass over R rows costs about a third of training on them (forward + backward), so R is at most
# 3 % of the training rows, and never under TRAIN_EVAL_MIN_LARGE. On the 784-256-128-10 MLP's 12,800 rows
# that is 384 rows and 1 % of the epoch; at 1,024 rows it took 2–2.6 % (measured). Small models are bound
# by per-call overhead, not rows, so they keep the whole 1,024.
TRAIN_EVAL_SHARE_LARGE = 0.03
TRAIN_EVAL_MIN_LARGE = 256
# On a large model (device.LARGE_STEP_WORK) weight statistics no closer than this many steps: one pass
# over the weights and gradients of a 784-256-128-10 MLP costs a quarter of its batch-128 Adam step, so
# every 10 steps it took 2.7 % of the training (measured); at 50, 0.5 %, and still ~6 histograms a second.
STATS_MIN_STEPS_LARGE = 50


class Trainer:
    def __init__(self, session: Session, *, device: str | None = None, dataset=None, checkpoint=None):
        """Build everything one training needs. ``checkpoint`` (a callable) is called between the phases
        (dataset, model, optimizer) so a caller can cancel a long build by raising from it.

        Nothing here touches process-wide state: no global RNG seeding, thread count or allocator tuning
        (the application sets those once at start-up, see ``engine.device``)."""
        checkpoint = checkpoint or (lambda phase: None)
        self.session = session.copy().canonicalize()
        s = self.session
        self.training = dict(s.training)
        checkpoint("dataset")
        self.data = dataset if dataset is not None else make_dataset(s.dataset, seed=s.seed)
        self.device = select_device(device or self.training["device"])
        checkpoint("model")
        self.model = build_model(s.graph, seed=s.seed).to(self.device)
        # Every random draw of this training comes from its own generators: shuffling, noise
        # regularizers and augmentation, dropout masks. Two trainings never share a stream.
        self.gen = torch.Generator().manual_seed(s.seed + 1)  # shuffling
        self.reg_gen = torch.Generator(device=self.device).manual_seed(s.seed + 2)  # noise regularizers
        self.dropout_gen = torch.Generator(device=self.device).manual_seed(s.seed + 3)  # dropout masks
        self.model.set_generator(self.dropout_gen)
        checkpoint("optimizer")
        rep = self.model.report
        if tuple(self.data.input_shape) != tuple(rep.shapes[rep.input_id]):
            raise InvalidInput(
                f"the dataset's inputs have shape {tuple(self.data.input_shape)} but the Input node expects "
                f"{tuple(rep.shapes[rep.input_id])}"
            )
        self.n_params = rep.total_params
        self._has_batchnorm = any(n.type == "BatchNorm" for n in s.graph.nodes)
        if self._has_batchnorm and len(self.data.x_train) < 2:
            raise InvalidInput("BatchNorm needs at least 2 samples per batch, but the training split has "
                               f"{len(self.data.x_train)}")
        self.batch_size = self._effective_batch(self.training["batch_size"])
        if self._has_batchnorm and self.batch_size == 1:
            raise InvalidInput("BatchNorm needs batches of at least 2 samples; raise the batch size")

        self.loss_name = s.loss["type"]
        self.loss_fn = LOSSES.create(s.loss)
        self.warnings = check_pairing(s.loss, last_activation(s.graph, rep), output_width(rep), self.data.task)
        self._check_targets()
        self.base_lr = float(s.optimizer["params"]["lr"])
        self.optimizer = OPTIMIZERS.create(s.optimizer, self.model.trainable_parameters())
        self.optimizer_type = s.optimizer["type"]  # the type that runs (live changes may swap it)
        self._closure = needs_closure(self.optimizer)
        check_clipping(s.optimizer["type"], self.training["clip"])  # L-BFGS, Newton...: refused with the reason
        self.schedule = SCHEDULES.create(s.schedule, self.base_lr)
        self._set_regularizers(s.regularizers)
        es = self.training.get("early_stopping")
        self.early = EarlyStopping(**es) if es else None

        self.x = {k: torch.as_tensor(getattr(self.data, f"x_{k}"), dtype=torch.float32).to(self.device)
                  for k in ("train", "val", "test")}
        self.y = {k: torch.as_tensor(getattr(self.data, f"y_{k}")).to(self.device) for k in ("train", "val", "test")}
        self.history = History()
        self._stat_params = [(nid, pname, p) for nid, mod in self.model.layers.items()
                             for pname, p in mod.named_parameters()]
        self.epoch = 0  # finished epochs
        self.step = 0  # optimizer steps
        self.batch_in_epoch = 0
        # A consumer's next step of interest (engine.time_travel sets it): where one call trains several
        # epochs (engine.compiled.epochs), that call ends with the epoch holding this step. None: no wish.
        self.wanted_step: int | None = None
        # Whether one call may train several short epochs (only the compiled path has such calls; engine.run
        # sets it for each events() call, since a consumer may read the trainer's state at each event).
        self.whole_epochs = False
        self._perm = None
        self._epoch_loss = [0.0, 0]
        self._lr = None
        self._grad_norms: list[float] = []
        self._curves = EpochCurves()
        self._stats_kernel = None  # resolved at the first statistics (see _stats)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._pending: dict = {}
        self._lock = threading.Lock()  # guards _pending
        # Held for each step (and epoch end): whoever holds it reads or changes the training between steps.
        self.step_lock = threading.RLock()
        self._net = self.model  # what a training step runs: the model, or the part after the frozen cache
        self.frozen_cache = FrozenCache(self)  # frozen layers' outputs computed once (engine/frozen_cache.py)

    def _check_targets(self):
        """Validate every target once (a clear error naming the bad label), then skip it per step."""
        width = output_width(self.model.report) or 1
        for split in ("train", "val", "test"):
            y = torch.as_tensor(getattr(self.data, f"y_{split}"))
            if len(y):
                self.loss_fn(torch.zeros((len(y), width)), y)
        self.loss_fn.check_targets = False

    # -- control, callable from any thread ---------------------------------
    def stop(self):
        self._stop.set()
        self._running.set()

    def pause(self):
        self._running.clear()

    def resume(self):
        self._running.set()

    @property
    def paused(self):
        return not self._running.is_set()

    def request(self, **changes):
        """Queue live changes for the next step (see ``engine.run.Run.request``); bad values raise here, at once."""
        checked = check_live_changes(self, changes)
        with self._lock:
            self._pending.update(checked)

    def _apply_pending(self):
        with self._lock:
            changes, self._pending = self._pending, {}
        apply_live_changes(self, changes)

    # -- helpers --------------------------------------------------------------
    def _set_regularizers(self, specs):
        self.regularizers = regularizers_from(specs, self.session.graph.nodes)
        self._needs_records = any(getattr(r, "needs_records", False) for r in self.regularizers)

    def _effective_batch(self, bs):
        n = len(self.data.x_train)
        if n == 0:
            raise InvalidInput("the training split is empty; give it a larger share")
        return n if bs == 0 or bs > n else bs

    @property
    def steps_per_epoch(self):
        n, bs = len(self.data.x_train), self.batch_size
        if self._has_batchnorm and n > 1 and n % bs == 1:
            return n // bs  # the lone last sample joins the previous batch: BatchNorm needs two
        return math.ceil(n / bs)

    def _batch(self, b):
        start = b * self.batch_size
        stop = len(self._perm) if b == self.steps_per_epoch - 1 else start + self.batch_size
        return self._perm[start:stop]

    def _targets(self, yb):
        for r in self.regularizers:
            yb = r.transform_targets(yb, self.data.n_classes, self.reg_gen)
        return yb

    def _loss_on(self, xb, yb, train=True):
        if train and self._needs_records:
            out, rec = self._net.forward_record(xb)
        else:
            out, rec = self._net(xb), None
        loss = self.loss_fn(out, yb)
        total = loss
        if train:
            for r in self.regularizers:
                p = r.penalty(self.model, rec)
                if p is not None:
                    total = total + p
        return loss, total

    def _forward_backward(self, xb, yb):
        # Noise is added and removed around each evaluation, so L-BFGS's line search sees clean weights.
        regs = self.regularizers
        for r in regs:
            r.before_forward(self.model, self.reg_gen)
        self.optimizer.zero_grad(set_to_none=True)
        loss, total = self._loss_on(xb, yb)
        total.backward()
        for r in regs:
            r.after_backward(self.model)
        return loss, total

    def _one_step(self, idx):
        fc = self.frozen_cache.active()  # the frozen prefix's outputs of these samples, or None: the inputs
        self._net = self.model if fc is None else fc.rest
        # index_select, not x[idx]: the same rows, 4.6× faster (371 → 80 µs for 128 of 784 floats, ~5 % of an
        # MLP step; advanced indexing takes torch's general path)
        xb = self.x["train"].index_select(0, idx) if fc is None else fc.batch(idx)
        yb = self._targets(self.y["train"].index_select(0, idx))
        for r in self.regularizers:  # data augmentation
            xb = r.transform_inputs(xb, self.reg_gen)
        lr = self.schedule.lr(self.epoch, self.step)
        if lr != self._lr:
            set_lr(self.optimizer, lr)
            self._lr = lr
        clip = self.training["clip"]
        for r in self.regularizers:  # weight decay keeps w_k for its w − ηg − ηλw_k
            r.before_step(self.model)
        if self._closure:
            losses = []

            def closure():
                loss, total = self._forward_backward(xb, yb)
                clip_in_closure(self.optimizer, self.model.trainable_parameters(), clip, self.training["clip_value"])
                losses.append(loss)
                return total

            # Gauss-Newton and Levenberg-Marquardt need the residuals, not just the scalar loss.
            bind_batch(self.optimizer, total_fn=lambda: self._loss_on(xb, yb)[1],
                       output_fn=lambda: self._net(xb), target=yb, loss=self.loss_fn)
            self.optimizer.step(closure)
            loss = losses[0]
        else:
            loss, _ = self._forward_backward(xb, yb)
            if clip != "none":
                clip_gradients(self.model.trainable_parameters(), clip, self.training["clip_value"])
            self.optimizer.step()
        for r in self.regularizers:
            r.after_step(self.model, lr)
        if self.training.get("max_norm"):
            apply_max_norm([p for _, _, p in self.model.weight_params()], self.training["max_norm"])
        self.step += 1
        return loss.item(), lr

    def _stats(self) -> Stats:
        """Weight and gradient statistics per parameter (``engine.weight_stats``: why it is fast)."""
        if self._stats_kernel is None:
            self._stats_kernel = cpu_stats_kernel(self.device)
        st = layer_stats(self._stat_params, self.step, self.epoch, self._stats_kernel)
        self._grad_norms.append(st.grad_norm)
        return st

    def train_eval_rows(self) -> int:
        """How many training rows (the first ones) the epoch end's training metrics are measured on."""
        n = len(self.x["train"])
        limit = TRAIN_EVAL_LIMIT
        if self.n_params * max(self.batch_size, 1) >= LARGE_STEP_WORK:
            limit = min(limit, max(TRAIN_EVAL_MIN_LARGE, math.ceil(TRAIN_EVAL_SHARE_LARGE * n)))
        return min(n, limit)

    def _stats_interval(self) -> int:
        """Steps between ``Stats``: ``stats_every``, or on a large model the first multiple of it that is at
        least ``STATS_MIN_STEPS_LARGE`` (deterministic: by size, never by timing)."""
        every = int(self.training["stats_every"])
        floor = STATS_MIN_STEPS_LARGE if self.n_params * max(self.batch_size, 1) >= LARGE_STEP_WORK else 1
        return every * max(1, -(-floor // every))

    @torch.no_grad()
    def evaluate_split(self, split: str, limit: int | None = None):
        """(mean loss, metrics dict, raw outputs) on a split, in eval mode."""
        x, y = self.x[split], self.y[split]
        if limit is not None and len(x) > limit:
            x, y = x[:limit], y[:limit]
        if len(x) == 0:
            return None, {}, None
        was = self.model.training
        self.model.eval()
        fc = self.frozen_cache.ready()
        outs = (fc.outputs(split, len(x), EVAL_CHUNK) if fc is not None else
                [self.model(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)])
        self.model.train(was)
        out = torch.cat(outs)
        loss = self.loss_fn(out, y).item()
        metrics = evaluate(out.float().cpu().numpy(), y.cpu().numpy(), self.data.task, self.loss_name, self.data.n_classes)
        return loss, metrics, out

    def predict(self, x) -> np.ndarray:
        """Model outputs for raw inputs (already preprocessed), in eval mode."""
        with torch.no_grad():
            was = self.model.training
            self.model.eval()
            t = torch.as_tensor(np.asarray(x), dtype=torch.float32, device=self.device)
            out = torch.cat([self.model(t[i:i + EVAL_CHUNK]) for i in range(0, len(t), EVAL_CHUNK)])
            self.model.train(was)
        return out.float().cpu().numpy()

    def _end_epoch(self, t0):
        s, c = self._epoch_loss
        train_loss = s / c if c else float("nan")
        _, train_metrics, _ = self.evaluate_split("train", self.train_eval_rows())
        val_loss, val_metrics, _ = self.evaluate_split("val")
        self.epoch += 1
        self.batch_in_epoch = 0
        self._epoch_loss = [0.0, 0]
        dt = max(time.perf_counter() - t0, 1e-9)
        lr = self._lr if self._lr is not None else self.base_lr
        self.history.add_epoch(train_loss=train_loss, val_loss=val_loss, train_acc=train_metrics.get("accuracy"),
                               val_acc=val_metrics.get("accuracy"), lr=lr, seconds=dt, metrics=val_metrics)
        self.schedule.observe(self.epoch, val_loss if val_loss is not None else train_loss)
        # the same as diagnostics.diagnose_history, without re-reading the whole history every epoch
        diags = tuple(self._curves.diagnose(self.history, epochs_seen=self.epoch, planned=self.training["epochs"]))
        return EpochEnd(self.epoch, train_loss, val_loss, train_metrics, val_metrics, lr, dt,
                        self.steps_per_epoch / dt, diags)

    # -- the loop -------------------------------------------------------------
    def run(self, epochs: int | None = None, *, max_steps: int | None = None, to_epoch_end: bool = False):
        """Yield events until ``epochs`` total epochs are done, a stop, a divergence or ``max_steps`` steps."""
        if epochs is not None:
            self.training["epochs"] = int(epochs)
        self._stop.clear()
        t_start = time.perf_counter()
        model = self.model
        model.train()
        yield Started(self.training["epochs"], self.steps_per_epoch, str(self.device), self.n_params, self.epoch)
        stats_every = self._stats_interval()
        steps_done = 0
        t0 = time.perf_counter()
        n = len(self.x["train"])
        reason = "completed"
        while self.epoch < self.training["epochs"]:
            if self.batch_in_epoch == 0 or self._perm is None:
                self._perm = (torch.randperm(n, generator=self.gen) if self.training["shuffle"]
                              else torch.arange(n)).to(self.device)
                t0 = time.perf_counter()
            while self.batch_in_epoch < self.steps_per_epoch:
                if self._halted():
                    return (yield self._finish("stopped", t_start))
                with self.step_lock:  # a snapshot (save, history export) waits for this step, never races it
                    if self._pending:
                        self._apply_pending()
                        stats_every = self._stats_interval()
                        if self.batch_in_epoch >= self.steps_per_epoch:
                            break
                    loss, lr = self._one_step(self._batch(self.batch_in_epoch))
                    self.batch_in_epoch += 1
                    if math.isfinite(loss):
                        self._epoch_loss[0] += loss
                        self._epoch_loss[1] += 1
                        self.history.add_step(self.step, loss, lr)
                        st = self._stats() if self.step % stats_every == 0 else None
                        if st is not None:
                            self.history.add_stats(st)
                if not math.isfinite(loss):
                    return (yield self._diverged(loss, lr, t_start))
                yield Step(self.step, self.epoch, loss, lr)
                if st is not None:
                    if not math.isfinite(st.grad_norm):
                        return (yield self._diverged(float("nan"), lr, t_start))
                    yield st
                steps_done += 1
                if max_steps is not None and steps_done >= max_steps:
                    if self.batch_in_epoch < self.steps_per_epoch:
                        return (yield self._finish("step", t_start))
                    to_epoch_end = True  # this step finished the epoch: close it (evaluate) before returning
                    break
            outcome = yield from self._close_epoch(t0, t_start, to_epoch_end)
            if outcome == "early_stopping":
                reason = outcome
                break
            if outcome is not None:
                return (yield outcome)
        yield self._finish(reason, t_start, test=True)

    def _halted(self) -> bool:
        """Before a step: True when stopped; while paused, wait here (outside the step lock) for resume or stop."""
        if not self._stop.is_set() and not self._running.is_set():
            while not self._running.wait(0.05):
                pass
        return self._stop.is_set()

    def _close_epoch(self, t0, t_start, to_epoch_end):
        """Yield the epoch's ``EpochEnd``; return None to go on, "early_stopping", or the ``Finished`` to end with.

        Shared by every path's loop (engine.compiled's too), so they stop for the same reasons.
        """
        with self.step_lock:
            ev = self._end_epoch(t0)
        yield ev
        failed = self._epoch_failure(ev, t_start)
        if failed is not None:  # NaN, or a finite loss that blew up: stop, do not train on garbage
            return failed
        if self.early is not None:
            with self.step_lock:
                stop_now = self._early_stop(ev)
            if stop_now:
                return "early_stopping"
        return self._finish("step", t_start) if to_epoch_end else None

    def _early_stop(self, ev) -> bool:
        """Feed the epoch to early stopping; on a stop, put the best weights back if asked to."""
        if self.early.update(self.epoch, ev, self.model):  # picks its monitor (val_loss, val_accuracy...) from ev
            if self.early.restore_best:
                self.early.restore(self.model)
            return True
        return False

    def _epoch_failure(self, ev, t_start):
        """A ``Finished("diverged")`` when the epoch's loss is not finite or has exploded, else None.

        "Exploded": the epoch's training loss is ``EXPLODED_FACTOR`` times the first step's or more
        (SGD with lr 1e6 reaches ~1e29 and stays finite: that is divergence, not overfitting).
        """
        if not math.isfinite(ev.train_loss):
            return self._diverged(ev.train_loss, ev.lr, t_start)
        _, losses = self.history.step_loss.data()
        first = float(losses[0]) if len(losses) else None
        if first is not None and first > 0 and ev.train_loss >= EXPLODED_FACTOR * first:
            d = next((d for d in ev.diagnoses if d.code == "diverging"), None)
            text = (d.message + " " + d.advice) if d is not None else (
                f"The training loss exploded to {ev.train_loss:.3g}, {ev.train_loss / first:.3g} times its first value: "
                "lower the learning rate by 10-100x or clip the gradients.")
            best = self.early.best_epoch if self.early is not None else _best_epoch(self.history)
            return Finished("diverged", self.epoch, best, time.perf_counter() - t_start, text, {})
        return None

    def _diverged(self, loss, lr, t_start):
        finite = [v for v in self.history.epochs["train_loss"] if math.isfinite(v)]
        d = diagnose_nan(finite[-1] if finite else None, lr, np.asarray(self._grad_norms, dtype=float))
        return self._finish("diverged", t_start, diagnosis=d.message + " " + d.advice)

    def _finish(self, reason, t_start, diagnosis=None, test=False):
        test_metrics = {}
        if test and len(self.x["test"]):
            loss, test_metrics, _ = self.evaluate_split("test")
            test_metrics = dict(test_metrics, loss=loss)
        best = self.early.best_epoch if self.early is not None else _best_epoch(self.history)
        if reason != "step":  # a run that ended (not a max_steps pause): after the test evaluation, which reads it
            self.frozen_cache.release()
        return Finished(reason, self.epoch, best, time.perf_counter() - t_start, diagnosis, test_metrics)

    def reset_weights(self, seed: int | None = None):
        """New initial weights and optimizer state; history is cleared."""
        seed = self.session.seed if seed is None else seed
        self.model.reinitialize(seed)
        # every stream starts over too, so a reset run trains exactly like a freshly built one
        self.gen.manual_seed(seed + 1)
        self.reg_gen.manual_seed(seed + 2)
        self.dropout_gen.manual_seed(seed + 3)
        self.optimizer = OPTIMIZERS.create(self.session.optimizer, self.model.trainable_parameters())
        self.optimizer_type = self.session.optimizer["type"]
        self.schedule = SCHEDULES.create(self.session.schedule, self.base_lr)
        self.history = History()
        self.epoch = self.step = self.batch_in_epoch = 0
        self._perm, self._lr, self._epoch_loss = None, None, [0.0, 0]
        self.frozen_cache.invalidate()

    # -- persistence (see engine/checkpoint.py) -------------------------------
    def state(self):
        return trainer_state(self)

    def load_state(self, tensors: dict, meta: dict):
        restore_trainer_state(self, tensors, meta)
        self.frozen_cache.invalidate()


def _best_epoch(history: History):
    for key in ("val_loss", "train_loss"):
        arr = history.epoch_array(key)
        if len(arr) and np.isfinite(arr).any():
            return int(np.nanargmin(np.where(np.isfinite(arr), arr, np.nan))) + 1
    return None
