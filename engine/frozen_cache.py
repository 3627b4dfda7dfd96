"""Caching the outputs of frozen layers (lecture 004, transfer learning).

The notes' recipe freezes the reused layers and adds: "Optimization: you can actually cache the
outputs of frozen layers for every input". A frozen feature extractor computes the same features for
a sample at every step, so recomputing them is wasted work: here they are computed once per split
(train, val, test) and the trainable rest of the network trains on the stored tensors.

What may be cached is the *frozen prefix*: the nodes, from the Input on, none of whose parameters is
trainable, whose inputs are all in the prefix, and which are deterministic while training. A Dropout
(anything with a ``generator``: it draws at random every step) or a BatchNorm that normalizes by each
batch's statistics ends the prefix (it is then computed every step, on the cached features); input
augmentation changes the inputs themselves every step, and an activity penalty reads the frozen
layers' outputs, so with either nothing is cached. Weight noise only ever touches trainable weights
(``Regularizer.targets``), so it leaves the cache valid.

The results are those of the uncached training: same batches in the same order, the same random
streams, the same modules applied to the same numbers (to float32 rounding: BLAS may sum a 10-row
batch in another order than a 4096-row chunk). Everything that reads the model -- checkpoints, save,
resume, time travel, predict, exports -- still uses the full model; only the training step and the
evaluation of a split read the cache.

The cache is checked before each use against the frozen tensors' identities and in-place version
counters, their ``requires_grad`` flags, the trainer's regularizer list and ``training.cache_frozen``:
reset, a restored checkpoint, imported weights, unfreezing or a new regularizer rebuild it (or end it,
with the reason). A write through ``param.data`` bypasses the version counter (nothing here does one);
whoever does must call ``FrozenCache.invalidate()``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .builder import PASSTHROUGH, PRE_IS_INPUT
from .memory import MAX_CACHE_BYTES, human_bytes
from .regularizers import Regularizer

CHUNK = 4096  # samples pushed through the frozen prefix at once while filling the cache
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CacheReport:
    """What the cache does for this training: cached or not (and why not), and what it saves.

    ``frozen``: the prefix's nodes with parameters (the frozen layers), input side first. ``boundary``:
    the prefix nodes whose outputs are stored (read by the trainable rest). Multiply-adds are per sample:
    a step's forward pass of the whole network costs ``macs_full``, of the part after the cache
    ``macs_rest``; the backward pass only runs through the rest in both cases (nothing before the
    boundary needs a gradient), and costs about twice its forward pass.
    """

    cached: bool
    reason: str | None = None
    frozen: tuple = ()
    boundary: tuple = ()
    input_id: str = "input"
    macs_full: int = 0
    macs_rest: int = 0
    nbytes: int = 0
    applies: bool = True  # False: the network has no frozen layer at all (nothing to say)

    @property
    def step_macs_uncached(self) -> int:
        return self.macs_full + 2 * self.macs_rest

    @property
    def step_macs_cached(self) -> int:
        return 3 * self.macs_rest

    @property
    def ratio(self) -> float:
        """How many times fewer multiply-adds a training step does with the cache."""
        return self.step_macs_uncached / self.step_macs_cached if self.step_macs_cached else math.inf

    def text(self) -> str:
        """One line for the status: "cached: 3 frozen layers (input → d3), 2.6× fewer multiply-adds a step"."""
        if not self.cached:
            return f"not cached: {self.reason}"
        n = len(self.frozen)
        return (f"cached: {n} frozen layer{'s' * (n != 1)} ({self.input_id} → {', '.join(self.boundary)}), "
                f"{self.ratio:.1f}× fewer multiply-adds a step")


def node_macs(model, nid) -> int:
    """Multiply-adds of one node's forward pass for one sample: its weight once per output position.

    A Dense weight (out, in) is used once per output vector, a Conv weight (C_out, C_in, k…) once per
    output pixel: weight.numel() × (output elements / weight.shape[0]). Layers without a weight count 0.
    """
    w = getattr(model.layers[nid], "weight", None)
    if not isinstance(w, torch.Tensor) or w.dim() == 0 or w.shape[0] == 0:
        return 0
    out = math.prod(model.report.shapes[nid])
    return int(w.numel() * out // w.shape[0])


def _random_in_training(model, nid):
    """Why this node's output is not a fixed function of its input while training, or None."""
    for sub in model.layers[nid].modules():
        if hasattr(sub, "generator") and getattr(sub, "p", None) != 0.0:
            kind = "dropout" if model.types[nid].name == "Dropout" else f"the random {model.types[nid].name}"
            return f"{kind} in the frozen part ({nid})"
        if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm) and nid not in model._frozen_norms:
            return f"BatchNorm {nid} uses each batch's statistics while training"
    return None


def _overrides(reg, hook) -> bool:
    return getattr(type(reg), hook) is not getattr(Regularizer, hook)


def plan(model, regularizers, training, samples: int = 0, itemsize: int = 4):
    """(CacheReport, prefix node set): what can be cached for this model, these regularizers and settings."""
    frozen_nodes = [n for n in model.spec.nodes if not n.trainable]
    base = dict(input_id=model.input_id, applies=bool(frozen_nodes))
    if not training.get("cache_frozen", True):
        return CacheReport(False, "turned off (training.cache_frozen)", **base), set()
    for r in regularizers:
        if _overrides(r, "transform_inputs"):
            return CacheReport(False, f"input augmentation ({r.name}) changes the inputs every step", **base), set()
    prefix, cut = {model.input_id}, None
    for nid in model.order:
        if nid == model.input_id or not all(s in prefix for s in model.srcs[nid]):
            continue
        if any(p.requires_grad for p in model.layers[nid].parameters()):
            continue
        why = _random_in_training(model, nid)
        if why is not None:
            cut = cut or why
            continue
        prefix.add(nid)
    if model.output_id in prefix:
        return CacheReport(False, "every layer is frozen: nothing to train", **base), set()
    frozen = tuple(n for n in model.order if n in prefix and any(True for _ in model.layers[n].parameters()))
    if not frozen:
        reason = cut or ("no frozen layers" if not frozen_nodes else
                         "the frozen layers come after trainable ones (their inputs change every step)")
        return CacheReport(False, reason, **base), set()
    for r in regularizers:
        if r.needs_records and (not r.layers or set(r.layers) & prefix):
            return CacheReport(False, f"an activity penalty ({r.name}) reads the frozen layers' outputs", **base), set()
        if _overrides(r, "before_forward") and any(n in prefix for n, _, _ in r.targets(model)):
            return CacheReport(False, f"{r.name} changes frozen weights every step", **base), set()
    rest = [n for n in model.order if n not in prefix]
    boundary = tuple(n for n in model.order if n in prefix and any(n in model.srcs[m] for m in rest))
    nbytes = samples * itemsize * sum(math.prod(model.report.shapes[n]) for n in boundary)
    macs_full = sum(node_macs(model, n) for n in model.order)
    macs_rest = sum(node_macs(model, n) for n in rest)
    facts = dict(frozen=frozen, boundary=boundary, macs_full=macs_full, macs_rest=macs_rest, nbytes=nbytes, **base)
    if nbytes > MAX_CACHE_BYTES:
        return CacheReport(False, f"the frozen outputs would take {human_bytes(nbytes)} (the cap is "
                                  f"{human_bytes(MAX_CACHE_BYTES)})", **facts), set()
    return CacheReport(True, None, **facts), prefix


class RestOfNetwork:
    """The network after the cache: takes the boundary tensors (in ``boundary`` order), returns the output.

    Runs the same modules in the same order as ``GraphModule.forward``, so the numbers are the same.
    """

    def __init__(self, model, prefix, boundary):
        slot = {b: i for i, b in enumerate(boundary)}
        steps = []
        for nid in model.order:
            if nid in prefix:
                continue
            src = tuple(slot[s] for s in model.srcs[nid])
            if model.types[nid].name in PASSTHROUGH:
                slot[nid] = src[0]
                continue
            slot[nid] = len(boundary) + len(steps)
            steps.append((nid, slot[nid], model.layers[nid], src))
        self.model, self._steps, self._n, self._out = model, steps, len(boundary) + len(steps), slot[model.output_id]
        self._boundary = boundary

    def __call__(self, feats):
        vals = list(feats) + [None] * len(self._steps)
        for _, out, m, src in self._steps:
            vals[out] = m(*[vals[s] for s in src])
        return vals[self._out]

    def forward_record(self, feats):
        """(output, records) as ``GraphModule.forward_record``, for the nodes after the cache only."""
        vals = list(feats) + [None] * len(self._steps)
        rec = {}
        for nid, out, m, src in self._steps:
            ins = [vals[s] for s in src]
            if hasattr(m, "record"):
                pre, post = m.record(*ins)
            elif self.model.types[nid].name in PRE_IS_INPUT:
                pre, post = ins[0], m(ins[0])
            else:
                pre, post = None, m(*ins)
            vals[out] = post
            rec[nid] = {"pre": pre, "post": post}
        return vals[self._out], rec


class FrozenCache:
    """The frozen prefix's outputs of one trainer's splits, and the rest of the network to train on them."""

    def __init__(self, trainer):
        self.tr = trainer
        self.report: CacheReport = CacheReport(False, "not planned yet", applies=False)
        self.rest: RestOfNetwork | None = None
        self._feats: dict | None = None
        self._key = None
        self.builds = 0  # how many times the features were computed (tests: invalidation rebuilds)
        self._replan()

    def _samples(self):
        return sum(len(self.tr.x[s]) for s in SPLITS) if hasattr(self.tr, "x") else 0

    def _tensors(self, prefix):
        m = self.tr.model
        return [t for n in sorted(prefix) for t in (*m.layers[n].parameters(), *m.layers[n].buffers())]

    def _current_key(self):
        """Changes when the plan or the features may be wrong: a frozen tensor written in place or replaced,
        any parameter frozen or unfrozen, another regularizer list, the setting switched."""
        tr = self.tr
        return (tuple((t.data_ptr(), t._version) for t in self._watched),
                tuple(p.requires_grad for p in self._params), tr.regularizers is self._regs,
                bool(tr.training.get("cache_frozen", True)))

    def _replan(self):
        tr = self.tr
        x = tr.x["train"] if hasattr(tr, "x") else None
        itemsize = x.element_size() if x is not None else 4
        self.report, prefix = plan(tr.model, tr.regularizers, tr.training, self._samples(), itemsize)
        self._prefix = prefix
        self._regs = tr.regularizers  # kept alive, so its id in the key cannot be reused
        self.rest = RestOfNetwork(tr.model, prefix, self.report.boundary) if self.report.cached else None
        self._feats = None
        self._watched = self._tensors(prefix)
        self._params = list(tr.model.parameters())
        self._key = self._current_key()

    def invalidate(self):
        """Forget the features (weights were replaced, a reset): the next use plans and computes again."""
        self._key = None

    def release(self):
        """Drop the cached features (up to ``MAX_CACHE_BYTES``) and keep the plan: a finished run kept in the
        window's Runs list must not hold them; training on recomputes them once (10–120 ms)."""
        self._feats = None

    def _valid(self) -> bool:
        if self._key is None or self._current_key() != self._key:
            self._replan()
        return self.report.cached

    @torch.no_grad()
    def _compute(self):
        """Every split through the frozen prefix, ``CHUNK`` samples at a time (eval mode: frozen is fixed)."""
        m, boundary = self.tr.model, self.report.boundary
        was = m.training
        m.eval()
        try:
            feats = {}
            for split in SPLITS:
                x = self.tr.x[split]
                parts = [self._prefix_outputs(x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)]
                if parts:
                    feats[split] = tuple(torch.cat([p[j] for p in parts]) for j in range(len(boundary)))
                else:
                    feats[split] = tuple(x.new_zeros((0, *m.report.shapes[b])) for b in boundary)
        finally:
            m.train(was)
        self._feats = feats
        self.builds += 1

    def _prefix_outputs(self, x):
        m, vals = self.tr.model, {self.tr.model.input_id: x}
        for nid in m.order:
            if nid in self._prefix and nid != m.input_id:
                ins = [vals[s] for s in m.srcs[nid]]
                vals[nid] = ins[0] if m.types[nid].name in PASSTHROUGH else m.layers[nid](*ins)
        return [vals[b] for b in self.report.boundary]

    # -- what the trainer calls ----------------------------------------------------------
    def active(self):
        """This cache, its features computed, when training may use it now; else None (train on the inputs)."""
        if not self._valid():
            return None
        if self._feats is None:
            self._compute()
        return self

    def ready(self):
        """As ``active`` but never computes: for evaluations outside training (a snapshot on the GUI thread)."""
        return self if self._valid() and self._feats is not None else None

    def batch(self, idx):
        """The cached boundary tensors of these training samples (``index_select``: 3× faster than ``f[idx]``)."""
        return tuple(f.index_select(0, idx) for f in self._feats["train"])

    def outputs(self, split, n, chunk):
        """The network's outputs for the first ``n`` samples of a split, ``chunk`` at a time, from the cache."""
        feats = self._feats[split]
        return [self.rest(tuple(f[i:min(i + chunk, n)] for f in feats)) for i in range(0, n, chunk)]
