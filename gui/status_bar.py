"""Status-bar pieces that keep the message area readable in a narrow (1024 px) window.

The permanent "✗ node 'dense4': this node's output goes nowhere…" label used to take half
the bar, so a message such as "Cannot train: …" was cut after three words. ``ElidedLabel``
asks for at most ``MAX_WIDTH`` px and shortens its text with "…" to the width it gets; the
whole text stays in ``text()`` (and the validity label's tooltip lists every error).
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

MAX_WIDTH = 300  # px a permanent status label may claim


class ElidedLabel(QLabel):
    def __init__(self, text="", parent=None, max_width=MAX_WIDTH):
        super().__init__(parent)
        self._full = ""
        self.max_width = max_width
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.setText(text)

    def text(self) -> str:  # the whole text, not the shortened one on screen
        return self._full

    def setText(self, text):
        self._full = str(text)
        self._elide()
        self.updateGeometry()

    def _elide(self):
        m = self.contentsMargins()
        room = max(self.width() - m.left() - m.right(), 10)
        super().setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, room))

    def sizeHint(self):
        m = self.contentsMargins()
        w = self.fontMetrics().horizontalAdvance(self._full) + m.left() + m.right() + 2
        return QSize(min(w, self.max_width), super().sizeHint().height())

    def minimumSizeHint(self):
        return QSize(min(60, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._elide()
