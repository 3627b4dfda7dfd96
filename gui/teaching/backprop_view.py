"""Backprop step inspector: forward node by node, backward, the update, on the user's own graph.

A thin view over ``engine.backprop_steps.Inspector``: each Next reveals one stage (a node's z and
a, the loss, a node's ∂L/∂a, f′(z), δ and weight gradients, the optimizer's update) in the table,
the explanation and on the canvas (values under the nodes, edges by gradient magnitude); Back
goes one stage back, across an update too (the inspector restores weights and optimizer state).
When the session is one of the notes' worked examples, their printed figures are listed with
the verdict of the float64 computation (matches, last digit, slip, inherited, differs).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from engine.backprop_steps import Inspector, fmt
from engine.builder import PASSTHROUGH
from engine.errors import InvalidInput
from engine.notes_figures import figures_for, verdicts

from ..tables import read_only_table, set_rows
from .forward_mode_panel import ForwardModePanel

MAX_UNITS = 16  # values listed per node; wider layers show the first ones and say how many
MAX_SENTENCES = 40
STATUS_COLORS = {"matches": "#d8f0d8", "last digit": "#fff4c2", "inherited": "#ffe0b8", "slip": "#ffc9c9",
                 "differs": "#ffe0b8"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(i):
    return str(i).translate(_SUB)


class BackpropInspectorView(QWidget):
    """Stages: forward (each computing node), loss, backward (each node in reverse), update."""

    stageChanged = Signal(str)

    def __init__(self, session, *, scene=None, weights=None, optimizer_state=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Backprop step inspector")
        self.scene = scene
        self.session = session
        self._weights, self._opt_state = weights, optimizer_state
        self.precision: int | None = 4
        self.figures = figures_for(session)
        self.inspector = Inspector(session, weights=weights, optimizer_state=optimizer_state)
        self.stage = 0

        self.sample = QSpinBox()
        self.sample.setObjectName("sample")
        self.sample.setRange(0, max(0, len(self.inspector.data.x_train) - 1))
        self.batch = QSpinBox()
        self.batch.setObjectName("batch")
        self.batch.setRange(1, max(1, min(64, len(self.inspector.data.x_train))))
        self.batch.setToolTip("How many consecutive samples form the mini-batch (the loss is their mean)")
        self.prec = QComboBox()
        self.prec.setObjectName("precision")
        self.prec.addItems(["4 decimals", "full float64"])
        self.back_btn = QPushButton("◀ Back")
        self.back_btn.setObjectName("back")
        self.next_btn = QPushButton("Next ▶")
        self.next_btn.setObjectName("next")
        self.reset_btn = QPushButton("Restart")
        self.forward_btn = QPushButton("Forward Mode")
        self.forward_btn.setObjectName("forwardMode")
        self.forward_btn.setCheckable(True)
        self.forward_btn.setToolTip("Lecture 001's other way: carry d/dW of one weight forward with every value, "
                                    "then compare dL/dW with backpropagation's")
        self.stage_label = QLabel()
        self.stage_label.setObjectName("stageLabel")
        self.stage_label.setWordWrap(True)
        top = QHBoxLayout()
        for w in (QLabel("Sample"), self.sample, QLabel("Batch"), self.batch, QLabel("Precision"), self.prec,
                  self.back_btn, self.next_btn, self.reset_btn, self.forward_btn):
            top.addWidget(w)
        top.addStretch(1)

        self.table = read_only_table("values", ["quantity", "node", "unit", "value"], stretch=(-1,))
        self.text = QPlainTextEdit()
        self.text.setObjectName("explanation")
        self.text.setReadOnly(True)
        self.notes = QListWidget()
        self.notes.setObjectName("notesFigures")
        self.notes.setWordWrap(True)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.text)
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setObjectName("tensorMaps")
        self.maps.setBackground("w")
        self.maps.setMinimumHeight(140)
        self.maps.setVisible(False)
        self.map_items = []
        right.addWidget(self.maps)
        right.addWidget(self.notes)
        self.forward = ForwardModePanel(self.inspector)
        self.forward.setVisible(False)
        right.addWidget(self.forward)
        self.notes.setVisible(self.figures is not None)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([380, 520])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.stage_label)
        lay.addWidget(split, 1)

        self.next_btn.clicked.connect(self.next)
        self.back_btn.clicked.connect(self.back)
        self.reset_btn.clicked.connect(self.restart)
        self.forward_btn.toggled.connect(self._on_forward_mode)
        self.prec.currentIndexChanged.connect(self._on_precision)
        self.sample.valueChanged.connect(self._on_samples)
        self.batch.valueChanged.connect(self._on_samples)
        self._refresh()

    # -- stages -----------------------------------------------------------------
    def stages(self) -> list:
        order = [n for n in self.inspector.model.order if self.inspector.model.types[n].name not in PASSTHROUGH]
        return [("forward", n) for n in order] + [("loss", None)] + [("backward", n) for n in reversed(order)] + \
               [("update", None)]

    @Slot()
    def next(self):
        if self.stage + 1 < len(self.stages()):
            self.stage += 1
        else:  # past the update: take it and start the next pass at the new weights
            self.inspector.step()
            self.stage = 0
        self._refresh()

    @Slot()
    def back(self):
        if self.stage > 0:
            self.stage -= 1
        elif self.inspector.depth:
            self.inspector.back()
            self.stage = len(self.stages()) - 1
        self._refresh()

    @Slot()
    def restart(self):
        while self.inspector.depth:
            self.inspector.back()
        self.stage = 0
        self._refresh()

    @Slot(int)
    def _on_precision(self, index):
        self.precision = 4 if index == 0 else None
        self.forward.precision = self.precision
        self._refresh()

    @Slot(bool)
    def _on_forward_mode(self, on):
        self.forward.setVisible(on)
        self.forward.refresh()

    @Slot()
    def _on_samples(self):
        n = len(self.inspector.data.x_train)
        first = self.sample.value()
        idx = [i for i in range(first, first + self.batch.value()) if i < n]
        try:
            self.inspector.set_samples(idx)
        except InvalidInput as e:
            self.stage_label.setText(str(e))
            return
        self._refresh()

    # -- drawing ------------------------------------------------------------------
    def _f(self, v):
        return fmt(v, self.precision)

    def _refresh(self):
        p = self.inspector.preview_update()
        stages = self.stages()
        kind, nid = stages[self.stage]
        shown = stages[: self.stage + 1]
        self.back_btn.setEnabled(self.stage > 0 or self.inspector.depth > 0)
        title = {"forward": f"Forward: node {nid}", "loss": f"Loss ({p.loss_name})",
                 "backward": f"Backward: node {nid}", "update": f"Update ({p.optimizer['type']}, η = {p.lr:g})"}[kind]
        self.stage_label.setText(f"Step {self.inspector.depth} · stage {self.stage + 1}/{len(stages)} · {title} · "
                                 f"samples {', '.join(map(str, p.samples))} · loss {self._f(p.loss)}")
        rows = []
        for k, n in shown:
            if k == "forward":
                ns = p.nodes[n]
                if ns.z is not None:
                    rows += self._rows(n, ns.z, "z")
                rows += self._rows(n, ns.a, "a")
            elif k == "loss":
                rows.append(("L", "", "", self._f(p.loss)))
            elif k == "backward":
                ns = p.nodes[n]
                if ns.dL_da is not None:
                    rows += self._rows(n, ns.dL_da, "∂L/∂a")
                if ns.fprime is not None:
                    rows += self._rows(n, ns.fprime, "f′(z)")
                if ns.z is not None and ns.delta is not None:
                    rows += self._rows(n, ns.delta, "δ")
        set_rows(self.table, rows)
        self.text.setPlainText(self._explain(kind, nid, p))
        self._show_maps(kind, nid, p)
        self._paint_canvas(shown, p)
        self._fill_notes()
        self.forward.refresh()
        self.stageChanged.emit(kind)

    def _rows(self, node, arr, sym):
        """Table rows of one quantity: a value per unit, or per channel a summary when the node holds images."""
        arr = np.asarray(arr)
        if arr.ndim >= 3:  # (N, C, ...): one row per channel, its size and range on sample 0
            return [(f"{sym} ch{_sub(c + 1)}", node, c + 1,
                     f"max |·| {self._f(np.abs(arr[0, c]).max())}, mean {self._f(arr[0, c].mean())}")
                    for c in range(min(arr.shape[1], MAX_UNITS))]
        label = {"f′(z)": lambda j: f"f′(z{_sub(j + 1)})"}.get(sym, lambda j: f"{sym}{_sub(j + 1)}")
        width = arr.shape[1] if arr.ndim > 1 else 1
        return [(label(j), node, j + 1, self._cell(arr, j)) for j in range(min(width, MAX_UNITS))]

    def _show_maps(self, kind, nid, p):
        """Small heatmaps of the channels of an image-shaped node (conv): a forward, δ and the kernel gradients backward."""
        self.maps.clear()
        self.map_items = []
        ns = p.nodes.get(nid) if nid is not None else None
        arr = None if ns is None else (ns.a if kind == "forward" else ns.delta)
        if arr is None or np.asarray(arr).ndim < 3:
            self.maps.setVisible(False)
            return
        self.maps.setVisible(True)
        arr = np.asarray(arr)[0]
        tiles = [(f"{'a' if kind == 'forward' else 'δ'} ch{c + 1}", arr[c]) for c in range(min(arr.shape[0], 8))]
        g = p.grads.get(f"{nid}.weight")
        if kind == "backward" and g is not None and np.ndim(g) >= 3:
            tiles += [(f"∂L/∂W filter {o + 1}", np.asarray(g)[o, 0]) for o in range(min(np.shape(g)[0], 8))]
        for k, (title, img) in enumerate(tiles):
            img = np.atleast_2d(img)
            vb = self.maps.addViewBox(row=2 * (k // 8) + 1, col=k % 8, lockAspect=True)
            self.maps.addLabel(title, row=2 * (k // 8), col=k % 8, size="8pt")
            item = pg.ImageItem(img.T, levels=(-float(np.abs(img).max() or 1.0), float(np.abs(img).max() or 1.0)))
            item.setColorMap(pg.colormap.get("CET-D1"))
            vb.addItem(item)
            vb.invertY(True)
            self.map_items.append(item)

    def _cell(self, arr, j):
        """Sample 0's value of unit j; a batch lists each sample's."""
        arr = np.asarray(arr).reshape(arr.shape[0], -1)
        return " | ".join(self._f(arr[b, j]) for b in range(arr.shape[0]))

    def _explain(self, kind, nid, p) -> str:
        f, insp = self._f, self.inspector
        if kind == "forward":
            ns = p.nodes[nid]
            lines = [f"{ns.type} {nid} ← {', '.join(ns.inputs)}"]
            if ns.type == "Dense":
                W, b = p.params.get(f"{nid}.weight"), p.params.get(f"{nid}.bias")
                a_in = p.nodes[ns.inputs[0]].a[0]
                for j in range(min(W.shape[0], 8)):
                    terms = " + ".join(f"{f(W[j, i])}·{f(a_in[i])}" for i in range(min(W.shape[1], 6)))
                    more = " + …" if W.shape[1] > 6 else ""
                    bias = f" + {f(b[j])}" if b is not None else ""
                    z = ns.z[0, j] if ns.z is not None else ns.a[0, j]
                    lines.append(f"z{_sub(j + 1)} = {terms}{more}{bias} = {f(z)}")
                    if ns.z is not None:
                        lines.append(f"a{_sub(j + 1)} = {ns.activation}(z{_sub(j + 1)}) = {f(ns.a[0, j])}")
            elif ns.type == "Add":
                lines.append("a = " + " + ".join(f"a[{s}]" for s in ns.inputs) + " (elementwise)")
            elif ns.type == "Concatenate":
                lines.append("a = [" + ", ".join(ns.inputs) + "] side by side")
            return "\n".join(lines)
        if kind == "loss":
            return (f"L = {p.loss_name}(output, target) = {f(p.loss)}\n"
                    f"output = {', '.join(f(v) for v in np.ravel(p.output)[:8])}; target = "
                    f"{', '.join(str(v) for v in np.ravel(p.target)[:8])}\n"
                    f"∂L/∂output = {', '.join(f(v) for v in np.ravel(p.dL_dout)[:8])}")
        if kind == "backward":
            ns = p.nodes[nid]
            lines = []
            for c, share in ns.sent_back.items():
                lines.append(f"from {c}: ∂L/∂a += {', '.join(f(v) for v in np.ravel(share[0])[:8])}")
            if len(ns.sent_back) > 1:
                lines.append("∂L/∂a is the sum of what each consumer sends back.")
            if ns.fprime is not None and ns.fprime.ndim >= 3:
                lines.append("δ = ∂L/∂a ⊙ f′(z) elementwise on every channel (the maps below: δ, then each "
                             "filter's gradient Σ δ·(input patch)).")
            elif ns.fprime is not None:
                for j in range(min(ns.a.shape[1], 8)):
                    lines.append(f"δ{_sub(j + 1)} = ∂L/∂a{_sub(j + 1)} · f′(z{_sub(j + 1)}) = "
                                 f"{f(ns.dL_da[0, j])} × {f(ns.fprime[0, j])} = {f(ns.delta[0, j])}")
            elif ns.z is not None:
                lines.append("f is not elementwise (softmax/maxout): δ = Jᵀ·∂L/∂a, from autograd.")
            count = 0
            for name in (f"{nid}.weight", f"{nid}.bias"):
                g = p.grads.get(name)
                if g is None:
                    continue
                for index in np.ndindex(np.shape(g)):
                    if count >= MAX_SENTENCES:
                        lines.append("… (more weights: pick a smaller layer to see them all)")
                        break
                    lines.append(insp.gradient_sentence(name, index, self.precision))
                    count += 1
            if ns.type != "Dense":  # conv, norm...: each gradient tensor by its size
                lines = [ln for ln in lines if not ln.startswith("∂L/∂")]
                for name, g in p.grads.items():
                    if name.startswith(f"{nid}."):
                        lines.append(f"∂L/∂{name} (shape {np.shape(g)}): ‖g‖ = {f(float(np.linalg.norm(g)))}")
            return "\n".join(lines) or f"{nid} has no parameters; it passes ∂L/∂a back."
        lines = ["Regularizers of the loss are left out; the optimizer's own decay (AdamW) is in."]
        count = 0
        for name, u in p.updates.items():
            for index in np.ndindex(u.new.shape):
                if count >= MAX_SENTENCES:
                    break
                lines.append(f"{name}{list(index)}: " + insp.update_sentence(name, index, self.precision))
                count += 1
        lines.append(f"loss after the update: {f(p.loss_after)} (before {f(p.loss)})  — Next takes it.")
        return "\n".join(lines)

    def _paint_canvas(self, shown, p):
        sc = self.scene
        if sc is None:
            return
        sc.clear_node_overlays()
        sc.clear_edge_styles()
        f = self._f
        for k, n in shown:
            ns = p.nodes.get(n)
            if ns is None:
                continue
            if k == "forward":
                a = np.ravel(ns.a[0])[:3]
                z = None if ns.z is None else np.ravel(ns.z[0])[:3]
                lines = ([("z " + ", ".join(f(v) for v in z))] if z is not None else []) + ["a " + ", ".join(f(v) for v in a)]
                mag = float(np.max(np.abs(ns.a[0]))) if ns.a.size else 0.0
                sc.set_node_overlay(n, lines, QColor(255, 255, 255 - int(min(mag, 1.0) * 90)))
            elif k == "backward" and ns.delta is not None:
                item = sc.nodes.get(n)
                old = list(item.overlay) if item is not None else []
                sc.set_node_overlay(n, old + ["δ " + ", ".join(f(v) for v in np.ravel(ns.delta[0])[:3])],
                                    QColor("#fde3e3"))
        grads = {n: p.grads[f"{n}.weight"] for k, n in shown if k == "backward" and f"{n}.weight" in p.grads}
        if grads:
            top = max(float(np.abs(g).mean()) for g in grads.values()) or 1.0
            for n, g in grads.items():
                sc.set_edge_weights(n, float(np.abs(g).mean()) / top, float(np.sign(np.sum(g)) or 1.0))

    def _fill_notes(self):
        self.notes.clear()
        if self.figures is None:
            return
        title, figs = self.figures
        head = QListWidgetItem(f"{title}: the notes' printed figures at step {self.inspector.depth}")
        head.setFlags(Qt.ItemIsEnabled)
        self.notes.addItem(head)
        for v in verdicts(self.inspector, figs):
            item = QListWidgetItem(v.sentence)
            item.setData(Qt.UserRole, v.status)
            item.setBackground(QColor(STATUS_COLORS[v.status]))
            self.notes.addItem(item)

    def closeEvent(self, event):
        if self.scene is not None:
            self.scene.clear_node_overlays()
            self.scene.clear_edge_styles()
        super().closeEvent(event)


def from_window(win) -> BackpropInspectorView:
    """The inspector on the window's session, at the current run's weights when its network is this one."""
    from engine.run import structure_key

    session = win.doc.session.copy()
    weights = opt_state = None
    run = getattr(getattr(win, "controller", None), "run", None)
    if run is not None and getattr(run, "trainer", None) is not None and structure_key(run.session) == structure_key(session):
        with run.snapshot() as tr:
            weights = {k: v.detach().cpu().numpy().copy() for k, v in tr.model.state_dict().items()}
            if hasattr(tr, "_opt_code"):  # the compiled path keeps its slots outside torch's optimizer
                from engine.compiled.optstate import export_optimizer_state
                export_optimizer_state(tr)
            opt_state = tr.optimizer.state_dict()
        session = run.session.copy()
    view = BackpropInspectorView(session, scene=win.scene, weights=weights, optimizer_state=opt_state)
    view.setWindowFlag(Qt.Window, True)
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session
    from gui.canvas.scene import GraphScene
    from gui.canvas.view import GraphView
    from gui.document import Document

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor_worked_example.json")
    doc = Document(load_session(path))
    scene = GraphScene(doc)
    canvas = GraphView(scene)
    canvas.resize(700, 400)
    canvas.show()
    w = BackpropInspectorView(doc.session, scene=scene)
    w.resize(1000, 600)
    w.show()
    sys.exit(app.exec())
