"""A readable, standalone PyTorch file for the network, plus its weights beside it.

The generated module needs only torch and safetensors: one named submodule per
node in ``__init__``, and a ``forward`` that follows the graph's topological
order with a comment naming each node. Fused activations become their own
submodule (``<node>_act``) so each step reads like the textbook formula. Unless
the export is bare, the first submodule is ``preprocess``: the dataset's feature
crosses and scaling, its fitted numbers stored with the weights, so the module
takes raw inputs like the trained model did.
"""
from __future__ import annotations

import keyword
import os
import re

import torch

from .. import __version__
from ..errors import InvalidInput
from ..layers import shape_str
from . import write_bytes
from .weights_export import state_bytes

HELPERS = {
    "Preprocess": '''class Preprocess(nn.Module):
    """The training data's preprocessing: TF-Playground feature crosses of (x1, x2), then one scaling.

    standardize: (x - mean) / std; minmax: (x - min) / range; pca_whiten: ((x - mean) @ components.T) * scales.
    The fitted numbers are float64 buffers, loaded from the weights file with the network's tensors;
    the arithmetic runs in float64 and is rounded to float32 as the training data was.
    """

    FEATURES = {"x1": lambda x: x[:, 0], "x2": lambda x: x[:, 1], "x1^2": lambda x: x[:, 0] * x[:, 0],
                "x2^2": lambda x: x[:, 1] * x[:, 1], "x1*x2": lambda x: x[:, 0] * x[:, 1],
                "sin(x1)": lambda x: torch.sin(x[:, 0]), "sin(x2)": lambda x: torch.sin(x[:, 1])}

    def __init__(self, features, scale, shape):
        super().__init__()
        self.features, self.scale, self.shape = list(features), scale, tuple(shape)
        d, f64 = 1, torch.float64
        for s in self.shape:
            d *= s
        if scale == "standardize":
            self.register_buffer("mean", torch.zeros(d, dtype=f64))
            self.register_buffer("std", torch.ones(d, dtype=f64))
        elif scale == "minmax":
            self.register_buffer("min", torch.zeros(d, dtype=f64))
            self.register_buffer("range", torch.ones(d, dtype=f64))
        elif scale == "pca_whiten":
            self.register_buffer("mean", torch.zeros(d, dtype=f64))
            self.register_buffer("components", torch.eye(d, dtype=f64))
            self.register_buffer("scales", torch.ones(d, dtype=f64))

    def forward(self, x):
        if self.features:
            z = x.to(torch.float64)
            x = torch.stack([self.FEATURES[name](z) for name in self.features], dim=1).to(torch.float32)
        if self.scale == "none":
            return x
        flat = x.reshape(x.shape[0], -1).to(torch.float64)
        if self.scale == "standardize":
            flat = (flat - self.mean) / self.std
        elif self.scale == "minmax":
            flat = (flat - self.min) / self.range
        else:
            flat = torch.matmul(flat - self.mean, self.components.t()) * self.scales
        return flat.to(torch.float32).reshape(x.shape)
''',
    "Step": '''class Step(nn.Module):
    """Threshold: 1 where z > 0, else low (0: Heaviside; -1: sign). grad="ste" lets the gradient through where |z| <= 1."""

    def __init__(self, grad="zero", low=0.0):
        super().__init__()
        self.grad, self.low = grad, low

    def forward(self, z):
        out = (z > 0).to(z.dtype)
        if self.grad == "ste" and z.requires_grad:
            passed = z * (z.abs() <= 1).to(z.dtype)
            out = out + (passed - passed.detach())  # adds exactly 0, carries the gradient
        return out if self.low == 0.0 else out * (1.0 - self.low) + self.low
''',
    "Maxout": '''class Maxout(nn.Module):
    """Maxout: the largest of each group of `pieces` consecutive features (or channels)."""

    def __init__(self, pieces=2):
        super().__init__()
        self.pieces = pieces

    def forward(self, z):
        s = z.shape
        return z.reshape(s[0], s[1] // self.pieces, self.pieces, *s[2:]).max(2).values
''',
    "ScaledDropout": '''class ScaledDropout(nn.Module):
    """Dropout as in the lecture: drop units with probability p while training, scale by (1 - p) at test time."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.training:
            return nn.functional.dropout(x, self.p, True) * (1.0 - self.p)
        return x * (1.0 - self.p)
''',
    "SimpleRNN": '''class SimpleRNN(nn.Module):
    """Elman RNN over (N, T, features): h_t = act(W_x x_t + W_h h_(t-1) + b), h_0 = 0; one bias vector b.

    weight is W_x [units][features], weight_hh is W_h [units][units]. Returns h_T, or every h_t (N, T, units).
    """

    def __init__(self, features, units, return_sequences=False, act=None):
        super().__init__()
        self.return_sequences = return_sequences
        self.weight = nn.Parameter(torch.zeros(units, features))
        self.weight_hh = nn.Parameter(torch.zeros(units, units))
        self.bias = nn.Parameter(torch.zeros(units))
        self.act = act

    def forward(self, x):
        xw = nn.functional.linear(x, self.weight, self.bias)  # W_x x_t + b for every t at once
        h, seen = torch.zeros_like(xw[:, 0]), []
        for xt in xw.unbind(1):
            z = xt + nn.functional.linear(h, self.weight_hh)
            h = z if self.act is None else self.act(z)
            seen.append(h)
        return torch.stack(seen, 1) if self.return_sequences else h
''',
    "LSTM": '''class LSTM(nn.Module):
    """LSTM over (N, T, features), gates stacked i, f, g, o as in torch.nn.LSTM but with one bias vector:

    i, f, o = sigmoid(.), g = tanh(.) of W x_t + U h_(t-1) + b; c_t = f*c_(t-1) + i*g; h_t = o*tanh(c_t).
    """

    def __init__(self, features, units, return_sequences=False):
        super().__init__()
        self.units, self.return_sequences = units, return_sequences
        self.weight = nn.Parameter(torch.zeros(4 * units, features))
        self.weight_hh = nn.Parameter(torch.zeros(4 * units, units))
        self.bias = nn.Parameter(torch.zeros(4 * units))

    def forward(self, x):
        xw = nn.functional.linear(x, self.weight, self.bias)
        h = torch.zeros_like(xw[:, 0, :self.units])
        c, seen = h, []
        for xt in xw.unbind(1):
            i, f, g, o = (xt + nn.functional.linear(h, self.weight_hh)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            seen.append(h)
        return torch.stack(seen, 1) if self.return_sequences else h
''',
}


def _identifier(node_id: str, taken: set) -> str:
    name = re.sub(r"\W", "_", node_id)
    if not name or name[0].isdigit():
        name = "n_" + name
    if keyword.iskeyword(name) or hasattr(torch.nn.Module, name) or name in ("x", "torch", "nn"):
        name += "_"
    base, i = name, 2
    while name in taken or name + "_act" in taken:
        name = f"{base}_{i}"
        i += 1
    taken.update((name, name + "_act"))
    return name


def _torch_ctor(module) -> str:
    """``nn.Tanh()``, ``nn.BatchNorm1d(8, eps=1e-05, ...)``: torch's own repr, checked to rebuild an equal module."""
    text = "nn." + repr(module)
    try:
        clone = eval(text, {"nn": torch.nn})  # noqa: S307 - our own string from a torch module's repr
    except Exception:
        clone = None
    if (clone is None or type(clone) is not type(module) or repr(clone) != repr(module)
            or {k: v.shape for k, v in clone.state_dict().items()} != {k: v.shape for k, v in module.state_dict().items()}):
        raise InvalidInput(f"PyTorch source export cannot write {type(module).__name__} yet")
    return text


def _act_ctor(module, helpers: set) -> str:
    name = type(module).__name__
    if type(module).__module__.startswith("torch.nn"):
        return _torch_ctor(module)
    if name == "Step":
        helpers.add("Step")
        return f"Step(grad={module.grad!r}, low={module.low!r})"
    if name == "Maxout":
        helpers.add("Maxout")
        return f"Maxout(pieces={module.pieces})"
    raise InvalidInput(f"PyTorch source export cannot write the activation {name} yet")


def _describe(node, params) -> str:
    keys = [k for k in ("units", "filters", "kernel_size", "stride", "padding", "activation", "p", "mode", "shape",
                        "axis", "pool_size", "num_embeddings", "embedding_dim", "return_sequences") if params.get(k) is not None]
    bits = [f"{k}={list(params[k]) if isinstance(params[k], tuple) else params[k]}" for k in keys]
    return f"{node.id}: {node.type}" + (f" ({', '.join(bits)})" if bits else "")


def _emit_node(nid, typ, module, params, attr, ins, helpers):
    """(init lines, forward expression, {state_dict key prefix in the node's module: prefix in the generated one})."""
    src = ins[0] if ins else "x"
    if typ in ("Dense", "Conv1d", "Conv2d"):
        w = module.weight
        bias = module.bias is not None
        if typ == "Dense":
            core = f"nn.Linear({w.shape[1]}, {w.shape[0]}, bias={bias})"
        else:
            core = (f"nn.{typ}({w.shape[1]}, {w.shape[0]}, kernel_size={w.shape[2]}, stride={module.stride}, "
                    f"padding={module.padding}, bias={bias})")
        init = [f"self.{attr} = {core}"]
        expr = f"self.{attr}({src})"
        keys = {"": f"{attr}."}
        if module.act is not None:
            init.append(f"self.{attr}_act = {_act_ctor(module.act, helpers)}")
            expr = f"self.{attr}_act({expr})"
            keys["act."] = f"{attr}_act."
        return init, expr, keys
    if typ == "Activation":
        return [f"self.{attr} = {_act_ctor(module, helpers)}"], f"self.{attr}({src})", {"": f"{attr}."}
    if typ == "Dropout":
        if module.mode == "weight_scaling":
            helpers.add("ScaledDropout")
            return [f"self.{attr} = ScaledDropout(p={module.p})"], f"self.{attr}({src})", {}
        return [f"self.{attr} = nn.Dropout(p={module.p})"], f"self.{attr}({src})", {}
    if typ in ("SimpleRNN", "LSTM"):
        helpers.add(typ)
        w, keys = module.weight, {"": f"{attr}."}
        args = f"{w.shape[1]}, {module.units}, return_sequences={module.return_sequences}"
        if typ == "SimpleRNN" and module.act is not None:
            args += f", act={_act_ctor(module.act, helpers)}"
        return [f"self.{attr} = {typ}({args})"], f"self.{attr}({src})", keys
    if typ == "Embedding":
        w = module.weight
        return [f"self.{attr} = nn.Embedding({w.shape[0]}, {w.shape[1]})"], f"self.{attr}({src}.long())", {"": f"{attr}."}
    if typ == "Add":
        return [], " + ".join(ins), {}
    if typ == "Concatenate":
        return [], f"torch.cat([{', '.join(ins)}], dim={params['axis'] + 1})", {}
    if typ == "Flatten":
        return [], f"{src}.flatten(1)", {}
    if typ == "Reshape":
        return [], f"{src}.reshape({src}.shape[0], {', '.join(str(d) for d in module.shape)})", {}
    if type(module).__module__.startswith("torch.nn"):  # BatchNorm, LayerNorm, pooling: torch's own modules
        return [f"self.{attr} = {_torch_ctor(module)}"], f"self.{attr}({src})", {"": f"{attr}."}
    raise InvalidInput(f"PyTorch source export does not support layer type {typ!r} yet")


def _class_name(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words)
    if not text or text[0].isdigit() or keyword.iskeyword(text) or text in ("Step", "Maxout", "ScaledDropout",
                                                                             "Preprocess", "SimpleRNN", "LSTM"):
        text = "Net" + text
    return text


def generate(ex, weights_name: str) -> tuple[str, dict]:
    """(source text, state_dict renamed to the generated module's names)."""
    model, rep, graph = ex.model, ex.report, ex.session.graph
    taken, var, helpers = set(), {rep.input_id: "x"}, set()
    init, body, state = [], [], {}
    sd = model.state_dict()
    if ex.with_preprocess:
        from .preprocess_module import Preprocess, describe

        pre, info = Preprocess(ex.preprocess_state), describe(ex.preprocess_state)
        taken.update(("preprocess", "preprocess_act"))
        helpers.add("Preprocess")
        init += ["# the dataset's preprocessing, fitted on the training split (numbers in the weights file)",
                 f"self.preprocess = Preprocess(features={info['features'] or []!r}, scale={info['scale']!r}, "
                 f"shape={tuple(info['input_shape'])!r})"]
        body.append(f"x = self.preprocess(x)  # raw inputs -> {info['formula']}"
                    + (f" of the features {', '.join(info['features'])}" if info["features"] else ""))
        state.update({f"preprocess.{k}": v for k, v in pre.state_dict().items()})
    for nid in rep.order:
        node = graph.node(nid)
        if nid == rep.input_id:
            body.append(f"# {nid}: Input {shape_str(rep.shapes[nid])} (plus the batch dimension)")
            continue
        ins = [var[s] for s in model.srcs[nid]]
        if node.type == "Output":
            var[nid] = ins[0]
            body.append(f"# {nid}: Output {shape_str(rep.shapes[nid])}")
            continue
        attr = _identifier(nid, taken)
        lines, expr, keys = _emit_node(nid, node.type, model.layers[nid], rep.params[nid], attr, ins, helpers)
        prefix = f"layers.{nid}."
        for k, v in sd.items():
            if not k.startswith(prefix):
                continue
            rest = k[len(prefix):]
            new = next((to + rest[len(frm):] for frm, to in sorted(keys.items(), key=lambda kv: -len(kv[0]))
                        if rest.startswith(frm)), None)
            if new is None:
                raise InvalidInput(f"PyTorch source export cannot place tensor {k!r}")
            state[new] = v
        if lines:
            init.append(f"# {_describe(node, rep.params[nid])}")
            init.extend(lines)
        var[nid] = f"h_{attr}"
        body.append(f"# {_describe(node, rep.params[nid])} -> {shape_str(rep.shapes[nid])}")
        body.append(f"h_{attr} = {expr}")
    body.append(f"return {var[rep.output_id]}")
    return _render(ex, _class_name(ex.name or ex.session.name or "Network"), init, body, helpers, weights_name), state


def _render(ex, cls, init, body, helpers, weights_name) -> str:
    rep = ex.report
    shape = tuple(ex.input_shape)
    in_shape = ", ".join(map(str, shape))
    status = "trained" if ex.trained else "not trained yet (initial weights)"
    if ex.with_preprocess:
        takes = "raw inputs (the dataset's scaling is the first layer, self.preprocess)"
    elif ex.bare:
        takes = "inputs preprocessed as in training (a bare export: any dataset scaling is not included)"
    else:
        takes = "the inputs as they are (the dataset has no scaling)"
    out = [
        f'"""{ex.name or ex.session.name}: exported by NN Playground {__version__}; weights {status}.',
        "",
        f"Input: a batch of shape (N, {in_shape}), {takes}; "
        f"output: (N, {', '.join(map(str, rep.shapes[rep.output_id]))}).",
        f"Weights: {weights_name} next to this file. Needs only torch and safetensors:",
        "",
        f"    model = load()  # eval mode; then model(torch.randn(4, {in_shape}))",
        '"""',
        "from pathlib import Path",
        "",
        "import torch",
        "from safetensors.torch import load_file",
        "from torch import nn",
        "",
        f"INPUT_SHAPE = ({in_shape}{',' if len(shape) == 1 else ''})",
        f'WEIGHTS = "{weights_name}"',
        "",
    ]
    for h in ("Preprocess", "Step", "Maxout", "ScaledDropout", "SimpleRNN", "LSTM"):
        if h in helpers:
            out += ["", HELPERS[h]]
    out += ["", f"class {cls}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    out += [f"        {line}" for line in init] or ["        pass"]
    out += ["", "    def forward(self, x):"]
    out += [f"        {line}" for line in body]
    out += [
        "", "",
        "def load(weights_path=None, device=\"cpu\"):",
        '    """Build the network and load the weights saved beside this file; returns it in eval mode."""',
        "    path = Path(weights_path) if weights_path else Path(__file__).with_name(WEIGHTS)",
        f"    model = {cls}()",
        "    model.load_state_dict(load_file(str(path), device=device))",
        "    return model.to(device).eval()",
        "", "",
        'if __name__ == "__main__":',
        "    net = load()",
        "    print(net)",
        "    print(net(torch.zeros(1, *INPUT_SHAPE)))",
        "",
    ]
    return "\n".join(out)


def export_pytorch(ex, out_path) -> str:
    root = os.path.splitext(out_path)[0] if os.path.splitext(out_path)[1] else out_path
    weights_path = root + "_weights.safetensors"  # never the name a safetensors export of the same stem would use
    source, state = generate(ex, os.path.basename(weights_path))
    write_bytes(weights_path, state_bytes(state, {"format": "nn-playground-pytorch-source"}))
    return write_bytes(out_path, source.encode("utf-8"))
