"""Layer registry: one module per layer family registers its types on import."""
from .base import LAYERS, LayerType, ShapeError, get_layer, register_layer, shape_str

_MODULES = ("io", "dense", "activation", "dropout", "norm", "merge", "reshape", "conv", "pool", "embedding", "recurrent")
_loaded = False


def _load_all():
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for m in _MODULES:
        importlib.import_module(f"{__name__}.{m}")


def all_layers() -> dict:
    _load_all()
    return dict(LAYERS)


__all__ = ["LAYERS", "LayerType", "ShapeError", "get_layer", "register_layer", "shape_str", "all_layers"]
