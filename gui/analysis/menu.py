"""The Analyze menu: the evaluation views, explanations, learning curve, sanity checks, curvature and transfer learning.

Built with the other menus (``gui.window_actions.build_actions``); nothing here imports pyqtgraph or torch
until an entry is used: the Analyze window is created on first use by ``MainWindow.analysis_window()``.
"""
from __future__ import annotations

from ..menu_actions import menu_action

ENTRIES = (  # name, text, page or None, shortcut, status tip
    ("evaluate", "&Evaluation…", "evaluation", "Ctrl+Shift+E",
     "ROC and AUC, precision/recall/F1 per class, completeness/contamination/efficiency at a threshold; "
     "residuals for regression"),
    ("explain", "E&xplanations…", "explain", "Ctrl+Shift+X",
     "Permutation importance with bootstrap intervals, partial dependence with ICE curves, Ŷ vs X_j"),
    ("surrogate", "Su&rrogate Tree…", "surrogate", None,
     "Decision trees fitted to the network's predictions: their variable importance, fidelity and rules"),
    ("learning_curve", "&Learning Curve…", "learning_curve", "Ctrl+Shift+L",
     "Training and validation loss against the number of training samples (trains fresh networks in the background)"),
    ("sanity", "&Sanity Checks…", "sanity", "Ctrl+Shift+K",
     "Loss at initialisation vs ln C, overfitting 4 samples, gradient check against finite differences"),
    ("curvature", "&Curvature (Hessian)…", "curvature", None,
     "The Hessian at the current weights: critical point or not, minimum or saddle, conditioning, the step-size "
     "limit 2/λ_max"),
    ("bias_variance", "&Bias–Variance…", "bias_variance", None,
     "The expected test error split into bias² + variance + noise, over many training sets drawn from the generator, "
     "and swept over width or L2 λ (trains fresh networks in the background)"),
)


def build_analyze_menu(win, menubar) -> dict:
    """Add the Analyze menu to ``menubar``; returns its actions by name (``analyze_*``)."""
    from . import transfer

    m = menubar.addMenu("&Analyze")
    m.setObjectName("analyzeMenu")
    actions = {}

    def add(name, text, slot, shortcut=None, tip=None):
        return menu_action(win, m, actions, "analyze", name, text, slot, shortcut, tip)

    for name, text, page, shortcut, tip in ENTRIES:
        add(name, text, lambda p=page: win.analysis_window().open_page(p), shortcut, tip)
    m.addSeparator()
    add("import_layers", "&Import Layers from .nnp…", lambda: transfer.import_layers(win), None,
        "Transfer learning: copy layers of a trained network, with their weights, onto the canvas (frozen, with a "
        "new head)")
    add("freeze", "&Freeze/Unfreeze Selected Layers", lambda: transfer.toggle_freeze(win), "Ctrl+Shift+F",
        "Frozen layers keep their weights while the rest trains (dashed on the canvas)")
    add("fine_tune", "Fine-&Tune (Unfreeze All, Learning Rate × 0.1)", lambda: transfer.fine_tune(win), None,
        "After training the new head: make every layer trainable and lower the learning rate ten times")
    win.analyze_menu = m
    return actions
