"""Optimizers by name, plus the per-step helpers the trainer needs (clipping, max-norm, lr).

Each entry maps the lecture notes' update rule onto a torch optimizer; where
torch's algebra differs from the notes the docstring says how they relate.
torch is imported lazily so the registry (names, schemas, help) loads without it.
"""
from __future__ import annotations

import math

from .errors import InvalidInput
from .params import Param, schema
from .registry import Registry

OPTIMIZERS = Registry("optimizer")


def _lr(default):
    return Param("lr", "float", default, min=0.0, doc="Learning rate η: the size of each step along the gradient.")


_MOMENTUM = Param("momentum", "float", 0.9, min=0.0, max=0.999,
                  doc="α (β, γ in the notes): how much of the previous velocity is kept; ~0.9.")
_EPS = Param("eps", "float", 1e-8, min=0.0, doc="δ: keeps the division finite when the accumulated squares are ~0.")


def _plist(params):
    out = list(params)
    if not out:
        raise InvalidInput("the optimizer got no trainable parameters (is every layer frozen?)")
    return out


_MOMENTUM_CLASSES: dict = {}


def _momentum_classes() -> dict:
    """The momentum forms torch lacks (ema, velocity, the notes' Nesterov), built on first use.

    They share one update, v = γ·v + c_g·g; w −= c_v·v, and differ in its two coefficients and in
    where the gradient is taken; building them lazily keeps torch out of import time.
    """
    if _MOMENTUM_CLASSES:
        return _MOMENTUM_CLASSES
    import torch

    class _VelocityOptimizer(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        def coefficients(self, group) -> tuple[float, float]:
            """(c_g, c_v): the gradient's weight in the velocity and the velocity's in the step."""
            raise NotImplementedError

        def _update(self):
            for group in self.param_groups:
                c_g, c_v = self.coefficients(group)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "velocity" not in state:
                        state["velocity"] = torch.zeros_like(p)
                    v = state["velocity"]
                    v.mul_(group["momentum"]).add_(p.grad, alpha=c_g)
                    p.sub_(v, alpha=c_v)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            self._update()
            return loss

    class VelocityMomentum(_VelocityOptimizer):
        """Seed 002's momentum: v = γv + η_k·g; θ −= v (v starts at 0; the lr sits inside the velocity).

        With a constant η it is the same path as torch's form (v = γv + g; θ −= ηv); when a
        schedule changes η, only the new gradients are weighted by the new η, while torch
        rescales the whole accumulated velocity.
        """

        def coefficients(self, group):
            return group["lr"], 1.0

    class EMAMomentum(_VelocityOptimizer):
        """Momentum as an exponential moving average: ν = αν + (1−α)g; w −= ην (ν starts at 0).

        With a constant η this is exactly classic momentum run with learning rate η(1−α):
        the same path, steps (1−α) times as long.
        """

        def coefficients(self, group):
            return 1.0 - group["momentum"], group["lr"]

    class NotesNesterov(VelocityMomentum):
        """Nesterov as the notes write it: v = γv + η_k·∇E(θ − γv); θ −= v. The weights are θ itself.

        The gradient is taken at the look-ahead point θ − γv, so ``step`` needs a closure: it moves
        the weights there, lets the closure compute loss and gradient, and moves them back before
        the update. The batch loss it returns is the look-ahead point's.
        """

        needs_closure = True
        accepts_clipping = True  # the trainer's closure may clip the look-ahead gradient

        @torch.no_grad()
        def step(self, closure=None):
            if closure is None:
                raise InvalidInput("nesterov (form notes) needs a closure that recomputes the loss")
            moved = []
            for group in self.param_groups:
                for p in group["params"]:
                    v = self.state[p].get("velocity")
                    if v is not None:
                        p.sub_(v, alpha=group["momentum"])  # jump to the look-ahead point θ − γv
                        moved.append((p, v, group["momentum"]))
            with torch.enable_grad():
                loss = closure()
            for p, v, g_ in moved:
                p.add_(v, alpha=g_)  # back to θ
            self._update()
            return loss

    _MOMENTUM_CLASSES.update(VelocityMomentum=VelocityMomentum, EMAMomentum=EMAMomentum, NotesNesterov=NotesNesterov)
    for cls in _MOMENTUM_CLASSES.values():
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return _MOMENTUM_CLASSES


def __getattr__(name):  # module attributes ``EMAMomentum`` etc. without importing torch up front
    if name in ("VelocityMomentum", "EMAMomentum", "NotesNesterov"):
        return _momentum_classes()[name]
    raise AttributeError(name)


@OPTIMIZERS.register("sgd", group="first order", schema=schema(_lr(0.01)))
def _sgd(params, lr):
    """Plain gradient descent w −= η·g.

    Full-batch, mini-batch and single-sample (stochastic) descent are all this rule:
    which one you get is the batch size chosen in the training settings.
    """
    import torch

    return torch.optim.SGD(_plist(params), lr=lr)


@OPTIMIZERS.register("momentum", group="first order", schema=schema(
    _lr(0.01), _MOMENTUM,
    Param("form", "choice", "classic", choices=("classic", "ema", "velocity"),
          doc="classic (torch): b = αb + g; w −= η_k·b, i.e. v = αv − ηg; w += v while η is constant.  "
              "ema (seed 001): ν = αν + (1−α)g; w −= ην.  velocity (seed 002): v = γv + η_k·g; w −= v, "
              "the lr inside the velocity, which differs from classic when a schedule changes η."),
))
def _momentum(params, lr, momentum, form):
    """Gradient descent with momentum: a velocity that keeps past directions and damps oscillations.

    classic is torch SGD(momentum, dampening=0) — identical to v = αv − ηg while η is constant;
    under a schedule torch scales the whole velocity by the current η. velocity is seed 002's
    v = γv + η_k∇E: a new η weights only the new gradients. ema equals classic with learning
    rate η(1−α), so it needs a ~1/(1−α) larger η for the same speed.
    """
    import torch

    if form == "ema":
        return _momentum_classes()["EMAMomentum"](_plist(params), lr=lr, momentum=momentum)
    if form == "velocity":
        return _momentum_classes()["VelocityMomentum"](_plist(params), lr=lr, momentum=momentum)
    return torch.optim.SGD(_plist(params), lr=lr, momentum=momentum, dampening=0.0)


@OPTIMIZERS.register("nesterov", group="first order", schema=schema(
    _lr(0.01), _MOMENTUM,
    Param("form", "choice", "torch", choices=("torch", "notes"),
          doc="torch: the weights shown are the look-ahead point (b = γb + g; w −= η(g + γb)).  notes (seeds "
              "001-003): the weights shown are θ, the gradient is taken at θ − γv: v = γv + η∇E(θ − γv); θ −= v."),
))
def _nesterov(params, lr, momentum, form):
    """Nesterov momentum: take the gradient at the look-ahead point, then correct.

    notes is the lecture's form: the network holds θ and each step evaluates the gradient at
    θ − γv (one forward/backward there, then v = γv + η∇E, θ −= v); the inspector, the
    histograms and exports show θ. torch stores the look-ahead point itself instead, so its
    weights are θ − γv of the notes' run (the same path, shifted by γv), and it needs only the
    gradient at the stored weights. ``main.py trace`` shows one plain SGD step either way.
    """
    import torch

    if form == "notes":
        return _momentum_classes()["NotesNesterov"](_plist(params), lr=lr, momentum=momentum)
    return torch.optim.SGD(_plist(params), lr=lr, momentum=momentum, dampening=0.0, nesterov=True)


@OPTIMIZERS.register("adagrad", group="adaptive", schema=schema(_lr(0.01), _EPS))
def _adagrad(params, lr, eps):
    """AdaGrad: r += g²; w −= η·g / (δ + √r). Per-parameter steps shrink with the gradient history."""
    import torch

    return torch.optim.Adagrad(_plist(params), lr=lr, eps=eps)


@OPTIMIZERS.register("rmsprop", group="adaptive", schema=schema(
    _lr(0.001),
    Param("rho", "float", 0.9, min=0.0, max=0.9999,
          doc="ρ (β in the notes, alpha in torch): decay of the moving average of squared gradients."),
    _EPS,
))
def _rmsprop(params, lr, rho, eps):
    """RMSProp: r = ρr + (1−ρ)g²; w −= η·g / (√r + δ). AdaGrad that forgets old gradients."""
    import torch

    return torch.optim.RMSprop(_plist(params), lr=lr, alpha=rho, eps=eps)


_BETAS = (
    Param("beta1", "float", 0.9, min=0.0, max=0.9999, doc="Decay of the first-moment (momentum) average."),
    Param("beta2", "float", 0.999, min=0.0, max=0.99999, doc="Decay of the second-moment (squared gradient) average."),
)


@OPTIMIZERS.register("adam", group="adaptive", schema=schema(_lr(0.001), *_BETAS, _EPS))
def _adam(params, lr, beta1, beta2, eps):
    """Adam = momentum + RMSProp with bias correction: w −= η·m̂ / (√v̂ + δ). Robust defaults."""
    import torch

    return torch.optim.Adam(_plist(params), lr=lr, betas=(beta1, beta2), eps=eps)


@OPTIMIZERS.register("adamw", group="adaptive", schema=schema(
    _lr(0.001), *_BETAS, _EPS,
    Param("weight_decay", "float", 0.01, min=0.0, doc="Decoupled decay: w −= η·λ·w each step, outside the adaptive scaling."),
))
def _adamw(params, lr, beta1, beta2, eps, weight_decay):
    """Adam with decoupled weight decay (decay is not divided by √v̂, unlike an L2 penalty in the loss)."""
    import torch

    return torch.optim.AdamW(_plist(params), lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)


@OPTIMIZERS.register("lbfgs", group="second order", schema=schema(
    _lr(1.0),
    Param("max_iter", "int", 20, min=1, doc="Inner iterations (loss/gradient evaluations) per step."),
    Param("history_size", "int", 10, min=1, doc="How many past updates approximate the inverse Hessian."),
    Param("line_search", "choice", "strong_wolfe", choices=("strong_wolfe", "none"),
          doc="strong_wolfe picks each step length safely; none uses lr as is and can diverge."),
))
def _lbfgs(params, lr, max_iter, history_size, line_search):
    """L-BFGS: a quasi-Newton method with O(n) memory; best with full-batch training.

    It evaluates the loss several times per step, so the trainer must pass a closure
    (see ``needs_closure``).
    """
    import torch

    return torch.optim.LBFGS(_plist(params), lr=lr, max_iter=max_iter, history_size=history_size,
                             line_search_fn=None if line_search == "none" else line_search)


def get(spec, params):
    """Name or ``{"type", "params"}`` → torch optimizer over ``params``."""
    return OPTIMIZERS.create(spec, params)


def needs_closure(optimizer) -> bool:
    """True when ``optimizer.step`` must be given a closure that recomputes the loss."""
    import torch

    return isinstance(optimizer, torch.optim.LBFGS) or bool(getattr(optimizer, "needs_closure", False))


def set_lr(optimizer, lr: float):
    """Set the learning rate of every parameter group (schedules call this each step)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise InvalidInput(f"learning rate must be a finite number ≥ 0, got {lr!r}")
    for group in optimizer.param_groups:
        group["lr"] = float(lr)


CLIP_REFUSED = ("lbfgs", "newton", "bfgs", "gauss_newton", "levenberg", "levenberg_marquardt")


def clipping_refusal(optimizer_type: str, clip: str) -> str | None:
    """Why ``clip`` cannot be used with this optimizer (a sentence), or None when it can.

    Gradient clipping caps the size of a first-order step. L-BFGS and the second-order methods
    choose the step from the curvature and a line search or damping that compare the loss with
    its gradient; a clipped gradient would no longer be the loss's gradient, so they refuse it
    rather than silently ignoring it.
    """
    name = OPTIMIZERS.entry(optimizer_type).name if optimizer_type in OPTIMIZERS else optimizer_type
    if clip == "none" or name not in CLIP_REFUSED:
        return None
    return _refusal(name)


def _refusal(name) -> str:
    return (f"gradient clipping cannot be used with {name}: it sets each step from the curvature and a line search "
            f"or damping that keeps the loss falling, and a clipped gradient would no longer be the loss's gradient; "
            f"set clip to none or pick a first-order optimizer (sgd, momentum, adam...)")


def check_clipping(optimizer_type: str, clip: str) -> None:
    """Raise InvalidInput with the reason when ``clip`` cannot be used with the optimizer."""
    why = clipping_refusal(optimizer_type, clip)
    if why:
        raise InvalidInput(why)


def clip_in_closure(optimizer, parameters, mode: str, value: float) -> float:
    """Clip inside a closure optimizer's closure; refuses (InvalidInput) the optimizers that cannot take it."""
    if mode == "none":
        return 0.0
    if not getattr(optimizer, "accepts_clipping", False):
        raise InvalidInput(_refusal(getattr(optimizer, "title", None) or type(optimizer).__name__.lower()))
    return clip_gradients(parameters, mode, value)


def clip_gradients(parameters, mode: str = "none", value: float = 1.0) -> float:
    """Clip gradients in place; return the total L2 norm of all gradients *before* clipping.

    norm: rescale all gradients together so their joint norm is ≤ value (keeps the direction).
    value: clamp every component to [−value, value] (can change the direction).
    """
    import torch

    if mode not in ("none", "norm", "value"):
        raise InvalidInput(f"gradient clipping mode must be none, norm or value; got {mode!r}")
    if mode != "none" and (isinstance(value, bool) or not isinstance(value, (int, float))
                           or not math.isfinite(value) or value <= 0):
        raise InvalidInput(f"gradient clipping threshold must be a number > 0, got {value!r}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach(), 2.0) for g in grads]), 2.0)
    if mode == "norm":
        scale = (float(value) / (total + 1e-12)).clamp(max=1.0)
        for g in grads:
            g.detach().mul_(scale.to(g.device))
    elif mode == "value":
        for g in grads:
            g.detach().clamp_(-float(value), float(value))
    return float(total)


def apply_max_norm(weights, max_norm: float):
    """Rescale each unit's incoming weight vector to L2 norm ≤ max_norm, in place.

    Dim 0 indexes the unit: rows of a Dense weight [out][in], output filters of a conv
    weight [out][in][kh][kw]. Tensors with fewer than 2 dims (biases) are left alone.
    Not a loss term: applied after each optimizer step (max-norm regularization).
    """
    import torch

    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not math.isfinite(max_norm) or max_norm <= 0:
        raise InvalidInput(f"max-norm must be a number > 0, got {max_norm!r}")
    with torch.no_grad():
        for w in weights:
            if w.dim() < 2:
                continue
            norms = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), 2.0, dim=1)
            scale = torch.where(norms > max_norm, max_norm / norms.clamp_min(1e-30), torch.ones_like(norms))
            w.mul_(scale.reshape(-1, *([1] * (w.dim() - 1))))


from . import second_order  # noqa: E402,F401  registers newton, bfgs, gauss_newton, levenberg(_marquardt)
