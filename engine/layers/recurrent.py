"""Recurrent layers: one cell applied at every time step of a sequence (T, features), carrying a hidden state.

SimpleRNN (Elman) computes hₜ = f(W_x xₜ + W_h hₜ₋₁ + b) with h₀ = 0; LSTM adds a cell state cₜ and three gates.
The time loop is written out in Python (``states``, used by the unroll view and by every export) for three
reasons: it reads like the formula, any registered activation can be the non-linearity, and tracing unrolls it
into plain ops that TorchScript and ONNX export without special cases. Training calls torch's fused kernels
(the ones behind torch.nn.RNN/LSTM, with the second bias held at zero) where they compute the same function —
always for LSTM, for SimpleRNN with tanh or relu — because the loop's many small autograd nodes cost an LSTM
about four times as long per step; a test keeps the two paths equal, values and gradients.

Bias convention: ONE bias vector per cell (as Keras and the lecture write it), so the counts are
SimpleRNN units·(features + units + 1) and LSTM 4·units·(features + units + 1). torch.nn.RNN/LSTM keep two
(bias_ih and bias_hh, which only ever appear summed) and count units (or 4·units) more for the same function.

Parameters keep torch's names and layouts: ``weight`` is W_x [units][features] (LSTM: [4·units][features],
gates stacked i, f, g, o as torch stacks them), ``weight_hh`` is W_h [units][units], ``bias`` is b.
"""
from __future__ import annotations

import functools

from ..activations import activation_param_count, activation_shape
from ..params import Param, schema
from .activation import ACT_PARAMS, act_spec, make_act
from .base import TOO_BIG, LayerType, ShapeError, register_layer, shape_str

# Sizes this big make W_h (units × units) alone exceed memory long before MAX_UNITS.
MAX_RECURRENT_UNITS = 100_000


@functools.cache
def recurrent_module_classes():
    """(SimpleRNN, LSTM) torch modules; weights start at zero until the builder initializes them."""
    import torch

    linear = torch.nn.functional.linear
    fused_kernels = {"Tanh": torch._VF.rnn_tanh, "ReLU": torch._VF.rnn_relu}

    def exporting():
        return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling()

    def fused_args(x, layer, rows):
        """(h₀, the kernel's weights with a zero second bias, flags: 1 layer, no dropout, unidirectional, batch first)."""
        h0 = x.new_zeros(1, x.shape[0], layer.units)
        return h0, (layer.weight, layer.weight_hh, layer.bias, layer.bias.new_zeros(rows)), (True, 1, 0.0, layer.training,
                                                                                             False, True)

    class SimpleRNN(torch.nn.Module):
        def __init__(self, features, units, return_sequences=False, act=None):
            super().__init__()
            self.features, self.units, self.return_sequences = features, units, bool(return_sequences)
            self.weight = torch.nn.Parameter(torch.zeros(units, features))  # W_x
            self.weight_hh = torch.nn.Parameter(torch.zeros(units, units))  # W_h
            self.bias = torch.nn.Parameter(torch.zeros(units))
            self.act = act  # None: identity

        def states(self, x):
            """(N, T, units): h₁ … h_T for a batch of sequences (N, T, features)."""
            return torch.stack(self._run(x, keep=True), 1)

        def _run(self, x, keep):
            xw = linear(x, self.weight, self.bias)  # W_x xₜ + b for every t in one product
            h = torch.zeros_like(xw[:, 0])
            seen = []
            for xt in xw.unbind(1):
                z = xt + linear(h, self.weight_hh)
                h = z if self.act is None else self.act(z)
                if keep:
                    seen.append(h)
            return seen if keep else [h]

        def forward(self, x):
            kernel = fused_kernels.get(type(self.act).__name__) if self.act is not None else None
            if kernel is not None and type(self.act).__module__.startswith("torch.nn") and not exporting():
                h0, weights, flags = fused_args(x, self, self.units)
                out, last = kernel(x, h0, weights, *flags)
                return out if self.return_sequences else last[0]
            return self.states(x) if self.return_sequences else self._run(x, keep=False)[0]

        def extra_repr(self):
            return f"{self.features}, {self.units}, return_sequences={self.return_sequences}"

    class LSTM(torch.nn.Module):
        def __init__(self, features, units, return_sequences=False):
            super().__init__()
            self.features, self.units, self.return_sequences = features, units, bool(return_sequences)
            self.weight = torch.nn.Parameter(torch.zeros(4 * units, features))
            self.weight_hh = torch.nn.Parameter(torch.zeros(4 * units, units))
            self.bias = torch.nn.Parameter(torch.zeros(4 * units))

        def states(self, x):
            """(h, c): each (N, T, units), the hidden and the cell state after every step."""
            hs, cs = self._run(x, keep=True)
            return torch.stack(hs, 1), torch.stack(cs, 1)

        def _run(self, x, keep):
            xw = linear(x, self.weight, self.bias)
            h = torch.zeros_like(xw[:, 0, : self.units])
            c = h
            hs, cs = [], []
            for xt in xw.unbind(1):
                i, f, g, o = (xt + linear(h, self.weight_hh)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                if keep:
                    hs.append(h)
                    cs.append(c)
            return (hs, cs) if keep else ([h], [c])

        def forward(self, x):
            if not exporting():
                h0, weights, flags = fused_args(x, self, 4 * self.units)
                out, last, _ = torch._VF.lstm(x, (h0, h0), weights, *flags)
                return out if self.return_sequences else last[0]
            if self.return_sequences:
                return self.states(x)[0]
            return self._run(x, keep=False)[0][0]

        def extra_repr(self):
            return f"{self.features}, {self.units}, return_sequences={self.return_sequences}"

    for cls in (SimpleRNN, LSTM):
        cls.__module__ = __name__
        globals()[cls.__name__] = cls
    return SimpleRNN, LSTM


def _sequence(name, shapes) -> tuple[int, int]:
    """(T, features) of the input, or a ShapeError that says how to get a sequence."""
    s = tuple(shapes[0])
    if len(s) != 2:
        hint = f": add a Reshape to ({s[0]}, 1) to read the {s[0]} values as a sequence" if len(s) == 1 else ""
        raise ShapeError(f"{name} needs a sequence (time, features), got {shape_str(s)}{hint}")
    return s


def _out(name, shapes, p):
    t, _ = _sequence(name, shapes)
    return (t, p["units"]) if p["return_sequences"] else (p["units"],)


def _rnn_act(p):
    spec = act_spec(p)
    if activation_shape(spec, (p["units"],)) != (p["units"],):
        raise ShapeError(f"SimpleRNN's activation must keep one value per unit; {spec['type']} does not")
    return spec


def _infer_rnn(shapes, p):
    _rnn_act(p)
    return _out("SimpleRNN", shapes, p)


def _count_rnn(shapes, p):
    _, f = _sequence("SimpleRNN", shapes)
    u = p["units"]
    return u * (f + u + 1) + activation_param_count(_rnn_act(p), (u,))


def _build_rnn(shapes, p):
    _, f = _sequence("SimpleRNN", shapes)
    _rnn_act(p)
    return recurrent_module_classes()[0](f, p["units"], p["return_sequences"], make_act(p))


def _units():
    return Param("units", "int", 8, min=1, max=MAX_RECURRENT_UNITS, max_why=TOO_BIG,
                 doc="size of the hidden state h (numbers the layer remembers between steps)")


_RETURN = Param("return_sequences", "bool", False,
                doc="on: output every hₜ, shape (T, units), to stack another recurrent layer; off: only the last h_T")
_ACT = (Param("activation", "str", "tanh", choices=ACT_PARAMS[0].choices,
              doc="f in hₜ = f(W_x xₜ + W_h hₜ₋₁ + b); tanh keeps h in (−1, 1) however long the sequence"),
        ACT_PARAMS[1])

register_layer(
    LayerType(
        name="SimpleRNN",
        schema=schema(_units(), *_ACT, _RETURN),
        infer=_infer_rnn,
        build=_build_rnn,
        count_params=_count_rnn,
        doc=(
            "SimpleRNN (Elman): reads a sequence (T, features) one step at a time, hₜ = f(W_x xₜ + W_h hₜ₋₁ + b), "
            "h₀ = 0, the same weights at every step; outputs h_T (units,) or every hₜ (T, units). "
            "units·(features + units + 1) parameters: one bias (torch.nn.RNN keeps two and counts units more). "
            "W_x starts Glorot-uniform, W_h orthogonal, b at zero."
        ),
        group="Recurrent",
        key_params=("units", "activation"),
        init_targets=("weight", "weight_hh", "bias"),
    )
)

register_layer(
    LayerType(
        name="LSTM",
        schema=schema(_units(), _RETURN),
        infer=lambda shapes, p: _out("LSTM", shapes, p),
        build=lambda shapes, p: recurrent_module_classes()[1](_sequence("LSTM", shapes)[1], p["units"],
                                                              p["return_sequences"]),
        count_params=lambda shapes, p: 4 * p["units"] * (_sequence("LSTM", shapes)[1] + p["units"] + 1),
        doc=(
            "LSTM (long short-term memory): gates iₜ, fₜ, oₜ = σ(W xₜ + U hₜ₋₁ + b) and a candidate "
            "gₜ = tanh(…) update a cell state cₜ = fₜ⊙cₜ₋₁ + iₜ⊙gₜ, and hₜ = oₜ⊙tanh(cₜ); the forget gate lets "
            "information (and gradients) survive many steps. 4·units·(features + units + 1) parameters: one bias "
            "(torch.nn.LSTM keeps two and counts 4·units more). Gates stacked i, f, g, o as in torch."
        ),
        group="Recurrent",
        key_params=("units",),
        init_targets=("weight", "weight_hh", "bias"),
    )
)

__all__ = ["recurrent_module_classes", "MAX_RECURRENT_UNITS"]
