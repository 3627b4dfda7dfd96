"""Shared test set-up: offscreen Qt, one torch thread (small models are overhead-bound)."""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard dependency
    pass


_LAST_TEST_FILE = os.environ.get("NNP_LAST_TEST_FILE")
_started: list = []


def pytest_runtest_logstart(nodeid, location):
    """Write the test starting now (and the one before) where ``make test`` reads it if pytest dies.

    A crash in native code (Qt, numba, torch) kills the process before pytest reports anything, and the
    traceback faulthandler prints shows only frames, not the test's name.
    """
    if not _LAST_TEST_FILE:
        return
    _started.append(nodeid)
    del _started[:-2]
    try:
        with open(_LAST_TEST_FILE, "w") as f:
            f.write("\n".join(_started) + "\n")
    except OSError:
        pass
