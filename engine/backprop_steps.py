"""Backpropagation step by step on the user's own graph, every number exposed, in float64.

``engine.trace`` gives the numbers of one forward/backward pass; this module turns them into
what a student follows in the notes: for each node its pre-activation z and activation a, then
backwards the loss, ∂L/∂a (split into what each consumer sends back), f′(z), δ = ∂L/∂z, each
weight's gradient as the product of its chain-rule terms, and finally the update the session's
own optimizer makes (its state before and after, the formula with the numbers). ``Inspector``
keeps a stack of (weights, optimizer state) so a view can step again and step back.

The model runs in eval mode (dropout off, BatchNorm on its running statistics) and loss-side
regularizers are left out, so the numbers are the textbook ones; an optimizer's own weight decay
(AdamW) is part of its step and stays in. Gradients come from torch autograd; the written-out
products are recomputed here from the forward values, and ``check()`` confirms the two agree.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .builder import PASSTHROUGH, build_for_dataset
from .data import make_dataset
from .errors import InvalidInput
from .losses import LOSSES
from .optimizers import OPTIMIZERS, needs_closure
from .second_order import bind_batch
from .session import Session

NOT_ELEMENTWISE = frozenset({"softmax", "maxout"})


def fmt(v: float, precision: int | None = 4) -> str:
    """4 decimals like the notes (``precision=4``), or the full float64 (``None``: 17 significant digits)."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if precision is None:
        return repr(v)
    s = f"{v:.{precision}f}"
    return "0." + "0" * precision if s.lstrip("-") == "0." + "0" * precision else s.replace("-", "−")


@dataclass
class NodeStep:
    """One node of one pass. Arrays have the batch as their first axis."""
    id: str
    type: str
    inputs: tuple
    z: np.ndarray | None  # pre-activation, None when the node has no non-linearity of its own
    a: np.ndarray  # output (activation)
    dL_da: np.ndarray | None = None
    fprime: np.ndarray | None = None  # f′(z) elementwise; None when z is absent or f is not elementwise
    delta: np.ndarray | None = None  # ∂L/∂z (or ∂L/∂a when there is no z)
    sent_back: dict = field(default_factory=dict)  # consumer id → its share of dL_da
    activation: str | None = None


@dataclass
class ParamUpdate:
    name: str  # "node.weight"
    old: np.ndarray
    grad: np.ndarray
    new: np.ndarray
    state_before: dict
    state_after: dict


@dataclass
class Pass:
    """Everything of one forward/backward/update at the current weights."""
    samples: tuple
    x: np.ndarray
    target: np.ndarray
    nodes: dict  # id → NodeStep, in forward order
    order: list
    output: np.ndarray
    loss: float
    loss_name: str
    dL_dout: np.ndarray
    params: dict  # "node.param" → value
    grads: dict  # "node.param" → autograd gradient
    updates: dict  # "node.param" → ParamUpdate
    optimizer: dict  # canonical {"type", "params"}
    lr: float
    loss_after: float
    output_after: np.ndarray
    step: int  # how many inspector updates came before this pass


def _np(t):
    return None if t is None else t.detach().cpu().double().numpy().copy()


def _state_np(state: dict) -> dict:
    out = {}
    for k, v in state.items():
        if torch.is_tensor(v):
            out[k] = float(v) if v.dim() == 0 else _np(v)
        elif isinstance(v, (int, float)):
            out[k] = float(v)
    return out


class Inspector:
    """Step through forward, backward and update on a session's network, on chosen samples.

    ``weights`` (``{"layers.node.param": array}``, e.g. ``run.weights()``) and ``optimizer_state``
    (a torch optimizer ``state_dict()``) start it from a run's current moment; without them it
    starts from the session's initial weights and a fresh optimizer.
    """

    def __init__(self, session: Session, *, samples=0, split: str = "train", weights: dict | None = None,
                 optimizer_state: dict | None = None, lr: float | None = None, dataset=None):
        self.session = session.copy().canonicalize()
        s = self.session
        self.data = dataset if dataset is not None else make_dataset(s.dataset, seed=s.seed)
        if split not in ("train", "val", "test"):
            raise InvalidInput(f"split must be train, val or test, got {split!r}")
        self.split = split
        self.model = build_for_dataset(s, self.data, weights)
        self.loss_fn = LOSSES.create(s.loss)
        self.optimizer_spec = dict(s.optimizer)
        self.optimizer = OPTIMIZERS.create(s.optimizer, self.model.trainable_parameters())
        if optimizer_state is not None:
            self.optimizer.load_state_dict(copy.deepcopy(optimizer_state))
        if lr is not None:
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
                raise InvalidInput(f"the learning rate must be a finite number ≥ 0, got {lr!r}")
            for g in self.optimizer.param_groups:
                g["lr"] = float(lr)
        self._names = {id(p): f"{nid}.{pn}" for nid, m in self.model.layers.items() for pn, p in m.named_parameters()}
        self._stack = []  # (model state, optimizer state) before each update taken
        self.set_samples(samples)

    # -- choosing the data ----------------------------------------------------
    def set_samples(self, samples):
        """One index or a list of indices (a mini-batch) of the split; refuses out-of-range ones."""
        n = len(getattr(self.data, f"x_{self.split}"))
        idx = (samples,) if isinstance(samples, (int, np.integer)) else tuple(samples)
        if not idx:
            raise InvalidInput("pick at least one sample")
        for i in idx:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < n:
                raise InvalidInput(f"sample {i!r} is out of range: the {self.split} split has {n} samples (0..{n - 1})")
        self.samples = tuple(int(i) for i in idx)
        self._pass = None

    def _batch(self):
        x = torch.as_tensor(getattr(self.data, f"x_{self.split}")[list(self.samples)], dtype=torch.float64)
        y = torch.as_tensor(getattr(self.data, f"y_{self.split}")[list(self.samples)])
        return x, (y.double() if y.is_floating_point() else y)

    # -- the computation ------------------------------------------------------
    @property
    def depth(self) -> int:
        """Updates taken so far (``back()`` undoes them one by one)."""
        return len(self._stack)

    def current(self) -> Pass:
        if self._pass is None:
            self._pass = self._compute()
        return self._pass

    def _compute(self) -> Pass:
        m, x, y = self.model, *self._batch()
        out, rec = m.forward_record(x)
        kept = set()  # passthrough nodes share tensors: a second retain_grad would count the gradient twice
        for t in [r.get(k) for r in rec.values() for k in ("pre", "post")] + [out]:
            if t is not None and t.requires_grad and id(t) not in kept:
                kept.add(id(t))
                t.retain_grad()
        loss = self.loss_fn(out, y)
        m.zero_grad(set_to_none=True)
        loss.backward(retain_graph=True)
        nodes = {}
        for nid in m.order:
            node, r = self.session.graph.node(nid), rec[nid]
            pre, post = r["pre"], r["post"]
            act = node.params.get("activation") if node.type in ("Dense", "Activation") or node.type.startswith("Conv") else None
            act_name = act if isinstance(act, str) else (act or {}).get("type") if act else None
            ns = NodeStep(nid, node.type, tuple(m.srcs.get(nid, ())), _np(pre), _np(post), activation=act_name)
            if post.grad is not None:
                ns.dL_da = _np(post.grad)
            if pre is not None and pre.grad is not None:
                ns.delta = _np(pre.grad)
                if act_name not in NOT_ELEMENTWISE and pre.shape == post.shape:
                    ns.fprime = _elementwise_derivative(m.layers[nid], pre)
            else:
                ns.delta = ns.dL_da
            nodes[nid] = ns
        dL_dout = _np(out.grad)
        # What each consumer sends back along its own edge: its layer re-run on detached copies of
        # its inputs, so paths that reach it through other nodes are not counted twice.
        for c in m.order:
            g = dL_dout if c == m.output_id else nodes[c].dL_da
            srcs = m.srcs.get(c, ())
            if g is None or not srcs:
                continue
            if m.types[c].name in PASSTHROUGH:
                nodes[srcs[0]].sent_back[c] = g
                continue
            ins = [rec[s_]["post"].detach().clone().requires_grad_(rec[s_]["post"].requires_grad) for s_ in srcs]
            want = [k for k, t in enumerate(ins) if t.requires_grad]
            if not want:
                continue
            with torch.enable_grad():
                local = m.layers[c](*ins)
                shares = torch.autograd.grad(local, [ins[k] for k in want], grad_outputs=torch.as_tensor(g))
            for k, share in zip(want, shares):
                prev = nodes[srcs[k]].sent_back.get(c)
                nodes[srcs[k]].sent_back[c] = _np(share) if prev is None else prev + _np(share)
        params = {self._names[id(p)]: _np(p) for p in m.parameters()}
        grads = {self._names[id(p)]: _np(p.grad) for p in m.parameters() if p.grad is not None}
        return Pass(self.samples, _np(x), y.detach().cpu().numpy().copy(), nodes, list(m.order), _np(out),
                    float(loss.detach()), self.session.loss["type"], dL_dout, params, grads, {},
                    dict(self.optimizer_spec), float(self.optimizer.param_groups[0]["lr"]),
                    float("nan"), np.array([]), self.depth)

    def preview_update(self) -> Pass:
        """The current pass with its update filled in (old, new, optimizer state); weights are left as they were."""
        p = self.current()
        if p.updates:
            return p
        saved = self._save()
        p.updates, p.loss_after, p.output_after = self._do_update()
        self._load(saved)
        return p

    def _do_update(self):
        m, opt = self.model, self.optimizer
        x, y = self._batch()
        before = {id(q): (_np(q), _state_np(opt.state.get(q, {}))) for q in m.trainable_parameters()}

        def closure():
            opt.zero_grad(set_to_none=False)
            out = m(x)
            loss = self.loss_fn(out, y)
            loss.backward()
            return loss

        opt.zero_grad(set_to_none=True)
        if needs_closure(opt):  # L-BFGS, Newton, notes-Nesterov...: the second-order ones read the batch too
            bind_batch(opt, total_fn=lambda: self.loss_fn(m(x), y), output_fn=lambda: m(x), target=y, loss=self.loss_fn)
            opt.step(closure)
        else:
            closure()
            opt.step()
        ups = {}
        for q in m.trainable_parameters():
            old, st = before[id(q)]
            name = self._names[id(q)]
            grad = self.current().grads.get(name)
            ups[name] = ParamUpdate(name, old, grad, _np(q), st, _state_np(opt.state.get(q, {})))
        with torch.no_grad():
            out = m(x)
            loss_after = float(self.loss_fn(out, y))
        return ups, loss_after, _np(out)

    def step(self) -> Pass:
        """Take the update; the next ``current()`` is the pass at the new weights."""
        p = self.preview_update()
        self._stack.append(self._save())
        self._do_update()  # the same deterministic step as the preview, now kept
        self._pass = None
        return p

    def back(self) -> Pass:
        """Undo the last update (weights and optimizer state); refuses when none was taken."""
        if not self._stack:
            raise InvalidInput("nothing to step back to: no update has been taken yet")
        self._load(self._stack.pop())
        self._pass = None
        return self.current()

    def _save(self):
        return ({k: v.clone() for k, v in self.model.state_dict().items()}, copy.deepcopy(self.optimizer.state_dict()))

    def _load(self, saved):
        self.model.load_state_dict(saved[0])
        self.optimizer.load_state_dict(copy.deepcopy(saved[1]))

    # -- the chain-rule products written out ----------------------------------
    def weight_terms(self, name: str, index: tuple) -> list:
        """The chain-rule factors of one parameter's gradient, per sample: [(symbol, value), ...] lists.

        A Dense weight w[j][i] gives δ_j · a_i (a_i the input's activation), a bias δ_j; summed over
        the batch (δ already carries the mean's 1/B). Other layers give the autograd number alone.
        """
        p = self.current()
        nid, pname = name.rsplit(".", 1)
        node = p.nodes[nid]
        if node.type != "Dense" or node.delta is None:
            return [[(f"∂L/∂{pname}", float(np.asarray(p.grads[name])[tuple(index)]))]]
        j = index[0]
        src = p.nodes[node.inputs[0]]
        rows = []
        for b in range(len(p.samples)):
            if pname == "weight":
                rows.append([(f"δ{_sub(j + 1)}", float(node.delta[b, j])), (f"a{_sub(index[1] + 1)}", float(src.a[b, index[1]]))])
            else:
                rows.append([(f"δ{_sub(j + 1)}", float(node.delta[b, j]))])
        return rows

    def gradient_sentence(self, name: str, index: tuple, precision: int | None = 4) -> str:
        """``∂L/∂w₂₁ = δ₂ · a₁ = −0.0452 × 0.3705 = −0.0168`` (1-based indices, as the notes write them)."""
        p = self.current()
        rows = self.weight_terms(name, index)
        nid, pname = name.rsplit(".", 1)
        label = f"∂L/∂{'w' if pname == 'weight' else 'b' if pname == 'bias' else pname}{''.join(_sub(i + 1) for i in index)}"
        value = float(np.asarray(p.grads[name])[tuple(index)])
        if len(rows) == 1 and len(rows[0]) == 1 and rows[0][0][0].startswith("∂"):
            return f"{label} [{nid}] = {fmt(value, precision)}"
        sym = " · ".join(s for s, _ in rows[0])
        nums = " + ".join(" × ".join(fmt(v, precision) for _, v in r) for r in rows)
        head = sym if len(rows) == 1 else f"Σ_batch {sym}"
        return f"{label} [{nid}] = {head} = {nums} = {fmt(value, precision)}"

    def update_sentence(self, name: str, index: tuple, precision: int | None = 4) -> str:
        """The optimizer's rule for one weight with its numbers: old, lr, state, new."""
        u = self.preview_update().updates[name]
        return update_formula(self.optimizer_spec, self.current().lr, u, tuple(index), precision)[0]

    def check(self) -> float:
        """Largest gap between the written-out products (and the consumer shares) and autograd."""
        p, worst = self.current(), 0.0
        for nid, ns in p.nodes.items():
            if ns.sent_back and ns.dL_da is not None:
                worst = max(worst, float(np.max(np.abs(sum(ns.sent_back.values()) - ns.dL_da))))
            if ns.fprime is not None and ns.dL_da is not None:
                worst = max(worst, float(np.max(np.abs(ns.dL_da * ns.fprime - ns.delta))))
        for name, g in p.grads.items():
            nid = name.rsplit(".", 1)[0]
            if p.nodes[nid].type != "Dense":
                continue
            for index in np.ndindex(np.shape(g)):
                rows = self.weight_terms(name, index)
                worst = max(worst, abs(sum(math.prod(v for _, v in r) for r in rows) - float(np.asarray(g)[index])))
        return worst


def _elementwise_derivative(module, pre):
    """f′(z) of the node's own activation at z, by autograd on a detached copy."""
    act = getattr(module, "act", None) or module
    z = pre.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(act(z).sum(), z)
    return _np(g)


_SUBS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(i) -> str:
    return str(i).translate(_SUBS)


def update_formula(spec: dict, lr: float, u: ParamUpdate, index: tuple, precision: int | None = 4):
    """(sentence, new value by the written formula) for one weight under the optimizer's rule.

    The number is recomputed here from old weight, gradient and state, independently of torch, so a
    test (and the view) can confirm the sentence is the step the product took.
    """
    f = lambda v: fmt(v, precision)  # noqa: E731
    kind, prm = spec["type"], spec.get("params", {})
    w, g = float(u.old[index]), float(u.grad[index]) if u.grad is not None else 0.0
    sb = {k: (float(v[index]) if isinstance(v, np.ndarray) else v) for k, v in u.state_before.items()}
    sa = {k: (float(v[index]) if isinstance(v, np.ndarray) else v) for k, v in u.state_after.items()}
    new = float(u.new[index])
    if kind == "sgd":
        calc = w - lr * g
        s = f"w′ = w − η·g = {f(w)} − {f(lr)} × {f(g)} = {f(calc)}"
    elif kind == "momentum" and prm.get("form", "classic") == "classic":
        b0 = sb.get("momentum_buffer")
        a = prm["momentum"]
        b = g if b0 is None else a * b0 + g
        calc = w - lr * b
        s = (f"b = α·b + g = {f(a)} × {f(b0 or 0.0)} + {f(g)} = {f(b)}" if b0 is not None else f"b = g = {f(g)} (first step)") + \
            f";  w′ = w − η·b = {f(w)} − {f(lr)} × {f(b)} = {f(calc)}"
    elif kind == "momentum" and prm.get("form") == "ema":
        v0, a = sb.get("velocity", 0.0), prm["momentum"]
        v = a * v0 + (1 - a) * g
        calc = w - lr * v
        s = f"ν = α·ν + (1−α)·g = {f(a)} × {f(v0)} + {f(1 - a)} × {f(g)} = {f(v)};  w′ = w − η·ν = {f(calc)}"
    elif kind == "momentum":
        v0, a = sb.get("velocity", 0.0), prm["momentum"]
        v = a * v0 + lr * g
        calc = w - v
        s = f"v = γ·v + η·g = {f(a)} × {f(v0)} + {f(lr)} × {f(g)} = {f(v)};  w′ = w − v = {f(calc)}"
    elif kind == "nesterov" and prm.get("form", "torch") == "torch":
        b0, a = sb.get("momentum_buffer"), prm["momentum"]
        b = g if b0 is None else a * b0 + g
        calc = w - lr * (g + a * b)
        s = f"b = γ·b + g = {f(b)};  w′ = w − η·(g + γ·b) = {f(w)} − {f(lr)} × ({f(g)} + {f(a)} × {f(b)}) = {f(calc)}"
    elif kind == "adagrad":
        r0, eps = sb.get("sum", 0.0), prm["eps"]
        r = r0 + g * g
        calc = w - lr * g / (math.sqrt(r) + eps)
        s = f"r = r + g² = {f(r0)} + {f(g)}² = {f(r)};  w′ = w − η·g/(√r + δ) = {f(w)} − {f(lr)} × {f(g)} / {f(math.sqrt(r))} = {f(calc)}"
    elif kind == "rmsprop":
        r0, rho, eps = sb.get("square_avg", 0.0), prm["rho"], prm["eps"]
        r = rho * r0 + (1 - rho) * g * g
        calc = w - lr * g / (math.sqrt(r) + eps)
        s = f"r = ρ·r + (1−ρ)·g² = {f(rho)} × {f(r0)} + {f(1 - rho)} × {f(g)}² = {f(r)};  w′ = w − η·g/(√r + δ) = {f(calc)}"
    elif kind in ("adam", "adamw"):
        b1, b2, eps = prm["beta1"], prm["beta2"], prm["eps"]
        m0, v0, t = sb.get("exp_avg", 0.0), sb.get("exp_avg_sq", 0.0), int(sb.get("step", 0.0)) + 1
        wd = w * (1 - lr * prm["weight_decay"]) if kind == "adamw" else w
        m = b1 * m0 + (1 - b1) * g
        v = b2 * v0 + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        calc = wd - lr * mh / (math.sqrt(vh) + eps)
        s = (f"t = {t};  m = β₁·m + (1−β₁)·g = {f(m)};  v = β₂·v + (1−β₂)·g² = {f(v)};  "
             f"m̂ = m/(1−β₁ᵗ) = {f(mh)};  v̂ = v/(1−β₂ᵗ) = {f(vh)};  "
             + (f"decay: w·(1−ηλ) = {f(wd)};  " if kind == "adamw" else "")
             + f"w′ = w − η·m̂/(√v̂ + δ) = {f(calc)}")
    else:
        calc = new
        s = f"{kind}: w = {f(w)}, g = {f(g)} → w′ = {f(new)} (the step uses the curvature or a look-ahead gradient)"
    state = ", ".join(f"{k}: {f(v)}" for k, v in sa.items() if k != "step")
    return s + (f"   [state after: {state}]" if state else ""), calc
