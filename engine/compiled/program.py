"""Lower a built ``GraphModule`` (plus loss, optimizer and regularizers) into the flat tables the kernels read.

The torch model stays the owner of the numbers: its parameters are re-pointed at
slices of one flat numpy vector ``theta`` (zero-copy views), so the initial weights
are exactly the torch path's, and ``state_dict``/``load_state_dict``/early
stopping all read and write the compiled path's live weights with no syncing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InvalidInput
from ..layers.activation import act_spec
from .kernels import (ACT, ACT_CODE, ACT_CODES, ADD, B_OFF, CONCAT, DENSE, DROPOUT, F_ACT, F_P, F_SCALED, IN_OFF,
                      IN_W, KIND, LOSS_CODES, OP_FIELDS, OUT_OFF, OUT_W, W_OFF, Z_OFF)
from .update import CLIP_NONE, CLIP_NORM, CLIP_VALUE, H_A, H_B2, H_EPS, H_WD, OPT_CODES, POST_DECAY, POST_MAXNORM

ACT_PARAM = {"leaky_relu": "slope", "elu": "alpha", "softplus": "beta"}


def activation_code(spec) -> tuple[int, float]:
    """(kernel code, its one parameter) for a canonical activation spec; KeyError when not compiled."""
    name, params = spec["type"], spec.get("params", {})
    if name == "step":
        name = "step_ste" if params.get("grad") == "ste" else "step_zero"
    return ACT_CODES[name], float(params.get(ACT_PARAM.get(spec["type"], ""), 0.0))


def loss_code(spec) -> tuple[int, float]:
    """(kernel code, its parameter) for a canonical loss spec."""
    name, p = spec["type"], spec.get("params", {})
    if name == "mse":
        return LOSS_CODES["mse_half" if p.get("half") else "mse"], 0.0
    if name == "cross_entropy":
        key = "cross_entropy_logits" if p.get("from_logits", True) else "cross_entropy_probs"
        return LOSS_CODES[key], float(p.get("eps", 0.0))
    lp = {"huber": "delta", "bce": "eps", "multiclass_hinge": "margin"}.get(name)
    return LOSS_CODES[name], float(p[lp]) if lp else 0.0


@dataclass
class Program:
    """Everything the kernels need about the network, in numpy arrays."""

    theta: np.ndarray
    ops: np.ndarray  # (n_ops, OP_FIELDS) int64
    fops: np.ndarray  # (n_ops, 3) float64
    merge: np.ndarray  # (m, 2) int64: (column offset, width) of merge inputs
    width: int  # columns of the work buffer
    in_w: int
    out_off: int
    k: int  # output units
    param_off: np.ndarray  # boundaries of the parameter tensors in theta (for the joint clip norm)
    params: list = field(default_factory=list)  # (node id, name, torch Parameter, offset, shape)
    dense: np.ndarray = None  # (n_dense, 3): weight offset, units, fan-in
    dense_ids: list = field(default_factory=list)


def lower(model, dtype) -> Program:
    """Build the op table and re-point every model parameter at a slice of a fresh ``theta``."""
    params = list(model.named_parameters())
    total = sum(p.numel() for _, p in params)
    theta = np.zeros(total, dtype=dtype)
    offsets, off = {}, 0
    bounds = [0]
    for name, p in params:
        n = p.numel()
        theta[off:off + n] = p.detach().cpu().numpy().reshape(-1)
        offsets[id(p)] = off
        off += n
        bounds.append(off)
    for _, p in params:  # after copying all, so no view aliases a tensor still being read
        o = offsets[id(p)]
        p.data = torch.from_numpy(theta[o:o + p.numel()]).view(p.shape)

    rep = model.report
    in_w = int(rep.shapes[rep.input_id][0])
    col = {rep.input_id: (0, in_w)}
    width = in_w
    ops, fops, merge, dense, dense_ids, plist = [], [], [], [], [], []

    def new_cols(w):
        nonlocal width
        width += w
        return width - w

    for nid in model.order:
        if nid == rep.input_id:
            continue
        node = model.spec.node(nid)
        srcs = model.srcs[nid]
        row, frow = [0] * OP_FIELDS, [0.0, 0.0, 0.0]
        t = node.type
        if t == "Output":
            col[nid] = col[srcs[0]]
            continue
        w_out = int(rep.shapes[nid][0])
        if t in ("Add", "Concatenate"):
            row[KIND] = ADD if t == "Add" else CONCAT
            row[IN_OFF], row[IN_W] = len(merge), len(srcs)
            merge.extend(col[s] for s in srcs)
        else:
            row[IN_OFF], row[IN_W] = col[srcs[0]]
        if t == "Dense":
            m = model.layers[nid]
            code, a = activation_code(act_spec(rep.params[nid]))
            row[KIND], row[ACT_CODE], frow[F_ACT] = DENSE, code, a
            row[Z_OFF] = new_cols(w_out)
            row[OUT_OFF] = row[Z_OFF] if code == 0 else new_cols(w_out)
            row[W_OFF] = offsets[id(m.weight)]
            row[B_OFF] = offsets[id(m.bias)] if m.bias is not None else -1
            dense.append((row[W_OFF], w_out, row[IN_W]))
            dense_ids.append(nid)
        elif t == "Activation":
            code, a = activation_code(act_spec(rep.params[nid]))
            row[KIND], row[ACT_CODE], frow[F_ACT] = ACT, code, a
            row[OUT_OFF] = new_cols(w_out)
        elif t == "Dropout":
            p = rep.params[nid]
            row[KIND], frow[F_P], frow[F_SCALED] = DROPOUT, float(p["p"]), float(p["mode"] == "weight_scaling")
            row[OUT_OFF] = new_cols(w_out)
        elif t in ("Add", "Concatenate"):
            row[OUT_OFF] = new_cols(w_out)
        else:  # supports() refuses these first
            raise InvalidInput(f"{t} layers run on torch, not on the compiled path")
        row[OUT_W] = w_out
        col[nid] = (row[OUT_OFF], w_out)
        ops.append(row)
        fops.append(frow)
    for nid, mod in model.layers.items():
        for pname, p in mod.named_parameters():
            plist.append((nid, pname, p, offsets[id(p)], tuple(p.shape)))
    out_off, k = col[rep.output_id]
    return Program(theta=theta, ops=np.asarray(ops, dtype=np.int64).reshape(-1, OP_FIELDS),
                   fops=np.asarray(fops, dtype=np.float64).reshape(-1, 3),
                   merge=np.asarray(merge, dtype=np.int64).reshape(-1, 2), width=width, in_w=in_w,
                   out_off=int(out_off), k=int(k), param_off=np.asarray(bounds, dtype=np.int64), params=plist,
                   dense=np.asarray(dense, dtype=np.int64).reshape(-1, 3), dense_ids=dense_ids)


def optimizer_table(spec) -> tuple[int, np.ndarray]:
    """(kernel code, hyper-parameters) of a canonical optimizer spec."""
    name, p = spec["type"], spec["params"]
    h = np.zeros(4, dtype=np.float64)
    if name == "momentum" and p.get("form") in ("ema", "velocity"):
        name = p["form"]
    if name == "nesterov" and p.get("form") == "notes":
        name = "nesterov_notes"
    if name in ("momentum", "ema", "velocity", "nesterov", "nesterov_notes"):
        h[H_A] = p["momentum"]
    elif name == "rmsprop":
        h[H_A] = p["rho"]
    elif name in ("adam", "adamw"):
        h[H_A], h[H_B2] = p["beta1"], p["beta2"]
        h[H_WD] = p.get("weight_decay", 0.0) if name == "adamw" else 0.0
    h[H_EPS] = p.get("eps", 0.0)
    return OPT_CODES[name], h


def regularizer_tables(prog: Program, regularizers, training):
    """Penalty coefficients per scalar of theta, and the after-step ops in the trainer's order.

    Returns (l1, l2, has_penalty, post_kind, post_val, post_mask). Only Dense weights are
    penalized (biases are not, as in the notes); ``layers`` narrows a regularizer to nodes.
    """
    n = prog.theta.shape[0]
    l1, l2 = np.zeros(n), np.zeros(n)
    kinds, vals, masks = [], [], []
    nd = len(prog.dense_ids)

    def mask_of(reg):
        wanted = set(reg.layers)
        return [not wanted or nid in wanted for nid in prog.dense_ids]

    for reg in regularizers:
        m = mask_of(reg)
        if reg.name in ("l1", "l2"):
            arr = l1 if reg.name == "l1" else l2
            for d, on in enumerate(m):
                if on:
                    off, units, fan_in = prog.dense[d]
                    arr[off:off + units * fan_in] += reg.params["lambda"]
        elif reg.name == "weight_decay":
            kinds.append(POST_DECAY), vals.append(reg.params["lambda"]), masks.append(m)
        elif reg.name == "max_norm":
            kinds.append(POST_MAXNORM), vals.append(reg.params["max_norm"]), masks.append(m)
        else:  # supports() refuses these first
            raise InvalidInput(f"the {reg.name} regularizer runs on torch, not on the compiled path")
    if training.get("max_norm"):
        kinds.append(POST_MAXNORM), vals.append(float(training["max_norm"])), masks.append([True] * nd)
    return (l1, l2, bool(l1.any() or l2.any()), np.asarray(kinds, dtype=np.int64),
            np.asarray(vals, dtype=np.float64), np.asarray(masks, dtype=np.bool_).reshape(len(kinds), nd))


def clip_table(training) -> tuple[int, float]:
    mode = {"none": CLIP_NONE, "norm": CLIP_NORM, "value": CLIP_VALUE}[training["clip"]]
    value = float(training["clip_value"])
    if mode != CLIP_NONE and not value > 0:
        raise InvalidInput(f"gradient clipping threshold must be a number > 0, got {value!r}")
    return mode, value


def dense_targets(y: np.ndarray, k: int, task: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(float targets shaped (N, k), int class indices (N,)) following engine.losses' conventions."""
    y = np.asarray(y)
    n = len(y)
    cls = np.zeros(n, dtype=np.int64)
    if np.issubdtype(y.dtype, np.integer):
        cls = y.reshape(-1).astype(np.int64)
        if k == 1:
            t = cls.reshape(n, 1).astype(dtype)
        else:
            t = np.zeros((n, k), dtype=dtype)
            if n:
                t[np.arange(n), np.clip(cls, 0, k - 1)] = 1.0
        return t, cls
    t = y.astype(dtype)
    if t.ndim == 1:
        t = t.reshape(n, 1)
    if k == 1 and t.ndim == 2 and t.shape[1] == 2:
        t = t[:, 1:2]
    return np.ascontiguousarray(t), cls
