"""Forward mode beside backpropagation, in the backprop inspector (lecture 001's two tables).

Pick one weight W: the table lists, node by node from the input, the value and its derivative with
respect to W carried forward (dz/dW, da/dW), then dL/dW — set beside backpropagation's ∂L/∂W for
the same weight, and the cost of each mode for the whole gradient (one forward pass per weight, or
one backward pass for all). Computed by ``engine.forward_mode`` at the inspector's current weights
and samples.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.backprop_steps import fmt
from engine.builder import PASSTHROUGH
from engine.errors import InvalidInput
from engine.forward_mode import forward_mode, weight_entries

from ..tables import read_only_table, set_rows

MAX_UNITS = 16


def _entry_label(name, index):
    return f"{name}[{', '.join(map(str, index))}]"


class ForwardModePanel(QWidget):
    def __init__(self, inspector, parent=None):
        super().__init__(parent)
        self.setObjectName("forwardModePanel")
        self.inspector = inspector
        self.precision: int | None = 4
        self.result = None
        self.weight = QComboBox()
        self.weight.setObjectName("forwardWeight")
        self.weight.setToolTip("The weight W whose derivative forward mode carries along with every value")
        self.weight.currentIndexChanged.connect(self.refresh)
        row = QHBoxLayout()
        row.addWidget(QLabel("Forward mode: d/dW for W ="))
        row.addWidget(self.weight, 1)
        self.table = read_only_table("forwardTable", ["variable", "node", "value", "d/dW (carried forward)"],
                                     stretch=(2, 3))  # the values, one per sample: long, they share the width
        self.summary = QLabel()
        self.summary.setObjectName("forwardSummary")
        self.summary.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)
        self._fill_weights()

    def _fill_weights(self):
        self.weight.blockSignals(True)
        self.weight.clear()
        for name, index in weight_entries(self.inspector):
            self.weight.addItem(_entry_label(name, index), (name, index))
        self.weight.blockSignals(False)

    def set_precision(self, precision):
        self.precision = precision
        self.refresh()

    def refresh(self, *_):
        if self.isHidden() or self.weight.currentData() is None:  # hidden: the button is off
            return None
        name, index = self.weight.currentData()
        try:
            r = forward_mode(self.inspector, name, index)
        except InvalidInput as e:
            self.summary.setText(str(e))
            return None
        p = self.inspector.current()
        f = lambda v: fmt(v, self.precision)  # noqa: E731
        rows = []
        for nid in r.order:
            if self.inspector.model.types[nid].name in PASSTHROUGH or nid not in p.nodes:
                continue
            dz, da = r.nodes[nid]
            ns = p.nodes[nid]
            for sym, value, tangent in (("z", ns.z, dz), ("a", ns.a, da)):
                if value is None or tangent is None:
                    continue
                v, t = np.asarray(value), np.asarray(tangent)
                width = v.shape[1] if v.ndim > 1 else 1
                for j in range(min(width, MAX_UNITS)):
                    cell = (lambda arr: " | ".join(f(arr[i, j] if arr.ndim > 1 else arr[i]) for i in range(len(arr))))
                    rows.append((f"{sym}{j + 1}", nid, cell(v.reshape(len(v), -1)), cell(t.reshape(len(t), -1))))
        rows.append(("L", "", f(r.loss), f(r.dL_dW)))
        set_rows(self.table, rows)
        mark = "the same" if r.agrees else "DIFFERENT"
        self.summary.setText(
            f"Forward mode: dL/dW = {f(r.dL_dW)}; backpropagation (reverse mode): ∂L/∂W = {f(r.reverse)} — {mark}. "
            f"For the whole gradient forward mode needs one pass per weight ({r.n_params:,} "
            f"pass{'es' * (r.n_params != 1)} for this network), reverse mode one backward pass for all "
            f"{r.n_params:,}.")
        self.result = r
        return r
