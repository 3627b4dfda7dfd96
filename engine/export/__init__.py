"""Export a session's model (ONNX, TorchScript, safetensors, standalone PyTorch source) or an HTML report.

Every exporter receives an ``Exportable``: a fresh CPU float32 copy of the
network in eval mode with the trained weights loaded (or the initial weights
when nothing was trained yet), so exporting never touches a live trainer.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InvalidInput

FORMATS = ("onnx", "torchscript", "safetensors", "pytorch", "report")


@dataclass
class Exportable:
    session: object  # engine.session.Session
    model: object  # engine.builder.GraphModule, eval mode, CPU
    history: object = None  # engine.history.History or None
    trained: bool = False
    summary: dict | None = None  # archive history summary, when known
    source: str = ""  # where it came from, for messages and the report

    @property
    def report(self):
        return self.model.report

    def example_input(self, batch: int = 2):
        """A batch that every layer accepts (zeros are valid Embedding indices too)."""
        import torch

        return torch.zeros(batch, *self.report.shapes[self.report.input_id])


def _fresh_model(session, state_dict=None):
    from ..builder import build_model

    model = build_model(session.graph, seed=session.seed)
    if state_dict is not None:
        from ..archive import check_model_tensors

        check_model_tensors(model, {f"model.{k}": v for k, v in state_dict.items()})
        model.load_state_dict({k: v.detach().to("cpu") for k, v in state_dict.items()})
    model.float().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_exportable(source) -> Exportable:
    """``source``: a ``.nnp``/``.json`` path, a Session, an ``Archive`` or a live ``Trainer``."""
    from ..archive import Archive, check_session_limits, load_archive
    from ..session import Session, load_session

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.endswith(".nnp"):
            source = load_archive(path)
        else:
            session = load_session(path)
            check_session_limits(session, strict=True, where=os.path.basename(path))
            return Exportable(session, _fresh_model(session), source=path)
    if isinstance(source, Archive):
        state = source.model_tensors() if source.trained else None
        history = source.history if source.trained else None
        return Exportable(source.session, _fresh_model(source.session, state), history, source.trained,
                          source.summary, source.path or "")
    if isinstance(source, Session):
        check_session_limits(source, strict=True)
        return Exportable(source, _fresh_model(source), source="")
    if hasattr(source, "model") and hasattr(source, "session") and hasattr(source, "history"):  # a Trainer
        trained = source.history.n_epochs > 0 or source.step > 0
        return Exportable(source.session, _fresh_model(source.session, source.model.state_dict()), source.history,
                          trained, None, "")
    raise InvalidInput(f"cannot export {type(source).__name__}: give a session file (.json or .nnp) or a session")


def export_session(session_path_or_obj, fmt: str, out_path) -> str:
    """Write ``out_path`` in ``fmt`` (one of FORMATS) and return the path written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    out_path = os.fspath(out_path)
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise InvalidInput(f"cannot write {out_path}: the folder {folder} does not exist")
    ex = load_exportable(session_path_or_obj)
    if fmt == "onnx":
        from .onnx_export import export_onnx as fn
    elif fmt == "torchscript":
        from .torchscript_export import export_torchscript as fn
    elif fmt == "safetensors":
        from .weights_export import export_weights as fn
    elif fmt == "pytorch":
        from .pytorch_source import export_pytorch as fn
    else:
        from .report import export_report as fn
    return fn(ex, out_path)


def write_bytes(path, data) -> str:
    """Atomic write; an OSError becomes an InvalidInput naming the path."""
    from ..session import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise InvalidInput(f"cannot write {path}: {e.strerror or e}") from None
    return os.fspath(path)


__all__ = ["FORMATS", "Exportable", "export_session", "load_exportable", "write_bytes"]
