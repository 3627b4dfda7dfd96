"""A one-line label that ends in … when its space is short, so a narrow dock keeps its layout.

``text()`` stays the whole line and the tooltip shows it; only the painting is shortened. Used where a
wrapped second or third line would push a plot or a panel's first line out of sight.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setMinimumWidth(1)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # elides instead of widening its dock
        self.setToolTip(text)

    def setText(self, text):
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event):
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.drawText(rect, int(Qt.AlignLeft | Qt.AlignVCenter),
                         self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width()))
