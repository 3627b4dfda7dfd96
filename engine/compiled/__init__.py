"""The compiled path: small dense networks trained by numba kernels, 30× and more faster than torch per step.

A playground's networks (2–8 inputs, a few layers of 4–16 units, batch 1–32) are bound by
per-call overhead, not arithmetic; one compiled call runs a whole chunk of steps.
``supports(session, device)`` says whether a session can use it (None) or why not;
``CompiledTrainer`` has the torch ``Trainer``'s interface, events and checkpoint format.
Without numba installed, ``supports`` answers "numba is not installed" and nothing else
here is imported, so training falls back to torch.
"""
from __future__ import annotations

from .support import numba_available, supports

__all__ = ["CompiledTrainer", "NotCompiled", "Variants", "numba_available", "supports", "warm_up"]


def __getattr__(name):  # the trainer imports numba: only on first use
    if name in ("CompiledTrainer", "NotCompiled"):
        from . import trainer

        return getattr(trainer, name)
    if name == "Variants":
        from .variants import Variants

        return Variants
    if name == "warm_up":
        from .warm import warm_up

        return warm_up
    raise AttributeError(name)
