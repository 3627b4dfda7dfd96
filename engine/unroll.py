"""Unrolling a recurrent layer: its hidden state hₜ at every step of one input sequence.

A recurrent layer is drawn as one box with a loop; the lecture's picture is the same cell copied once per time
step. This computes what those copies hold for one sample of the session's data, with the model's weights:
the sequence that reaches the layer (after the dataset's scaling and any layers before it), every hₜ and, for
an LSTM, every cell state cₜ. The states come from the layer's own ``states`` (the code that trains), so the
view shows exactly what the network computes; the tests check them against a numpy re-implementation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .builder import build_for_dataset
from .data import make_dataset
from .errors import InvalidInput
from .session import Session

RECURRENT = ("SimpleRNN", "LSTM")
FORMULAS = {
    "SimpleRNN": "hₜ = {act}(W_x xₜ + W_h hₜ₋₁ + b),  h₀ = 0",
    "LSTM": "iₜ, fₜ, oₜ = σ(W xₜ + U hₜ₋₁ + b);  gₜ = tanh(…);  cₜ = fₜ⊙cₜ₋₁ + iₜ⊙gₜ;  hₜ = oₜ⊙tanh(cₜ)",
}


@dataclass
class Unrolled:
    node: str
    layer_type: str
    split: str
    sample: int
    x: np.ndarray  # (T, features): the sequence entering the layer
    h: np.ndarray  # (T, units): hₜ after each step
    c: np.ndarray | None  # (T, units): LSTM cell states, else None
    target: np.ndarray  # the sample's target (class index or values)
    output: np.ndarray  # the network's output for the sample
    formula: str
    param_count: int

    @property
    def steps(self) -> int:
        return int(self.h.shape[0])


def recurrent_nodes(session: Session) -> list[str]:
    """Ids of the SimpleRNN and LSTM nodes, in the graph's order."""
    return [n.id for n in session.graph.nodes if n.type in RECURRENT]


def formula(layer_type: str, params: dict) -> str:
    act = params.get("activation", "tanh") if layer_type == "SimpleRNN" else ""
    return FORMULAS[layer_type].format(act=act if isinstance(act, str) else "f")


class Unroller:
    """The session's data and network built once; ``unroll`` then reads any node and sample cheaply."""

    def __init__(self, session: Session, weights: dict | None = None, dataset=None):
        self.session = session.copy().canonicalize()
        s = self.session
        self.nodes = recurrent_nodes(s)
        if not self.nodes:
            raise InvalidInput("the network has no SimpleRNN or LSTM layer to unroll: add one from the palette's "
                               "Recurrent group")
        self.data = dataset if dataset is not None else make_dataset(s.dataset, seed=s.seed)
        self.model = build_for_dataset(s, self.data, weights)

    def size(self, split: str) -> int:
        return len(self.data.split(split)[0])

    def unroll(self, node: str | None = None, *, split: str = "test", sample: int = 0) -> Unrolled:
        node = self.nodes[0] if node is None else node
        if node not in self.nodes:
            raise InvalidInput(f"{node!r} is not a recurrent layer; choose one of: {', '.join(self.nodes)}")
        if split not in ("train", "val", "test"):
            raise InvalidInput(f"split must be train, val or test, got {split!r}")
        x_all, y_all = self.data.split(split)
        if len(x_all) == 0:
            raise InvalidInput(f"the {split} split is empty: choose another split")
        if not (isinstance(sample, (int, np.integer)) and 0 <= sample < len(x_all)):
            raise InvalidInput(f"sample {sample!r} is out of range: the {split} split has {len(x_all)} samples "
                               f"(0..{len(x_all) - 1})")
        x = torch.as_tensor(np.asarray(x_all[sample:sample + 1]), dtype=torch.float64)
        m = self.model
        with torch.no_grad():
            out, rec = m.forward_record(x)
            src = m.srcs[node][0]
            seq = rec[src]["post"]
            states = m.layers[node].states(seq)
        h, c = (states if isinstance(states, tuple) else (states, None))
        rep = m.report
        return Unrolled(node=node, layer_type=m.types[node].name, split=split, sample=int(sample),
                        x=seq[0].numpy().copy(), h=h[0].numpy().copy(), c=None if c is None else c[0].numpy().copy(),
                        target=np.asarray(y_all[sample]), output=out[0].numpy().copy(),
                        formula=formula(m.types[node].name, rep.params[node]), param_count=int(rep.param_counts[node]))
