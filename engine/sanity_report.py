"""The Sanity checks button (lecture 003's "How to" and "Bad signs"): three checks, each a verdict and what to fix.

1. **Loss at initialisation.** An untrained classifier should be unsure: every class about equally likely,
   so its cross-entropy is about ln C (ln 2 for a binary one). Far above means confident wrong outputs at
   the start (weights initialised too large); far below means it already "knows" the labels (a leak).
2. **Overfit a handful of samples** (``engine.sanity_checks.overfit_small_sample``): a correct setup memorises
   4 samples; the loss must fall, not just the accuracy of one lucky sample be right.
3. **Gradient check**: backpropagation's gradient against central finite differences
   (E(θ + h) − E(θ − h)) / 2h on a few samples in float64, for a sample of parameter entries.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np

from .errors import InvalidInput

INIT_LOW, INIT_HIGH = 0.5, 1.5  # the loss at initialisation within [0.5, 1.5] × ln C passes
CE_LOSSES = frozenset({"cross_entropy", "ce", "categorical_crossentropy", "nll", "bce", "bce_logits",
                       "bce_with_logits", "binary_cross_entropy", "binary_crossentropy"})
GRAD_SAMPLES = 4  # training samples in the gradient check
GRAD_ENTRIES = 8  # parameter entries checked per tensor
GRAD_H = 1e-6
GRAD_TOL = 1e-4  # largest relative error that passes (float64; a ReLU kink crossed by h can cost ~1e-6)


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # "pass", "fail", "warn" or "skipped"
    value: str  # the measured numbers, one line
    advice: str  # what it means and what to fix

    def to_dict(self):
        return asdict(self)


def _trainer(session, device=None):
    from .trainer import Trainer

    s = session.copy().canonicalize()
    s.training = dict(s.training, early_stopping=None)
    return Trainer(s, device=device or "cpu")


def initial_loss_check(session, trainer=None) -> Check:
    """The training loss at the initial weights against ln C (cross-entropy losses only)."""
    tr = trainer or _trainer(session)
    loss_name = str(tr.loss_name).lower()
    if tr.data.task not in ("classification", "multilabel") or loss_name not in CE_LOSSES:
        return Check("loss at initialisation", "skipped", f"loss {tr.loss_name}",
                     "Only a cross-entropy loss has an expected starting value (ln C); nothing to compare here.")
    if tr.data.task == "multilabel":  # k independent yes/no at P = 1/2 each: the per-unit sum is k·ln 2
        return _multilabel_initial_loss(tr)
    c = int(tr.data.n_classes)
    expected = math.log(c)
    loss, _, _ = tr.evaluate_split("train")
    if loss is None or not math.isfinite(loss):
        return Check("loss at initialisation", "fail", f"loss {loss} at the initial weights",
                     "The untrained network already gives a non-finite loss: check the inputs (NaN, huge values) "
                     "and the initializer.")
    ratio = loss / expected
    value = f"E = {loss:.4g} at the initial weights; ln {c} = {expected:.4g} (ratio {ratio:.2f})"
    if ratio > INIT_HIGH:
        return Check("loss at initialisation", "fail", value,
                     "Far above ln C: the untrained network is confidently wrong. Initialise smaller weights "
                     "(Xavier/Glorot for tanh/sigmoid, He for ReLU), zero the output bias, and check that a "
                     "softmax/sigmoid is not applied twice.")
    if ratio < INIT_LOW:
        return Check("loss at initialisation", "warn", value,
                     "Far below ln C before any training: check that the targets cannot be read off the inputs "
                     "(a label column among the features) and that the classes are what you expect.")
    return Check("loss at initialisation", "pass", value,
                 "About ln C: the untrained network treats every class as equally likely, as it should.")


def _multilabel_initial_loss(tr) -> Check:
    """Multi-label: an untrained network says P = 1/2 for each of the k labels, a binary cross-entropy of ln 2
    per label, summed over the output units as every loss here is: k·ln 2."""
    k = int(tr.data.n_outputs)
    expected = k * math.log(2)
    loss, _, _ = tr.evaluate_split("train")
    if loss is None or not math.isfinite(loss):
        return Check("loss at initialisation", "fail", f"loss {loss} at the initial weights",
                     "The untrained network already gives a non-finite loss: check the inputs and the initializer.")
    ratio = loss / expected
    value = f"E = {loss:.4g} at the initial weights; {k}·ln 2 = {expected:.4g} (ratio {ratio:.2f})"
    if ratio > INIT_HIGH:
        return Check("loss at initialisation", "fail", value,
                     "Far above k·ln 2: the untrained network is confidently wrong about the labels. Initialise "
                     "smaller weights, zero the output bias, and check that a sigmoid is not applied twice.")
    if ratio < INIT_LOW:
        return Check("loss at initialisation", "warn", value,
                     "Far below k·ln 2 before any training: check that the labels cannot be read off the inputs.")
    return Check("loss at initialisation", "pass", value,
                 "About k·ln 2: the untrained network gives every label a probability near 1/2, as it should.")


def overfit_check(session, n_samples: int = 4, epochs: int = 500) -> Check:
    from .sanity_checks import overfit_small_sample

    r = overfit_small_sample(session, n_samples, epochs=epochs, device="cpu")
    acc = "" if r["train_accuracy"] is None else f", training accuracy {100 * r['train_accuracy']:.0f}%"
    value = (f"{r['n_samples']} samples, {r['epochs']} epochs: loss {r['first_loss']:.4g} → {r['final_loss']:.4g}"
             f"{acc}")
    if r["passed"]:
        return Check("overfit a handful of samples", "pass", value,
                     "The network memorises a handful of samples: the set-up can learn. Move to more samples.")
    if not r["loss_fell"]:
        return Check("overfit a handful of samples", "fail", value,
                     "The loss did not fall below 10% of its start on 4 samples: look for a bug before tuning — "
                     "a learning rate too small (or too large: try 1e-1…1e-4), frozen layers, a loss that does "
                     "not match the output layer (softmaxed outputs into a loss on logits), or a too small network.")
    return Check("overfit a handful of samples", "fail", value,
                 "The loss fell but not every sample is classified right: train longer or raise the learning rate; "
                 "check that the labels match the inputs.")


def gradient_check(session, trainer=None, *, n_samples: int = GRAD_SAMPLES, entries: int = GRAD_ENTRIES,
                   h: float = GRAD_H, seed: int = 0) -> Check:
    """Autograd's gradient of the loss on a few training samples against central differences, in float64."""
    import torch

    tr = trainer or _trainer(session)
    model = copy.deepcopy(tr.model).cpu().double().eval()  # eval: dropout off, so E is a function of θ
    x = tr.x["train"][:n_samples].cpu().double()
    y = tr.y["train"][:n_samples].cpu()
    y = y.double() if y.is_floating_point() else y
    if len(x) == 0:
        return Check("gradient check", "skipped", "no training samples", "There is nothing to differentiate.")
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not params:
        return Check("gradient check", "skipped", "no trainable parameters",
                     "Every layer is frozen: unfreeze one to train.")
    loss_fn = tr.loss_fn

    def loss():
        return loss_fn(model(x), y)

    model.zero_grad()
    loss().backward()
    rng = np.random.default_rng(seed)
    worst, worst_at, checked = 0.0, "", 0
    with torch.no_grad():
        for name, p in params:
            flat = p.data.view(-1)
            grad = p.grad.view(-1).clone() if p.grad is not None else torch.zeros_like(flat)
            for i in rng.choice(flat.numel(), size=min(entries, flat.numel()), replace=False):
                old = float(flat[i])
                flat[i] = old + h
                up = float(loss())
                flat[i] = old - h
                down = float(loss())
                flat[i] = old
                num, ana = (up - down) / (2 * h), float(grad[i])
                rel = abs(num - ana) / max(abs(num) + abs(ana), 1e-8)
                checked += 1
                if rel > worst:
                    worst, worst_at = rel, f"{name}[{int(i)}]: backprop {ana:.6g}, finite difference {num:.6g}"
    value = f"{checked} entries, largest relative error {worst:.2g}" + (f" ({worst_at})" if worst_at else "")
    if worst <= GRAD_TOL:
        return Check("gradient check", "pass", value,
                     "Backpropagation agrees with finite differences: the gradients are right.")
    return Check("gradient check", "fail", value,
                 "Backpropagation disagrees with finite differences: a layer's backward pass is wrong, or a "
                 "non-differentiable point (ReLU at 0, max-pooling ties) was hit — rerun with another seed; if it "
                 "persists, report the layer named above.")


def run_checks(session, *, overfit_epochs: int = 500, should_stop=None, on_check=None) -> list[Check]:
    """All three checks in order (``should_stop()`` between them, ``on_check(check)`` after each)."""
    from .session import Session

    if not isinstance(session, Session):
        raise InvalidInput(f"sanity checks need a Session, got {type(session).__name__}")
    tr = _trainer(session)
    out = []
    for fn in (lambda: initial_loss_check(session, tr), lambda: overfit_check(session, epochs=overfit_epochs),
               lambda: gradient_check(session, tr)):
        if should_stop is not None and should_stop():
            break
        try:
            c = fn()
        except InvalidInput as e:
            c = Check("check", "skipped", "", str(e))
        out.append(c)
        if on_check is not None:
            on_check(c)
    return out
