"""File ▸ New: pick a starting template, or one of the example sessions."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from .templates import FIRST_LAUNCH, TEMPLATES


EXAMPLE_PREFIX = "example:"


class TemplateDialog(QDialog):
    def __init__(self, parent=None, examples=()):
        """``examples``: (title, path) pairs, listed after the templates; choosing one returns ``example:PATH``."""
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
        if examples:
            head = QListWidgetItem("Examples")
            head.setFlags(Qt.NoItemFlags)
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            self.list.addItem(head)
            for title, path in examples:
                it = QListWidgetItem(f"{title}\n    example session: {path.name if hasattr(path, 'name') else path}")
                it.setData(Qt.UserRole, f"{EXAMPLE_PREFIX}{path}")
                it.setToolTip(str(path))
                self.list.addItem(it)
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
    def choose(cls, parent=None, examples=()) -> str | None:
        dlg = cls(parent, examples)
        return dlg.chosen() if dlg.exec() == QDialog.Accepted else None
