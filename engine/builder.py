"""Turn a ``GraphSpec`` into a runnable torch module.

The spec is validated first (every shape known before torch sees it); then each
node's layer type builds its module, and weights are initialized from a seed
per (node, parameter), so adding a node elsewhere leaves other weights alone.
"""
from __future__ import annotations

import zlib

import torch

from .errors import GraphError, InvalidInput
from .graph import GraphReport, validate
from .initializers import INITIALIZERS, default_init, fans, initialize
from .layers import get_layer, shape_str
from .spec import GraphSpec

# Layer types whose "pre" value in the trace is simply their input z.
PRE_IS_INPUT = frozenset({"Activation"})
PASSTHROUGH = frozenset({"Input", "Output"})


def node_seed(seed: int, node_id: str, target: str) -> int:
    """Stable (not Python's salted ``hash``) seed for one node's parameter."""
    return zlib.crc32(f"{int(seed)}/{node_id}/{target}".encode())


class GraphModule(torch.nn.Module):
    """The network. ``layers[node_id]`` is each node's module; ``forward`` is the training hot path."""

    def __init__(self, spec: GraphSpec, report: GraphReport, seed: int = 0, dtype=None):
        super().__init__()
        self.spec, self.report = spec, report
        self.order = list(report.order)
        self.input_id, self.output_id = report.input_id, report.output_id
        self.seed = int(seed)
        self.types = {}
        self.srcs = {}
        self.layers = torch.nn.ModuleDict()
        for nid in self.order:
            node = spec.node(nid)
            lt = get_layer(node.type, node=nid)
            self.types[nid] = lt
            self.srcs[nid] = tuple(spec.inputs_of(nid) if lt.variadic else [spec.inputs_of(nid, p)[0] for p in lt.ports])
            module = lt.build(report.in_shapes[nid], report.params[nid])
            # Direct insert: ModuleDict refuses keys that shadow its methods ("train", "keys", ...), valid node ids here.
            self.layers._modules[nid] = module
        self._check_init_targets()
        if dtype is not None:
            self.to(dtype=dtype)  # before initializing, so explicit values keep full precision
        self.reinitialize(seed)
        self._frozen_norms = []
        for node in spec.nodes:
            if not node.trainable:
                m = self.layers[node.id]
                for p in m.parameters():
                    p.requires_grad_(False)
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    self._frozen_norms.append(node.id)
        self._plan()

    # -- shapes -------------------------------------------------------------
    @property
    def in_shape(self) -> tuple:
        return self.report.shapes[self.input_id]

    @property
    def out_shape(self) -> tuple:
        return self.report.shapes[self.output_id]

    def check_input(self, x):
        """Raise ``InvalidInput`` when a batch does not match the Input node (call once per dataset, not per step)."""
        got = tuple(x.shape[1:])
        if got != tuple(self.in_shape):
            raise InvalidInput(f"the network's Input expects samples of shape {shape_str(self.in_shape)}, got {shape_str(got)}")

    # -- running ------------------------------------------------------------
    def _plan(self):
        """Precompute the step list; Input/Output are skipped, a pure chain runs as a plain loop."""
        slot = {self.input_id: 0}
        steps = []
        for nid in self.order:
            if nid == self.input_id:
                continue
            src = tuple(slot[s] for s in self.srcs[nid])
            if self.types[nid].name in PASSTHROUGH:
                slot[nid] = src[0]
                continue
            slot[nid] = len(steps) + 1
            steps.append((slot[nid], self.layers[nid], src[0] if len(src) == 1 else None, src))
        self._steps, self._nslots, self._out_slot = steps, len(steps) + 1, slot[self.output_id]
        chain = all(s[2] == i for i, s in enumerate(steps)) and self._out_slot == len(steps)
        self._chain = tuple(s[1] for s in steps) if chain else None

    def forward(self, x):
        chain = self._chain
        if chain is not None:
            for m in chain:
                x = m(x)
            return x
        vals = [None] * self._nslots
        vals[0] = x
        for out, m, one, src in self._steps:
            vals[out] = m(vals[one]) if one is not None else m(*[vals[s] for s in src])
        return vals[self._out_slot]

    def forward_record(self, x):
        """(output, {node_id: {"pre", "post"}}); "pre" is z before a fused or Activation-layer non-linearity, else None.

        Tensors stay in the autograd graph, so the caller may ``retain_grad()`` them before ``backward``.
        """
        vals, rec = {}, {}
        for nid in self.order:
            m, lt = self.layers[nid], self.types[nid]
            if nid == self.input_id:
                pre, post = None, x
            else:
                ins = [vals[s] for s in self.srcs[nid]]
                if lt.name in PASSTHROUGH:
                    pre, post = None, ins[0]
                elif hasattr(m, "record"):
                    pre, post = m.record(*ins)
                elif lt.name in PRE_IS_INPUT:
                    pre, post = ins[0], m(ins[0])
                else:
                    pre, post = None, m(*ins)
            vals[nid] = post
            rec[nid] = {"pre": pre, "post": post}
        return vals[self.output_id], rec

    def set_generator(self, generator):
        """Route every random draw of the forward pass (dropout masks) to ``generator`` (None: torch's global one)."""
        for m in self.modules():
            if hasattr(m, "generator") and m is not self:
                m.generator = generator
        return self

    def train(self, mode: bool = True):
        """Frozen BatchNorm nodes stay in eval mode: their running statistics are frozen too (as in Keras)."""
        super().train(mode)
        for nid in getattr(self, "_frozen_norms", ()):
            self.layers[nid].eval()
        return self

    # -- parameters ---------------------------------------------------------
    def weight_params(self, trainable_only: bool = True) -> list:
        """(node_id, "weight", Parameter) for the weights a penalty applies to: Dense, Conv, Embedding — not biases or norm scales."""
        out = []
        for nid in self.order:
            if "weight" in self.types[nid].init_targets:
                w = self.layers[nid].weight
                if w.requires_grad or not trainable_only:
                    out.append((nid, "weight", w))
        return out

    def trainable_parameters(self) -> list:
        return [p for p in self.parameters() if p.requires_grad]

    def count_trainable(self) -> int:
        return sum(p.numel() for p in self.trainable_parameters())

    # -- initialization -----------------------------------------------------
    def _check_init_targets(self):
        for nid in self.order:
            node, lt, m = self.spec.node(nid), self.types[nid], self.layers[nid]
            for target in node.init:
                if target not in lt.init_targets:
                    choices = ", ".join(lt.init_targets) or "none"
                    raise GraphError(f"{lt.name} has no initializable parameter {target!r} (choose: {choices})", node=nid)
                if getattr(m, target, None) is None:
                    raise GraphError(f"an initializer is set for {target!r} but the layer has none (use_bias is false)", node=nid)

    def default_activation(self, nid) -> str | None:
        """The activation that follows the node's weights: its fused one, or an Activation node that alone consumes it."""
        act = self.report.params[nid].get("activation")
        if act in (None, "identity", "linear"):
            nxt = self.spec.outputs_of(nid)
            if len(nxt) == 1 and self.types.get(nxt[0]) is not None and self.types[nxt[0]].name == "Activation":
                return self.report.params[nxt[0]]["activation"]
        return act

    def init_spec(self, nid, target) -> dict:
        """The canonical initializer used for ``layers[nid].<target>`` (the node's own, else the default)."""
        node, lt = self.spec.node(nid), self.types[nid]
        given = node.init.get(target)
        if given is not None:
            try:
                return INITIALIZERS.canonical(given)
            except InvalidInput as e:
                raise GraphError(f"init {target}: {e}", node=nid) from None
        return default_init(lt.name, self.default_activation(nid), target)

    def reinitialize(self, seed: int | None = None):
        """Reset every parameter and running statistic as if freshly built with ``seed`` (default: the build seed)."""
        if seed is not None:
            self.seed = int(seed)
        with torch.no_grad():
            for nid in self.order:
                m, lt = self.layers[nid], self.types[nid]
                for sub in m.modules():  # deterministic resets only: norm stats/affine, PReLU slope
                    if hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
                if not lt.init_targets:
                    continue
                fan_in, fan_out = fans(tuple(m.weight.shape))
                for target in lt.init_targets:
                    t = getattr(m, target, None)
                    if t is None:
                        continue
                    gen = torch.Generator().manual_seed(node_seed(self.seed, nid, target))
                    try:
                        initialize(t, self.init_spec(nid, target), generator=gen, fan_in=fan_in, fan_out=fan_out)
                    except GraphError:
                        raise
                    except InvalidInput as e:
                        raise GraphError(f"init {target}: {e}", node=nid) from None
        return self


def _dtype(dtype):
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    d = getattr(torch, str(dtype), None)
    if not isinstance(d, torch.dtype) or not d.is_floating_point:
        raise InvalidInput(f"dtype must be a floating torch dtype such as 'float32' or 'float64', got {dtype!r}")
    return d


def build_model(spec, *, seed: int = 0, device="cpu", dtype=None) -> GraphModule:
    """Validate ``spec`` (a GraphSpec or its dict form) and build the initialized model on ``device``."""
    if not isinstance(spec, GraphSpec):
        spec = GraphSpec.from_dict(spec)
    report = validate(spec)
    model = GraphModule(spec.copy(), report, seed=seed, dtype=_dtype(dtype))
    if device is not None and str(device) != "cpu":
        model.to(device)
    return model


def build_for_dataset(session, data, weights: dict | None = None, *, dtype="float64") -> GraphModule:
    """``session``'s network in eval mode for ``data`` (its input shape checked), holding ``weights`` (a
    state dict of arrays, e.g. a run's) when given: what the step-by-step teaching views compute with
    (float64, so their hand-checked numbers do not drift)."""
    import numpy as np
    import torch

    from .errors import InvalidInput

    model = build_model(session.graph, seed=session.seed, dtype=dtype).eval()
    if tuple(data.input_shape) != tuple(model.in_shape):
        raise InvalidInput(f"the dataset's inputs have shape {tuple(data.input_shape)} but the Input node "
                           f"expects {tuple(model.in_shape)}")
    if weights is not None:
        state = {k: torch.as_tensor(np.asarray(v), dtype=model_dtype(model)) for k, v in weights.items()}
        missing = set(model.state_dict()) - set(state)
        if missing:
            raise InvalidInput(f"the weights lack {sorted(missing)[0]}: they belong to a different network")
        model.load_state_dict(state)
    return model


def model_dtype(model):
    """The floating dtype of ``model``'s parameters (float32 when it has none)."""
    import torch

    return next((p.dtype for p in model.parameters()), torch.float32)
