"""File menu behaviour: New from a template, Open, Open Recent, Save, Save As, Revert, examples.

Dialog calls sit in small methods (``ask_unsaved``, ``ask_open_path``,
``ask_save_path``, ``ask_template``) so tests replace them instead of
clicking through modal dialogs.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from . import templates
from .new_dialog import TemplateDialog
from .settings import app_settings
from .style import RESOURCES

MAX_RECENT = 8
FILTER = "NN Playground sessions (*.json *.nnp);;JSON session (*.json);;All files (*)"


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
        return QFileDialog.getOpenFileName(self.win, "Open session", self._start_dir(), FILTER)[0]

    def ask_save_path(self) -> str:
        start = os.path.join(self._start_dir(), self.doc.display_name + ".json")
        return QFileDialog.getSaveFileName(self.win, "Save session as", start, FILTER)[0]

    def ask_template(self):
        return TemplateDialog.choose(self.win)

    def _start_dir(self):
        if self.doc.path:
            return os.path.dirname(self.doc.path)
        recent = self.recent()
        return os.path.dirname(recent[0]) if recent else str(Path.home())

    # -- actions ------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded, or clean)."""
        if not self.doc.dirty:
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
        self.doc.set_session(templates.make(key))
        return True

    def open(self, path=None):
        if not self.maybe_save():
            return False
        path = path or self.ask_open_path()
        return bool(path) and self.win.open_path(path)

    def open_example(self, path):
        if self.maybe_save():
            self.win.open_path(path, as_example=True)

    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self.win.save_to(self.doc.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        if not os.path.splitext(path)[1]:
            path += ".json"
        return self.win.save_to(path)

    def revert(self):
        if not self.doc.path:
            return False
        if self.doc.dirty and QMessageBox.question(
                self.win, "Revert", f"Discard all changes since “{self.doc.display_name}” was saved?",
                QMessageBox.Discard | QMessageBox.Cancel) != QMessageBox.Discard:
            return False
        return self.win.open_path(self.doc.path)

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

    def fill_examples_menu(self, menu):
        menu.clear()
        items = self.examples()
        for p in items:
            a = menu.addAction(p.stem.replace("_", " "))
            a.setStatusTip(str(p))
            a.triggered.connect(lambda _=False, p=p: self.open_example(str(p)))
        if not items:
            menu.addAction("(no examples found)").setEnabled(False)
