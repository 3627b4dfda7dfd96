"""One way to put an action into a feature menu (Analyze, Experiments, Teach).

Each feature package builds its own menu from a table of entries; this keeps the action's object name
(``action_<prefix>_<name>``), shortcut, tips and slot wiring the same in all of them.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence


def menu_action(win, menu, actions: dict, prefix: str, name: str, text: str, slot, shortcut=None, tip=None):
    """Add ``text`` to ``menu`` calling ``slot()``; store it in ``actions`` as ``<prefix>_<name>``; returns it."""
    a = QAction(text, win)
    a.setObjectName(f"action_{prefix}_{name}")
    if shortcut:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip)
    a.triggered.connect(lambda _=False: slot())
    menu.addAction(a)
    actions[f"{prefix}_{name}"] = a
    return a
