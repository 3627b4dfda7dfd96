"""The window's Teach menu: each teaching view opens in its own window over the current session.

One open view per kind: asking again raises the one already open (re-opened on the current
session when the old one was closed). Time Travel is no window of its own: it shows the timeline
under the curves, where every training in the main window keeps its checkpoints.
"""
from __future__ import annotations

from ..menu_actions import menu_action

from engine.errors import InvalidInput


def _open(win, key, factory):
    views = win.__dict__.setdefault("teaching_views", {})
    old = views.get(key)
    if old is not None and old.isVisible():
        old.raise_()
        old.activateWindow()
        return old
    try:
        view = factory(win)
    except InvalidInput as e:  # a network or dataset the view cannot use: one line, nothing lost
        win.statusBar().showMessage(f"Cannot open: {e}", 10000)
        return None
    views[key] = view
    if key == "backprop":  # under the canvas, so the values on the nodes stay in sight
        g = win.frameGeometry()
        screen = win.screen().availableGeometry() if win.screen() is not None else g
        w, h = min(1000, g.width(), screen.width()), max(340, int(g.height() * 0.48))
        x = max(screen.left(), min(g.right(), screen.right()) - w)
        view.setGeometry(x, min(g.bottom(), screen.bottom()) - h, w, h)
    else:
        view.resize(1000, 620)
    view.show()
    return view


def opener(key: str):
    """``fn(win)`` opening the view ``key``, built by ``gui.teaching.<key>_view.from_window`` (imported on first use)."""
    def open_view(win):
        import importlib

        return _open(win, key, importlib.import_module(f".{key}_view", __package__).from_window)

    return open_view


def open_time_travel(win):
    """The timeline under the curves: every training in the window keeps checkpoints there."""
    return win.build_live_views().timeline.focus()


ENTRIES = (  # name, text, fn(win) or None for the view of gui.teaching.<name>_view, status tip
    ("backprop", "&Backprop Step Inspector…", None,
     "Step through the forward pass, the backward pass and the update of one sample on this network"),
    ("lr_finder", "&LR Range Test…", None,
     "Sweep the learning rate on a copy of this run, plot loss against it and apply the suggested value"),
    ("landscape", "Loss &Landscape…", None,
     "A 2-D slice of the loss around the trained weights, with the optimizer's path projected on it"),
    ("time_travel", "&Time Travel…", open_time_travel,
     "The timeline under the curves: scrub this run's checkpoints, play them, branch a new run from one"),
    ("sandbox", "&Optimizer Sandbox…", None,
     "Watch SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and Newton on classic 2-parameter surfaces"),
    ("rates", "&Rates from Counts…", None,
     "Completeness, contamination, efficiency, TPR and FPR from TP, FN, TN, FP — the notes' quasars among stars"),
    ("linear_solvers", "Linear &Solvers…", None,
     "LU, QR, Cholesky, Jacobi, Gauss-Seidel, CG and PCG on this data's least squares, this network's Newton step "
     "or a synthetic matrix"),
    ("mistakes", "Common &Mistakes…", None,
     "Forgot zero_grad, eval mode, softmax into a logits loss, test data in the training set: made on a copy, "
     "beside the right way"),
    ("unsupervised", "&Unsupervised: k-means && PCA…", None,
     "Cluster this session's inputs with k-means step by step (no labels used), the elbow over k, the silhouette; "
     "PCA's explained variance and loadings"),
    ("unroll", "Unroll an R&NN…", None,
     "The hidden state hₜ of a SimpleRNN or LSTM layer at every time step of one input sequence, with this run's "
     "weights"),
)


def add_teach_menu(win, menubar) -> dict:
    """Add the Teach menu to ``menubar``; returns its actions by name (``teach_<name>``)."""
    m = menubar.addMenu("Tea&ch")
    m.setObjectName("teachMenu")
    actions = {}
    for name, text, fn, tip in ENTRIES:
        fn = fn or opener(name)
        menu_action(win, m, actions, "teach", name, text, lambda fn=fn: fn(win), tip=tip)
    win.teach_menu = m
    return actions
