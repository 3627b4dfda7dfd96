"""Sanity checks from lecture 003's "How to" and "Bad signs", and lecture 000's curve reading.

* ``overfit_small_sample``: the basic recipe's first steps -- a correct setup must be able to
  memorise a handful of training samples: the loss falls to near zero, 100% training accuracy.
  If it cannot, look for a bug before tuning anything.
* ``diagnose_val_below_train``: a validation loss that stays below the training loss is
  "something very wrong, or totally expected": an easier validation set, dropout or noise
  raising only the training loss, or a bug such as data shared between the splits.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .diagnostics import MIN_EPOCHS, Diagnosis, _curve, _g
from .errors import InvalidInput

VAL_BELOW_RATIO = 0.9  # validation loss under 90% of the training loss ...
VAL_BELOW_EPOCHS = 5  # ... for this many of the last epochs in a row


def diagnose_val_below_train(train_loss, val_loss) -> list[Diagnosis]:
    """One ``val_below_train`` finding when the last ``VAL_BELOW_EPOCHS`` validated epochs all sit below the training loss."""
    t = _curve(train_loss, "train_loss")
    v = _curve(val_loss, "val_loss")[:t.size]
    idx = np.flatnonzero(np.isfinite(v) & np.isfinite(t[:v.size]))
    if idx.size < max(MIN_EPOCHS, VAL_BELOW_EPOCHS):
        return []
    last = idx[-VAL_BELOW_EPOCHS:]
    if not np.all((t[last] > 0) & (v[last] < VAL_BELOW_RATIO * t[last])):
        return []
    ratio = float(np.mean(v[last] / t[last]))
    return [Diagnosis(
        "val_below_train", "info",
        f"The validation loss has stayed below the training loss for {VAL_BELOW_EPOCHS} epochs (about "
        f"{100 * ratio:.0f}% of it, last {_g(v[last[-1]])} against {_g(t[last[-1]])}), which is expected when "
        f"dropout or noise raises only the training loss but otherwise means an easier validation set or a bug.",
        "Check that no sample is in both splits and that both are drawn and preprocessed the same way; "
        "compare the curves with regularization switched off.")]


MIN_SAMPLES = 4  # the notes' "handful of samples (e.g., 4)": one sample can be right by chance
LOSS_FALL = 0.1  # a memorised handful: the training loss ends below this fraction of its starting value


def overfit_small_sample(session, n_samples: int = MIN_SAMPLES, *, epochs: int = 200, device=None) -> dict:
    """Train on the first ``n_samples`` training samples only; ``passed`` when they are memorised.

    Passed needs the loss to fall -- below ``LOSS_FALL`` (10%) of its value at the initial weights,
    1% for regression -- and, for classification, 100% training accuracy. Accuracy alone is not
    enough: with one sample (or a lucky few) an untrained network is often already right, so a
    setup that cannot learn at all (learning rate 0) passed 3 times in 6 seeds; hence also at
    least ``MIN_SAMPLES`` samples, the notes' "handful". Returns ``{"n_samples", "epochs",
    "first_loss", "final_loss", "train_accuracy", "loss_fell", "passed"}``.
    """
    from .data import make_dataset
    from .trainer import Trainer

    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < MIN_SAMPLES:
        raise InvalidInput(f"n_samples must be a whole number ≥ {MIN_SAMPLES} (a handful: with fewer an untrained "
                           f"network can be right by chance), got {n_samples!r}")
    s = session.copy().canonicalize()
    s.training = dict(s.training, early_stopping=None)
    data = make_dataset(s.dataset, seed=s.seed)
    if n_samples > len(data.y_train):
        raise InvalidInput(f"n_samples is {n_samples} but the training split has only {len(data.y_train)} samples")
    k = slice(0, n_samples)
    none = slice(0, 0)
    small = replace(data, x_train=data.x_train[k], y_train=data.y_train[k], x_val=data.x_val[none],
                    y_val=data.y_val[none], x_test=data.x_test[none], y_test=data.y_test[none])
    tr = Trainer(s, dataset=small, device=device)
    first, _, _ = tr.evaluate_split("train")  # at the initial weights
    for _ in tr.run(epochs):
        pass
    final, metrics, _ = tr.evaluate_split("train")
    acc = metrics.get("accuracy") if data.task in ("classification", "multilabel") else None  # multilabel: per label
    limit = LOSS_FALL if acc is not None else 0.01
    fell = bool(first is not None and first > 0 and np.isfinite(final) and final <= limit * first)
    passed = fell and (acc is None or acc == 1.0)
    return {"n_samples": n_samples, "epochs": tr.epoch, "first_loss": first, "final_loss": final,
            "train_accuracy": acc, "loss_fell": fell, "passed": bool(passed)}
