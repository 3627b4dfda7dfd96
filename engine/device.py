"""Where and how torch runs: device choice, thread count, allocator tuning."""
from __future__ import annotations

import ctypes
import os
import sys

from .errors import InvalidInput

_allocator_tuned = False
# multiply-adds of one step (parameters × batch) from which a model is "large": several torch threads pay
# off (below, per-call overhead dominates and one thread is fastest), and a pass over its weights costs
# enough of a step that statistics are spaced further apart (engine.trainer.Trainer._stats_interval)
LARGE_STEP_WORK = 2_000_000


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


def choose_threads(n_params: int, batch_size: int, cores: int | None = None, *, headless: bool = False) -> int:
    """Torch threads for training.

    Tiny models are bound by per-call overhead, so one thread is fastest. Larger
    ones gain from more. Headless (command line, notebooks) they get every core; in
    the window a thread per core collapses (15-30x slower, measured) as soon as the
    GUI thread wants a core, so one core is always left to it.
    """
    cores = cores or os.cpu_count() or 1
    if n_params * max(batch_size, 1) < LARGE_STEP_WORK:
        return 1
    return max(1, cores if headless else min(cores - 1, 4))


def configure_process(*, gui: bool = False):
    """Process-wide tuning, set once by the application (``main.py``/the window) at start-up.

    Constructors never do this: a ``Run`` leaves the process as it found it. In the window the
    interpreter hands the GIL over every 1 ms instead of 5 ms, so input and redraw slots wait at
    most ~1 ms for the training thread (p99 event-loop lateness ~3x lower, measured).
    """
    tune_allocator()
    if gui:
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))


def apply_thread_policy(n_params: int, batch_size: int, *, headless: bool, threads: int | None = None) -> int:
    """Set torch's (process-wide) thread count for the training about to start; returns it.

    Called by the application before it starts a run (the CLI, the window's controller), never by
    the engine itself. ``threads`` (``main.py train --threads``) overrides the policy.
    """
    import torch

    n = int(threads) if threads else choose_threads(n_params, batch_size, headless=headless)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


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
