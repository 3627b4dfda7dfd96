"""The training loop's thread: builds the Trainer, drives ``Trainer.run`` and coalesces its events.

The worker lives in its own QThread and never touches a widget. It turns the
engine's event stream into at most ~30 ``progress`` signals a second, each a
small frozen ``ProgressBatch`` (new step losses as arrays, the latest weight
statistics, finished epochs, speed and time left). Every ~0.25 s it also
evaluates the decision-boundary grid and the activation statistics, so the
GUI only ever copies numbers into plots. Stop and pause go straight to the
trainer's thread-safe flags; ``cancel()`` covers the time before the trainer
exists and the start of ``run()`` (which clears the trainer's stop flag).
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

EMIT_INTERVAL = 1.0 / 30  # progress signals per second, at most
EXTRAS_INTERVAL = 0.25  # boundary grid and activation statistics
PREDICT_INTERVAL = 0.5  # regression predicted-vs-true refresh
GRID = 60  # boundary grid resolution (GRID x GRID points)
ACT_BATCH = 256  # fixed training batch for activation statistics
PRED_LIMIT = 1000  # validation points in the predicted-vs-true plot
MAX_MAP_UNITS = 64  # neuron maps shipped at most


@dataclass(frozen=True)
class TrainingMeta:
    """What the views need to know about a freshly built trainer (sent once, on the GUI thread)."""

    trainer: object
    task: str
    n_classes: int
    n_outputs: int
    class_names: list
    feature_names: list
    loss_name: str
    layer_keys: list  # "node.param" of every parameter, graph order
    weight_nodes: list  # trainable nodes with parameters, input side first
    activations: dict  # node -> activation name (relu/sigmoid/tanh family only)
    hidden_maps: list  # (node, units) shown as neuron maps
    raw: dict = field(default_factory=dict)  # split -> (raw 2-D x, y) for scatter plots; empty if not 2-D
    extent: tuple | None = None  # (x0, x1, y0, y1) of the boundary grid, raw input space
    y_range: tuple | None = None  # regression: fixed colour levels from the training targets
    epochs: int = 0


@dataclass(frozen=True)
class BoundaryFrame:
    kind: str  # "binary" (P(class 1)), "multiclass" (G, G, k probabilities) or "regression"
    values: np.ndarray
    extent: tuple
    neurons: dict  # node -> (units, G, G) post-activation values
    step: int


@dataclass(frozen=True)
class ProgressBatch:
    xs: np.ndarray  # fractional epoch of each new step
    steps: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    stats: object | None  # the latest engine.events.Stats
    grad_x: np.ndarray  # fractional epoch of each Stats in this batch
    grad_norms: dict  # node -> gradient norm at each of those Stats
    epochs: tuple  # engine.events.EpochEnd, in order
    activations: dict | None  # node -> engine.diagnostics.activation_stats(...)
    boundary: BoundaryFrame | None
    predictions: tuple | None  # regression: (true, predicted) on validation points
    epoch: int
    step: int
    total_epochs: int
    steps_per_epoch: int
    speed: float  # steps per second
    eta: float | None  # seconds left in this run
    position: float  # fractional epoch now (epochs done + share of the current one)
    started: object | None = None  # engine.events.Started of this run


def _activation_name(act):
    if isinstance(act, dict):
        act = act.get("type")
    return str(act).lower() if act else None


def describe(trainer) -> TrainingMeta:
    """Static facts about ``trainer`` for the views; runs in the worker thread."""
    from engine.diagnostics import RELU_FAMILY, SATURATING

    data, model = trainer.data, trainer.model
    spec = model.spec
    frozen = {n.id for n in spec.nodes if not n.trainable}
    keys, weight_nodes, acts = [], [], {}
    for nid in model.order:
        names = [p for p, _ in model.layers[nid].named_parameters(recurse=True)]
        keys += [f"{nid}.{p}" for p in names]
        if names and nid not in frozen:
            weight_nodes.append(nid)
        act = _activation_name(model.report.params.get(nid, {}).get("activation"))
        if act in RELU_FAMILY or act in SATURATING:
            acts[nid] = act
    raw, extent, maps = {}, None, []
    x_tr = data.raw_x("train")
    if x_tr.ndim == 2 and x_tr.shape[1] == 2:
        for s in ("train", "test", "val"):
            raw[s] = (np.asarray(data.raw_x(s), dtype=np.float32), np.asarray(data.split(s)[1]))
        allx = np.concatenate([r[0] for r in raw.values()])
        lo, hi = allx.min(axis=0), allx.max(axis=0)
        pad = np.maximum((hi - lo) * 0.08, 1e-3)
        extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))
        feeds_output = set(spec.inputs_of(model.output_id))
        shapes = model.report.shapes
        total = 0
        for nid in model.order:
            if nid in (model.input_id, model.output_id) or nid in feeds_output:
                continue
            shp = shapes.get(nid)
            if shp is not None and len(shp) == 1 and total + shp[0] <= MAX_MAP_UNITS:
                maps.append((nid, int(shp[0])))
                total += shp[0]
    y_range = None
    if data.task == "regression" and len(data.y_train):
        y0 = data.y_train[:, 0]
        y_range = (float(y0.min()), float(y0.max()))
    return TrainingMeta(trainer, data.task, data.n_classes, data.n_outputs, list(data.class_names),
                        list(data.feature_names), trainer.loss_name, keys, weight_nodes, acts, maps, raw,
                        extent, y_range, trainer.training["epochs"])


class _Extras:
    """Boundary grid, neuron maps, activation statistics and predictions, computed off the GUI thread."""

    def __init__(self, trainer, meta: TrainingMeta):
        import torch

        self.torch, self.tr, self.meta = torch, trainer, meta
        dev = trainer.device
        n = min(ACT_BATCH, len(trainer.x["train"]))
        self.act_x = trainer.x["train"][:n]
        self.grid = None
        if meta.extent is not None:
            from engine.data.preprocess import apply_preprocess

            x0, x1, y0, y1 = meta.extent
            gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
            pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
            state = trainer.data.preprocess_state
            xs = apply_preprocess(pts, state) if state else pts
            self.grid = torch.as_tensor(xs, dtype=torch.float32, device=dev)
        split = "val" if len(trainer.x["val"]) else "train"
        self.pred_x = trainer.x[split][:PRED_LIMIT]
        self.pred_y = trainer.y[split][:PRED_LIMIT]

    def _eval(self, fn):
        model = self.tr.model
        was = model.training
        model.eval()
        try:
            with self.torch.no_grad():
                return fn(model)
        finally:
            model.train(was)

    def activations(self):
        from engine.diagnostics import activation_stats

        if not self.meta.activations or len(self.act_x) == 0:
            return None

        def run(model):
            _, rec = model.forward_record(self.act_x)
            out = {}
            for nid, act in self.meta.activations.items():
                post = rec[nid]["post"].float().cpu().numpy()
                if np.all(np.isfinite(post)):
                    out[nid] = activation_stats(post, act)
            return out

        return self._eval(run)

    def boundary(self, step) -> BoundaryFrame | None:
        if self.grid is None:
            return None
        from engine.metrics import predictions

        def run(model):
            out, rec = model.forward_record(self.grid)
            neurons = {nid: rec[nid]["post"].float().cpu().numpy().T.reshape(units, GRID, GRID)
                       for nid, units in self.meta.hidden_maps}
            return out.float().cpu().numpy(), neurons

        out, neurons = self._eval(run)
        meta = self.meta
        if meta.task == "regression":
            kind, values = "regression", out[:, 0].reshape(GRID, GRID)
        elif not np.all(np.isfinite(out)):
            kind, values = ("binary", np.full((GRID, GRID), np.nan, np.float32))
        else:
            _, scores = predictions(out, meta.loss_name)
            if scores.ndim == 1:
                kind, values = "binary", scores.reshape(GRID, GRID)
            else:
                kind, values = "multiclass", scores.reshape(GRID, GRID, -1)
        return BoundaryFrame(kind, values.astype(np.float32), meta.extent,
                             {k: v.astype(np.float32) for k, v in neurons.items()}, step)

    def predictions(self):
        if self.meta.task != "regression" or len(self.pred_x) == 0:
            return None
        out = self._eval(lambda model: model(self.pred_x))
        return (self.pred_y[:, 0].float().cpu().numpy(), out[:, 0].float().cpu().numpy())


class _Batcher:
    """Collects events between two emits."""

    def __init__(self, nodes):
        self.nodes = set(nodes)  # trainable nodes whose gradient norms are reported
        self.reset()

    def reset(self):
        self.xs, self.steps, self.losses, self.lrs = [], [], [], []
        self.stats = None
        self.grad_x = []
        self.grad = {}
        self.epochs = []
        self.activations = None
        self.boundary = None
        self.predictions = None
        self.started = None
        self.dirty = False

    def add_stats(self, st, x):
        self.stats = st
        self.grad_x.append(x)
        per = {}
        for ls in st.layers:
            if ls.node in self.nodes:
                per[ls.node] = per.get(ls.node, 0.0) + ls.grad_norm ** 2
        for nid in set(self.grad) | set(per):
            lst = self.grad.setdefault(nid, [float("nan")] * (len(self.grad_x) - 1))
            lst.append(float(np.sqrt(per[nid])) if nid in per else float("nan"))
        self.dirty = True


class TrainingWorker(QObject):
    """One run of the trainer in a QThread; build it first when ``trainer`` is None.

    ``run_kwargs`` go to ``Trainer.run``; ``None`` means a snapshot: compute the
    boundary and statistics once (after a weight reset) and finish.
    """

    ready = Signal(object)  # TrainingMeta, once the trainer exists
    progress = Signal(object)  # ProgressBatch
    finished = Signal(object)  # engine.events.Finished (None after a snapshot)
    failed = Signal(str)

    def __init__(self, *, session=None, trainer=None, meta=None, run_kwargs=None, dataset_factory=None):
        super().__init__()
        self.session, self.trainer, self.meta = session, trainer, meta
        self.run_kwargs = run_kwargs
        self.dataset_factory = dataset_factory
        self._cancel = threading.Event()

    # -- control, from the GUI thread --------------------------------------
    def cancel(self):
        self._cancel.set()
        tr = self.trainer
        if tr is not None:
            tr.stop()

    # -- the thread's work ---------------------------------------------------
    @Slot()
    def run(self):
        try:
            if self.trainer is None:
                self._build()
                if self._cancel.is_set():
                    from engine.events import Finished

                    self.finished.emit(Finished("stopped", self.trainer.epoch, None, 0.0))
                    return
            self._loop()
        except Exception as e:  # noqa: BLE001 - every failure must reach the GUI as a message
            from engine.errors import InvalidInput

            msg = str(e) if isinstance(e, InvalidInput) else f"{type(e).__name__}: {e}"
            if not isinstance(e, InvalidInput):
                traceback.print_exc()
            self.failed.emit(msg)

    def _build(self):
        from engine.trainer import Trainer  # torch is imported here, never on the GUI thread

        dataset = self.dataset_factory() if self.dataset_factory is not None else None
        tr = Trainer(self.session, dataset=dataset)
        self.trainer = tr
        if self._cancel.is_set():
            tr.stop()
        # pay first-call costs (kernel selection, allocator) before the clock starts
        import torch

        with torch.no_grad():
            was = tr.model.training
            tr.model.eval()
            tr.model(tr.x["train"][: min(32, len(tr.x["train"]))])
            tr.model.train(was)
        self.meta = describe(tr)
        self.ready.emit(self.meta)

    def _frac_epoch(self):
        tr = self.trainer
        return tr.epoch + tr.batch_in_epoch / max(tr.steps_per_epoch, 1)

    def _loop(self):
        from engine.events import EpochEnd, Finished, Started, Stats, Step

        tr, meta = self.trainer, self.meta
        extras = _Extras(tr, meta)
        b = _Batcher(meta.weight_nodes)
        snapshot = self.run_kwargs is None
        now = time.perf_counter()
        self._t_extras = self._t_pred = -1.0
        self._speed, self._last = 0.0, (now, tr.step)
        self._total_epochs, self._spe = tr.training["epochs"], tr.steps_per_epoch
        self._do_extras(b, extras, now, force=True)
        if snapshot:
            b.predictions = extras.predictions()
            self._emit(b, now)
            self.finished.emit(None)
            return
        last_emit = 0.0
        gen = tr.run(**self.run_kwargs)
        finished = None
        for ev in gen:
            t = time.perf_counter()
            if isinstance(ev, Step):
                b.xs.append(self._frac_epoch())
                b.steps.append(ev.step)
                b.losses.append(ev.loss)
                b.lrs.append(ev.lr)
                b.dirty = True
                if t - self._t_extras >= EXTRAS_INTERVAL:
                    self._do_extras(b, extras, t)
            elif isinstance(ev, Stats):
                b.add_stats(ev, self._frac_epoch())
            elif isinstance(ev, EpochEnd):
                b.epochs.append(ev)
                b.dirty = True
                if meta.task == "regression" and t - self._t_pred >= PREDICT_INTERVAL:
                    b.predictions = extras.predictions()
                    self._t_pred = t
            elif isinstance(ev, Started):
                b.started = ev
                self._total_epochs, self._spe = ev.epochs, ev.steps_per_epoch
                self._last = (t, tr.step)
                b.dirty = True
                if self._cancel.is_set():
                    tr.stop()  # run() cleared the flag when it started
            elif isinstance(ev, Finished):
                finished = ev
                break
            if self._cancel.is_set():
                tr.stop()
            if b.dirty and (t - last_emit >= EMIT_INTERVAL or tr.paused):
                self._emit(b, t)
                last_emit = t
        t = time.perf_counter()
        if finished is None or finished.reason != "diverged":
            self._do_extras(b, extras, t, force=True)
            if meta.task == "regression":
                b.predictions = extras.predictions()
        self._emit(b, t, final=True)
        self.finished.emit(finished)

    def _do_extras(self, b, extras, t, force=False):
        if force or t - self._t_extras >= EXTRAS_INTERVAL:
            b.activations = extras.activations()
            b.boundary = extras.boundary(self.trainer.step)
            self._t_extras = time.perf_counter()
            b.dirty = True

    def _emit(self, b, t, final=False):
        tr = self.trainer
        t0, s0 = self._last
        if t - t0 >= 0.25 or final:
            if t > t0 and tr.step > s0:
                inst = (tr.step - s0) / (t - t0)
                self._speed = inst if self._speed == 0 else 0.6 * self._speed + 0.4 * inst
            self._last = (t, tr.step)
        left = (self._total_epochs - tr.epoch) * self._spe - tr.batch_in_epoch
        eta = left / self._speed if self._speed > 0 else None
        grads = {k: np.asarray(v, dtype=np.float64) for k, v in b.grad.items()}
        batch = ProgressBatch(
            np.asarray(b.xs, dtype=np.float64), np.asarray(b.steps, dtype=np.int64),
            np.asarray(b.losses, dtype=np.float64), np.asarray(b.lrs, dtype=np.float64),
            b.stats, np.asarray(b.grad_x, dtype=np.float64), grads, tuple(b.epochs),
            b.activations, b.boundary, b.predictions, tr.epoch, tr.step, self._total_epochs, self._spe,
            self._speed, max(eta, 0.0) if eta is not None else None, self._frac_epoch(), b.started)
        b.reset()
        self.progress.emit(batch)
