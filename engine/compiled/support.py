"""Which sessions the compiled path runs: ``supports(session, device)`` is None, or the reason it is not.

Every option the kernels implement is listed here by name *and* by parameter, so
an option added later to a registry (a new optimizer form, say) is refused until it
is compiled too: the compiled path never silently trains something different.
"""
from __future__ import annotations

import importlib.util

from ..errors import InvalidInput

LAYERS = frozenset({"Input", "Output", "Dense", "Activation", "Dropout", "Add", "Concatenate"})
ACTIVATIONS = frozenset({"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "softplus",
                         "swish", "step", "softmax"})
# Every parameter each compiled optimizer/loss understands; any other parameter means "not compiled".
OPTIMIZER_PARAMS = {
    "sgd": {"lr"}, "momentum": {"lr", "momentum", "form"}, "nesterov": {"lr", "momentum", "form"},
    "adagrad": {"lr", "eps"}, "rmsprop": {"lr", "rho", "eps"}, "adam": {"lr", "beta1", "beta2", "eps"},
    "adamw": {"lr", "beta1", "beta2", "eps", "weight_decay"},
}
OPTIMIZER_CHOICES = {("momentum", "form"): {"classic", "ema", "velocity"}, ("nesterov", "form"): {"torch", "notes"}}
LOSS_PARAMS = {"mse": {"half"}, "mae": set(), "huber": {"delta"}, "bce": {"eps"}, "bce_logits": set(),
               "cross_entropy": {"from_logits", "eps"}, "hinge": set(), "multiclass_hinge": {"margin"}}
# lr depends on the epoch only (constant inside an epoch); warmup also on the step, handled apart.
EPOCH_SCHEDULES = frozenset({"constant", "inverse_time", "step", "exponential", "inverse_sqrt", "cosine",
                             "reduce_on_plateau", "manual"})
REGULARIZERS = frozenset({"l1", "l2", "weight_decay", "max_norm"})
# Above this many multiply-adds per step (parameters × batch) torch's BLAS beats the plain loops.
MAX_WORK = 400_000


def numba_available() -> bool:
    """Whether numba can be imported (looked up, not imported: importing it costs a few tenths of a second)."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # a stubbed-out or half-installed numba
        return False


def _device_reason(session, device):
    want = device if device is not None else session.training.get("device", "auto")
    want = str(want)
    if want == "auto":
        import torch

        if torch.cuda.is_available():
            return "the run goes to the CUDA GPU, which trains with torch"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "the run goes to Apple's MPS GPU, which trains with torch"
        return None
    if want != "cpu":
        return f"device {want!r} trains with torch"
    return None


def _graph_reason(session, report):
    from ..layers.activation import act_spec

    for node in session.graph.nodes:
        if node.type not in LAYERS:
            return f"{node.type} layers run on torch"
    for node in session.graph.nodes:
        if not node.trainable:
            return f"frozen layers run on torch ({node.id} is frozen)"
        if node.type in ("Dense", "Activation"):
            spec = act_spec(report.params[node.id])
            if spec["type"] not in ACTIVATIONS:
                return f"the {spec['type']} activation runs on torch"
        if node.type == "Concatenate" and report.params[node.id]["axis"] != 0:
            return "Concatenate along an axis other than 0 runs on torch"
        if len(report.shapes[node.id]) != 1:
            return f"{node.id} has a multi-dimensional shape; only flat feature vectors are compiled"
    return None


def _spec_reason(what, spec, allowed, choices=None):
    name, params = spec["type"], spec.get("params", {})
    if name not in allowed:
        return f"the {name} {what} runs on torch"
    extra = sorted(set(params) - allowed[name])
    if extra:
        return f"the {name} {what}'s option {extra[0]!r} is not compiled"
    for (n, key), ok in (choices or {}).items():
        if n == name and key in params and params[key] not in ok:
            return f"the {name} {what} with {key}={params[key]!r} runs on torch"
    return None


def _schedule_reason(spec):
    name = spec["type"]
    if name == "warmup":
        then = spec["params"].get("then")
        if then is None:
            return None
        from ..schedules import SCHEDULES

        return _schedule_reason(SCHEDULES.canonical(then)) if then != "warmup" else "nested warmup"
    if name not in EPOCH_SCHEDULES:
        return f"the {name} schedule runs on torch"
    return None


def supports(session, device=None, *, dataset=None) -> str | None:
    """None when ``session`` can train on the compiled path, else a one-line reason it trains on torch.

    ``device`` overrides the session's training device ("auto", "cpu", "cuda", "mps"); ``dataset``,
    when given, lets the full-batch size be known for the size check.
    """
    if not numba_available():
        return "numba is not installed"
    try:
        s = session.copy().canonicalize()
        from ..graph import validate
        from ..regularizers import regularizers_from

        report = validate(s.graph)
        regs = regularizers_from(s.regularizers, s.graph.nodes)
    except InvalidInput as e:  # GraphError is an InvalidInput: the torch path reports it properly
        return f"the session is not valid ({e})"
    reason = (_device_reason(s, device) or _graph_reason(s, report)
              or _spec_reason("optimizer", s.optimizer, OPTIMIZER_PARAMS, OPTIMIZER_CHOICES)
              or _spec_reason("loss", s.loss, LOSS_PARAMS) or _schedule_reason(s.schedule))
    if reason:
        return reason
    for r in regs:
        if r.name not in REGULARIZERS:
            return f"the {r.name} regularizer runs on torch"
    if dataset is not None and dataset.task != "classification" and s.loss["type"] in ("cross_entropy",
                                                                                      "multiclass_hinge"):
        kind = "multi-label 0/1" if dataset.task == "multilabel" else "real-valued (soft)"
        return f"{s.loss['type']} on {kind} targets runs on torch"
    bs = int(s.training["batch_size"])
    if dataset is not None and (bs == 0 or bs > len(dataset.x_train)):
        bs = len(dataset.x_train)
    work = report.total_params * max(bs, 1)
    if work > MAX_WORK:
        return (f"the network is too large for the compiled path ({report.total_params:,} parameters × batch "
                f"{bs}); torch's BLAS is faster there")
    return None


def change_reason(trainer, changes: dict) -> str | None:
    """Why a live change (``Trainer.request`` keys) takes the training off the compiled path, or None."""
    from ..optimizers import OPTIMIZERS
    from ..regularizers import regularizers_from
    from ..schedules import SCHEDULES

    try:
        if "optimizer" in changes:
            why = _spec_reason("optimizer", OPTIMIZERS.canonical(changes["optimizer"]), OPTIMIZER_PARAMS,
                               OPTIMIZER_CHOICES)
            if why:
                return why
        if "schedule" in changes:
            why = _schedule_reason(SCHEDULES.canonical(changes["schedule"]))
            if why:
                return why
        if "regularizers" in changes:
            for r in regularizers_from(list(changes["regularizers"] or []), trainer.session.graph.nodes):
                if r.name not in REGULARIZERS:
                    return f"the {r.name} regularizer runs on torch"
    except InvalidInput:
        return None  # a bad value: Trainer.request refuses it with its own message
    return None
