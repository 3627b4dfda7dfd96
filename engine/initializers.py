"""Weight initializers by name: ``factory(tensor, *, generator, fan_in, fan_out, **params)``.

Every random draw comes from the caller's CPU ``torch.Generator`` in float64 and
is then copied into the tensor, so a seed gives the same weights on any device
and dtype. Torch layout applies: a Dense weight is ``[out][in]``, i.e.
``weight[j][i]`` connects input ``i`` to unit ``j``.
"""
from __future__ import annotations

import math

from .errors import InvalidInput
from .params import Param, Schema, schema
from .registry import Registry

INITIALIZERS = Registry("initializer")

RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu")


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) as torch and Keras count them: a conv kernel's receptive field multiplies both."""
    shape = tuple(int(s) for s in shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values):
    """Copy a CPU float64 tensor into ``tensor`` (any device/dtype) without recording grad."""
    import torch

    with torch.no_grad():
        tensor.copy_(values.reshape(tensor.shape))
    return tensor


def _uniform(shape, generator, low, high):
    import torch

    return torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low


def _normal(shape, generator, mean, std):
    import torch

    return torch.randn(shape, generator=generator, dtype=torch.float64) * std + mean


def _const(tensor, value):
    import torch

    return _fill(tensor, torch.full(tuple(tensor.shape), float(value), dtype=torch.float64))


@INITIALIZERS.register("zeros", group="Constant")
def zeros(tensor, *, generator=None, fan_in=1, fan_out=1):
    """All zeros: the usual bias start; for weights it never breaks the symmetry between units."""
    return _const(tensor, 0.0)


@INITIALIZERS.register("ones", group="Constant")
def ones(tensor, *, generator=None, fan_in=1, fan_out=1):
    """All ones: every unit starts identical, so they stay identical (no symmetry breaking)."""
    return _const(tensor, 1.0)


@INITIALIZERS.register("constant", schema=schema(Param("value", "float", 0.0)), group="Constant")
def constant(tensor, *, value=0.0, generator=None, fan_in=1, fan_out=1):
    """One constant everywhere, e.g. 0.01 on ReLU biases so units start active and are less likely to die."""
    return _const(tensor, value)


@INITIALIZERS.register("uniform", schema=schema(Param("low", "float", -0.05), Param("high", "float", 0.05)), group="Random")
def uniform(tensor, *, low=-0.05, high=0.05, generator=None, fan_in=1, fan_out=1):
    """Uniform on [low, high): too small and tanh outputs vanish, too big and they saturate."""
    if high < low:
        raise InvalidInput(f"uniform initializer needs low ≤ high, got low={low!r}, high={high!r}")
    return _fill(tensor, _uniform(tuple(tensor.shape), generator, low, high))


@INITIALIZERS.register("normal", schema=schema(Param("mean", "float", 0.0), Param("std", "float", 0.05, min=0.0)), group="Random")
def normal(tensor, *, mean=0.0, std=0.05, generator=None, fan_in=1, fan_out=1):
    """Gaussian N(mean, std²) with a fixed std that ignores the layer size (the naive scheme Xavier improves on)."""
    return _fill(tensor, _normal(tuple(tensor.shape), generator, mean, std))


_GAIN = schema(Param("gain", "float", 1.0, min=0.0))


@INITIALIZERS.register("xavier_uniform", schema=_GAIN, aliases=("glorot_uniform",), group="Scaled")
def xavier_uniform(tensor, *, gain=1.0, generator=None, fan_in=1, fan_out=1):
    """Xavier/Glorot uniform: Var(w) = 2/(n_in + n_out) keeps signal and gradient variance steady for sigmoid/tanh."""
    b = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, _uniform(tuple(tensor.shape), generator, -b, b))


@INITIALIZERS.register("xavier_normal", schema=_GAIN, aliases=("glorot_normal",), group="Scaled")
def xavier_normal(tensor, *, gain=1.0, generator=None, fan_in=1, fan_out=1):
    """Xavier/Glorot normal: Gaussian with Var(w) = 2/(n_in + n_out), the compromise between forward and backward."""
    return _fill(tensor, _normal(tuple(tensor.shape), generator, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out))))


@INITIALIZERS.register("he_uniform", aliases=("kaiming_uniform",), group="Scaled")
def he_uniform(tensor, *, generator=None, fan_in=1, fan_out=1):
    """He uniform: Var(w) = 2/n_in, doubling Xavier's to make up for ReLU zeroing half its inputs."""
    b = math.sqrt(6.0 / fan_in)
    return _fill(tensor, _uniform(tuple(tensor.shape), generator, -b, b))


@INITIALIZERS.register("he_normal", aliases=("kaiming_normal",), group="Scaled")
def he_normal(tensor, *, generator=None, fan_in=1, fan_out=1):
    """He normal: Gaussian with Var(w) = 2/n_in, the recommended start for ReLU units."""
    return _fill(tensor, _normal(tuple(tensor.shape), generator, 0.0, math.sqrt(2.0 / fan_in)))


@INITIALIZERS.register("lecun_uniform", group="Scaled")
def lecun_uniform(tensor, *, generator=None, fan_in=1, fan_out=1):
    """LeCun uniform: Var(w) = 1/n_in, so each unit's output variance equals its input variance."""
    b = math.sqrt(3.0 / fan_in)
    return _fill(tensor, _uniform(tuple(tensor.shape), generator, -b, b))


@INITIALIZERS.register("lecun_normal", group="Scaled")
def lecun_normal(tensor, *, generator=None, fan_in=1, fan_out=1):
    """LeCun normal: Gaussian with Var(w) = 1/n_in; the partner of SELU's self-normalization."""
    return _fill(tensor, _normal(tuple(tensor.shape), generator, 0.0, math.sqrt(1.0 / fan_in)))


@INITIALIZERS.register("orthogonal", schema=_GAIN, group="Structured")
def orthogonal(tensor, *, gain=1.0, generator=None, fan_in=1, fan_out=1):
    """Orthogonal: rows (or columns) orthonormal, so the layer preserves vector norms and gradients neither explode nor vanish."""
    import torch

    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise InvalidInput(f"orthogonal initializer needs a matrix or kernel, got a tensor of shape {list(shape)}")
    rows, cols = shape[0], math.prod(shape[1:])
    a = torch.randn((max(rows, cols), min(rows, cols)), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))  # unique Q: uniform (Haar) distribution
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q)


class _SparseSchema(Schema):
    """The notes' k; an older ``sparsity`` (a fraction zeroed per input column) is refused with the new meaning."""

    def validate(self, given, owner=""):
        if isinstance(given, dict) and "sparsity" in given:
            raise InvalidInput(f"{owner}: 'sparsity' (a fraction zeroed per input column) was replaced by k, the "
                               f"number of non-zero incoming weights per unit as in the notes; e.g. k = 15")
        return super().validate(given, owner)


@INITIALIZERS.register(
    "sparse",
    schema=_SparseSchema((
        Param("k", "int", 15, min=1, doc="the notes' k: non-zero incoming weights per unit (capped at the inputs)"),
        Param("std", "float", 1.0, min=0.0, doc="standard deviation of the k non-zero weights"))),
    group="Structured",
)
def sparse(tensor, *, k=15, std=1.0, generator=None, fan_in=1, fan_out=1):
    """Sparse initialisation as in the notes: "initialize k non-zero weights in each unit", N(0, std²), the rest 0.

    A unit is a row of the [out][in] Dense weight, so every unit starts with exactly min(k, inputs)
    connections whatever the layer's width (Martens 2010 uses k = 15 and std 1): the weights' scale
    does not shrink with the fan-in the way Xavier's must.
    """
    import torch

    shape = tuple(tensor.shape)
    if len(shape) != 2:
        raise InvalidInput(f"sparse initializer needs a 2-D weight, got a tensor of shape {list(shape)}")
    rows, cols = shape
    w = torch.zeros(shape, dtype=torch.float64)
    keep = min(int(k), cols)
    for r in range(rows):
        idx = torch.randperm(cols, generator=generator)[:keep]
        w[r, idx] = _normal((keep,), generator, 0.0, std)
    return _fill(tensor, w)


@INITIALIZERS.register("values", schema=schema(Param("values", "any", doc="nested list with the tensor's exact shape")), group="Explicit")
def values(tensor, *, values=None, generator=None, fan_in=1, fan_out=1):
    """Explicit numbers, e.g. the lecture's worked XOR example; a Dense weight is [out][in] (weight[j][i]: input i → unit j)."""
    import numpy as np
    import torch

    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"initializer values must be a nested list of numbers, got {values!r}") from None
    want = tuple(tensor.shape)
    if arr.shape != want:
        raise InvalidInput(
            f"initializer values have shape {list(arr.shape)} but the tensor needs {list(want)}"
            + (" (Dense weight is [units][inputs])" if len(want) == 2 else "")
        )
    if not np.isfinite(arr).all():
        raise InvalidInput(f"initializer values must be finite, got {values!r}")
    return _fill(tensor, torch.from_numpy(arr))


def default_init(layer_type_name: str, activation_name: str | None, target: str) -> dict:
    """The canonical initializer a layer gets when the session names none.

    Biases start at zero, recurrent weights W_h orthogonal; weights follow the lecture: He for the ReLU family,
    LeCun normal for SELU, Xavier otherwise; embeddings N(0, 1) like torch.
    """
    if target == "weight_hh":  # a recurrent W_h: orthogonal keeps hₜ's norm, so it neither explodes nor vanishes over t
        return INITIALIZERS.canonical("orthogonal")
    if target != "weight":
        return INITIALIZERS.canonical("zeros")
    if layer_type_name == "Embedding":
        return INITIALIZERS.canonical({"type": "normal", "params": {"std": 1.0}})
    act = activation_name
    if act:
        from .activations import canonical_name

        act = canonical_name(act)
    if act in RELU_FAMILY:
        return INITIALIZERS.canonical("he_uniform")
    if act == "selu":
        return INITIALIZERS.canonical("lecun_normal")
    return INITIALIZERS.canonical("xavier_uniform")


def initialize(tensor, spec, *, generator, fan_in=None, fan_out=None):
    """Apply ``spec`` (name or {"type", "params"}) to ``tensor`` in place; fans default to the tensor's own."""
    fi, fo = fans(tuple(tensor.shape))
    return INITIALIZERS.create(spec, tensor, generator=generator, fan_in=fan_in or fi, fan_out=fan_out or fo)
