"""Second-order optimizers from the notes: Newton, BFGS, Gauss-Newton, Levenberg, Levenberg-Marquardt.

They use curvature -- the Hessian H, an approximation of its inverse, or the
Gauss-Newton matrix JᵀJ -- so one step can replace many gradient steps, at the
price of an n×n matrix (n = trainable parameters). That is why they refuse
networks above ``MAX_PARAMS`` and are meant for full-batch training of small nets.

Protocol (as for L-BFGS): ``step(closure)`` where the closure zeroes the
gradients, runs forward and backward and returns the loss; every step calls it
at least once, first. Newton also needs the loss as a twice-differentiable
function, and Gauss-Newton/Levenberg(-Marquardt) need the residual vector r
with loss = Σ r². The trainer hands both over with ``bind_batch`` before each
step. The linear algebra runs on the CPU in float64 (a Cholesky factorization), whatever the
parameters' device, which also keeps it working where float64 is missing (Apple's MPS).
torch is imported lazily so the registry loads without it.
"""
from __future__ import annotations

import functools
import math

from .errors import InvalidInput
from .optimizers import OPTIMIZERS, _lr, _plist
from .params import Param, schema

MAX_PARAMS = 2000  # n×n matrices: 2000² float64 = 32 MB, and a solve of a few hundred ms
MAX_JACOBIAN = 20_000_000  # residuals × parameters held in memory by Gauss-Newton/LM


def squared_error_residuals(loss, output, target):
    """Residuals r with Σ r² equal to the loss value, for the squared-error loss (``mse``) only.

    mse averages Σ_k (f − y)² over the batch, so r = (f − y)/√N (and /√(2N) with ``half``).
    """
    from .losses import MSE, _dense_target

    if not isinstance(loss, MSE):
        raise InvalidInput(f"Gauss-Newton and Levenberg-Marquardt need the squared-error loss 'mse'; "
                           f"got {getattr(loss, 'name', loss)!r}")
    if output.dim() == 1:
        output = output.unsqueeze(1)
    n = output.shape[0]
    scale = 1.0 / math.sqrt(2.0 * n if loss.params.get("half") else float(n))
    return ((output - _dense_target(output, target, loss.name)) * scale).reshape(-1)


def bind_batch(optimizer, *, total_fn, output_fn, target, loss):
    """Give a second-order optimizer this batch's functions; a no-op for every other optimizer.

    ``total_fn()`` returns the scalar training loss (penalties included) with its graph;
    ``output_fn()`` the network's output; ``loss`` the configured Loss object.
    """
    if not getattr(optimizer, "needs_closure", False) or not hasattr(optimizer, "loss_fn"):
        return
    optimizer.loss_fn = total_fn
    optimizer.residual_fn = lambda: squared_error_residuals(loss, output_fn(), target)


# -- linear algebra helpers (float64) ---------------------------------------------
def _solve_spd(m, rhs, jitter=0.0):
    """Solve (m + jitter·I) x = rhs, raising the jitter ×10 until m + jitter·I is positive definite.

    Returns (x, jitter used). For Newton this is the damping that makes the step a descent step.
    """
    import torch

    n = m.shape[0]
    eye = torch.eye(n, dtype=m.dtype, device=m.device)
    scale = float(m.diagonal().abs().max()) if n else 1.0
    floor = 1e-10 * max(scale, 1e-12)
    for _ in range(80):
        factor, info = torch.linalg.cholesky_ex(m + jitter * eye)
        if int(info) == 0:
            return torch.cholesky_solve(rhs.reshape(-1, 1), factor).reshape(-1), jitter
        jitter = max(10.0 * jitter, floor)
    raise InvalidInput("the curvature matrix could not be made positive definite (it contains NaN or inf)")


def _batched_grads(out, params, n_rows):
    """Rows d out[i] / d params, one per element of ``out``: a vmap'ed backward, a plain loop as fallback."""
    import torch

    if not out.requires_grad:  # out does not depend on the parameters (e.g. the gradient of a linear loss)
        return torch.zeros(n_rows, sum(p.numel() for p in params), dtype=torch.float64)

    def cat(gs, lead):
        return torch.cat([(g if g is not None else torch.zeros(*lead, *p.shape, dtype=out.dtype, device=out.device))
                          .reshape(*lead, -1) for g, p in zip(gs, params)], dim=-1)

    try:
        eye = torch.eye(n_rows, dtype=out.dtype, device=out.device)
        gs = torch.autograd.grad(out, params, grad_outputs=eye, retain_graph=True, allow_unused=True,
                                 is_grads_batched=True)
        return cat(gs, (n_rows,)).cpu().double()
    except RuntimeError:  # an op without a batching rule
        return torch.stack([cat(torch.autograd.grad(out[i], params, retain_graph=True, allow_unused=True), ())
                            for i in range(n_rows)]).cpu().double()


def hessian(f, params):
    """(H, g): the exact Hessian and gradient of the scalar ``f`` w.r.t. ``params``, flattened, float64."""
    import torch

    gs = torch.autograd.grad(f, params, create_graph=True, allow_unused=True)
    g = torch.cat([(gi if gi is not None else torch.zeros_like(p)).reshape(-1) for gi, p in zip(gs, params)])
    h = _batched_grads(g, params, g.numel())
    return 0.5 * (h + h.T), g.detach().cpu().double()


@functools.cache
def _classes():
    """The optimizer classes, built on first use (keeps torch out of import time)."""
    import torch

    class SecondOrder(torch.optim.Optimizer):
        """Shared plumbing: one flat parameter vector, the size limit, the closure protocol."""

        needs_closure = True
        title = "second-order optimizer"

        def __init__(self, params, defaults):
            super().__init__(params, defaults)
            self._params = [p for g in self.param_groups for p in g["params"]]
            n = sum(p.numel() for p in self._params)
            if n > MAX_PARAMS:
                raise InvalidInput(
                    f"{self.title} stores an n×n matrix, so it is limited to {MAX_PARAMS} trainable parameters; "
                    f"this network has {n}. Use lbfgs or adam, or a smaller network.")
            self.n = n
            self.loss_fn = None
            self.residual_fn = None

        @property
        def lr(self):
            return self.param_groups[0]["lr"]

        def _slot(self):
            return self.state[self._params[0]]

        def _stored(self, t):
            """State tensors live with the parameters, in their dtype, as torch's load_state_dict would put them."""
            p = self._params[0]
            return t.to(p.dtype).to(p.device)

        def _flat(self):
            return torch.cat([p.detach().reshape(-1).cpu() for p in self._params]).double()

        def _flat_grad(self):
            return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).cpu()
                              for p in self._params]).double()

        @torch.no_grad()
        def _assign(self, flat):
            i = 0
            for p in self._params:
                k = p.numel()
                p.copy_(flat[i:i + k].reshape(p.shape).to(p.dtype).to(p.device))
                i += k

        def _need(self, what):
            fn = getattr(self, what)
            if fn is None:
                raise InvalidInput(f"{self.title} needs the batch's {what.replace('_fn', '')} function; the "
                                   f"trainer provides it with engine.second_order.bind_batch before each step")
            return fn

        def _residuals_and_jacobian(self):
            with torch.enable_grad():
                r = self._need("residual_fn")()
                m = r.numel()
                if m * self.n > MAX_JACOBIAN:
                    raise InvalidInput(f"the Jacobian would have {m} × {self.n} entries (limit {MAX_JACOBIAN}); "
                                       f"use a smaller batch")
                jac = _batched_grads(r, self._params, m)
            return r.detach().cpu().double(), jac

    class Newton(SecondOrder):
        """θ ← θ + t·Δ, Δ = −(H + λI)⁻¹∇f with the exact Hessian; λ starts at ``damping`` and grows until H + λI is positive definite.

        A positive definite H + λI makes Δ a descent *direction*, but a full step can still
        overshoot where the quadratic model is poor (the loss rose 0.103 → 1.443 on the first step
        of ``plane``). With ``line_search`` t starts at lr and is halved until the Armijo condition
        f(θ + tΔ) ≤ f(θ) + c1·t·∇f·Δ holds, so every accepted step lowers the loss; when no
        halving works the weights stay put. Without it t = lr always.
        """

        title = "newton"

        def __init__(self, params, lr=1.0, damping=1e-4, line_search=True, c1=1e-4, max_backtracks=30):
            super().__init__(params, dict(lr=lr, damping=damping, line_search=line_search, c1=c1,
                                          max_backtracks=max_backtracks))

        @torch.no_grad()
        def step(self, closure=None):
            if closure is None:
                raise InvalidInput("newton needs a closure that recomputes the loss")
            grp, slot = self.param_groups[0], self._slot()
            loss_fn = self._need("loss_fn")
            with torch.enable_grad():
                loss = closure()
                f = loss_fn()
                h, g = hessian(f, self._params)
            delta, used = _solve_spd(h, -g, grp["damping"])
            slot["damping_used"] = float(used)
            theta = self._flat()
            if not grp["line_search"]:
                self._assign(theta + self.lr * delta)
                return loss
            f0, slope, t = float(f.detach()), float(g @ delta), self.lr
            slot["step_length"] = 0.0
            for _ in range(grp["max_backtracks"]):
                self._assign(theta + t * delta)
                f_new = float(loss_fn().detach())
                if math.isfinite(f_new) and f_new <= f0 + grp["c1"] * t * slope:
                    slot["step_length"] = t
                    return loss
                t *= 0.5
            self._assign(theta)  # no length lowered the loss: stay (the next batch or λ may do better)
            return loss

    class BFGS(SecondOrder):
        """Full-matrix BFGS: keeps an n×n inverse-Hessian estimate, updated from each step s and gradient change y."""

        title = "bfgs"

        def __init__(self, params, lr=1.0, c1=1e-4, max_backtracks=20):
            super().__init__(params, dict(lr=lr, c1=c1, max_backtracks=max_backtracks))

        @torch.no_grad()
        def step(self, closure=None):
            if closure is None:
                raise InvalidInput("bfgs needs a closure that recomputes the loss")
            grp, slot = self.param_groups[0], self._slot()
            with torch.enable_grad():
                loss = closure()
            f0, g, theta = float(loss.detach()), self._flat_grad(), self._flat()
            h = slot["h_inv"].cpu().double() if "h_inv" in slot else torch.eye(self.n, dtype=torch.float64)
            d = -(h @ g)
            slope = float(g @ d)
            if slope >= 0:  # lost positive definiteness: restart from steepest descent
                h = torch.eye(self.n, dtype=torch.float64)
                d, slope = -g, -float(g @ g)
            if slope == 0.0:
                return loss
            t = grp["lr"]
            for _ in range(grp["max_backtracks"]):  # Armijo backtracking line search
                self._assign(theta + t * d)
                with torch.enable_grad():
                    f = float(closure().detach())
                if math.isfinite(f) and f <= f0 + grp["c1"] * t * slope:
                    break
                t *= 0.5
            else:
                self._assign(theta)
                slot["h_inv"] = self._stored(torch.eye(self.n, dtype=torch.float64))
                return loss
            s, y = t * d, self._flat_grad() - g
            sy = float(s @ y)
            if sy > 1e-12:
                if "h_inv" not in slot:  # scale the first estimate (Nocedal & Wright, eq. 6.20)
                    h = (sy / float(y @ y)) * h
                rho = 1.0 / sy
                v = torch.eye(self.n, dtype=torch.float64) - rho * torch.outer(s, y)
                h = v @ h @ v.T + rho * torch.outer(s, s)
            slot["h_inv"] = self._stored(h)
            return loss

    class GaussNewton(SecondOrder):
        """θ ← θ − lr·(JᵀJ)⁻¹Jᵀr: Newton with H ≈ 2JᵀJ for a sum of squared residuals."""

        title = "gauss_newton"

        def __init__(self, params, lr=1.0):
            super().__init__(params, dict(lr=lr))

        @torch.no_grad()
        def step(self, closure=None):
            if closure is None:
                raise InvalidInput("gauss_newton needs a closure that recomputes the loss")
            with torch.enable_grad():
                loss = closure()
            r, jac = self._residuals_and_jacobian()
            delta, _ = _solve_spd(jac.T @ jac, -(jac.T @ r))
            self._assign(self._flat() + self.lr * delta)
            return loss

    class LevenbergMarquardt(SecondOrder):
        """(JᵀJ + λD)Δ = −Jᵀr; a step that lowers Σr² is kept and λ shrinks, otherwise λ grows and it retries.

        D = I is Levenberg's damping, D = diag(JᵀJ) Marquardt's (it scales each direction by its curvature).
        """

        title = "levenberg_marquardt"

        def __init__(self, params, lr=1.0, damping=1e-3, factor=10.0, max_tries=10, scaling="marquardt"):
            if scaling not in ("identity", "marquardt"):
                raise InvalidInput(f"damping scaling must be identity or marquardt, got {scaling!r}")
            self.title = "levenberg" if scaling == "identity" else "levenberg_marquardt"
            super().__init__(params, dict(lr=lr, damping=damping, factor=factor, max_tries=max_tries, scaling=scaling))

        @torch.no_grad()
        def step(self, closure=None):
            if closure is None:
                raise InvalidInput(f"{self.title} needs a closure that recomputes the loss")
            grp, slot = self.param_groups[0], self._slot()
            with torch.enable_grad():
                loss = closure()
            r, jac = self._residuals_and_jacobian()
            a, g = jac.T @ jac, jac.T @ r
            scaling = torch.eye(self.n, dtype=torch.float64) if grp["scaling"] == "identity" else torch.diag(a.diagonal())
            lam = slot.get("lam", grp["damping"])
            cost0, theta = float(r @ r), self._flat()
            accepted = False
            for _ in range(grp["max_tries"]):
                delta, _ = _solve_spd(a + lam * scaling, -g)
                self._assign(theta + grp["lr"] * delta)
                r_new = self._need("residual_fn")().detach().cpu().double()
                if float(r_new @ r_new) < cost0:
                    lam, accepted = max(lam / grp["factor"], 1e-12), True
                    break
                lam = min(lam * grp["factor"], 1e12)
            if not accepted:
                self._assign(theta)
            slot["lam"], slot["accepted"] = float(lam), accepted
            return loss

    classes = {c.__name__: c for c in (SecondOrder, Newton, BFGS, GaussNewton, LevenbergMarquardt)}
    for cls in classes.values():
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return classes


def __getattr__(name):  # ``engine.second_order.Newton`` etc. without importing torch up front
    if name in ("SecondOrder", "Newton", "BFGS", "GaussNewton", "LevenbergMarquardt"):
        return _classes()[name]
    raise AttributeError(name)


_DAMPING_DOC = "λ: added to the diagonal of the curvature matrix; larger λ gives shorter, gradient-like steps."


@OPTIMIZERS.register("newton", group="second order", schema=schema(
    _lr(1.0), Param("damping", "float", 1e-4, min=0.0, doc=_DAMPING_DOC + " Raised automatically where H is not positive definite."),
    Param("line_search", "bool", True, doc="Backtracking: halve the step from lr until the loss falls enough "
          "(Armijo). Off: always the full lr·Δ step, which can raise the loss."),
))
def _newton(params, lr, damping, line_search):
    """Newton's method: θ ← θ − H⁻¹∇f from a second-order Taylor expansion, with the exact Hessian H.

    Solving with H costs O(n³) per step, so only for small nets (≤ 2000 parameters) trained full batch.
    Damped: (H + λI) is used, λ raised until it is positive definite, so the step points downhill;
    the backtracking line search (on by default) then shortens it until the loss really falls.
    Without the line search a full step can overshoot and raise the loss.
    """
    return _classes()["Newton"](_plist(params), lr=lr, damping=damping, line_search=line_search)


@OPTIMIZERS.register("bfgs", group="second order", schema=schema(
    _lr(1.0),
    Param("c1", "float", 1e-4, min=1e-12, max=0.5, doc="Armijo constant: a step must lower the loss by c1·t·(∇f·d)."),
    Param("max_backtracks", "int", 20, min=1, doc="Halvings of the step tried by the line search."),
))
def _bfgs(params, lr, c1, max_backtracks):
    """BFGS (Broyden-Fletcher-Goldfarb-Shanno): a quasi-Newton method that builds an approximation of H⁻¹ from gradients.

    Updates cost O(n²) per step (L-BFGS keeps only a few vectors: O(n)). Each step backtracks from
    lr until the Armijo condition holds. For small nets (≤ 2000 parameters), full batch.
    """
    return _classes()["BFGS"](_plist(params), lr=lr, c1=c1, max_backtracks=max_backtracks)


@OPTIMIZERS.register("gauss_newton", group="second order", schema=schema(_lr(1.0)))
def _gauss_newton(params, lr):
    """Gauss-Newton: for a sum of squared residuals r, H ≈ 2JᵀJ (J = ∂r/∂θ), so θ ← θ − (JᵀJ)⁻¹Jᵀr.

    Needs the squared-error loss (mse); penalty terms are left out of the residuals. On a linear
    model one step lands on the least-squares solution θ = (XᵀX)⁻¹Xᵀy.
    """
    return _classes()["GaussNewton"](_plist(params), lr=lr)


_LM_PARAMS = (
    _lr(1.0),
    Param("damping", "float", 1e-3, min=0.0, doc="Initial λ; adapted every step."),
    Param("factor", "float", 10.0, min=1.0, doc="λ is divided by this after a successful step and multiplied after a failed one."),
    Param("max_tries", "int", 10, min=1, doc="Attempts per step before giving up (the weights then stay put)."),
)


@OPTIMIZERS.register("levenberg", group="second order", schema=schema(*_LM_PARAMS))
def _levenberg(params, lr, damping, factor, max_tries):
    """Levenberg: damped Gauss-Newton (JᵀJ + λI)Δ = −Jᵀr; λ adapts so each step lowers the loss (needs mse)."""
    return _classes()["LevenbergMarquardt"](_plist(params), lr=lr, damping=damping, factor=factor,
                                            max_tries=max_tries, scaling="identity")


@OPTIMIZERS.register("levenberg_marquardt", group="second order", schema=schema(*_LM_PARAMS))
def _levenberg_marquardt(params, lr, damping, factor, max_tries):
    """Levenberg-Marquardt: (JᵀJ + λ·diag(JᵀJ))Δ = −Jᵀr, avoiding slow progress along small-gradient directions (needs mse)."""
    return _classes()["LevenbergMarquardt"](_plist(params), lr=lr, damping=damping, factor=factor,
                                            max_tries=max_tries, scaling="marquardt")
