"""TF-Playground-style builder for a plain dense stack: +/- layers, +/- neurons, one activation.

"Apply" replaces the graph with ordinary nodes in one undoable command, so
the result can be edited further on the canvas like any other graph.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from engine.spec import GraphSpec

MAX_LAYERS, MAX_UNITS = 8, 256


def dense_stack(n_in: int, hidden: list[int], n_out: int, activation: str) -> GraphSpec:
    layers = [{"id": "input", "type": "Input", "params": {"shape": [n_in]}}]
    for k, units in enumerate(hidden):
        layers.append({"id": f"dense{k + 1}", "type": "Dense", "params": {"units": units, "activation": activation}})
    layers.append({"id": f"dense{len(hidden) + 1}", "type": "Dense", "params": {"units": n_out, "activation": "identity"}})
    layers.append({"id": "output", "type": "Output"})
    return GraphSpec.from_dict({"layers": layers})


def read_stack(spec: GraphSpec):
    """(inputs, hidden units, outputs, activation) if ``spec`` is an Input → Dense… → Output chain, else None."""
    order = spec.nodes
    ids = [n.id for n in order]
    if len(order) < 3 or order[0].type != "Input" or order[-1].type != "Output":
        return None
    if sorted((e.src, e.dst) for e in spec.edges) != sorted(zip(ids, ids[1:])):
        return None
    dense = order[1:-1]
    if not dense or any(n.type != "Dense" for n in dense):
        return None
    shape = order[0].params.get("shape", [2])
    if not isinstance(shape, (list, tuple)) or len(shape) != 1:
        return None
    acts = {n.params.get("activation", "identity") for n in dense[:-1]}
    act = acts.pop() if len(acts) == 1 else "tanh"
    return int(shape[0]), [int(n.params.get("units", 8)) for n in dense[:-1]], int(dense[-1].params.get("units", 8)), act


class StackBuilderPanel(QWidget):
    applied = Signal()

    def __init__(self, document=None, parent=None):
        super().__init__(parent)
        self.setObjectName("stackBuilder")
        self.doc = document
        self.hidden: list[int] = [8, 8]
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        form = QFormLayout()
        self.n_in = QSpinBox()
        self.n_in.setRange(1, 4096)
        self.n_in.setValue(2)
        self.n_in.setToolTip("Features per sample (2 for the 2-D playground datasets).")
        self.n_out = QSpinBox()
        self.n_out.setRange(1, 4096)
        self.n_out.setValue(1)
        self.n_out.setToolTip("Output units: 1 for binary (logit) or regression, C for C classes (logits).")
        self.activation = QComboBox()
        self.activation.setToolTip("The activation of every hidden layer; the output layer stays linear (logits).")
        try:
            from engine.activations import ACTIVATIONS

            names = ACTIVATIONS.names()
        except ImportError:
            names = ["tanh", "relu", "sigmoid", "identity"]
        self.activation.addItems(names)
        self.activation.setCurrentText("tanh")
        form.addRow("inputs", self.n_in)
        form.addRow("activation", self.activation)
        form.addRow("outputs", self.n_out)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.minus_layer = QToolButton(text="−")
        self.plus_layer = QToolButton(text="+")
        self.minus_layer.setToolTip("Remove the last hidden layer")
        self.plus_layer.setToolTip("Add a hidden layer")
        self.minus_layer.clicked.connect(self.remove_layer)
        self.plus_layer.clicked.connect(self.add_layer)
        self.layers_label = QLabel()
        row.addWidget(self.minus_layer)
        row.addWidget(self.plus_layer)
        row.addWidget(self.layers_label, 1)
        lay.addLayout(row)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        lay.addLayout(self.grid)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("stackApply")
        self.apply_button.setToolTip("Replace the graph with this stack (undoable).")
        self.apply_button.clicked.connect(self.apply)
        lay.addWidget(self.apply_button)
        lay.addStretch(1)
        self.setWhatsThis("Build a fully connected network the TensorFlow Playground way: choose the number of hidden "
                          "layers and neurons, then Apply. The result is ordinary nodes you can keep editing.")
        self._rows = []
        self._refresh_rows()
        if document is not None:
            document.sessionReplaced.connect(self.load_from_document)
            self.load_from_document()

    # -- model -------------------------------------------------------------------
    def add_layer(self):
        if len(self.hidden) < MAX_LAYERS:
            self.hidden.append(self.hidden[-1] if self.hidden else 4)
            self._refresh_rows()

    def remove_layer(self):
        if self.hidden:
            self.hidden.pop()
            self._refresh_rows()

    def set_units(self, layer: int, units: int):
        self.hidden[layer] = min(max(int(units), 1), MAX_UNITS)
        self._refresh_rows()

    def spec(self) -> GraphSpec:
        return dense_stack(self.n_in.value(), list(self.hidden), self.n_out.value(), self.activation.currentText())

    def summary(self) -> str:
        return "-".join(str(v) for v in [self.n_in.value(), *self.hidden, self.n_out.value()])

    def apply(self):
        if self.doc is not None:
            self.doc.replace_graph(self.spec(), f"Dense stack {self.summary()}")
            self.applied.emit()

    def load_from_document(self):
        got = read_stack(self.doc.graph) if self.doc is not None else None
        if got is not None:
            n_in, hidden, n_out, act = got
            self.n_in.setValue(n_in)
            self.n_out.setValue(n_out)
            self.hidden = hidden[:MAX_LAYERS]
            if self.activation.findText(act) >= 0:
                self.activation.setCurrentText(act)
            self._refresh_rows()

    # -- view --------------------------------------------------------------------
    def _refresh_rows(self):
        for widgets in self._rows:
            for w in widgets:
                self.grid.removeWidget(w)
                w.hide()  # deleteLater waits for the event loop; never show stale rows meanwhile
                w.deleteLater()
        self._rows = []
        for k, units in enumerate(self.hidden):
            label = QLabel(f"layer {k + 1}")
            minus, plus = QToolButton(text="−"), QToolButton(text="+")
            count = QLabel(f"{units} neuron{'s' * (units != 1)}")
            count.setAlignment(Qt.AlignCenter)
            count.setObjectName(f"units{k + 1}")
            minus.setToolTip(f"Fewer neurons in hidden layer {k + 1}")
            plus.setToolTip(f"More neurons in hidden layer {k + 1}")
            minus.clicked.connect(lambda _=False, k=k: self.set_units(k, self.hidden[k] - 1))
            plus.clicked.connect(lambda _=False, k=k: self.set_units(k, self.hidden[k] + 1))
            for col, w in enumerate((label, count, minus, plus)):
                self.grid.addWidget(w, k, col)
            self._rows.append((label, count, minus, plus))
        n = len(self.hidden)
        self.layers_label.setText(f"{n} hidden layer{'s' * (n != 1)}")
        self.minus_layer.setEnabled(n > 0)
        self.plus_layer.setEnabled(n < MAX_LAYERS)


if __name__ == "__main__":  # python -m gui.panels.stack_builder: edits a document with the default dense stack
    import sys

    from gui.document import Document
    from gui.panels import preview

    def _make():
        w = StackBuilderPanel(Document())
        w.applied.connect(lambda: print("applied", w.summary()))
        return w

    sys.exit(preview(_make, (260, 360)))
