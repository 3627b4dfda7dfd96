"""Loss functions by name, and the "common mistakes" check for loss/output pairings.

Every loss reduces the same way: the per-sample loss is *summed over output
units* (the lecture notes' ``1/n Σ_i ||y_i − ŷ_i||``), then *averaged over the
batch*. With one output unit this is the familiar mean.

Targets follow one convention: classification → int64 class indices ``(N,)``;
regression → float ``(N, k)``. A one-unit binary loss still takes int ``(N,)``
0/1 labels and converts them; it also takes float ``(N,)``/``(N, 1)`` soft
labels, or ``(N, 2)`` two-class probabilities (column 1 = P(class 1), which is
what label smoothing produces for two classes).

torch is imported lazily so the registry (names, schemas, help) loads without it.
"""
from __future__ import annotations

from .errors import InvalidInput
from .params import Param, schema
from .registry import Registry

LOSSES = Registry("loss")

_EPS_BCE = Param("eps", "float", 1e-7, min=0.0, max=0.1,
                 doc="Probabilities are clamped to [eps, 1−eps] before the log, so a saturated "
                     "output gives a large finite loss instead of inf (its gradient is then zero).")


class Loss:
    """A configured loss: ``loss(output, target)`` returns the batch-mean scalar."""

    name = ""
    expects = "any"  # what the output layer should emit: "logits" | "probabilities" | "any"
    task = "any"  # "classification" | "regression" | "any"

    def __init__(self, **params):
        self.params = params
        # Range checks on targets cost a host sync per step; the trainer checks the whole
        # training set once, then turns them off (see Trainer.__init__).
        self.check_targets = True

    def __call__(self, output, target):
        import torch

        if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
            raise InvalidInput(f"{self.name} needs tensors, got {type(output).__name__} and {type(target).__name__}")
        if output.dim() == 1:
            output = output.unsqueeze(1)
        if output.dim() != 2:
            raise InvalidInput(f"{self.name} expects an (N, k) output, got shape {tuple(output.shape)}")
        if output.shape[0] == 0:
            raise InvalidInput(f"{self.name} got an empty batch")
        if target.shape[0] != output.shape[0]:
            raise InvalidInput(f"{self.name}: {output.shape[0]} outputs but {target.shape[0]} targets")
        return self.compute(output, target)

    def compute(self, output, target):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.params})"


# -- target conversion --------------------------------------------------------
def _is_int(t):
    import torch

    return t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)


def _class_indices(target, n_classes, who, check=True):
    """Int ``(N,)`` class indices, range-checked; one-hot/probability targets → argmax."""
    if _is_int(target):
        t = target.reshape(-1).long()
        if t.numel() != target.shape[0]:
            raise InvalidInput(f"{who} expects class indices of shape (N,), got {tuple(target.shape)}")
        if not check:
            return t
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise InvalidInput(f"{who}: class index {bad} is out of range for {n_classes} output units")
        return t
    if target.dim() == 2 and target.shape[1] == n_classes:
        return target.argmax(1)
    raise InvalidInput(f"{who} expects int class indices (N,) or ({target.shape[0]}, {n_classes}) "
                       f"one-hot targets, got {target.dtype} {tuple(target.shape)}")


def _dense_target(output, target, who, check=True):
    """The target as a float tensor shaped like ``output`` (see the module docstring)."""
    n, k = output.shape
    if _is_int(target):
        if target.dim() > 1 and not (target.dim() == 2 and target.shape[1] == 1):
            raise InvalidInput(f"{who} expects int class labels of shape (N,), got {tuple(target.shape)}")
        if k == 1:
            t = target.reshape(n, 1)
            lo, hi = (int(t.min()), int(t.max())) if check else (0, 1)
            if lo < 0 or hi > 1:
                raise InvalidInput(f"{who}: binary labels must be 0 or 1, got {lo if lo < 0 else hi}")
            return t.to(output.dtype)
        import torch.nn.functional as F

        return F.one_hot(_class_indices(target, k, who, check), k).to(output.dtype)
    t = target.to(output.dtype)
    if t.shape == output.shape:
        return t
    if k == 1 and t.dim() == 1:
        return t.reshape(n, 1)
    if k == 1 and t.dim() == 2 and t.shape[1] == 2:
        return t[:, 1:2]  # two-class probabilities → P(class 1)
    raise InvalidInput(f"{who}: target shape {tuple(target.shape)} does not match output shape {tuple(output.shape)}")


def _unit_interval(t, who):
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise InvalidInput(f"{who}: targets must lie in [0, 1], got {lo if lo < 0 else hi:g}")


def _batch_mean(per_element):
    """Sum over output units, mean over the batch."""
    return per_element.sum(1).mean()


# -- regression losses ----------------------------------------------------------
class MAE(Loss):
    name, task = "mae", "regression"

    def compute(self, output, target):
        return _batch_mean((output - _dense_target(output, target, self.name, self.check_targets)).abs())


class MSE(Loss):
    name, task = "mse", "regression"

    def compute(self, output, target):
        sq = (output - _dense_target(output, target, self.name, self.check_targets)) ** 2
        return _batch_mean(0.5 * sq if self.params.get("half") else sq)


class Huber(Loss):
    name, task = "huber", "regression"

    def compute(self, output, target):
        import torch.nn.functional as F

        t = _dense_target(output, target, self.name, self.check_targets)
        return _batch_mean(F.huber_loss(output, t, reduction="none", delta=self.params["delta"]))


@LOSSES.register("mae", aliases=("l1",), group="regression", schema=schema())
def _mae():
    """Mean absolute error: robust to outliers (their cost grows linearly); the optimum is the median."""
    return MAE()


@LOSSES.register("mse", aliases=("l2",), group="regression", schema=schema(
    Param("half", "bool", False, doc="Use ½·(y−f)² per sample, as in the lecture notes; its gradient is exactly (f−y)."),
))
def _mse(half):
    """Mean squared error: compute-efficient, but outliers dominate; the optimum is the mean."""
    return MSE(half=half)


@LOSSES.register("huber", group="regression", schema=schema(
    Param("delta", "float", 1.0, min=1e-12, doc="Errors below delta cost ½e², above it δ|e| − ½δ² (linear)."),
))
def _huber(delta):
    """Huber loss: quadratic near zero like MSE, linear for large errors like MAE."""
    return Huber(delta=delta)


# -- classification losses ------------------------------------------------------
class BCE(Loss):
    name, expects, task = "bce", "probabilities", "classification"

    def compute(self, output, target):
        import torch

        t = _dense_target(output, target, self.name, self.check_targets)
        if self.check_targets:
            _unit_interval(t, self.name)
        eps = self.params["eps"]
        p = output.clamp(eps, 1.0 - eps)
        return _batch_mean(-(t * torch.log(p) + (1.0 - t) * torch.log1p(-p)))


class BCELogits(Loss):
    name, expects, task = "bce_logits", "logits", "classification"

    def compute(self, output, target):
        import torch.nn.functional as F

        t = _dense_target(output, target, self.name, self.check_targets)
        if self.check_targets:
            _unit_interval(t, self.name)
        return _batch_mean(F.binary_cross_entropy_with_logits(output, t, reduction="none"))


class CrossEntropy(Loss):
    name, task = "cross_entropy", "classification"

    def __init__(self, **params):
        super().__init__(**params)
        self.expects = "logits" if params["from_logits"] else "probabilities"

    def compute(self, output, target):
        import torch
        import torch.nn.functional as F

        k = output.shape[1]
        if k < 2:
            raise InvalidInput("cross_entropy needs one output unit per class (at least 2); "
                               "use bce or bce_logits with a single output unit")
        if self.params["from_logits"]:
            if _is_int(target):  # the fused kernel: same value, one call
                return F.cross_entropy(output, _class_indices(target, k, self.name, self.check_targets).reshape(-1))
            logp = F.log_softmax(output, dim=1)
        else:
            logp = torch.log(output.clamp(self.params["eps"], 1.0))
        if _is_int(target):
            idx = _class_indices(target, k, self.name, self.check_targets)
            return -logp.gather(1, idx.unsqueeze(1)).mean()
        t = target.to(output.dtype)
        if t.shape != output.shape:
            raise InvalidInput(f"cross_entropy: target shape {tuple(target.shape)} does not match output shape {tuple(output.shape)}")
        return -(t * logp).sum(1).mean()


class Hinge(Loss):
    name, expects, task = "hinge", "logits", "classification"

    def compute(self, output, target):
        t = 2.0 * _dense_target(output, target, self.name, self.check_targets) - 1.0  # 0/1 → −1/+1
        return _batch_mean((1.0 - t * output).clamp_min(0.0))


class MulticlassHinge(Loss):
    name, expects, task = "multiclass_hinge", "logits", "classification"

    def compute(self, output, target):
        k = output.shape[1]
        if k < 2:
            raise InvalidInput("multiclass_hinge needs one output unit per class (at least 2); use hinge for one unit")
        idx = _class_indices(target, k, self.name, self.check_targets)
        true_score = output.gather(1, idx.unsqueeze(1))
        margins = (output - true_score + self.params["margin"]).clamp_min(0.0)
        margins = margins.scatter(1, idx.unsqueeze(1), 0.0)  # the j = y term is excluded
        return margins.sum(1).mean()


@LOSSES.register("bce", aliases=("binary_crossentropy",), group="classification", schema=schema(_EPS_BCE))
def _bce(eps):
    """Binary cross-entropy −[y·ln p + (1−y)·ln(1−p)] on probabilities p from a sigmoid output.

    Also fits regression of values in [0, 1] and multi-label problems (one sigmoid unit per label).
    """
    return BCE(eps=eps)


@LOSSES.register("bce_logits", group="classification", schema=schema())
def _bce_logits():
    """Binary cross-entropy on raw scores: applies the sigmoid itself, in a numerically stable way."""
    return BCELogits()


@LOSSES.register("cross_entropy", aliases=("categorical_crossentropy",), group="classification", schema=schema(
    Param("from_logits", "bool", True,
          doc="True: the output is raw scores and the loss applies softmax itself (stable). "
              "False: the output is already softmax probabilities."),
    Param("eps", "float", 1e-7, min=0.0, max=0.1, doc="Clamp for probabilities when from_logits is false."),
))
def _cross_entropy(from_logits, eps):
    """Categorical cross-entropy −Σ_j y_j·ln ŷ_j; targets are class indices or one-hot/probability rows."""
    return CrossEntropy(from_logits=from_logits, eps=eps)


@LOSSES.register("hinge", group="classification", schema=schema())
def _hinge():
    """Binary hinge (SVM) loss max(0, 1 − t·f) with 0/1 labels mapped to t = ±1; one raw output unit.

    The loss saturates at 0 once every sample is beyond the margin.
    """
    return Hinge()


@LOSSES.register("multiclass_hinge", group="classification", schema=schema(
    Param("margin", "float", 1.0, min=0.0, doc="Required gap between the true class score and every other score."),
))
def _multiclass_hinge(margin):
    """Weston–Watkins multi-class hinge (the lecture notes' SVM loss): Σ_{j≠y} max(0, f_j − f_y + margin)."""
    return MulticlassHinge(margin=margin)


def get(spec) -> Loss:
    """Name or ``{"type", "params"}`` → configured Loss."""
    return LOSSES.create(spec)


# -- pairing check -----------------------------------------------------------------
_NO_ACTIVATION = {"", "none", "linear", "identity"}
_REGRESSION_LOSSES = {"mae", "mse", "huber"}


def _norm_activation(name):
    a = (name or "").strip().lower()
    if a in _NO_ACTIVATION:
        return None
    return "sigmoid" if a == "logistic" else a


def check_pairing(loss_spec, last_activation, n_outputs: int, task: str) -> list[str]:
    """Warnings, one sentence each, for loss/output/task combinations that train badly or not at all.

    ``n_outputs`` is the number of output units; 0 means unknown (the checks on unit counts are skipped).
    """
    entry, params = LOSSES.resolve(loss_spec)
    if task not in ("classification", "regression", "multilabel"):
        raise InvalidInput(f"task must be 'classification', 'regression' or 'multilabel', got {task!r}")
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 0:
        raise InvalidInput(f"number of output units must be an integer ≥ 0 (0: unknown), got {n_outputs!r}")
    name, act, k = entry.name, _norm_activation(last_activation), n_outputs
    loss = entry.factory(**params)
    out: list[str] = []

    if act == "softmax" and k == 1:
        out.append("A softmax over a single output unit always outputs 1, so nothing can be learned; "
                   "use a sigmoid for one unit or give the output one unit per class.")
    if loss.expects == "logits" and act in ("softmax", "sigmoid", "log_softmax"):
        if name in ("hinge", "multiclass_hinge"):
            out.append(f"{name} wants raw scores that can pass the margin, but the {act} output squashes "
                       f"them into (0, 1) so the margin is hard or impossible to reach; remove the {act} activation.")
        else:
            inner = "sigmoid" if name == "bce_logits" else "softmax"
            out.append(f"{name} applies the {inner} itself, so the {act} output layer applies a squashing "
                       f"function twice and flattens the gradients; remove the {act} activation "
                       f"(or use {'bce' if name == 'bce_logits' else 'cross_entropy with from_logits false'}).")
    if name == "bce" and act != "sigmoid":
        what = "a softmax couples the units so they are not independent probabilities" if act == "softmax" \
            else f"a {act or 'linear'} output can produce values outside (0, 1) where the log is undefined"
        out.append(f"bce needs a probability in (0, 1) per unit, but {what}; use a sigmoid output or bce_logits.")
    if name == "cross_entropy" and not params["from_logits"] and act != "softmax":
        out.append(f"cross_entropy with from_logits false needs softmax probabilities, but the output is "
                   f"{act or 'linear'}; add a softmax output or set from_logits to true.")
    if name in ("cross_entropy", "multiclass_hinge") and k == 1 and task == "classification":
        out.append(f"{name} needs one output unit per class, but the output has 1 unit; use 2 or more units, "
                   f"or {'bce/bce_logits' if name == 'cross_entropy' else 'hinge'} for a single unit.")
    if name == "hinge" and k > 1:
        out.append(f"hinge is a binary loss for one output unit, but the output has {k} units; "
                   f"use multiclass_hinge for one unit per class.")
    if name in ("bce", "bce_logits") and k > 1 and task == "classification":
        out.append(f"{name} treats each of the {k} output units as an independent yes/no (multi-label), "
                   f"which is wrong when each sample has exactly one class; use cross_entropy on {k} units.")
    if task == "classification" and name in _REGRESSION_LOSSES:
        if act in ("sigmoid", "softmax", "tanh"):
            out.append(f"{name} on a {act} output learns slowly when the {act} saturates (its slope is near 0 "
                       f"even for badly wrong predictions); cross-entropy cancels that slope and learns faster.")
        else:
            out.append(f"{name} is a regression loss on a classification task, so the outputs are not "
                       f"probabilities and wrong classes are not penalized like cross-entropy does.")
    if task == "multilabel":
        out += _multilabel_pairing(name, act)
    # bce/bce_logits on a regression task is fine: the notes pair it with sigmoid for targets in [0, 1].
    if task == "regression" and name in ("cross_entropy", "hinge", "multiclass_hinge"):
        out.append(f"{name} is a classification loss but the task is regression; use mse, mae or huber "
                   f"for real-valued targets.")
    return out


MULTILABEL_TABLE = ("lecture 002's table: binary → sigmoid + binary cross-entropy; multiclass single-label → "
                    "softmax + categorical cross-entropy; multiclass multi-label → sigmoid + binary cross-entropy")


def _multilabel_pairing(name, act) -> list[str]:
    """Multi-label data wants one independent yes/no per label: k sigmoids + bce, or k identity units + bce_logits."""
    out = []
    if act == "softmax":
        out.append("a softmax makes the outputs compete (they sum to 1), but a multi-label sample can have several "
                   f"labels on at once; use one sigmoid unit per label with bce ({MULTILABEL_TABLE}).")
    if name in ("cross_entropy", "multiclass_hinge", "hinge"):
        out.append(f"{name} assumes exactly one class per sample, but this data is multi-label (several labels may "
                   f"be on at once); use bce on sigmoid outputs or bce_logits on raw ones ({MULTILABEL_TABLE}).")
    elif name in _REGRESSION_LOSSES:
        out.append(f"{name} is a regression loss; for multi-label 0/1 targets use bce on sigmoid outputs or "
                   f"bce_logits on raw ones ({MULTILABEL_TABLE}).")
    return out
