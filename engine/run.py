"""``Run``: one training for its whole life, shared by notebooks, the command line and the window.

A Run is built from a ``Session`` (or its dict, a ``.json``/``.nnp`` path, or a loaded ``Archive``)
and owns everything that training needs: the network, the data, the optimizer and its own random
generators (initialisation, shuffling, dropout, noise regularizers, augmentation), so two runs in one
process never disturb each other. It changes nothing process-wide: thread count, allocator tuning and
the interpreter's switch interval belong to the application (``engine.device.configure_process``).

Every command and every snapshot happens *between* two steps, under the run's step lock:

* ``pause()``, ``resume()``, ``stop()`` set thread-safe flags the loop checks before each step;
* ``request(**changes)`` queues live changes (learning rate, optimizer hyperparameters, schedule,
  regularizers, batch size, clipping, early stopping, epochs) applied at the next step, keeping the
  weights and the curves;
* ``snapshot()`` (a context manager), ``history``, ``weights()``, ``save()`` and ``predict()`` wait for
  the current step to end and hold the next one back while they read: they never stop, restart or
  race the training.

``run.fit(epochs)`` trains to the end (notebooks, the CLI); ``run.events(epochs)`` is the same loop as
a generator of ``engine.events`` for a GUI worker. Building can be cancelled: ``stop()`` during
``build()`` raises ``Cancelled`` at the next phase.
"""
from __future__ import annotations

import contextlib
import enum
import os
import threading

import numpy as np

from .errors import InvalidInput
from .session import Session


class Cancelled(InvalidInput):
    """``stop()`` was called while the run was being built."""


class RunState(str, enum.Enum):
    NEW = "new"  # not built yet
    BUILDING = "building"
    READY = "ready"  # built, not training (before the first events() or between two)
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # the last events() ended (completed, stopped, early stopping, diverged, a step)
    FAILED = "failed"


# Settings a running training can take at the next step. Anything else (graph, dataset, loss, seed,
# device) is structural: it needs a new run (``structure_key`` tells them apart).
LIVE_TRAINING_KEYS = ("epochs", "batch_size", "shuffle", "clip", "clip_value", "max_norm", "early_stopping",
                      "stats_every", "cache_frozen")
LIVE_FIELDS = ("optimizer", "schedule", "regularizers")
_LABELS = {"optimizer": "Optimizer", "schedule": "Schedule", "regularizers": "Regularizer"}


def structure_key(session: Session) -> str:
    """What a training cannot change while it runs: equal keys mean ``live_changes`` can bring a run along.

    The graph (without node positions), the dataset, the loss and the seed, in canonical form (spelling
    a default out is no change). A bad live setting (a regularizer with a typo) does not make this fail.
    """
    import json

    from .data import dataset_canonical
    from .losses import LOSSES

    g = session.graph.to_dict()
    for n in g.get("nodes", []):
        n.pop("pos", None)
    training = {k: v for k, v in (session.training or {}).items() if k not in LIVE_TRAINING_KEYS}
    return json.dumps({"graph": g, "dataset": dataset_canonical(session.dataset), "loss": LOSSES.canonical(session.loss),
                       "seed": session.seed, "training": training}, sort_keys=True, default=str)


def _canon(kind: str, value):
    from .optimizers import OPTIMIZERS
    from .regularizers import REGULARIZERS
    from .schedules import SCHEDULES

    if kind == "regularizers":
        return [REGULARIZERS.canonical(r) for r in value or []]
    return (OPTIMIZERS if kind == "optimizer" else SCHEDULES).canonical(value)


def live_changes(old: Session, new: Session) -> dict:
    """The ``request(**changes)`` that brings a run of ``old`` to ``new`` (same ``structure_key``).

    Values are compared in canonical form (defaults filled in), so opening a form that fills in an
    optimizer's defaults is no change at all. Raises InvalidInput for a setting that does not validate.
    """
    changes = {}
    for kind in LIVE_FIELDS:
        a = _canon(kind, getattr(old, kind))
        try:
            b = _canon(kind, getattr(new, kind))
        except InvalidInput as e:
            raise InvalidInput(f"{_LABELS[kind]} not applied: {e}") from None
        if a != b:
            changes[kind] = b
    from .session import TRAINING_SCHEMA

    ta = TRAINING_SCHEMA.validate(dict(old.training), owner="training")
    try:
        tb = TRAINING_SCHEMA.validate(dict(new.training), owner="training")
    except InvalidInput as e:
        raise InvalidInput(f"Training setting not applied: {e}") from None
    for k in LIVE_TRAINING_KEYS:
        if ta.get(k) != tb.get(k):
            changes[k] = tb.get(k)
    return changes


def _as_session(source):
    """(Session, Archive or None, path or None) from whatever a user hands ``Run``."""
    if isinstance(source, Session):
        return source.copy(), None, None
    if isinstance(source, dict):
        return Session.from_dict(source), None, None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        from .session import load_session

        if path.lower().endswith(".nnp"):
            from .archive import load_archive

            archive = load_archive(path)
            return archive.session.copy(), archive, path
        return load_session(path), None, path
    if hasattr(source, "session") and hasattr(source, "restore_into"):  # engine.archive.Archive
        return source.session.copy(), source, getattr(source, "path", None)
    raise InvalidInput(f"a Run is built from a Session, a dict, a .json/.nnp path or an Archive; got {type(source).__name__}")


class Run:
    """One training: ``Run(session).fit(50)``; see the module docstring for the threading contract."""

    PATHS = ("auto", "torch", "compiled")

    def __init__(self, source, *, device: str | None = None, dataset=None, build: bool = True, path: str = "auto"):
        """``path``: "auto" trains small dense networks on the compiled (numba) path when every setting is
        supported there (``engine.compiled.supports``) and everything else on torch; "torch" or "compiled"
        force one (a forced "compiled" that cannot be used is an input error naming the reason)."""
        if path not in self.PATHS:
            raise InvalidInput(f"path must be one of {', '.join(self.PATHS)}; got {path!r}")
        self.session, self._archive, self.path = _as_session(source)
        self._device_pref, self._dataset, self._path_pref = device, dataset, path
        self.compiled_reason: str | None = None  # why the compiled path was not used (auto), once built
        self.preflight_warnings: list = []
        self.trainer = None
        self.state = RunState.NEW
        self.error: str | None = None
        self.last_finished = None  # engine.events.Finished of the last events()
        self._stop_build = threading.Event()
        self._pause_after_build = False
        self._state_lock = threading.Lock()
        if build:
            self.build()

    # -- building ----------------------------------------------------------------
    def build(self):
        """Check the memory the network needs, then build data, network and optimizer (cancellable)."""
        if self.trainer is not None:
            return self
        from .memory import check_fits
        from .preflight import preflight

        self._set_state(RunState.BUILDING)
        try:
            self._checkpoint("memory")
            check_fits(self.session)  # before the dataset or a single weight is allocated
            self._checkpoint("data")
            if self._dataset is None:
                from .data import make_dataset

                canon = self.session.copy().canonicalize()
                self._dataset = make_dataset(canon.dataset, seed=canon.seed)
            self._checkpoint("checks")
            # what `validate` checks (data vs Input and output, classes, batches, early stopping's score...)
            self.preflight_warnings = preflight(self.session, dataset=self._dataset, device=self._device_pref,
                                                build=False)
            tr = self._make_trainer()
            self._checkpoint("restore")
            if self._archive is not None and self._archive.trained:
                self._archive.restore_into(tr)
        except Cancelled:
            self._set_state(RunState.NEW)
            raise
        except Exception as e:
            self.error = str(e)
            self._set_state(RunState.FAILED)
            raise
        self._archive = None  # its tensors now live in the trainer
        self.session = tr.session  # canonical: every default filled in
        self.trainer = tr
        if self._stop_build.is_set():
            tr.stop()
        if self._pause_after_build:
            tr.pause()
        self._set_state(RunState.READY)
        return self

    def _make_trainer(self):
        """The compiled trainer when the path allows and every setting is supported there, else torch's."""
        from .trainer import Trainer

        kw = dict(device=self._device_pref, dataset=self._dataset, checkpoint=self._checkpoint)
        if self._path_pref == "torch":
            return Trainer(self.session, **kw)
        from .compiled import supports

        reason = supports(self.session, self._device_pref, dataset=self._dataset)
        if reason is None:
            from .compiled import CompiledTrainer
            from .compiled.trainer import NotCompiled

            try:
                return CompiledTrainer(self.session, **kw)
            except NotCompiled as e:  # only known once the data is built (a full batch too large, ...)
                reason = str(e)
        if self._path_pref == "compiled":
            raise InvalidInput(f"this session cannot use the compiled path: {reason}")
        self.compiled_reason = reason
        return Trainer(self.session, **kw)

    def _continue_on_torch(self, why: str):
        """Move a compiled run to the torch trainer between two steps: same weights, state, position, history."""
        from .trainer import Trainer

        with self.snapshot() as old:
            tensors, meta = old.state()
            tr = Trainer(old.session, device="cpu", dataset=old.data)
            tr.load_state(tensors, meta)
            tr.history = old.history
            if old.paused:
                tr.pause()
        self.trainer, self.session, self.compiled_reason = tr, tr.session, why

    @property
    def engine_path(self) -> str:
        """Where this run trains, as the status bar says it: "compiled", "torch cpu", "cuda" or "mps"."""
        tr = self._built()
        if getattr(tr, "path", None) == "compiled":
            return "compiled"
        dev = str(tr.device)
        return f"torch {dev}" if dev == "cpu" else dev

    def _checkpoint(self, phase):
        if self._stop_build.is_set():
            raise Cancelled(f"stopped while building the network ({phase})")

    def _built(self):
        if self.trainer is None:
            self.build()
        return self.trainer

    def _set_state(self, state):
        with self._state_lock:
            self.state = state

    # -- training ----------------------------------------------------------------
    def events(self, epochs: int | None = None, *, max_steps: int | None = None, to_epoch_end: bool = False,
               whole_epochs: bool = False):
        """The training loop as a generator of ``engine.events``; ends with a ``Finished``.

        ``epochs`` is the total to reach (default: the session's); a finished run asked for more continues
        the same curves. ``max_steps`` stops after that many steps (Step in the window).

        ``whole_epochs``: on the compiled path, one kernel call may train several short epochs
        (engine.compiled.epochs; the same training, several times fewer hand-overs for a tiny net). The
        events are the same, but those of a call arrive after it, so while a consumer reads an
        ``EpochEnd`` the run may already be a few epochs (milliseconds) further on. Off by default, so
        that ``run.weights()`` read at an event is that event's; on for consumers that read only the
        events and the history (the window, the command line, ``fit`` without a callback).
        """
        from .events import Finished

        tr = self._built()
        tr.whole_epochs = bool(whole_epochs)
        self._stop_build.clear()
        self._set_state(RunState.PAUSED if tr.paused else RunState.RUNNING)
        finished = None
        try:
            for ev in tr.run(epochs, max_steps=max_steps, to_epoch_end=to_epoch_end):
                if isinstance(ev, Finished):
                    finished = ev
                yield ev
        except Exception as e:
            self.error = str(e)
            self._set_state(RunState.FAILED)
            raise
        finally:
            if self.state != RunState.FAILED:
                self.last_finished = finished
                self._set_state(RunState.FINISHED if finished is not None else RunState.READY)

    def fit(self, epochs: int | None = None, *, max_steps: int | None = None, callback=None):
        """Train until ``epochs`` total epochs (or a stop, early stopping, divergence); returns the ``Finished``.

        ``callback(event)`` sees every event (return value ignored), and the run's state at that event:
        without a callback, short compiled epochs train several to a call (``events(whole_epochs=True)``).
        """
        finished = None
        for ev in self.events(epochs, max_steps=max_steps, whole_epochs=callback is None):
            if callback is not None:
                callback(ev)
            finished = ev
        return finished

    # -- commands (any thread) -------------------------------------------------------
    def pause(self):
        """Hold the training before its next step (asked during the build: as soon as it is built)."""
        self._pause_after_build = self.trainer is None
        if self.trainer is not None:
            self.trainer.pause()
            if self.state == RunState.RUNNING:
                self._set_state(RunState.PAUSED)

    def resume(self):
        self._pause_after_build = False
        if self.trainer is not None:
            self.trainer.resume()
            if self.state == RunState.PAUSED:
                self._set_state(RunState.RUNNING)

    def stop(self):
        """Stop before the next step (or cancel the build); the weights and curves stay."""
        self._stop_build.set()
        if self.trainer is not None:
            self.trainer.stop()

    @property
    def paused(self) -> bool:
        return self.trainer is not None and self.trainer.paused

    def request(self, **changes):
        """Live changes applied at the next step; the session this run reports follows them.

        Keys: ``lr``, ``optimizer`` (a spec: hyperparameters, or a new type whose state starts fresh),
        ``schedule``, ``regularizers``, and the training settings ``epochs``, ``batch_size``, ``shuffle``,
        ``clip``, ``clip_value``, ``max_norm``, ``early_stopping``, ``stats_every``, ``cache_frozen``.
        """
        tr = self._built()
        try:
            tr.request(**changes)
        except InvalidInput as e:
            if type(e).__name__ != "NotCompiled":
                raise
            if self.state in (RunState.RUNNING, RunState.PAUSED):
                raise InvalidInput(f"{e}; stop the run and ask again: it then continues on torch") from None
            self._continue_on_torch(str(e))  # not training now: switch paths, keep everything
            tr = self.trainer
            tr.request(**changes)
        s = tr.session
        if "optimizer" in changes:
            s.optimizer = _canon("optimizer", changes["optimizer"])
        if "lr" in changes:
            s.optimizer = dict(s.optimizer, params=dict(s.optimizer["params"], lr=float(changes["lr"])))
        if "schedule" in changes:
            s.schedule = _canon("schedule", changes["schedule"])
        if "regularizers" in changes:
            s.regularizers = _canon("regularizers", changes["regularizers"])
        for k in LIVE_TRAINING_KEYS:
            if k in changes:
                s.training = dict(s.training, **{k: changes[k]})

    # -- snapshots (any thread) --------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self):
        """Inside, no step runs: read the trainer (weights, optimizer state, history) consistently."""
        tr = self._built()
        with tr.step_lock:
            yield tr

    @property
    def history(self):
        """A copy of the history, taken between two steps (safe to read while training goes on)."""
        with self.snapshot() as tr:
            return tr.history.copy()

    def weights(self) -> dict:
        """``{"node.param": numpy array}`` copies of every parameter, between two steps."""
        with self.snapshot() as tr:
            return {k: v.detach().cpu().numpy().copy() for k, v in tr.model.state_dict().items()}

    @property
    def epoch(self) -> int:
        return self._built().epoch

    @property
    def step(self) -> int:
        return self._built().step

    @property
    def data(self):
        return self._built().data

    @property
    def model(self):
        return self._built().model

    @property
    def device(self) -> str:
        return str(self._built().device)

    @property
    def frozen_cache(self):
        """``engine.frozen_cache.CacheReport`` of the torch trainer (cached or why not), None on the compiled path."""
        fc = getattr(self._built(), "frozen_cache", None)
        return None if fc is None or getattr(self.trainer, "path", None) == "compiled" else fc.report

    @property
    def warnings(self) -> list:
        return list(self._built().warnings)

    def predict(self, x, *, logits: bool = False, preprocessed: bool = False) -> np.ndarray:
        """Outputs for raw inputs ``x`` (the dataset's scaling and feature crosses are applied first).

        Classification gives probabilities: P(class 1) in a ``(N, 1)`` column for a binary network,
        a ``(N, k)`` distribution otherwise, ``(N, k)`` independent P(label j) for multi-label data;
        ``logits=True`` gives the network's raw outputs instead.
        Regression gives the predicted values. ``preprocessed=True`` skips the scaling (already applied).
        """
        tr = self._built()
        x = np.asarray(x, dtype=np.float32)
        if x.shape == tuple(tr.data.raw_x("train").shape[1:]):  # one sample: a batch of one
            x = x[None]
        state = tr.data.preprocess_state
        if state and not preprocessed:
            from .data.preprocess import apply_preprocess

            x = apply_preprocess(x, state)
        with self.snapshot():
            out = tr.predict(x)
        if logits or tr.data.task == "regression":
            return out
        if tr.data.task == "multilabel":  # one independent P(label j) per output unit
            from .multilabel_metrics import label_probabilities

            return label_probabilities(out, tr.loss_name).astype(np.float32)
        from .metrics import predictions

        _, scores = predictions(out, tr.loss_name)
        return scores.reshape(-1, 1).astype(np.float32) if scores.ndim == 1 else scores.astype(np.float32)

    def evaluate(self, split: str = "test") -> dict:
        """Loss and metrics on a split (``train``, ``val`` or ``test``), between two steps."""
        if split not in ("train", "val", "test"):
            raise InvalidInput(f"split must be train, val or test; got {split!r}")
        with self.snapshot() as tr:
            loss, metrics, _ = tr.evaluate_split(split)
        return dict(metrics, loss=loss) if loss is not None else {}

    def save(self, path, *, thumbnail_png: bytes | None = None) -> str:
        """Write a ``.nnp`` with the settings, the full training state and the history (atomically)."""
        from .archive import save_archive

        if self.trainer is None:
            return save_archive(path, self.session, None, thumbnail_png=thumbnail_png)
        with self.snapshot() as tr:
            return save_archive(path, tr.session, tr, thumbnail_png=thumbnail_png)

    def reset_weights(self, seed: int | None = None):
        """Fresh initial weights and optimizer state, history cleared (between two steps)."""
        with self.snapshot() as tr:
            tr.reset_weights(seed)

    def __repr__(self):
        where = f" epoch {self.trainer.epoch}, step {self.trainer.step}" if self.trainer is not None else ""
        return f"<Run {self.session.name or 'untitled'!r} {self.state.value}{where}>"
