"""How much memory a session will need, from the graph report alone, and whether this machine has it.

A Dense layer of 10⁹ units used to pass validation and then allocate until the
machine ran out of memory (Stop did nothing while the network was being built).
``estimate`` adds up what training holds at its peak -- parameters, their
gradients, the optimizer's state, the activations of one batch (or of one
evaluation chunk), the dataset -- using only shapes and counts: no torch, no
allocation, linear in the number of nodes. ``check_fits`` compares that with the
memory the system reports as available and refuses with one sentence naming the
biggest layer. The figures are estimates (within a small factor of what torch
really allocates); they exist to refuse the absurd, not to budget the last MB.
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

from .errors import InvalidInput

FLOAT = 4  # bytes of a float32: parameters, activations and data are float32
EVAL_CHUNK = 4096  # samples evaluated at once (engine.trainer.EVAL_CHUNK)
# Extra float32 values kept per parameter by each optimizer (torch's state layout).
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2, "adamw": 2}
SECOND_ORDER = ("newton", "bfgs", "gauss_newton", "levenberg", "levenberg_marquardt")
# Per parameter: its value, its gradient, and one transient copy (initializer temporaries, the statistics
# snapshots): measured on CPU, a 3000-unit MLP grew by 1.5× what value + gradient + Adam's slots predict.
WEIGHT_COPIES = 3
DATASET_COPIES = 3  # generated arrays, the split copies, the preprocessed copies (torch shares the last)
TORCH_RUNTIME = 300_000_000  # resident size torch adds when a process imports it (measured ~250-350 MB)
DIGITS_SAMPLES = 1797  # the 8×8 digits set (engine/data/digits.py)
MAX_CACHE_BYTES = 1_000_000_000  # the frozen-layer cache's cap: the stored features of all splits (frozen_cache.py)
RANDOM_WHILE_TRAINING = ("Dropout",)  # parameterless layers whose output changes every step: the cache stops there


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak bytes a training of the session needs: per node, plus the dataset and the optimizer's extras."""

    total_bytes: int
    by_node: dict = field(default_factory=dict)  # node id -> bytes (parameters, gradients, optimizer state, activations)
    biggest_node: str | None = None
    dataset_bytes: int = 0
    extra_bytes: int = 0  # not tied to a node: second-order matrices, early stopping's copy of the best weights
    batch: int = 0  # samples per training step assumed
    samples: int = 0  # samples in the dataset assumed
    cache_bytes: int = 0  # the frozen layers' outputs for every sample (training.cache_frozen), included in the total

    def describe(self) -> str:
        """One line, e.g. ``~1.7 GB (largest node dense2 ~1.6 GB, dataset ~12 MB)``."""
        parts = []
        if self.biggest_node is not None:
            parts.append(f"largest node {self.biggest_node} ~{human_bytes(self.by_node[self.biggest_node])}")
        if self.dataset_bytes:
            parts.append(f"dataset ~{human_bytes(self.dataset_bytes)}")
        if self.extra_bytes:
            parts.append(f"optimizer extras ~{human_bytes(self.extra_bytes)}")
        if self.cache_bytes:
            parts.append(f"frozen-layer cache ~{human_bytes(self.cache_bytes)}")
        return f"~{human_bytes(self.total_bytes)}" + (f" ({', '.join(parts)})" if parts else "")


def human_bytes(n: int) -> str:
    """Decimal units as people read them on a machine's spec sheet: 44 GB, 1.6 GB, 300 MB."""
    n = max(int(n), 0)
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------- estimate
def estimate(session, report=None) -> MemoryEstimate:
    """The memory ``session`` needs to train, from its graph report (computed when not given).

    Nodes whose shape is unknown (an invalid graph) count only what is known.
    """
    from .graph import analyze

    rep = report if report is not None else analyze(session.graph)
    samples, n_train = _dataset_samples(session)
    batch = _batch(session, n_train)
    opt_type, opt_params = _optimizer(session)
    slots = OPTIMIZER_SLOTS.get(opt_type, 0)
    if opt_type == "lbfgs":  # history_size pairs (s, y) of flat vectors, plus the flat gradient and direction
        slots = 2 * int(opt_params.get("history_size", 10)) + 3
    train_factor = 3  # forward output, the saved pre-activation, and its gradient during backward
    eval_batch = min(EVAL_CHUNK, samples) if samples else EVAL_CHUNK
    by_node = {}
    nodes = {n.id: n for n in session.graph.nodes}
    for nid in rep.order:
        shape = rep.shapes.get(nid)
        width = math.prod(shape) if shape else 0
        width = max(width, _recurrent_state_width(nodes.get(nid), rep, nid))
        p = int(rep.param_counts.get(nid, 0))
        weights = p * FLOAT * (WEIGHT_COPIES + slots)  # value, gradient, transient copy, optimizer slots
        acts = max(batch * width * FLOAT * train_factor, eval_batch * width * FLOAT)
        by_node[nid] = weights + acts
    total_params = sum(int(v) for v in rep.param_counts.values())
    extra = 0
    if opt_type in SECOND_ORDER:  # n×n float64 curvature matrices (the optimizers refuse large n themselves)
        extra += 2 * total_params * total_params * 8
        if opt_type in ("gauss_newton", "levenberg", "levenberg_marquardt"):
            out = math.prod(rep.shapes.get(rep.output_id) or (1,))
            extra += n_train * out * total_params * 8  # the Jacobian of every residual
    es = (session.training or {}).get("early_stopping")
    if isinstance(es, dict) and es.get("restore_best", True):
        extra += total_params * FLOAT  # a CPU copy of the best weights
    in_shape = rep.shapes.get(rep.input_id) if rep.input_id else None
    out_shape = rep.shapes.get(rep.output_id) if rep.output_id else None
    per_sample = (math.prod(in_shape) if in_shape else 0) + (math.prod(out_shape) if out_shape else 1)
    data = samples * per_sample * FLOAT * DATASET_COPIES
    cache = frozen_cache_bytes(session, rep, samples)
    total = sum(by_node.values()) + data + extra + cache
    biggest = max(by_node, key=by_node.get) if by_node else None
    return MemoryEstimate(int(total), by_node, biggest, int(data), int(extra), int(batch), int(samples), int(cache))


def frozen_cache_bytes(session, rep, samples: int) -> int:
    """What the frozen-layer cache will hold: the outputs, for every sample, of the frozen part's layers that
    feed the rest (``engine.frozen_cache.plan`` on the built model; here from the graph alone). 0 when it is
    off, has nothing to cache, or would pass ``MAX_CACHE_BYTES`` (then it is not made)."""
    if not samples or not (session.training or {}).get("cache_frozen", True):
        return 0
    nodes = {n.id: n for n in session.graph.nodes}
    if all(n.trainable for n in nodes.values()) or rep.input_id is None:
        return 0
    prefix, weights = {rep.input_id}, False
    for nid in rep.order:
        node = nodes.get(nid)
        srcs = session.graph.inputs_of(nid)
        if nid == rep.input_id or node is None or not srcs or not all(s in prefix for s in srcs):
            continue
        has_weights = rep.param_counts.get(nid, 0) > 0
        random = node.type in RANDOM_WHILE_TRAINING and (rep.params.get(nid) or node.params).get("p", 0.5) != 0
        if (has_weights and node.trainable) or random:
            continue
        prefix.add(nid)
        weights |= has_weights
    if not weights or rep.output_id in prefix:
        return 0
    rest = [n for n in rep.order if n not in prefix]
    boundary = {s for n in rest for s in session.graph.inputs_of(n) if s in prefix}
    nbytes = samples * FLOAT * sum(math.prod(rep.shapes.get(n) or (0,)) for n in boundary)
    return nbytes if nbytes <= MAX_CACHE_BYTES else 0


# Values a recurrent layer keeps per time step and unit for its backward pass: SimpleRNN its state hₜ;
# LSTM its four gates, cₜ and hₜ. Its output may be one step (return_sequences off); the backward pass
# still needs every step.
RECURRENT_STATES = {"SimpleRNN": 1, "LSTM": 6}


def _recurrent_state_width(node, rep, nid) -> int:
    """Values per sample a recurrent node keeps for backward (steps × units × states), else 0."""
    if node is None or node.type not in RECURRENT_STATES:
        return 0
    ins = rep.in_shapes.get(nid) or ()
    params = rep.params.get(nid) or node.params
    if not ins or not ins[0] or not params.get("units"):
        return 0
    return int(ins[0][0]) * int(params["units"]) * RECURRENT_STATES[node.type]


def _dataset_samples(session) -> tuple[int, int]:
    """(samples, training samples) the dataset spec will produce, read from the spec without generating it."""
    from .data import dataset_canonical

    try:
        spec = dataset_canonical(session.dataset)  # the generator's defaults (n = 500, ...)
    except InvalidInput:
        spec = session.dataset if isinstance(session.dataset, dict) else {}
    params = spec.get("params") or {}
    n = 0
    if not isinstance(params, dict):
        return 0, 0
    if isinstance(params.get("n"), (int, float)) and not isinstance(params.get("n"), bool) and math.isfinite(params["n"]):
        n = int(params["n"])
    elif params.get("x") is not None and hasattr(params["x"], "__len__"):  # a list, or an imported DataArray
        n = len(params["x"])
    elif spec.get("type") == "digits":
        n = DIGITS_SAMPLES
    split = spec.get("split") if isinstance(spec.get("split"), dict) else None
    frac = split.get("train", 0.7) if split else (1.0 if spec.get("type") == "inline" else 0.7)
    frac = frac if isinstance(frac, (int, float)) and 0 <= frac <= 1 else 1.0
    return max(n, 0), max(int(round(n * frac)), 1 if n else 0)


def _batch(session, n_train) -> int:
    bs = (session.training or {}).get("batch_size", 10)
    if isinstance(bs, bool) or not isinstance(bs, (int, float)) or not math.isfinite(bs):
        bs = 10
    bs = int(bs)
    return n_train if bs <= 0 or (n_train and bs > n_train) else bs


def _optimizer(session) -> tuple[str, dict]:
    from .optimizers import OPTIMIZERS

    try:
        entry, params = OPTIMIZERS.resolve(session.optimizer)
    except InvalidInput:
        return "", {}
    return entry.name, params


# --------------------------------------------------------------- available
def available_bytes() -> int | None:
    """Memory this process may still use: MemAvailable, lowered by a cgroup limit; None when unknown."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    limit = _cgroup_free()
    if limit is not None:
        found.append(limit)
    return min(found) if found else None


def _cgroup_free() -> int | None:
    """A container's memory limit minus what it already uses (cgroup v2, then v1)."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as f:
                raw = f.read().strip()
            if raw == "max":
                return None
            limit = int(raw)
            with open(usage_file, encoding="ascii") as f:
                used = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit >= 1 << 60:  # v1 reports "no limit" as a huge number
            return None
        return max(limit - used, 0)
    return None


def gpu_free_bytes(session, device=None) -> int | None:
    """Free memory of the CUDA GPU the session would train on, when torch is loaded and one is there; else None.

    Never imports torch (validate stays fast): before torch is loaded there is no GPU to ask.
    """
    want = device or (session.training or {}).get("device", "auto")
    torch = sys.modules.get("torch")
    if want not in ("auto", "cuda") or torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return None
        return int(torch.cuda.mem_get_info()[0])
    except Exception:  # a driver that cannot answer must not stop a training
        return None


def check_fits(session, report=None, available=None, *, device=None, gpu_available=None) -> MemoryEstimate:
    """Raise ``InvalidInput`` ("dense2 needs ~44 GB; this machine has 23 GB free") when the session cannot fit.

    ``available`` (bytes) defaults to ``available_bytes()``; when the system does not say,
    nothing is refused. On a CUDA GPU (``gpu_available``, else asked of torch when it is loaded
    and ``device``/the session's device is auto or cuda) the network's part -- everything but the
    dataset -- must fit the GPU, and the dataset the host. Returns the estimate.
    """
    est = estimate(session, report)
    free = available_bytes() if available is None else int(available)
    gpu = gpu_available if gpu_available is not None else gpu_free_bytes(session, device)
    runtime = TORCH_RUNTIME if "torch" not in sys.modules else 0  # importing torch itself takes this much
    if gpu is not None:
        network = est.total_bytes - est.dataset_bytes
        if network > gpu:
            name, need = _biggest_part(session, est, with_dataset=False)
            whole = f" (the network ~{human_bytes(network)})" if need < 0.9 * network else ""
            raise InvalidInput(f"{name} needs ~{human_bytes(need)}{whole}; the GPU has {human_bytes(gpu)} free"
                               f"{_hint(name)}")
        host_need = est.dataset_bytes + runtime
    else:
        host_need = est.total_bytes + runtime
    if free is None or host_need <= free:
        return est
    name, need = _biggest_part(session, est, with_dataset=True, network=gpu is None)
    total = host_need - runtime
    whole = f" (the whole session ~{human_bytes(total)})" if need < 0.9 * total else ""
    raise InvalidInput(f"{name} needs ~{human_bytes(need)}{whole}; this machine has {human_bytes(free)} free{_hint(name)}")


def _biggest_part(session, est, *, with_dataset, network=True) -> tuple[str, int]:
    name, need = (est.biggest_node, est.by_node.get(est.biggest_node, 0)) if network and est.biggest_node else ("", 0)
    if with_dataset and est.dataset_bytes > need:
        name, need = "the dataset", est.dataset_bytes
    if network and est.extra_bytes > need:
        name, need = f"the {_optimizer(session)[0] or 'optimizer'} optimizer's matrices", est.extra_bytes
    return name, need


def _hint(name) -> str:
    return "" if name.startswith("the ") else "; use fewer units or a smaller batch"
