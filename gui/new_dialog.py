"""File ▸ New: pick a starting template."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from .templates import FIRST_LAUNCH, TEMPLATES


class TemplateDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New session")
        self.setObjectName("templateDialog")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Start from:"))
        self.list = QListWidget()
        self.list.setObjectName("templateList")
        self.list.setSpacing(2)
        for t in TEMPLATES:
            it = QListWidgetItem(f"{t.title}\n    {t.description}")
            it.setData(Qt.UserRole, t.key)
            it.setToolTip(t.description)
            self.list.addItem(it)
            if t.key == FIRST_LAUNCH:
                self.list.setCurrentItem(it)
        self.list.itemDoubleClicked.connect(lambda _it: self.accept())
        lay.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(520, 360)

    def chosen(self) -> str | None:
        it = self.list.currentItem()
        return it.data(Qt.UserRole) if it is not None else None

    @classmethod
    def choose(cls, parent=None) -> str | None:
        dlg = cls(parent)
        return dlg.chosen() if dlg.exec() == QDialog.Accepted else None
