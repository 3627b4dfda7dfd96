"""Lecture 003's common mistakes, made on purpose on a copy of the user's session, beside the right way.

"Bad practice / common mistakes" lists what goes wrong silently in a training script: forgetting
``zero_grad()`` before ``backward()``, forgetting to switch the network between train and eval mode,
passing softmaxed outputs to a loss that expects raw logits, and a training set that contains test
data. The playground never makes them, so a student cannot see what they do; ``demonstrate`` makes
one on a copy and trains (or evaluates) it beside the correct version, with a measured verdict.

* ``zero_grad``: a plain first-order loop where the gradients are never cleared, so each step uses
  the sum of every gradient so far — a momentum with no decay that overshoots.
* ``eval_mode``: the trained network evaluated in train mode (dropout on, batch-norm on the batch's
  statistics) several times: a different loss each time, unlike the one eval-mode number ("tests on
  train set different than during training" is the notes' bad sign).
* ``softmax_logits``: softmax (or sigmoid) on the last layer and a loss on logits, i.e. softmax twice:
  the loss is squashed and its gradient small, so training crawls.
* ``test_leak``: half of the test rows copied into the training set; the same rows score better than
  they do for a network trained without them.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import InvalidInput

MISTAKES = {
    "zero_grad": "Forgot .zero_grad() before .backward()",
    "eval_mode": "Forgot to switch the network to eval mode",
    "softmax_logits": "Passed softmaxed outputs to a loss that expects raw logits",
    "test_leak": "The training set contains test data",
}
MAX_STEPS = 20_000


@dataclass
class Demo:
    key: str
    title: str
    x_label: str
    y_label: str
    right: np.ndarray  # the curve done right
    wrong: np.ndarray  # the curve with the mistake
    right_label: str
    wrong_label: str
    verdict: str
    numbers: dict = field(default_factory=dict)


def _first_order(session):
    from .optimizers import OPTIMIZERS, needs_closure
    import torch

    probe = OPTIMIZERS.create(session.optimizer, [torch.nn.Parameter(torch.zeros(1))])
    if needs_closure(probe):
        raise InvalidInput(f"this demonstration steps a plain loop; the optimizer {session.optimizer['type']!r} "
                           "needs a closure (choose SGD, momentum, Adam, ...)")


def zero_grad_curves(session, steps: int = 200):
    """Per-step training loss with ``zero_grad()`` every step and without it (same weights, batches, optimizer)."""
    import torch

    from .builder import build_model
    from .data import make_dataset
    from .losses import LOSSES
    from .optimizers import OPTIMIZERS

    if not (isinstance(steps, int) and 1 <= steps <= MAX_STEPS):
        raise InvalidInput(f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {steps!r}")
    s = session.copy().canonicalize()
    _first_order(s)
    data = make_dataset(s.dataset, seed=s.seed)
    x = torch.as_tensor(data.x_train, dtype=torch.float32)
    y = torch.as_tensor(data.y_train)
    if not len(x):
        raise InvalidInput("the training split is empty")
    bs = int(s.training.get("batch_size") or 0) or len(x)
    rng = np.random.default_rng(s.seed)
    batches = [rng.choice(len(x), size=min(bs, len(x)), replace=False) for _ in range(steps)]
    curves = {}
    for clear in (True, False):
        model = build_model(s.graph, seed=s.seed)
        model.eval()  # no dropout noise: the only difference is the gradients
        opt = OPTIMIZERS.create(s.optimizer, model.trainable_parameters())
        loss_fn = LOSSES.create(s.loss)
        losses = []
        for idx in batches:
            if clear:
                opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        curves[clear] = np.asarray(losses)
    return curves[True], curves[False]


def _has_mode_layers(session) -> bool:
    return any(n.type in ("Dropout", "BatchNorm") for n in session.graph.nodes)


def eval_mode_spread(run, repeats: int = 20, split: str = "test", batch: int = 16, seed: int = 0):
    """(eval-mode loss, train-mode losses over ``repeats`` evaluations) of ``run``'s network on ``split``."""
    import torch

    from .losses import LOSSES

    with run.snapshot() as tr:
        model = copy.deepcopy(tr.model).cpu()
        x = tr.x[split].cpu()
        y = tr.y[split].cpu()
        loss_fn = LOSSES.create(tr.session.loss)
    if not len(x):
        raise InvalidInput(f"the {split} split is empty")
    model.set_generator(torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.eval()
        right = float(loss_fn(model(x), y))
        model.train()
        wrong = []
        for _ in range(repeats):  # batches of ``batch``: batch norm then normalises with each batch's statistics
            total = sum(float(loss_fn(model(x[i:i + batch]), y[i:i + batch])) * len(x[i:i + batch])
                        for i in range(0, len(x), batch))
            wrong.append(total / len(x))
    return right, np.asarray(wrong)


def _last_layer(session):
    from .graph import last_layer

    node = last_layer(session.graph)
    if node is None:
        raise InvalidInput("the last layer before the output is not a Dense, Conv or Activation layer")
    return node


def softmax_variants(session):
    """(right, wrong) sessions: the last layer's raw outputs into the logits loss, and a squashing one before it."""
    s = session.copy().canonicalize()
    loss = s.loss["type"]
    squash = {"cross_entropy": "softmax", "bce_logits": "sigmoid"}.get(loss)
    if squash is None or (loss == "cross_entropy" and not s.loss["params"].get("from_logits", True)):
        raise InvalidInput("this mistake needs a loss on logits: cross-entropy (from logits) or bce_logits")
    right, wrong = s.copy(), s.copy()
    _last_layer(right).params["activation"] = "identity"
    _last_layer(wrong).params["activation"] = squash
    return right, wrong, squash


def _curve(run, epochs, key):
    run.fit(epochs)
    return np.asarray(run.history.epoch_array(key), dtype=np.float64)


def demonstrate(session, key: str, *, epochs: int = 30, steps: int = 200, repeats: int = 20) -> Demo:
    """Make mistake ``key`` on a copy of ``session`` and measure it against the right way."""
    from .run import Run

    if key not in MISTAKES:
        raise InvalidInput(f"no mistake {key!r}; choose one of {', '.join(MISTAKES)}")
    title = MISTAKES[key]
    if key == "zero_grad":
        right, wrong = zero_grad_curves(session, steps)
        ratio = float(np.mean(wrong[-10:]) / max(np.mean(right[-10:]), 1e-12))
        verdict = (f"After {steps} steps the loss is {right[-1]:.4g} with zero_grad() and {wrong[-1]:.4g} without: "
                   f"each step without it follows the sum of every gradient so far"
                   + (", so it overshoots." if ratio > 1 else "."))
        return Demo(key, title, "step", "training loss (batch)", right, wrong, "zero_grad() each step",
                    "gradients never cleared", verdict, {"final_right": float(right[-1]), "final_wrong": float(wrong[-1])})
    if key == "eval_mode":
        run = Run(session.copy(), path="torch")
        run.fit(epochs)
        right, wrong = eval_mode_spread(run, repeats)
        has = _has_mode_layers(session)
        verdict = (f"Eval mode gives one test loss, {right:.4g}; train mode gives a different one each time "
                   f"({wrong.min():.4g} … {wrong.max():.4g}): dropout stays on and batch norm uses each batch's "
                   "statistics." if has else
                   "This network has no Dropout or BatchNorm layer, so train and eval mode give the same numbers; add "
                   "a Dropout layer to see the difference.")
        return Demo(key, title, "evaluation", "test loss", np.full(repeats, right), wrong, "eval mode",
                    "train mode", verdict, {"eval": right, "train_min": float(wrong.min()),
                                            "train_max": float(wrong.max()), "has_mode_layers": has})
    if key == "softmax_logits":
        good, bad, squash = softmax_variants(session)
        right = _curve(Run(good, path="torch"), epochs, "train_loss")
        wrong = _curve(Run(bad, path="torch"), epochs, "train_loss")
        verdict = (f"With {squash} before the logits loss the outputs are squashed twice: after {epochs} epochs the "
                   f"training loss is {wrong[-1]:.4g} against {right[-1]:.4g} on raw logits.")
        return Demo(key, title, "epoch", "training loss", right, wrong, "raw logits into the loss",
                    f"{squash} into the loss", verdict, {"final_right": float(right[-1]), "final_wrong": float(wrong[-1])})
    return _test_leak(session, epochs)


def _test_leak(session, epochs):
    """The same test rows scored by a network that never saw them and by one whose training set contains them."""
    from .data import make_dataset
    from .run import Run

    s = session.copy().canonicalize()
    data = make_dataset(s.dataset, seed=s.seed)
    n = len(data.y_test)
    if n < 4:
        raise InvalidInput("the test split needs at least 4 rows to leak half of them")
    order = np.random.default_rng(s.seed).permutation(n)
    leaked, honest = np.sort(order[: n // 2]), np.sort(order[n // 2:])
    leaky = replace(data, x_train=np.concatenate([data.x_train, data.x_test[leaked]]),
                    y_train=np.concatenate([data.y_train, data.y_test[leaked]]))
    clean_run, leaky_run = Run(s.copy(), dataset=data, path="torch"), Run(s.copy(), dataset=leaky, path="torch")
    curves = {"clean": [], "leaked": [], "honest": []}

    def score(run, rows):
        import torch

        with run.snapshot() as tr:
            was = tr.model.training
            with torch.no_grad():
                loss = float(tr.loss_fn(tr.model.eval()(tr.x["test"][rows]), tr.y["test"][rows]))
            tr.model.train(was)
        return loss

    for epoch in range(1, epochs + 1):  # fit(e) trains up to e epochs in all
        clean_run.fit(epoch)
        leaky_run.fit(epoch)
        curves["clean"].append(score(clean_run, leaked))
        curves["leaked"].append(score(leaky_run, leaked))
        curves["honest"].append(score(leaky_run, honest))
    right, wrong = np.asarray(curves["clean"]), np.asarray(curves["leaked"])
    verdict = (f"On the same {len(leaked)} test rows the loss is {right[-1]:.4g} for the network that never saw them "
               f"and {wrong[-1]:.4g} for the one that also trained on them (its loss on the other "
               f"{len(honest)} test rows: {curves['honest'][-1]:.4g}). A leaked test set reports the low number and "
               "promises a model better than the one you have.")
    return Demo("test_leak", MISTAKES["test_leak"], "epoch", "loss on the leaked test rows", right, wrong,
                "test rows kept apart", "test rows also trained on", verdict,
                {"final_clean": float(right[-1]), "final_leaked": float(wrong[-1]),
                 "final_honest": float(curves["honest"][-1]), "n_leaked": len(leaked)})
