"""File ▸ Export: the model in five formats, the training history and the dataset as CSV, a TensorBoard log
(``gui.export_tensorboard``), the current plot.

Model exports go through ``engine.export.export_session`` with the live
trainer when it trained the open network (read under ``snapshot()``, so no step
runs meanwhile), else with the session and its initial weights. The training
history and current-plot entries come from live training
(``gui.training.live_views``); ``arrange`` keeps all of them in one menu, in order.
``ask_path`` and ``notify`` are the only dialogs; tests replace them.
"""
from __future__ import annotations

import os
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from engine.errors import InvalidInput

# format, menu text, file filter, extension
MODEL_FORMATS = (
    ("onnx", "&ONNX…", "ONNX model (*.onnx)", ".onnx"),
    ("torchscript", "&TorchScript…", "TorchScript module (*.pt)", ".pt"),
    ("safetensors", "&safetensors…", "safetensors weights (*.safetensors)", ".safetensors"),
    ("pytorch", "PyTorch &Source…", "Python source (*.py)", ".py"),
    ("report", "&HTML Report…", "HTML report (*.html)", ".html"),
)
PLACEHOLDER = "(train a network first)"
HISTORY_ACTION = "action_export_history"
PLOT_MENU = "Current &Plot"


def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "session"


class ExportMenu:
    def __init__(self, win):
        self.win = win
        self.menu = win.export_menu
        for a in list(self.menu.actions()):
            if a.text() == PLACEHOLDER:
                self.menu.removeAction(a)
        self.model_menu = self.menu.addMenu("&Model")
        self.model_menu.setObjectName("exportModelMenu")
        self.actions = {}
        for fmt, text, _, _ in MODEL_FORMATS:
            a = self.model_menu.addAction(text)
            a.setObjectName(f"action_export_{fmt}")
            a.triggered.connect(lambda _=False, f=fmt: self.export_model(f))
            self.actions[fmt] = a
        self.model_menu.addSeparator()
        self.actions["with_scaling"] = a = self.model_menu.addAction("Include the Data's &Scaling")
        a.setObjectName("action_export_with_scaling")
        a.setCheckable(True)
        a.setChecked(True)
        a.setStatusTip("On: the exported model takes raw inputs (scaling and feature crosses are its first layers). "
                       "Off: the bare network, which expects inputs already scaled as in training")
        self.actions["dataset"] = a = self.menu.addAction("&Dataset with Split (CSV)…")
        a.setObjectName("action_export_dataset")
        a.setStatusTip("The data points (before scaling and feature expansion), their split and target")
        a.triggered.connect(lambda _=False: self.export_dataset())
        from .export_tensorboard import TensorBoardExport

        self.tensorboard = TensorBoardExport(win, self.menu)  # File ▸ Export ▸ TensorBoard Log…
        self.menu.aboutToShow.connect(self.arrange)

    # -- dialogs (replaced in tests) ----------------------------------------------
    def ask_path(self, title, default_name, file_filter) -> str | None:
        folder = os.path.dirname(self.win.doc.path) if self.win.doc.path else os.path.expanduser("~")
        return QFileDialog.getSaveFileName(self.win, title, os.path.join(folder, default_name), file_filter)[0] or None

    def notify(self, title, text):
        QMessageBox.warning(self.win, title, text)

    # -- layout ---------------------------------------------------------------------
    def arrange(self):
        """Model ▸, Training History, Dataset, then Current Plot ▸ (live training adds two of them later)."""
        acts = self.menu.actions()
        history = [a for a in acts if a.objectName() == HISTORY_ACTION]
        plot = [a for a in acts if a.menu() is not None and a.text() == PLOT_MENU]
        order = [self.model_menu.menuAction(), *history, self.actions["dataset"]]
        rest = [a for a in acts if a not in order and a not in plot and not a.isSeparator()]
        if [a for a in acts if not a.isSeparator()] == order + rest + plot:
            return
        for a in acts:
            self.menu.removeAction(a)
        self.menu.addActions(order + rest)
        if plot:
            self.menu.addSeparator()
            self.menu.addActions(plot)

    # -- exports ----------------------------------------------------------------------
    def _default_name(self, ext):
        return _slug(self.win.doc.display_name) + ext

    def export_model(self, fmt, path=None):
        """Ask for a file and write the model in ``fmt``; returns the path written or None."""
        from engine.export import FORMATS

        if fmt not in FORMATS:
            raise InvalidInput(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        _, text, file_filter, ext = next(m for m in MODEL_FORMATS if m[0] == fmt)
        label = text.replace("&", "").rstrip("…")
        path = path or self.ask_path(f"Export {label}", self._default_name(ext), file_filter)
        if not path:
            return None
        if not os.path.splitext(path)[1]:
            path += ext
        try:
            written, trained = self._write_model(fmt, path)
        except Exception as e:  # noqa: BLE001 - exporters (torch, onnx) raise their own types; show them all
            text = str(e) if isinstance(e, InvalidInput) else f"{type(e).__name__}: {e}"
            self.notify("Export failed", f"Exporting {label} to {path} failed:\n{text}")
            return None
        what = "trained" if trained else "untrained (initial weights)"
        self.win.statusBar().showMessage(f"Exported the {what} model as {label} to {written}", 8000)
        return written

    def _write_model(self, fmt, path):
        from engine.export import export_session

        c = self.win.controller
        QApplication.setOverrideCursor(Qt.WaitCursor)  # torch and the exporters load now
        try:
            with c.snapshot() as trainer:  # between two steps; the training goes on afterwards
                source = trainer if trainer is not None else self.win.doc.session
                # the file dialog asked before replacing `path`; files written beside it stay protected
                bare = not self.actions["with_scaling"].isChecked()
                return (export_session(source, fmt, path, replace_out=True, bare=bare),
                        trainer is not None and trainer.step > 0)
        finally:
            QApplication.restoreOverrideCursor()

    def dataset(self):
        """The trainer's data when it trained the open network, else the session's data built afresh."""
        tr = self.win.trained_state()
        if tr is not None:
            return tr.data
        from engine.data import make_dataset

        s = self.win.doc.session
        return make_dataset(s.dataset, seed=s.seed)

    def export_dataset(self, path=None):
        from engine.data.export_csv import export_dataset_csv

        path = path or self.ask_path("Export dataset with split", self._default_name("_data.csv"), "CSV table (*.csv)")
        if not path:
            return None
        if not os.path.splitext(path)[1]:
            path += ".csv"
        try:
            written = export_dataset_csv(self.dataset(), path)
        except InvalidInput as e:
            self.notify("Export failed", f"Exporting the dataset to {path} failed:\n{e}")
            return None
        self.win.statusBar().showMessage(f"Saved the dataset with its split to {written}", 8000)
        return written


def install_export_menu(win) -> ExportMenu:
    """Fill ``win.export_menu`` (File ▸ Export); returns the ``ExportMenu`` (also ``win.export``)."""
    win.export = ExportMenu(win)
    return win.export
