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


def companion_paths(fmt: str, out_path: str) -> list:
    """Every file an export of ``fmt`` to ``out_path`` writes, as ``(path, kind, role)``; the main file first.

    Each one is checked before anything is written: a companion must never silently replace a user's file
    (``net.safetensors`` also writes ``net.json``, which could be the user's session of that name).
    """
    out = [(out_path, fmt, "")]
    if fmt == "safetensors":
        from .weights_export import sidecar_path

        out.append((sidecar_path(out_path, ".json"), "json", "the architecture file"))
    elif fmt == "pytorch":  # the same rule as pytorch_source.export_pytorch (a test keeps them equal)
        root = os.path.splitext(out_path)[0] if os.path.splitext(out_path)[1] else out_path
        out.append((root + "_weights.safetensors", "safetensors", "the weights file"))
    return out


def export_session(session_path_or_obj, fmt: str, out_path, *, force: bool = False, inputs=(),
                   replace_out: bool = False) -> str:
    """Write ``out_path`` in ``fmt`` (one of FORMATS) and return the path written.

    Refused before any work: a folder, device or FIFO as a target, the session being exported
    (``inputs``), and an existing file that NN Playground did not write, unless ``force``.
    ``replace_out``: the user already confirmed replacing ``out_path`` itself (a file dialog);
    the files written beside it are still protected.
    """
    from ..safe_io import check_output, same_file

    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    out_path = os.fspath(out_path)
    sources = list(inputs)
    if isinstance(session_path_or_obj, (str, os.PathLike)):
        sources.append(os.fspath(session_path_or_obj))
    for i, (path, kind, role) in enumerate(companion_paths(fmt, out_path)):
        check_output(path, kind, inputs=sources, force=force or (replace_out and i == 0), role=role)
        if any(same_file(path, p) for p in sources):  # even with --force: an export never eats its own source
            raise InvalidInput(f"{role or '--out'} {path} is the session being exported; choose another name")
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
    """Atomic write (keeps an existing file's mode; writes through a symlink); an OSError becomes an InvalidInput."""
    from ..safe_io import atomic_write_bytes, write_error

    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise InvalidInput(write_error(path, e)) from None
    return os.fspath(path)


__all__ = ["FORMATS", "Exportable", "companion_paths", "export_session", "load_exportable", "write_bytes"]
