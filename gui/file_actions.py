"""File menu behaviour: New from a template, Open, Open Recent, Save, Save As, Revert, examples.

Dialog calls sit in small methods (``ask_unsaved``, ``ask_open_path``,
``ask_save_path``, ``ask_template``, ``ask_revert``, ``notify``) so tests
replace them instead of clicking through modal dialogs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from . import templates
from .new_dialog import EXAMPLE_PREFIX, TemplateDialog
from .settings import app_settings
from .style import RESOURCES

MAX_RECENT = 8
NNP_FILTER = "Session with training: settings, weights and history (*.nnp)"
JSON_FILTER = "Settings only, no weights or history (*.json)"
OPEN_FILTER = f"NN Playground sessions (*.nnp *.json);;{NNP_FILTER};;{JSON_FILTER};;All files (*)"
SAVE_FILTER = f"{NNP_FILTER};;{JSON_FILTER}"
FILTER = OPEN_FILTER  # kept for callers of the old name


class FileActions:
    def __init__(self, window):
        self.win = window

    @property
    def doc(self):
        return self.win.doc

    # -- dialogs (replaced in tests) --------------------------------------------
    def ask_unsaved(self):
        return QMessageBox.question(
            self.win, "Unsaved changes", f"Save changes to “{self.doc.display_name}” before closing it?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def ask_open_path(self) -> str:
        return QFileDialog.getOpenFileName(self.win, "Open session", self._start_dir(), OPEN_FILTER)[0]

    def ask_save_path(self) -> str:
        """A path with the extension of the chosen file type (``.nnp`` unless ``.json`` is picked)."""
        start = os.path.join(self._start_dir(), self.doc.display_name + ".nnp")
        path, chosen = QFileDialog.getSaveFileName(self.win, "Save session as", start, SAVE_FILTER, NNP_FILTER)
        if path and not os.path.splitext(path)[1]:
            path += ".json" if chosen == JSON_FILTER else ".nnp"
        return path

    def ask_revert(self) -> bool:
        return QMessageBox.question(
            self.win, "Revert", f"Discard all changes since “{self.doc.display_name}” was saved and reload it?",
            QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel) == QMessageBox.Discard

    def notify(self, title, text):
        """A file could not be read or written: say why (tests record instead)."""
        QMessageBox.warning(self.win, title, text)

    def ask_template(self):
        return TemplateDialog.choose(self.win, [(self.example_title(p), p) for p in self.examples()])

    def _start_dir(self):
        if self.doc.path:
            return os.path.dirname(self.doc.path)
        recent = self.recent()
        return os.path.dirname(recent[0]) if recent else str(Path.home())

    # -- actions ------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded, or clean)."""
        if not self.win.has_unsaved_changes():
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new(self):
        if not self.maybe_save():
            return False
        key = self.ask_template()
        if key is None:
            return False
        if key.startswith(EXAMPLE_PREFIX):
            return self._open(key[len(EXAMPLE_PREFIX):], as_example=True)
        self.win.load_session(templates.make(key))
        return True

    def _open(self, path, as_example=False) -> bool:
        """Say "Opening …" (painted at once, with a busy cursor) before a load that may take seconds."""
        self.win.statusBar().showMessage(f"Opening {os.path.basename(os.fspath(path))}…")
        self.win.statusBar().repaint()  # paint now: the load below holds the event loop
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            return self.win.open_path(path, as_example=as_example) if as_example else self.win.open_path(path)
        finally:
            QApplication.restoreOverrideCursor()

    def open_file_argument(self, path) -> bool:
        """The file named on the command line, opened once the window is on screen."""
        return self._open(path)

    def open(self, path=None):
        if not self.maybe_save():
            return False
        path = path or self.ask_open_path()
        return bool(path) and self._open(path)

    def open_example(self, path) -> bool:
        """An example opens as a new untitled document: Save asks where, the example file stays as shipped."""
        return self.maybe_save() and self._open(path, as_example=True)

    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self.win.save_to(self.doc.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        if not os.path.splitext(path)[1]:  # no type chosen: keep trained weights if there are any
            path += ".nnp" if self.win.trained_state() is not None else ".json"
        return self.win.save_to(path)

    def revert(self):
        """Reload the file from disk (after a confirmation when something would be lost)."""
        if not self.doc.path:
            return False
        if self.win.has_unsaved_changes() and not self.ask_revert():
            return False
        return self._open(self.doc.path)

    # -- recent files and examples ---------------------------------------------------
    def recent(self) -> list[str]:
        v = app_settings().value("recentFiles", [])
        if isinstance(v, str):
            v = [v]
        return [p for p in (v or []) if isinstance(p, str)]

    def add_recent(self, path):
        items = [path] + [p for p in self.recent() if p != path]
        s = app_settings()
        s.setValue("recentFiles", items[:MAX_RECENT])
        s.sync()

    def fill_recent_menu(self, menu):
        menu.clear()
        items = [p for p in self.recent() if os.path.exists(p)]
        for p in items:
            a = menu.addAction(os.path.basename(p))
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open(p))
        if not items:
            menu.addAction("(no recent files)").setEnabled(False)

    @staticmethod
    def examples() -> list[Path]:
        return sorted((RESOURCES / "examples").glob("*.json"))

    @staticmethod
    def example_title(path) -> str:
        """The example's ``name`` field (its file name if it has none or cannot be read)."""
        try:
            with open(path, encoding="utf-8") as f:
                name = json.load(f).get("name")
        except (OSError, ValueError, AttributeError):
            name = None
        return name.strip() if isinstance(name, str) and name.strip() else Path(path).stem.replace("_", " ")

    def fill_examples_menu(self, menu):
        menu.clear()
        items = self.examples()
        for p in items:
            a = menu.addAction(self.example_title(p))
            a.setObjectName(f"example_{p.stem}")
            a.setStatusTip(str(p))
            a.triggered.connect(lambda _=False, p=p: self.open_example(str(p)))
        if not items:
            menu.addAction("(no examples found)").setEnabled(False)
