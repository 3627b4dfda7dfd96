"""Help ▸ Phenomena: one-click sessions that show a training phenomenon, each with its explanation card.

Choosing one opens the preset as a new untitled document (like Help ▸ Examples: Save asks where,
the shipped file stays as it is) and shows its card — what happens, why, what to watch, the cure —
in a small window beside the main one. The cards' claims are measured by ``engine.phenomena``
and checked by the tests.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from engine.phenomena import Preset, presets


class PhenomenonCard(QWidget):
    def __init__(self, preset: Preset, parent=None):
        super().__init__(parent)
        self.preset = preset
        self.setWindowTitle(preset.title)
        self.title = QLabel(f"<b>{preset.title}</b>")
        self.title.setObjectName("title")
        self.title.setWordWrap(True)
        self.text = QLabel(preset.card)
        self.text.setObjectName("card")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.hint = QLabel("Press Train (F5) and watch the plots the card names.")
        self.hint.setWordWrap(True)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        lay = QVBoxLayout(self)
        for w in (self.title, self.text, self.hint):
            lay.addWidget(w)
        lay.addStretch(1)
        lay.addWidget(close, 0, Qt.AlignRight)
        self.resize(420, 300)


def open_preset(win, preset: Preset):
    """Open the preset's session (asking first about unsaved changes) and show its card."""
    if not win.files.open_example(str(preset.path)):
        return None
    old = win.__dict__.get("phenomenon_card")
    if old is not None:
        old.close()
    card = PhenomenonCard(preset)
    card.setParent(win, Qt.Window)
    g = win.frameGeometry()
    screen = win.screen().availableGeometry() if win.screen() is not None else g
    card.move(max(screen.left(), min(g.right(), screen.right()) - card.width() - 20), g.top() + 80)
    card.show()
    win.phenomenon_card = card
    return card


def add_phenomena_menu(win, help_menu):
    """Help ▸ Phenomena ▸ one action per preset (``phenomenon_<key>``)."""
    m = help_menu.addMenu("&Phenomena")
    m.setObjectName("phenomenaMenu")
    for p in presets():
        a = m.addAction(p.title.removeprefix("Phenomenon: "))
        a.setObjectName(f"phenomenon_{p.key}")
        a.setStatusTip(p.card.split(". ")[0] + ".")
        a.triggered.connect(lambda _=False, p=p: open_preset(win, p))
    win.phenomena_menu = m
    return m


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    w = PhenomenonCard(presets()[0])
    w.show()
    sys.exit(app.exec())
