"""The Properties panel with no layer selected: the notes' architecture rules of thumb read against the network.

``engine.rules_of_thumb`` does the reading (lectures 002 and 004); this box only shows its items, one line
each with a mark (✓ follows it, ➜ a suggestion, · the rule says nothing definite here), the exact quote in
the tooltip, and the notes' own caveat on top: heuristics, not laws. It re-reads on every graph report and on
the session fields the rules look at (dataset, regularizers, training, optimizer), and holds nothing else.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout

from engine.errors import InvalidInput
from engine.rules_of_thumb import NOTE, rules_of_thumb

MARKS = {"ok": ("✓", "#2e7d32"), "consider": ("➜", "#8a4b00"), "info": ("·", "#5b6573")}
FIELDS = ("dataset", "regularizers", "training", "optimizer")


class RulesOfThumbBox(QGroupBox):
    def __init__(self, document, parent=None):
        super().__init__("Rules of thumb (lectures 002, 004)", parent)
        self.setObjectName("rulesOfThumb")
        self.doc = document
        self.items = []
        self.lay = QVBoxLayout(self)
        self.lay.setSpacing(4)
        self.note = QLabel("Heuristics from the notes, not laws; some pull against each other.")
        self.note.setToolTip(NOTE)
        self.note.setObjectName("rulesNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #5b6573; font-style: italic;")
        self.lay.addWidget(self.note)
        self.rows: list[QLabel] = []
        self.setToolTip("Each line reads one rule of the notes against this network; hover a line for the quote. "
                        "Nothing here stops training: the notes call them thoughts and rules of thumb.")
        document.validityChanged.connect(self._on_report)
        document.sessionChanged.connect(self._on_session_changed)
        document.sessionReplaced.connect(self.refresh)
        self.refresh()

    @Slot(object)
    def _on_report(self, _report):
        self.refresh()

    @Slot(str)
    def _on_session_changed(self, key):
        if key in FIELDS:
            self.refresh()

    def _label(self):
        lab = QLabel()
        lab.setWordWrap(True)
        lab.setTextFormat(Qt.RichText)
        lab.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.lay.addWidget(lab)
        self.rows.append(lab)
        return lab

    def refresh(self):
        try:
            self.items = rules_of_thumb(self.doc.session, self.doc.report)
            error = None
        except InvalidInput as e:
            self.items, error = [], str(e)
        while len(self.rows) < max(len(self.items), 1):
            self._label()
        for lab in self.rows:
            lab.hide()
        if error:
            lab = self.rows[0]
            lab.setText(f"<span style='color:#5b6573'>{html.escape(error)}</span>")
            lab.setToolTip("")
            lab.show()
            self._fit()
            return
        for lab, a in zip(self.rows, self.items):
            mark, colour = MARKS.get(a.verdict, ("·", "#5b6573"))
            text = (f"<span style='color:{colour}'><b>{mark} {html.escape(a.title)}</b></span> "
                    f"<span style='color:#5b6573'>({a.seed})</span>: {html.escape(a.has)}")
            if a.suggestion:
                text += f" — <span style='color:{colour}'>{html.escape(a.suggestion)}</span>"
            lab.setText(text)
            lab.setToolTip(f"Lecture {a.seed}: “{a.quote}”" if a.quote else "")
            lab.setObjectName(f"rule_{a.key}")
            lab.show()
        self._fit()

    def _fit(self):
        """Ask for every wrapped line's full height: in the Properties scroll area a short dock (1024×700)
        squeezed the box and cut its lines instead of scrolling."""
        for lab in (self.note, *self.rows):
            if not lab.isHidden():
                lab.setMinimumHeight(lab.heightForWidth(max(lab.width(), 120)))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()


if __name__ == "__main__":  # python -m gui.panels.rules_panel: the rules for a wide one-layer network on the circle
    import sys

    from engine.session import Session
    from engine.spec import GraphSpec
    from gui.document import Document
    from gui.panels import preview

    def _make():
        s = Session()
        s.graph = GraphSpec.sequential([{"type": "Input", "params": {"shape": [2]}},
                                        {"type": "Dense", "params": {"units": 16, "activation": "relu"}},
                                        {"type": "Dense", "params": {"units": 1, "activation": "sigmoid"}},
                                        {"type": "Output"}])
        s.dataset = {"type": "circle", "params": {}}
        s.loss = {"type": "bce", "params": {}}
        return RulesOfThumbBox(Document(s))

    sys.exit(preview(_make, (320, 640)))
