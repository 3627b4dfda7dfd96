"""The curvature of the loss at the current weights: the Hessian's spectrum and what it says (lecture 001).

The notes name three shapes a point of the loss surface can have: a *critical point* (zero
gradient), whose kind the second derivative decides — a local minimum when every curvature is
positive, a *saddle point* when some are negative (and, in high dimension, the more likely kind),
a maximum when all are; and *poor conditioning*, curvatures of very different sizes, where "small
steps lead to huge increases" along the steep directions while the flat ones barely move. This
module measures all of it on the user's network: the exact Hessian H of the training loss over the
whole training split (float64, in eval mode so dropout is off), its eigenvalues, the gradient norm,
the condition number, and the step-size bound of gradient descent, η < 2/λ_max (on a quadratic,
GD diverges along the top eigenvector beyond it). ``line_profile`` gives the loss along an
eigenvector, the one-dimensional picture of a curvature.

It is the data term only: the regularizers' penalties are left out, so the numbers describe the
fit to the data. H is n×n for n trainable parameters, so it is refused above
``engine.second_order.MAX_PARAMS``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .second_order import MAX_PARAMS

MAX_ROWS = 20_000  # rows of the training split used (the first ones): H costs n backward passes over them
ZERO_TOL = 1e-7  # an eigenvalue counts as zero when |λ| ≤ ZERO_TOL·max|λ|


@dataclass(frozen=True)
class Curvature:
    loss: float
    grad_norm: float
    eigenvalues: np.ndarray  # ascending
    eigenvectors: np.ndarray  # columns, same order
    n_params: int
    n_rows: int
    lr: float | None  # the optimizer's learning rate, for the stability bound

    @property
    def lambda_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    def counts(self) -> tuple[int, int, int]:
        """(negative, zero, positive) eigenvalues, zero meaning |λ| ≤ ZERO_TOL·max|λ|."""
        tol = ZERO_TOL * max(float(np.abs(self.eigenvalues).max()), 1e-300)
        neg = int((self.eigenvalues < -tol).sum())
        pos = int((self.eigenvalues > tol).sum())
        return neg, len(self.eigenvalues) - neg - pos, pos

    @property
    def condition(self) -> float:
        """κ = max|λ| / min|λ| over the non-zero eigenvalues (∞ when some curvature is zero)."""
        neg, zero, pos = self.counts()
        if zero:
            return math.inf
        a = np.abs(self.eigenvalues)
        return float(a.max() / a.min())

    @property
    def gd_lr_bound(self) -> float | None:
        """2/λ_max: gradient descent with a larger η is unstable along the steepest direction (None if λ_max ≤ 0)."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else None

    def kind(self, grad_tol: float = 1e-4) -> str:
        """"local minimum", "saddle point", "local maximum", "flat" or "not a critical point"."""
        if self.grad_norm > grad_tol:
            return "not a critical point"
        neg, zero, pos = self.counts()
        if neg and pos:
            return "saddle point"
        if pos:
            return "local minimum" if not zero else "minimum with flat directions"
        if neg:
            return "local maximum" if not zero else "maximum with flat directions"
        return "flat"

    def verdict(self) -> str:
        """One line for the window: where the weights are, and what the curvature means for the step size."""
        neg, zero, pos = self.counts()
        kind = self.kind()
        where = (f"‖∇L‖ = {self.grad_norm:.3g}: not a critical point yet; the curvature still shapes the next steps"
                 if kind == "not a critical point" else f"‖∇L‖ = {self.grad_norm:.3g}: a critical point — {kind}")
        parts = [where, f"{neg} negative, {zero} zero, {pos} positive curvatures"]
        bound = self.gd_lr_bound
        if bound is not None and self.lr is not None:
            rel = "above" if self.lr > bound else "below"
            parts.append(f"η = {self.lr:.3g} is {rel} plain gradient descent's limit 2/λ_max = {bound:.3g}")
        return "; ".join(parts) + "."


def _objective(source):
    """(model in float64, x, y, loss_fn, lr) copied between two steps of a Run or from a Trainer."""
    import torch

    from .evaluation import _nolock
    from .losses import LOSSES

    lock = source.snapshot() if hasattr(source, "snapshot") else _nolock(source)
    with lock as tr:
        model = copy.deepcopy(tr.model).cpu().double().eval()
        data, session = tr.data, tr.session.copy()
        lr = getattr(tr, "_lr", None) or float(session.optimizer["params"]["lr"])
    x = torch.as_tensor(np.asarray(data.x_train[:MAX_ROWS]), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(data.y_train[:MAX_ROWS]))
    y = y.double() if y.is_floating_point() else y
    loss_fn = LOSSES.create(session.loss)
    return model, x, y, loss_fn, float(lr)


def loss_hessian(source, *, limit: int = MAX_PARAMS, purpose: str = "curvature is computed"):
    """(H, g, loss, n_rows, lr) of the training loss at ``source``'s current weights: float64 numpy, exact.

    Refused in one line for an empty split, no trainable parameter, more than ``limit`` parameters (the
    message says "<purpose> up to <limit> trainable parameters") or a non-finite loss.
    """
    import torch

    from .second_order import hessian

    model, x, y, loss_fn, lr = _objective(source)
    if len(x) == 0:
        raise InvalidInput("the training split is empty: there is no loss to differentiate")
    params = [p for p in model.parameters() if p.requires_grad]
    n = sum(p.numel() for p in params)
    if n == 0:
        raise InvalidInput("every layer is frozen: there are no trainable parameters")
    if n > limit:
        raise InvalidInput(f"the Hessian of {n:,} parameters is {n:,}×{n:,}: {purpose} up to {limit:,} trainable "
                           "parameters (a smaller network, or freeze layers)")
    with torch.enable_grad():
        loss = loss_fn(model(x), y)
        if not torch.isfinite(loss):
            raise InvalidInput(f"the loss is {float(loss)} at these weights: its Hessian cannot be computed")
        h, g = hessian(loss, params)
    return h.numpy(), g.numpy(), float(loss.detach()), len(x), lr


def curvature(source) -> Curvature:
    """The Hessian spectrum of the training loss at ``source``'s current weights (a Run or a Trainer)."""
    h, g, loss, rows, lr = loss_hessian(source)
    vals, vecs = np.linalg.eigh(h)
    return Curvature(loss, float(np.linalg.norm(g)), vals, vecs, len(g), rows, lr)


def line_profile(source, direction, radius: float, points: int = 41):
    """(t, L(θ + t·d)) for t in [−radius, radius]: the loss along ``direction`` (normalised) through the weights."""
    import torch

    if not (isinstance(points, int) and 3 <= points <= 1001) or not (radius > 0 and math.isfinite(radius)):
        raise InvalidInput("a line profile needs 3–1001 points and a finite radius > 0")
    model, x, y, loss_fn, _ = _objective(source)
    params = [p for p in model.parameters() if p.requires_grad]
    d = np.asarray(direction, dtype=np.float64).ravel()
    if d.size != sum(p.numel() for p in params) or not np.isfinite(d).all() or not np.linalg.norm(d) > 0:
        raise InvalidInput("the direction must have one finite entry per trainable parameter, not all zero")
    d = torch.as_tensor(d / np.linalg.norm(d))
    base = [p.detach().clone() for p in params]
    ts = np.linspace(-radius, radius, points)
    out = np.empty(points)
    with torch.no_grad():
        for k, t in enumerate(ts):
            off = 0
            for p, b in zip(params, base):
                p.copy_(b + float(t) * d[off: off + p.numel()].reshape(p.shape))
                off += p.numel()
            out[k] = float(loss_fn(model(x), y))
    return ts, out
