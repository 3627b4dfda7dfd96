"""NN Playground engine: everything that is not drawing. Imports no Qt, no pyqtgraph.

Keep this module light: torch is imported only by the modules that need it,
so the GUI can show its window before paying for ``import torch``.
"""
__version__ = "0.1.0"
