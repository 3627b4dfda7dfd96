"""Side-by-side variants: one setting, 2–16 values, trained together (the classic teaching view).

"Which learning rate?" is answered best by training the same network at 0.003, 0.03 and 0.3 at once
and watching the curves and decision boundaries diverge. Each value gets its own ``engine.Run`` (its
own generators: the runs never disturb each other, and small dense networks take the compiled path
automatically); ``VariantSet.events()`` advances them in turn one epoch at a time, in one thread, so
they stay level and the viewer sees them race.
"""
from __future__ import annotations

import threading

import numpy as np

from .errors import InvalidInput
from .layers.base import MAX_UNITS

MIN_VALUES, MAX_VALUES = 2, 16
SETTINGS = ("lr", "optimizer", "initializer", "seed", "batch_size", "activation", "units")
LABELS = {"lr": "learning rate", "optimizer": "optimizer", "initializer": "initializer", "seed": "seed",
          "batch_size": "batch size", "activation": "activation", "units": "width (first hidden layer's units)"}
GRID = 40  # boundary thumbnails: GRID × GRID predictions per variant


def _dense_nodes(session, hidden_only: bool):
    nodes = [n for n in session.graph.nodes if n.type == "Dense"]
    if hidden_only and nodes:
        from .graph import analyze

        out = analyze(session.graph).output_id
        last = {out}
        if out is not None and session.graph.node(out).type == "Output":
            last |= set(session.graph.inputs_of(out))
        nodes = [n for n in nodes if n.id not in last]
    return nodes


def parse_value(setting: str, text: str):
    """A value typed into the variants form, converted to what the setting holds."""
    text = str(text).strip()
    if setting == "lr":
        try:
            v = float(text)
        except ValueError:
            raise InvalidInput(f"a learning rate must be a number, got {text!r:.40}") from None
        if not v > 0 or not np.isfinite(v):
            raise InvalidInput(f"a learning rate must be positive, got {text!r:.40}")
        return v
    if setting in ("seed", "batch_size", "units"):
        what = "width" if setting == "units" else LABELS[setting]
        try:
            v = int(text)
        except ValueError:
            raise InvalidInput(f"a {what} must be a whole number, got {text!r:.40}") from None
        if v < (0 if setting == "seed" else 1):
            raise InvalidInput(f"a {what} must be at least {0 if setting == 'seed' else 1}, got {v}")
        if setting == "units" and v > MAX_UNITS:
            raise InvalidInput(f"a width must be at most {MAX_UNITS:,} units, got {v:,}")
        return v
    if not text:
        raise InvalidInput(f"an empty {LABELS.get(setting, setting)} name")
    return text


def with_variant(session, setting: str, value):
    """A copy of ``session`` with ``setting`` (one of ``SETTINGS``) set to ``value``, checked."""
    from .activations import ACTIVATIONS
    from .initializers import INITIALIZERS
    from .optimizers import OPTIMIZERS

    if setting not in SETTINGS:
        raise InvalidInput(f"variants vary one of {', '.join(SETTINGS)}; got {setting!r}")
    s = session.copy()
    if setting == "lr":
        opt = OPTIMIZERS.canonical(s.optimizer)
        if "lr" not in opt["params"]:
            raise InvalidInput(f"the {opt['type']} optimizer has no learning rate to vary")
        s.optimizer = dict(opt, params=dict(opt["params"], lr=float(value)))
    elif setting == "optimizer":
        opt = OPTIMIZERS.canonical(s.optimizer)
        new = OPTIMIZERS.canonical(str(value))  # an unknown name is refused here, with the known ones
        if "lr" in opt["params"] and "lr" in new["params"]:
            new["params"]["lr"] = opt["params"]["lr"]  # the same step size: only the optimizer differs
        s.optimizer = new
    elif setting == "seed":
        s.seed = int(value)
    elif setting == "batch_size":
        s.training = dict(s.training, batch_size=int(value))
    elif setting == "initializer":
        spec = INITIALIZERS.canonical(str(value))
        nodes = _dense_nodes(s, hidden_only=False)
        if not nodes:
            raise InvalidInput("the network has no Dense layer whose initializer could vary")
        for n in nodes:
            n.init = dict(n.init or {}, weight=spec)
    elif setting == "units":
        _set_width(s, int(value))
    elif setting == "activation":
        name = ACTIVATIONS.canonical(str(value))["type"]  # an unknown name is refused with the known ones
        nodes = _dense_nodes(s, hidden_only=True)
        if not nodes:
            raise InvalidInput("the network has no hidden Dense layer whose activation could vary")
        for n in nodes:
            n.params = dict(n.params, activation=name)
    return s


def _set_width(s, units: int):
    """The width sweep (double descent): the first hidden Dense layer in network order gets ``units``.

    That is the layer a "wider network" means in a plain MLP, and the frozen random-features layer
    of the double-descent preset. Explicit ``values`` weights fix its width, so they are refused.
    """
    from .graph import analyze

    hidden = {n.id for n in _dense_nodes(s, hidden_only=True)}
    first = next((nid for nid in analyze(s.graph).order if nid in hidden), None)
    if first is None:
        raise InvalidInput("the network has no hidden Dense layer whose width could vary")
    node = s.graph.node(first)
    fixed = [k for k, v in (node.init or {}).items() if isinstance(v, dict) and v.get("type") == "values"]
    if fixed:
        raise InvalidInput(f"layer {first!r} has explicit {', '.join(fixed)} values, which fix its width; "
                           "give it a random initializer to vary the width")
    node.params = dict(node.params, units=units)


def variant_sessions(session, setting: str, values) -> list:
    """``[(label, Session)]``: one session per value, labelled "lr 0.03"; 2–16 distinct values."""
    values = list(values)
    if not MIN_VALUES <= len(values) <= MAX_VALUES:
        raise InvalidInput(f"side-by-side variants need {MIN_VALUES} to {MAX_VALUES} values, got {len(values)}")
    if len({repr(v) for v in values}) != len(values):
        raise InvalidInput("each variant's value must differ from the others")
    short = {"lr": "lr", "batch_size": "batch"}.get(setting, setting)
    return [(f"{short} {v:g}" if isinstance(v, float) else f"{short} {v}", with_variant(session, setting, v))
            for v in values]


class VariantSet:
    """The Runs of one comparison, advanced together one epoch at a time (``events()``), stoppable."""

    def __init__(self, session, setting: str, values, *, path: str = "auto", device=None, dataset=None):
        """``dataset``: one built dataset for every run (a seed variant then changes weights and batch order,
        not the data); None: each run builds the session's own."""
        from .run import Run

        self.setting = setting
        self.labels, sessions = zip(*variant_sessions(session, setting, values))
        self.labels = list(self.labels)
        self.runs = [Run(s, build=False, path=path, device=device, dataset=dataset) for s in sessions]
        self._stop = threading.Event()

    def __len__(self):
        return len(self.runs)

    def stop(self):
        """Every run stops before its next step (any thread)."""
        self._stop.set()
        for r in self.runs:
            r.stop()

    def events(self, epochs: int | None = None, *, threads: int = 1):
        """``(index, event)`` pairs: each run's events up to its next epoch end, round robin, until all finish.

        A run that fails yields ``(index, exception)`` once and drops out; the others go on.
        ``threads`` > 1 advances that many runs at once (the compiled path's kernels release the GIL, so
        the variants use several cores); each run still trains exactly as it would alone.
        """
        if threads > 1 and len(self.runs) > 1:
            yield from self._threaded(epochs, min(int(threads), len(self.runs)))
            return
        from .events import EpochEnd, Finished

        gens = {}
        for i, r in enumerate(self.runs):
            if self._stop.is_set():
                return
            try:
                r.build()
                gens[i] = r.events(epochs)
            except InvalidInput as e:
                yield i, e
        while gens and not self._stop.is_set():
            for i in list(gens):
                g = gens[i]
                try:
                    while True:
                        ev = next(g)
                        yield i, ev
                        if isinstance(ev, Finished):
                            del gens[i]
                            break
                        if isinstance(ev, EpochEnd):
                            break
                except StopIteration:
                    gens.pop(i, None)
                except Exception as e:  # noqa: BLE001 - one variant failing must not end the others
                    gens.pop(i, None)
                    yield i, e
        for i in list(gens):  # stopped: let each generator finish its bookkeeping
            for ev in gens.pop(i):
                yield i, ev

    def _threaded(self, epochs, n_threads):
        """``events()`` on ``n_threads`` threads taking the runs in turn, one epoch of one run per turn
        (``engine.turns.take_turns``, as ``engine.compiled.Variants``): on the compiled path an epoch
        of a tiny net lasts about half a millisecond, so the hand-overs between threads count."""
        from .events import EpochEnd, Finished
        from .turns import take_turns

        gens = {}
        for i, r in enumerate(self.runs):
            try:
                r.build()
                gens[i] = r.events(epochs)
            except InvalidInput as e:
                yield i, e

        def turn(i):
            """Run ``i`` to its next epoch end: (its events, whether it finished); a failure is its last event."""
            out = []
            try:
                for ev in gens[i]:
                    out.append(ev)
                    if isinstance(ev, Finished):
                        return out, True
                    if isinstance(ev, EpochEnd):
                        return out, False
            except Exception as e:  # noqa: BLE001 - one variant failing must not end the others
                out.append(e)
            return out, True

        yield from take_turns(list(gens), turn, n_threads, stopped=self._stop.is_set)
        for i, g in gens.items():  # stopped: each run's own bookkeeping (its state, its last Finished)
            for ev in g:
                yield i, ev

    def fit(self, epochs: int | None = None) -> list:
        """Train every variant; the last ``Finished`` (or exception) of each, in order."""
        last = [None] * len(self.runs)
        for i, ev in self.events(epochs):
            last[i] = ev
        return last

    def curves(self, key: str = "val_loss") -> list:
        """Each run's per-epoch curve (empty before its first epoch)."""
        out = []
        for r in self.runs:
            out.append(r.history.epoch_array(key) if r.trainer is not None else np.zeros(0))
        return out


def boundary_grid(run, extent, n: int = GRID):
    """``(n, n)`` P(class 1) (binary), argmax class (multi-class) or prediction (regression) over ``extent``;
    for multi-label data ``(k, n, n)``: P(label j) for every label, so a view switches labels without recomputing.

    ``extent`` is ``(x0, x1, y0, y1)`` in raw input space; None when the data is not 2-D.
    """
    tr = run.trainer
    if tr is None or extent is None or tr.data.raw_x("train").ndim != 2 or tr.data.raw_x("train").shape[1] != 2:
        return None
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    out = run.predict(pts)
    if tr.data.task == "classification" and out.shape[1] > 1:
        return out.argmax(axis=1).reshape(n, n).astype(np.float32)
    if tr.data.task == "multilabel":
        return np.ascontiguousarray(out.T.reshape(out.shape[1], n, n), dtype=np.float32)
    return out[:, 0].reshape(n, n).astype(np.float32)


def data_extent(run, pad: float = 0.08):
    """The raw 2-D data's bounding box, padded (None for other data)."""
    tr = run.trainer
    if tr is None:
        return None
    xs = [tr.data.raw_x(s) for s in ("train", "val", "test")]
    xs = [x for x in xs if len(x)]
    allx = np.concatenate(xs)
    if allx.ndim != 2 or allx.shape[1] != 2:
        return None
    lo, hi = allx.min(axis=0), allx.max(axis=0)
    p = np.maximum((hi - lo) * pad, 1e-3)
    return float(lo[0] - p[0]), float(hi[0] + p[0]), float(lo[1] - p[1]), float(hi[1] + p[1])
