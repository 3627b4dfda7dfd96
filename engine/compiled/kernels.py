"""numba kernels for one network pass: activations, Dense/merge/dropout layers, losses.

A network is a *program*: a table of ops over one 2-D work buffer whose column
ranges are the nodes' values (see ``program.py``). Every formula mirrors what
torch computes for the same layer, including its one-sided derivatives at kinks
(ReLU at 0 counts as negative, clamps pass the gradient on their boundary),
so the compiled path trains the same network as the torch path, not a lookalike.
Accumulations run in float64 whatever the storage dtype: that is never less
accurate than torch's own float32 kernels.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# -- op kinds and columns of the op table ------------------------------------------
DENSE, ACT, DROPOUT, ADD, CONCAT = 0, 1, 2, 3, 4
KIND, IN_OFF, IN_W, OUT_OFF, OUT_W, Z_OFF, W_OFF, B_OFF, ACT_CODE = range(9)
OP_FIELDS = 9
# float parameters of an op: activation parameter, dropout rate, dropout weight-scaling flag
F_ACT, F_P, F_SCALED = range(3)

# -- activation codes ----------------------------------------------------------------
ACT_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6,
             "gelu": 7, "softplus": 8, "swish": 9, "step_zero": 10, "step_ste": 11, "softmax": 12}
SOFTMAX = 12

# -- loss codes ----------------------------------------------------------------------
LOSS_CODES = {"mse": 0, "mse_half": 1, "mae": 2, "huber": 3, "bce": 4, "bce_logits": 5,
              "cross_entropy_logits": 6, "cross_entropy_probs": 7, "hinge": 8, "multiclass_hinge": 9}

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
INV_SQRT2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327


@njit(cache=True, inline="always")
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def act_value(code, z, a):
    """f(z) for an elementwise activation (``a``: slope, alpha or beta)."""
    if code == 0:
        return z
    if code == 1:
        return _sigmoid(z)
    if code == 2:  # tanh through expm1 in float64: ~1/3 cheaper than libm's tanh, as accurate
        e = math.expm1(-2.0 * abs(z))
        t = -e / (e + 2.0)
        return t if z >= 0.0 else -t
    if code == 3:
        return z if z > 0.0 else 0.0
    if code == 4:
        return z if z > 0.0 else z * a
    if code == 5:
        return z if z > 0.0 else a * math.expm1(z)
    if code == 6:
        return SELU_SCALE * (z if z > 0.0 else SELU_ALPHA * math.expm1(z))
    if code == 7:
        return 0.5 * z * (1.0 + math.erf(z * INV_SQRT2))
    if code == 8:  # torch's Softplus(beta, threshold=20): linear once beta·z > 20
        bz = a * z
        return z if bz > 20.0 else math.log1p(math.exp(bz)) / a
    if code == 9:
        return z * _sigmoid(z)
    if code == 10 or code == 11:
        return 1.0 if z > 0.0 else 0.0
    return z


@njit(cache=True)
def act_slope(code, z, y, a):
    """f'(z), given z and y = f(z), with torch's choices at the kinks."""
    if code == 0:
        return 1.0
    if code == 1:
        return (1.0 - y) * y
    if code == 2:
        return 1.0 - y * y
    if code == 3:
        return 1.0 if z > 0.0 else 0.0
    if code == 4:
        return 1.0 if z > 0.0 else a
    if code == 5:
        return 1.0 if z > 0.0 else a * math.exp(z)
    if code == 6:
        return SELU_SCALE if z > 0.0 else SELU_SCALE * SELU_ALPHA * math.exp(z)
    if code == 7:
        return 0.5 * (1.0 + math.erf(z * INV_SQRT2)) + z * INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == 8:
        bz = a * z
        if bz > 20.0:
            return 1.0
        e = math.exp(bz)
        return e / (e + 1.0)
    if code == 9:
        s = _sigmoid(z)
        return s * (1.0 + z * (1.0 - s))
    if code == 10:
        return 0.0
    if code == 11:
        return 1.0 if abs(z) <= 1.0 else 0.0
    return 1.0


@njit(cache=True)
def _softmax_rows(buf, nb, src, dst, w):
    for i in range(nb):
        m = -np.inf
        for j in range(w):
            if buf[i, src + j] > m:
                m = buf[i, src + j]
        s = 0.0
        for j in range(w):
            s += math.exp(buf[i, src + j] - m)
        for j in range(w):
            buf[i, dst + j] = math.exp(buf[i, src + j] - m) / s


@njit(cache=True)
def _activate(buf, nb, src, dst, w, code, a):
    """f over a column range. tanh, ReLU and sigmoid run in loops of their own (the same arithmetic as
    ``act_value``): a call per unit through its whole if-chain cost ~14 ns, more than a ReLU itself."""
    if code == SOFTMAX:
        _softmax_rows(buf, nb, src, dst, w)
        return
    if code == 2:
        for i in range(nb):
            for j in range(w):
                z = buf[i, src + j]
                e = math.expm1(-2.0 * abs(z))
                t = -e / (e + 2.0)
                buf[i, dst + j] = t if z >= 0.0 else -t
    elif code == 3:
        for i in range(nb):
            for j in range(w):
                z = buf[i, src + j]
                buf[i, dst + j] = z if z > 0.0 else 0.0
    elif code == 1:
        for i in range(nb):
            for j in range(w):
                buf[i, dst + j] = _sigmoid(buf[i, src + j])
    else:
        for i in range(nb):
            for j in range(w):
                buf[i, dst + j] = act_value(code, buf[i, src + j], a)


@njit(cache=True)
def _times_slope(dbuf, buf, nb, zc, yc, gc, oc, w, code, a, add):
    """dbuf[:, oc] (+)= dbuf[:, gc] · f'(z) with z = buf[:, zc], y = f(z) = buf[:, yc] (``add``: accumulate).

    As ``_activate``: tanh, ReLU and sigmoid in loops of their own, the arithmetic of ``act_slope``.
    """
    for i in range(nb):
        for j in range(w):
            y = buf[i, yc + j]
            if code == 2:
                s = 1.0 - y * y
            elif code == 3:
                s = 1.0 if buf[i, zc + j] > 0.0 else 0.0
            elif code == 1:
                s = (1.0 - y) * y
            else:
                s = act_slope(code, buf[i, zc + j], y, a)
            if add:
                dbuf[i, oc + j] += dbuf[i, gc + j] * s
            else:
                dbuf[i, oc + j] = dbuf[i, gc + j] * s


@njit(cache=True)
def _unit_hash(seed, step, op, i, j):
    """A uniform draw in [0, 1) from (seed, step, op, row, unit): stateless, so a resumed run draws the same masks."""
    h = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    for v in (step, op, i, j):
        h ^= np.uint64(v) + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2))
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def forward(theta, ops, fops, merge, buf, mask, nb, train, seed, step):
    """Run every op on the first ``nb`` rows of ``buf`` (column range 0.. holds the inputs)."""
    for o in range(ops.shape[0]):
        kind = ops[o, KIND]
        src, w_in, dst, w = ops[o, IN_OFF], ops[o, IN_W], ops[o, OUT_OFF], ops[o, OUT_W]
        if kind == DENSE:
            z, woff, boff = ops[o, Z_OFF], ops[o, W_OFF], ops[o, B_OFF]
            for i in range(nb):
                for u in range(w):
                    acc = theta[boff + u] if boff >= 0 else 0.0
                    row = woff + u * w_in
                    for k in range(w_in):
                        acc += buf[i, src + k] * theta[row + k]
                    buf[i, z + u] = acc
            if ops[o, ACT_CODE] != 0:
                _activate(buf, nb, z, dst, w, ops[o, ACT_CODE], fops[o, F_ACT])
        elif kind == ACT:
            _activate(buf, nb, src, dst, w, ops[o, ACT_CODE], fops[o, F_ACT])
        elif kind == DROPOUT:
            p = fops[o, F_P]
            scaled = fops[o, F_SCALED] != 0.0
            if p == 0.0:
                for i in range(nb):
                    for j in range(w):
                        buf[i, dst + j] = buf[i, src + j]
                        mask[i, dst + j] = 1.0
            elif train:
                keep = buf.dtype.type(1.0) / buf.dtype.type(1.0 - p)  # torch: x · (mask / (1 − p))
                for i in range(nb):
                    for j in range(w):
                        m = keep if _unit_hash(seed, step, o, i, j) >= p else 0.0
                        if scaled:
                            m = 1.0 if m != 0.0 else 0.0
                        mask[i, dst + j] = m
                        buf[i, dst + j] = buf[i, src + j] * m
            else:
                f = (1.0 - p) if scaled else 1.0
                for i in range(nb):
                    for j in range(w):
                        buf[i, dst + j] = buf[i, src + j] * f
        elif kind == ADD:
            first, count = src, w_in
            for i in range(nb):
                for j in range(w):
                    s = buf[i, merge[first, 0] + j]
                    for m in range(1, count):
                        s += buf[i, merge[first + m, 0] + j]
                    buf[i, dst + j] = s
        else:  # CONCAT
            first, count = src, w_in
            col = dst
            for m in range(count):
                off, mw = merge[first + m, 0], merge[first + m, 1]
                for i in range(nb):
                    for j in range(mw):
                        buf[i, col + j] = buf[i, off + j]
                col += mw


@njit(cache=True)
def backward(theta, grad, ops, fops, merge, buf, dbuf, mask, nb, in_w):
    """Accumulate dL/dθ into ``grad`` from dL/d(output) already in ``dbuf``; columns < in_w are the data."""
    for o in range(ops.shape[0] - 1, -1, -1):
        kind = ops[o, KIND]
        src, w_in, dst, w = ops[o, IN_OFF], ops[o, IN_W], ops[o, OUT_OFF], ops[o, OUT_W]
        if kind == DENSE:
            z, woff, boff, code = ops[o, Z_OFF], ops[o, W_OFF], ops[o, B_OFF], ops[o, ACT_CODE]
            if code == SOFTMAX:
                _softmax_back(buf, dbuf, nb, z, dst, w)
            elif code != 0:
                _times_slope(dbuf, buf, nb, z, dst, dst, z, w, code, fops[o, F_ACT], False)
            for u in range(w):
                row = woff + u * w_in
                gb = 0.0
                for i in range(nb):
                    gb += dbuf[i, z + u]
                if boff >= 0:
                    grad[boff + u] += gb
                for k in range(w_in):
                    acc = 0.0
                    for i in range(nb):
                        acc += dbuf[i, z + u] * buf[i, src + k]
                    grad[row + k] += acc
            if src >= in_w:  # the data needs no gradient
                for i in range(nb):
                    for k in range(w_in):
                        acc = 0.0
                        for u in range(w):
                            acc += dbuf[i, z + u] * theta[woff + u * w_in + k]
                        dbuf[i, src + k] += acc
        elif kind == ACT:
            code = ops[o, ACT_CODE]
            if src < in_w:
                continue
            if code == SOFTMAX:
                for i in range(nb):
                    dot = 0.0
                    for j in range(w):
                        dot += dbuf[i, dst + j] * buf[i, dst + j]
                    for j in range(w):
                        dbuf[i, src + j] += buf[i, dst + j] * (dbuf[i, dst + j] - dot)
            else:
                _times_slope(dbuf, buf, nb, src, dst, dst, src, w, code, fops[o, F_ACT], True)
        elif kind == DROPOUT:
            if src < in_w:
                continue
            for i in range(nb):
                for j in range(w):
                    dbuf[i, src + j] += dbuf[i, dst + j] * mask[i, dst + j]
        elif kind == ADD:
            for m in range(w_in):
                off = merge[src + m, 0]
                if off < in_w:
                    continue
                for i in range(nb):
                    for j in range(w):
                        dbuf[i, off + j] += dbuf[i, dst + j]
        else:  # CONCAT
            col = dst
            for m in range(w_in):
                off, mw = merge[src + m, 0], merge[src + m, 1]
                if off >= in_w:
                    for i in range(nb):
                        for j in range(mw):
                            dbuf[i, off + j] += dbuf[i, col + j]
                col += mw


@njit(cache=True)
def _softmax_back(buf, dbuf, nb, z, dst, w):
    for i in range(nb):
        dot = 0.0
        for j in range(w):
            dot += dbuf[i, dst + j] * buf[i, dst + j]
        for j in range(w):
            dbuf[i, z + j] = buf[i, dst + j] * (dbuf[i, dst + j] - dot)


@njit(cache=True)
def loss_and_seed(code, lp, buf, dbuf, out_off, k, nb, t, cls, seed_grad):
    """Batch-mean loss (summed over output units) of rows 0..nb of ``buf``; writes dL/d(output) into ``dbuf``.

    ``t`` holds dense float targets (nb, k), ``cls`` class indices (nb,). ``lp`` is the loss parameter
    (Huber δ, a clamp ε or the hinge margin).
    """
    total = 0.0
    inv = 1.0 / nb
    for i in range(nb):
        if code == 6 or code == 7:  # cross-entropy on class indices
            y = cls[i]
            if code == 6:
                m = -np.inf
                for j in range(k):
                    if buf[i, out_off + j] > m:
                        m = buf[i, out_off + j]
                s = 0.0
                for j in range(k):
                    s += math.exp(buf[i, out_off + j] - m)
                total += -(buf[i, out_off + y] - m - math.log(s))
                if seed_grad:
                    for j in range(k):
                        p = math.exp(buf[i, out_off + j] - m) / s
                        dbuf[i, out_off + j] += (p - (1.0 if j == y else 0.0)) * inv
            else:
                o = buf[i, out_off + y]
                p = min(max(o, lp), 1.0)
                total += -math.log(p)
                if seed_grad and o >= lp and o <= 1.0:
                    dbuf[i, out_off + y] += -inv / p
            continue
        if code == 9:  # Weston–Watkins multi-class hinge
            y = cls[i]
            fy = buf[i, out_off + y]
            for j in range(k):
                if j == y:
                    continue
                mj = buf[i, out_off + j] - fy + lp
                if mj > 0.0:
                    total += mj
                if mj >= 0.0 and seed_grad:
                    dbuf[i, out_off + j] += inv
                    dbuf[i, out_off + y] -= inv
            continue
        for j in range(k):
            o, tt = buf[i, out_off + j], t[i, j]
            e = o - tt
            g = 0.0
            if code == 0:
                total += e * e
                g = 2.0 * e
            elif code == 1:
                total += 0.5 * e * e
                g = e
            elif code == 2:
                total += abs(e)
                g = 1.0 if e > 0.0 else (-1.0 if e < 0.0 else 0.0)
            elif code == 3:
                ae = abs(e)
                total += 0.5 * e * e if ae < lp else lp * (ae - 0.5 * lp)
                g = -lp if e < -lp else (lp if e > lp else e)
            elif code == 4:
                p = min(max(o, lp), 1.0 - lp)
                total += -(tt * math.log(p) + (1.0 - tt) * math.log1p(-p))
                if o >= lp and o <= 1.0 - lp:
                    g = -tt / p + (1.0 - tt) / (1.0 - p)
            elif code == 5:
                # (1 − t)·x − log σ(x), with log σ(x) = min(x, 0) − log1p(e^−|x|)
                total += (1.0 - tt) * o - (min(o, 0.0) - math.log1p(math.exp(-abs(o))))
                g = _sigmoid(o) - tt
            elif code == 8:
                s = 2.0 * tt - 1.0
                h = 1.0 - s * o
                if h > 0.0:
                    total += h
                if h >= 0.0:
                    g = -s
            if seed_grad:
                dbuf[i, out_off + j] += g * inv
    return total * inv
