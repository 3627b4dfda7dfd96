"""Help ▸ Phenomena: one-click sessions that show a training phenomenon, each with its explanation card.

Choosing one opens the preset as a new untitled document (like Help ▸ Examples: Save asks where,
the shipped file stays as it is) and shows its card — what happens, why, what to watch, the cure —
in a small window beside the main one. The cards' claims are measured by ``engine.phenomena``
and checked by the tests. A phenomenon seen across settings rather than in one run (double descent:
held-out error against width) has a sweep: its card's button fills Experiments ▸ Side-by-side
variants with it and starts it, so one click shows the curve.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from engine.phenomena import Preset, Sweep, presets
from engine.variants import LABELS


class PhenomenonCard(QWidget):
    def __init__(self, preset: Preset, parent=None, on_sweep=None):
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
        self.sweep_button = None
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        scroll = QScrollArea()  # a long card scrolls instead of being cut off at the window's bottom
        scroll.setObjectName("cardScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        inner = QWidget()  # in a layout the label wraps to the viewport's width (heightForWidth)
        il = QVBoxLayout(inner)
        il.setContentsMargins(0, 0, 4, 0)
        il.addWidget(self.text)
        il.addStretch(1)
        scroll.setWidget(inner)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        if preset.sweep is not None:
            sw = preset.sweep
            self.hint.setText(f"Run the width sweep: the {len(sw.values)} values {sw.text()} of the "
                              f"{LABELS[sw.setting]}, side by side in Experiments ▸ Variants.")
            self.sweep_button = QPushButton("Run the width sweep" if sw.setting == "units" else "Run the sweep")
            self.sweep_button.setObjectName("phenomenonSweep")
            self.sweep_button.setEnabled(on_sweep is not None)
            if on_sweep is not None:
                self.sweep_button.clicked.connect(lambda: on_sweep(sw))
            row.addWidget(self.sweep_button)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.resize(440, 380 if len(preset.card) < 900 else 520)


def open_preset(win, preset: Preset):
    """Open the preset's session (asking first about unsaved changes) and show its card."""
    if not win.files.open_example(str(preset.path)):
        return None
    old = win.__dict__.get("phenomenon_card")
    if old is not None:
        old.close()
    card = PhenomenonCard(preset, on_sweep=lambda sw: run_sweep(win, sw))
    card.setParent(win, Qt.Window)
    g = win.frameGeometry()
    screen = win.screen().availableGeometry() if win.screen() is not None else g
    card.move(max(screen.left(), min(g.right(), screen.right()) - card.width() - 20), g.top() + 80)
    card.show()
    win.phenomenon_card = card
    return card


def run_sweep(win, sweep: Sweep):
    """Experiments ▸ Side-by-side variants on the document's session, filled with ``sweep`` and started."""
    view = win.experiments_window().open_page("variants")
    view.configure(sweep.setting, sweep.text(), sweep.epochs)
    view.start()
    return view


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
