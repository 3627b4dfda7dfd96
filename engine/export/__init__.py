"""Export a session's model (ONNX, TorchScript, safetensors, standalone PyTorch source) or an HTML report.

Every exporter receives an ``Exportable``: a fresh CPU float32 copy of the
network in eval mode with the trained weights loaded (or the initial weights
when nothing was trained yet), so exporting never touches a live trainer.

The dataset's scaling and feature crosses belong to the model: a network trained
on standardised inputs answers wrongly on raw rows. So ONNX, TorchScript and the
PyTorch source put them in front of the network as its first layers (``bare=True``
exports the network alone), and the weights export and the report list their
fitted numbers. The fitted state comes from the live trainer's data or, for a
file, from rebuilding the dataset, which the seed makes bit-for-bit identical.
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
    bare: bool = False  # export the network alone, without the dataset's preprocessing in front
    name: str = ""  # the model's name in exported files; see ``export_name``
    data: object = None  # the engine.data.Dataset, when already built (a live trainer's)
    early: dict | None = None  # early stopping's counters ({"best_epoch", "stopped_epoch", ...}) when it ran
    _state: dict | None = None

    @property
    def report(self):
        return self.model.report

    @property
    def network_input_shape(self) -> tuple:
        return tuple(self.report.shapes[self.report.input_id])

    def dataset(self):
        """The session's dataset (built once, on first use): the fitted preprocessing and the test split."""
        if self.data is None:
            from ..data import make_dataset

            try:
                self.data = make_dataset(self.session.dataset, seed=self.session.seed)
            except InvalidInput as e:
                raise InvalidInput(f"cannot rebuild the dataset to read its fitted scaling: {e} "
                                   "(export the bare network to skip the scaling)") from None
        return self.data

    @property
    def preprocess_state(self) -> dict:
        """The fitted preprocessing ({} when the inputs are used as they are)."""
        if self._state is None:
            from ..data.preprocess import preprocess_canonical

            spec = preprocess_canonical((self.session.dataset or {}).get("preprocess"))
            needed = spec["scale"] != "none" or bool(spec["features"])
            self._state = dict(self.dataset().preprocess_state) if needed or self.data is not None else {}
        return self._state

    @property
    def with_preprocess(self) -> bool:
        """True when the exported model starts with the scaling/feature layers."""
        from .preprocess_module import has_preprocessing

        return not self.bare and has_preprocessing(self.preprocess_state)

    @property
    def input_shape(self) -> tuple:
        """One sample as the exported model takes it: raw when the preprocessing is included."""
        from .preprocess_module import raw_input_shape

        if self.with_preprocess:
            return raw_input_shape(self.preprocess_state, self.network_input_shape)
        return self.network_input_shape

    def export_model(self):
        """The module ONNX and TorchScript trace: preprocessing + network, or the bare network."""
        if not self.with_preprocess:
            return self.model
        from .preprocess_module import Preprocess, WithPreprocess

        return WithPreprocess(Preprocess(self.preprocess_state), self.model).eval()

    def example_input(self, batch: int = 2):
        """A batch that every layer accepts (zeros are valid Embedding indices too)."""
        import torch

        return torch.zeros(batch, *self.input_shape)


def export_name(session, source_path="", out_path="") -> str:
    """The session's name; an unnamed ("Untitled") session is named after its file, else after the export."""
    name = (getattr(session, "name", "") or "").strip()
    if name and name.lower() != "untitled":
        return name
    for path in (source_path, out_path):
        stem = os.path.splitext(os.path.basename(os.fspath(path)))[0] if path else ""
        if stem:
            return stem
    return name or "network"


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


def load_exportable(source, *, bare: bool = False, out_path="") -> Exportable:
    """``source``: a ``.nnp``/``.json`` path, a Session, an ``Archive``, a ``Run`` or a live ``Trainer``.

    ``bare``: export the network without the dataset's preprocessing in front of it.
    """
    ex = _load_exportable(source)
    ex.bare = bool(bare)
    ex.name = export_name(ex.session, ex.source, out_path)
    return ex


def _load_exportable(source) -> Exportable:
    from ..archive import Archive, check_session_limits, load_archive
    from ..session import Session, load_session

    if getattr(source, "trainer", None) is not None and hasattr(source, "fit"):  # an engine.Run that was built
        source = source.trainer
    elif hasattr(source, "fit") and hasattr(source, "session") and hasattr(source, "trainer"):  # a Run not built
        source = source.session

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
                          source.summary, source.path or "",
                          early=(source.meta or {}).get("early_stopping") if source.trained else None)
    if isinstance(source, Session):
        check_session_limits(source, strict=True)
        return Exportable(source, _fresh_model(source), source="")
    if hasattr(source, "model") and hasattr(source, "session") and hasattr(source, "history"):  # a Trainer
        trained = source.history.n_epochs > 0 or source.step > 0
        return Exportable(source.session, _fresh_model(source.session, source.model.state_dict()), source.history,
                          trained, None, "", data=getattr(source, "data", None),
                          early=source.early.state_dict() if getattr(source, "early", None) is not None else None)
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


def export_session(session_path_or_obj, fmt: str, out_path, *, bare: bool = False, force: bool = False, inputs=(),
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
    ex = load_exportable(session_path_or_obj, bare=bare, out_path=out_path)
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
