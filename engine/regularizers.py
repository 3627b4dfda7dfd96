"""Regularizers by name: things that trade a higher training error for a lower validation error.

Each one uses only the hooks it needs (the base class makes the rest no-ops):

* ``penalty(model, records)``: a term added to the loss (L1, L2, activity L1).
* ``transform_targets(y, n_classes, generator)``: noisy or smoothed labels.
* ``before_forward(model, generator)`` / ``after_backward(model)``: weight noise.
* ``before_step(model)``: once per optimizer step, before it (weight decay keeps w_k there).
* ``after_step(model, lr)``: decoupled weight decay, max-norm.

A model provides ``weight_params() -> [(node_id, param_name, Parameter)]`` (the
penalizable weights, biases excluded as in the notes) and ``layers`` (a ModuleDict
by node id). Dropout is a layer, not a regularizer here. torch is imported lazily.
"""
from __future__ import annotations

from .errors import GraphError, InvalidInput
from .params import Param, schema
from .registry import Registry

REGULARIZERS = Registry("regularizer")

_LAYERS = Param("layers", "any", (), doc="Node ids to apply to; empty means every layer with weights.")
_LAMBDA_DOC = "Strength λ of the penalty."

# label_noise must see class indices, so it runs before label_smoothing turns them into soft rows.
_TARGET_ORDER = {"label_noise": 0, "label_smoothing": 1}


def _layer_ids(value, who):
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{who}.layers must be a list of node ids, got {value!r}")
    return tuple(value)


class Regularizer:
    """Base class: every hook is a no-op."""

    name = ""
    needs_records = False  # penalty() wants model.forward_record's {node_id: {"pre", "post"}}

    def __init__(self, **params):
        self.params = params
        self.layers = _layer_ids(params.get("layers"), self.name) if "layers" in params else ()

    def targets(self, model):
        """The trainable (node_id, name, Parameter) weights this regularizer acts on (frozen ones never change)."""
        wanted = set(self.layers)
        return [w for w in model.weight_params() if (not wanted or w[0] in wanted) and w[2].requires_grad]

    def penalty(self, model, records=None):
        return None

    def transform_targets(self, y, n_classes: int, generator):
        return y

    def transform_inputs(self, x, generator):
        """Data augmentation: a new, randomly altered training batch (see engine/augmentation.py)."""
        return x

    def before_forward(self, model, generator):
        pass

    def after_backward(self, model):
        pass

    def before_step(self, model):
        pass

    def after_step(self, model, lr: float):
        pass

    def __repr__(self):
        return f"{type(self).__name__}({self.params})"


class L1(Regularizer):
    name = "l1"

    def penalty(self, model, records=None):
        ws = self.targets(model)
        return self.params["lambda"] * sum(p.abs().sum() for _, _, p in ws) if ws else None


class L2(Regularizer):
    name = "l2"

    def penalty(self, model, records=None):
        ws = self.targets(model)
        return self.params["lambda"] * sum(p.pow(2).sum() for _, _, p in ws) if ws else None


class WeightDecay(Regularizer):
    """The notes' update w_{k+1} = w_k − η·g − η·λ·w_k: the decay uses the weights *before* the step.

    The weights are copied in ``before_step`` and ``after_step`` subtracts η·λ·w_k from whatever the
    optimizer did. (Multiplying after the step, (w − ηg)(1 − ηλ), would differ by η²λg.)
    """

    name = "weight_decay"

    def __init__(self, **params):
        super().__init__(**params)
        self._before = None

    def before_step(self, model):
        self._before = [(p, p.detach().clone()) for _, _, p in self.targets(model)]

    def after_step(self, model, lr):
        import torch

        lam = self.params["lambda"]
        pairs = self._before if self._before is not None else [(p, p.detach().clone()) for _, _, p in self.targets(model)]
        self._before = None
        with torch.no_grad():
            for p, w_k in pairs:
                p.sub_(w_k, alpha=lr * lam)


class ActivityL1(Regularizer):
    name = "activity_l1"
    needs_records = True

    def penalty(self, model, records=None):
        import torch

        if not records:
            return None
        if self.layers:
            ids = [i for i in self.layers if i in records]
        else:  # every hidden node: the input is data and the output is the prediction itself
            skip = {getattr(model, "input_id", None), getattr(model, "output_id", None)}
            ids = [i for i in records if i not in skip]
        terms = []
        for i in ids:
            a = records[i].get("post") if isinstance(records[i], dict) else None
            if isinstance(a, torch.Tensor) and a.dim() >= 1 and a.is_floating_point():
                terms.append(a.abs().reshape(a.shape[0], -1).sum(1).mean())
        return self.params["lambda"] * sum(terms) if terms else None


class WeightNoise(Regularizer):
    """Adds N(0, std²) to the weights for one forward/backward pass, then puts the clean weights back."""

    name = "weight_noise"

    def __init__(self, **params):
        super().__init__(**params)
        self._saved = []

    def before_forward(self, model, generator):
        import torch

        self.after_backward(model)  # never stack noise if a previous pass was interrupted
        std = self.params["std"]
        if std == 0:
            return
        with torch.no_grad():
            for _, _, p in self.targets(model):
                self._saved.append((p, p.detach().clone()))
                dev = generator.device if generator is not None else p.device
                noise = torch.randn(p.shape, generator=generator, device=dev, dtype=p.dtype)
                p.add_(noise.to(p.device), alpha=std)

    def after_backward(self, model):
        import torch

        with torch.no_grad():
            for p, clean in self._saved:
                p.copy_(clean)
        self._saved = []


class MaxNorm(Regularizer):
    name = "max_norm"

    def after_step(self, model, lr):
        from .optimizers import apply_max_norm

        apply_max_norm([p for _, _, p in self.targets(model)], self.params["max_norm"])


def _multilabel(y, n_labels: int) -> bool:
    """Multi-label targets: float (N, k) rows of 0s and 1s, k = the dataset's label count (class labels are
    integers, regression sets have no labels)."""
    import torch

    return (y.dtype.is_floating_point and y.dim() == 2 and n_labels >= 1 and y.shape[1] == n_labels
            and bool(torch.all((y == 0) | (y == 1))))


class LabelSmoothing(Regularizer):
    name = "label_smoothing"

    def transform_targets(self, y, n_classes, generator):
        import torch
        import torch.nn.functional as F

        eps, c = self.params["epsilon"], int(n_classes)
        if _multilabel(y, c):  # k independent yes/no labels: each is smoothed towards ½, not towards 1/k
            return (1.0 - eps) * y + eps / 2
        if c < 2:
            raise InvalidInput(f"label smoothing needs at least 2 classes, got {n_classes!r}")
        if y.dtype.is_floating_point:
            raise InvalidInput(f"label smoothing expects class indices or ({len(y)}, {c}) 0/1 label rows, "
                               f"got {tuple(y.shape)}")
        rows = F.one_hot(y.reshape(-1).long(), c).to(torch.float32)
        return (1.0 - eps) * rows + eps / c


class LabelNoise(Regularizer):
    name = "label_noise"

    def transform_targets(self, y, n_classes, generator):
        import torch

        c = int(n_classes)
        dev = generator.device if generator is not None else y.device
        if _multilabel(y, c):  # each label of each sample flips (0 ↔ 1) with probability p
            if self.params["p"] == 0:
                return y
            flip = (torch.rand(y.shape, generator=generator, device=dev) < self.params["p"]).to(y.device)
            return torch.where(flip, 1.0 - y, y)
        if y.dtype.is_floating_point:
            raise InvalidInput("label noise needs class labels (it cannot flip regression targets)")
        if c < 2 or self.params["p"] == 0:
            return y
        flip = (torch.rand(y.shape, generator=generator, device=dev) < self.params["p"]).to(y.device)
        shift = torch.randint(1, c, y.shape, generator=generator, device=dev).to(y.device)
        return torch.where(flip, (y + shift) % c, y)  # a uniformly random *other* class


def _register(name, cls, doc, *params):
    REGULARIZERS.register(name, schema=schema(*params), doc=doc)(lambda **p: cls(**p))


_register("l1", L1, "L1 penalty λ·Σ|w| on the weights: pushes many weights to exactly 0 (sparsity; Laplace prior).",
          Param("lambda", "float", 1e-4, min=0.0, doc=_LAMBDA_DOC), _LAYERS)
_register("l2", L2, "L2 penalty λ·Σw² on the weights: keeps them small (Gaussian prior). Some texts write "
          "(λ/2)·Σw² so the gradient is λw; here the gradient is 2λw.",
          Param("lambda", "float", 1e-4, min=0.0, doc=_LAMBDA_DOC), _LAYERS)
_register("weight_decay", WeightDecay, "Weight decay in the update rule, as in the notes: w ← w − η·g − η·λ·w, "
          "with w the weights before the step. For plain SGD this is exactly the L2 penalty (λ/2)·Σw² in the loss; "
          "with momentum or adaptive optimizers the decay stays outside their averaging (decoupled).",
          Param("lambda", "float", 1e-4, min=0.0, max=1.0, doc="λ in w − ηg − ηλw: the fraction of each weight "
                "removed per unit of lr. Values to try: 1e-4, 1e-5, 0."), _LAYERS)
_register("activity_l1", ActivityL1, "Activity L1 penalty λ·mean over the batch of Σ|a| on the outputs of the "
          "targeted layers (default: all hidden ones): encourages sparse representations.",
          Param("lambda", "float", 1e-4, min=0.0, doc=_LAMBDA_DOC), _LAYERS)
_register("weight_noise", WeightNoise, "Gaussian weight noise: each training pass sees w + N(0, std²); the step "
          "updates the clean weights. Acts like a penalty on sensitivity to the weights (smoother functions).",
          Param("std", "float", 0.01, min=0.0, doc="Standard deviation of the noise."), _LAYERS)
_register("max_norm", MaxNorm, "Max-norm: after each step, rescale every unit's incoming weight vector to norm ≤ "
          "max_norm. Not part of the loss.",
          Param("max_norm", "float", 3.0, min=1e-12, doc="Largest allowed L2 norm r per unit."), _LAYERS)
_register("label_smoothing", LabelSmoothing, "Label smoothing: train on (1−ε)·onehot + ε/C instead of hard 0/1 "
          "targets, so the network stops chasing infinite logits. Two classes give P(1) = y·(1−ε) + ε/2.",
          Param("epsilon", "float", 0.1, min=0.0, max=1.0, doc="Probability mass spread evenly over all classes."))
_register("label_noise", LabelNoise, "Label noise: each training label is flipped to a random other class with "
          "probability p (fresh for every batch).",
          Param("p", "float", 0.05, min=0.0, max=1.0, doc="Flip probability per label."))


def get(spec) -> Regularizer:
    return REGULARIZERS.create(spec)


def regularizers_from(session_list, graph_nodes) -> list[Regularizer]:
    """Global entries plus every node's own ``regularizers`` (forced to that node), validated.

    ``graph_nodes`` is a GraphSpec or a list of its nodes. A global ``layers`` id that is
    not in the graph is an error. Entries add up (a global and a per-node l2 both apply).
    """
    nodes = list(getattr(graph_nodes, "nodes", graph_nodes) or [])
    ids = {n.id for n in nodes}
    out = []
    for spec in list(session_list or []):
        reg = get(spec)
        for lid in reg.layers:
            if lid not in ids:
                raise InvalidInput(f"regularizer {reg.name!r} targets unknown layer {lid!r}")
        out.append(reg)
    for node in nodes:
        for spec in list(node.regularizers or []):
            entry, params = REGULARIZERS.resolve(spec)
            if "layers" not in entry.schema.names():
                raise GraphError(f"{entry.name} acts on the whole network's targets; set it in the training "
                                 f"settings, not on a layer", node=node.id)
            params["layers"] = [node.id]
            out.append(entry.factory(**params))
    return sorted(out, key=lambda r: _TARGET_ORDER.get(r.name, 0))


def apply_target_transforms(regs, y, n_classes: int, generator):
    """Run every target transform in order (noise before smoothing)."""
    for r in sorted(regs, key=lambda r: _TARGET_ORDER.get(r.name, 0)):
        y = r.transform_targets(y, n_classes, generator)
    return y


def total_penalty(regs, model, records=None):
    """Sum of all penalty terms, or None when there are none."""
    terms = [t for r in regs if (t := r.penalty(model, records if r.needs_records else None)) is not None]
    return sum(terms) if terms else None


from . import augmentation  # noqa: E402,F401  registers input_noise, random_shift, random_flip
