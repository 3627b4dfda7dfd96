"""NN Playground engine: everything that is not drawing. Imports no Qt, no pyqtgraph.

``from engine import Session, Run`` is all a notebook needs. Keep this module light: torch is
imported only by the modules that need it (``Run`` imports it when it builds), so the GUI can show
its window before paying for ``import torch``.
"""
__version__ = "0.1.0"

from .run import Run, RunState  # noqa: E402  (torch-free until a Run is built)
from .session import Session  # noqa: E402

__all__ = ["Run", "RunState", "Session", "__version__"]
