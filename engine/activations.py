"""Activation functions by name, as torch modules, plus a numpy reference.

Each doc string states what the lecture notes say about the function, since
the GUI shows it as the help text. Torch is imported only inside factories, so
layer shape inference can consult this registry without loading torch.
"""
from __future__ import annotations

import functools
import math

from .errors import InvalidInput
from .params import Param, schema
from .registry import Registry

ACTIVATIONS = Registry("activation")

# Exact constants of torch.nn.SELU (Klambauer et al. 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@functools.cache
def _custom_modules():
    """Step and Maxout as torch modules; built on first use to keep torch lazy."""
    import torch

    class _StepFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z, ste):
            ctx.ste = ste
            ctx.save_for_backward(z)
            return (z > 0).to(z.dtype)

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            if ctx.ste:
                return g * (z.abs() <= 1).to(g.dtype), None
            return torch.zeros_like(g), None

    class Step(torch.nn.Module):
        """``high`` where z > 0, else ``low``: Heaviside (0/1) or sign (−1/+1)."""

        def __init__(self, grad="zero", low=0.0):
            super().__init__()
            self.grad, self.low = grad, float(low)

        def forward(self, z):
            if torch.is_grad_enabled() and z.requires_grad:
                out = _StepFn.apply(z, self.grad == "ste")
            else:
                out = (z > 0).to(z.dtype)  # plain op: traceable for export
            return out if self.low == 0.0 else out * (1.0 - self.low) + self.low

        def extra_repr(self):
            return f"grad={self.grad!r}" + (f", low={self.low!r}" if self.low else "")

    class Maxout(torch.nn.Module):
        def __init__(self, pieces=2):
            super().__init__()
            self.pieces = pieces

        def forward(self, z):
            s = z.shape
            return z.reshape(s[0], s[1] // self.pieces, self.pieces, *s[2:]).max(2).values

        def extra_repr(self):
            return f"pieces={self.pieces}"

    for cls in (Step, Maxout):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
        globals()[cls.__name__] = cls  # so repr/pickle find them by name
    return Step, Maxout


def _nn():
    import torch

    return torch.nn


@ACTIVATIONS.register("identity", aliases=("linear",), group="Linear")
def identity():
    """Identity: no non-linearity, so stacked layers collapse into one linear map; use it on regression outputs."""
    return _nn().Identity()


@ACTIVATIONS.register(
    "step",
    schema=schema(Param("grad", "choice", "zero", choices=("zero", "ste"), doc="gradient used by backpropagation")),
    group="Threshold",
)
def step(grad="zero"):
    """Step (Heaviside, the perceptron's threshold unit): 0 for z ≤ 0, else 1; its true gradient is zero almost everywhere.

    grad="zero" backpropagates that true zero gradient, so gradient descent cannot learn through it;
    grad="ste" is the straight-through estimator: the incoming gradient passes unchanged where |z| ≤ 1 (zero outside).
    """
    return _custom_modules()[0](grad)


@ACTIVATIONS.register(
    "sign",
    schema=schema(Param("grad", "choice", "zero", choices=("zero", "ste"), doc="gradient used by backpropagation")),
    group="Threshold",
)
def sign(grad="zero"):
    """Sign, the perceptron's other threshold (lecture 004): −1 for z ≤ 0, else +1 (2·step − 1); zero gradient.

    Like step, grad="zero" backpropagates the true zero gradient and grad="ste" lets the incoming
    gradient through where |z| ≤ 1, here times 2, the slope of 2·step − 1's straight-through estimate.
    """
    return _custom_modules()[0](grad, low=-1.0)


@ACTIVATIONS.register("sigmoid", aliases=("logistic",), group="Squashing")
def sigmoid():
    """Sigmoid (logistic): squashes to (0, 1) for binary probabilities; saturates for large |z| and kills the gradient flow."""
    return _nn().Sigmoid()


@ACTIVATIONS.register("tanh", group="Squashing")
def tanh():
    """Tanh: zero-centred squashing to (−1, 1); still saturates for large |z| (vanishing gradients)."""
    return _nn().Tanh()


@ACTIVATIONS.register("relu", group="Rectifier")
def relu():
    """ReLU: cheap, no saturation for z > 0 and large consistent gradients; units can die (stuck at output 0)."""
    return _nn().ReLU()


@ACTIVATIONS.register("leaky_relu", schema=schema(Param("slope", "float", 0.1, min=0.0,
                      doc="slope for z < 0; the notes' h = max(0.1·s, s) is the default 0.1 (torch's default is 0.01)")),
                      group="Rectifier")
def leaky_relu(slope=0.1):
    """Leaky ReLU as in the notes: h = max(0.1·s, s); the small negative slope keeps units from dying."""
    return _nn().LeakyReLU(negative_slope=slope)


@ACTIVATIONS.register("prelu", schema=schema(Param("init", "float", 0.25, doc="initial negative slope")), group="Rectifier")
def prelu(init=0.25):
    """PReLU: a leaky ReLU whose negative slope is learned (one parameter per layer); does not die."""
    return _nn().PReLU(num_parameters=1, init=init)


@ACTIVATIONS.register("elu", schema=schema(Param("alpha", "float", 1.0, min=0.0)), group="Rectifier")
def elu(alpha=1.0):
    """ELU: smooth negative part α(eᶻ − 1) pulls mean activations toward zero; does not die."""
    return _nn().ELU(alpha=alpha)


@ACTIVATIONS.register("selu", group="Rectifier")
def selu():
    """SELU: a scaled ELU that keeps activations near zero mean and unit variance (pair it with LeCun-normal init)."""
    return _nn().SELU()


@ACTIVATIONS.register("gelu", group="Smooth")
def gelu():
    """GELU: z·Φ(z), a smooth, slightly non-monotonic ReLU used in Transformers."""
    return _nn().GELU()


@ACTIVATIONS.register("softplus", schema=schema(Param("beta", "float", 1.0, min=1e-6)), group="Smooth")
def softplus(beta=1.0):
    """Softplus: log(1 + e^{βz})/β, a smooth ReLU whose derivative is the sigmoid, so the gradient never hits exactly zero."""
    return _nn().Softplus(beta=beta)


@ACTIVATIONS.register("swish", aliases=("silu",), group="Smooth")
def swish():
    """Swish (SiLU): z·σ(z), smooth and non-monotonic; often trains a little better than ReLU in deep nets."""
    return _nn().SiLU()


@ACTIVATIONS.register("maxout", schema=schema(Param("pieces", "int", 2, min=2, doc="linear pieces per unit")), group="Rectifier")
def maxout(pieces=2):
    """Maxout: the max over k linear pieces; generalizes ReLU, never dies or saturates, but needs k times the weights."""
    return _custom_modules()[1](pieces)


@ACTIVATIONS.register("softmax", group="Output")
def softmax():
    """Softmax: turns the scores of one sample into class probabilities summing to 1; the multiclass output layer."""
    return _nn().Softmax(dim=1)


def activation_shape(spec, shape) -> tuple:
    """Output shape (no batch dim) of the activation on ``shape``; only maxout changes it."""
    entry, params = ACTIVATIONS.resolve(spec)
    shape = tuple(shape)
    if entry.name != "maxout":
        return shape
    k = params["pieces"]
    if not shape or shape[0] % k:
        dims = f"{shape[0]} features" if shape else "a scalar"
        raise InvalidInput(f"maxout with {k} pieces needs the features to divide by {k}; input {_shape_str(shape)} has {dims}")
    return (shape[0] // k, *shape[1:])


def activation_param_count(spec, shape=()) -> int:
    """Learnable scalars the activation itself adds (PReLU: its one slope)."""
    entry, _ = ACTIVATIONS.resolve(spec)
    return 1 if entry.name == "prelu" else 0


def _shape_str(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


# -- numpy reference (tests, and the step-by-step trace) --------------------

def _sig(z):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-z))


def _np_table():
    import numpy as np

    erf = np.vectorize(math.erf)
    phi = lambda z: np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1.0 + erf(z / math.sqrt(2.0)))  # noqa: E731
    neg = lambda z, a: np.where(z > 0, z, a * z)  # noqa: E731
    dneg = lambda z, a: np.where(z > 0, 1.0, a)  # noqa: E731
    return {
        "identity": lambda z: (z, np.ones_like(z)),
        "step": lambda z, grad: ((z > 0).astype(float), np.zeros_like(z) if grad == "zero" else (abs(z) <= 1).astype(float)),
        "sign": lambda z, grad: (np.where(z > 0, 1.0, -1.0),
                                 np.zeros_like(z) if grad == "zero" else 2.0 * (abs(z) <= 1).astype(float)),
        "sigmoid": lambda z: (_sig(z), _sig(z) * (1 - _sig(z))),
        "tanh": lambda z: (np.tanh(z), 1 - np.tanh(z) ** 2),
        "relu": lambda z: (np.maximum(z, 0), (z > 0).astype(float)),
        "leaky_relu": lambda z, slope: (neg(z, slope), dneg(z, slope)),
        "prelu": lambda z, init: (neg(z, init), dneg(z, init)),
        "elu": lambda z, alpha: (np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))), np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))),
        "selu": lambda z: (
            SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0))),
            SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0))),
        ),
        "gelu": lambda z: (z * cdf(z), cdf(z) + z * phi(z)),
        "softplus": lambda z, beta: (np.logaddexp(0.0, beta * z) / beta, _sig(beta * z)),
        "swish": lambda z: (z * _sig(z), _sig(z) * (1 + z * (1 - _sig(z)))),
    }


def numpy_activation(spec, z):
    """(value, derivative) of an elementwise activation at ``z``, in float64 numpy.

    ReLU-like kinks use the same one-sided derivative as torch (z = 0 counts as negative).
    """
    import numpy as np

    entry, params = ACTIVATIONS.resolve(spec)
    fn = _np_table().get(entry.name)
    if fn is None:
        raise InvalidInput(f"activation {entry.name!r} is not elementwise; no scalar reference")
    value, deriv = fn(np.asarray(z, dtype=float), **params)
    return np.asarray(value, dtype=float), np.asarray(deriv, dtype=float)


def canonical_name(spec) -> str:
    """The registered name behind a name, alias or spec (``"silu"`` -> ``"swish"``)."""
    name = spec.get("type") if isinstance(spec, dict) else spec
    return ACTIVATIONS.entry(name).name
