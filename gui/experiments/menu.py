"""The Experiments menu: the Runs dock, side-by-side variants, cross-validation, hyperparameter search.

Built with the other menus (``gui.window_actions.build_actions``); nothing here imports pyqtgraph, torch
or Optuna: the Experiments window is created on first use by ``MainWindow.experiments_window()``.
"""
from __future__ import annotations

from ..menu_actions import menu_action

ENTRIES = (  # name, text, page, shortcut, status tip
    ("variants", "Side-by-side &Variants…", "variants", "Ctrl+Shift+V",
     "Train one setting at 2–16 values together: overlaid curves and a grid of decision boundaries"),
    ("crossval", "&Cross-validation…", "crossval", None,
     "k folds of the current setup (stratified, seeded): per-fold curves, mean ± std, the per-fold table"),
    ("search", "Hyperparameter &Search…", "search", None,
     "Grid, random or TPE search on Optuna; trials in a storage other machines can join (main.py sweep-worker)"),
)


def build_experiments_menu(win, menubar) -> dict:
    m = menubar.addMenu("E&xperiments")
    m.setObjectName("experimentsMenu")
    actions = {}

    def add(name, text, slot, shortcut=None, tip=None):
        return menu_action(win, m, actions, "experiments", name, text, slot, shortcut, tip)

    add("runs", "&Runs", lambda: win.show_runs(), "Ctrl+Shift+R",
        "Every training of this session: overlay curves, restore settings, delete")
    m.addSeparator()
    for name, text, page, shortcut, tip in ENTRIES:
        add(name, text, lambda p=page: win.experiments_window().open_page(p), shortcut, tip)
    win.experiments_menu = m
    return actions
