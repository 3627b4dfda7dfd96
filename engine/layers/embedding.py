"""Embedding: a learned lookup table from integer tokens to dense vectors."""
from __future__ import annotations

import functools

from ..errors import InvalidInput
from ..params import Param, schema
from .base import MAX_DIM, MAX_UNITS, TOO_BIG, LayerType, register_layer


@functools.cache
def embedding_module_class():
    import torch

    embedding = torch.nn.functional.embedding

    class Embedding(torch.nn.Module):
        def __init__(self, num_embeddings, embedding_dim):
            super().__init__()
            self.num_embeddings = num_embeddings
            self.weight = torch.nn.Parameter(torch.zeros(num_embeddings, embedding_dim))

        def forward(self, x):
            idx = x.long()  # datasets arrive as floats; indices are truncated toward zero
            if idx.numel() and not (torch.compiler.is_compiling() or torch.jit.is_tracing()):  # export: no data-dependent checks
                lo, hi = int(idx.min()), int(idx.max())
                if lo < 0 or hi >= self.num_embeddings:
                    bad = lo if lo < 0 else hi
                    raise InvalidInput(f"Embedding index {bad} is outside 0..{self.num_embeddings - 1}: raise num_embeddings")
            return embedding(idx, self.weight)

        def extra_repr(self):
            return f"{self.num_embeddings}, {self.weight.shape[1]}"

    Embedding.__module__ = __name__
    globals()["Embedding"] = Embedding
    return Embedding


register_layer(
    LayerType(
        name="Embedding",
        schema=schema(
            Param("num_embeddings", "int", 10, min=1, max=MAX_DIM, max_why=TOO_BIG,
                  doc="vocabulary size: indices run 0..num_embeddings−1"),
            Param("embedding_dim", "int", 8, min=1, max=MAX_UNITS, max_why=TOO_BIG),
        ),
        infer=lambda shapes, p: (*shapes[0], p["embedding_dim"]),
        build=lambda shapes, p: embedding_module_class()(p["num_embeddings"], p["embedding_dim"]),
        count_params=lambda shapes, p: p["num_embeddings"] * p["embedding_dim"],
        doc=(
            "Embedding: row i of a learned table is token i's vector; input (L,) of integer indices "
            "(cast to long) gives (L, embedding_dim). Equivalent to a Dense layer on one-hot inputs."
        ),
        group="Embedding",
        key_params=("num_embeddings", "embedding_dim"),
        init_targets=("weight",),
    )
)
