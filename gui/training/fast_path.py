"""Keeping the compiled path's first-use cost out of the user's way.

numba compiles the small-network kernels on first use (~15 s per dtype on a 2-core machine) and
caches them on disk. The window therefore trains on torch until the kernels are known to be
cached (``engine.compiled.warm.is_warm``), and compiles them once, in a separate low-priority
process right after start-up, so neither the GUI thread nor a training waits for the compiler.
"""
from __future__ import annotations

import os
import subprocess
import sys


def window_path() -> str:
    """The Run path the window uses now: "auto" (compiled when supported) once the kernels are cached."""
    try:
        from engine.compiled.warm import is_warm

        return "auto" if is_warm() else "torch"
    except ImportError:
        return "torch"


def warm_in_background():
    """Start ``python -m engine.compiled.warm`` at low priority unless the kernels are cached; returns the process."""
    try:
        from engine.compiled.support import numba_available
        from engine.compiled.warm import is_warm
    except ImportError:
        return None
    if not numba_available() or is_warm():
        return None
    kw = {}
    if hasattr(os, "nice"):
        kw["preexec_fn"] = lambda: os.nice(10)
    try:
        return subprocess.Popen([sys.executable, "-m", "engine.compiled.warm"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                **kw)
    except OSError:
        return None
