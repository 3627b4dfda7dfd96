"""Where and how torch runs: device choice, thread count, allocator tuning."""
from __future__ import annotations

import ctypes
import os
import sys

from .errors import InvalidInput

_allocator_tuned = False


def select_device(preference: str = "auto"):
    """CUDA, then Apple MPS, else CPU; an explicit choice that is unavailable is an input error."""
    import torch

    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("device 'cuda' was asked for, but no CUDA GPU is available to torch here")
    if preference == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InvalidInput("device 'mps' was asked for, but Apple's Metal backend is not available here")
    if preference not in ("cpu", "cuda", "mps"):
        raise InvalidInput(f"device must be auto, cpu, cuda or mps; got {preference!r}")
    return torch.device(preference)


def choose_threads(n_params: int, batch_size: int, cores: int | None = None) -> int:
    """Torch threads for training.

    Tiny models are bound by per-call overhead, so one thread is fastest. Larger
    ones gain from more, but a thread per core collapses (15-30x slower, measured)
    as soon as anything else wants a core, such as the GUI thread drawing: always
    leave one core free.
    """
    cores = cores or os.cpu_count() or 1
    if n_params * max(batch_size, 1) < 2_000_000:
        return 1
    return max(1, min(cores - 1, 4))


def tune_allocator():
    """Raise glibc's mmap/trim thresholds so big tensors stop page-faulting every step (±30% swings)."""
    global _allocator_tuned
    if _allocator_tuned or not sys.platform.startswith("linux"):
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024)
        libc.mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024)
    except (OSError, AttributeError):  # musl or no glibc: nothing to tune
        pass
