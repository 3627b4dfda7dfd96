"""Initializer choice for one parameter tensor, with a table for typing explicit values.

The table is sized from the inferred tensor shape in torch layout: a Dense
weight is ``[units][inputs]`` (row j holds the weights into unit j), so a
textbook example such as the lecture's XOR network can be entered as printed.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from .editors import fmt_float, make_editor
from .schema_form import compact

MAX_CELLS = 64 * 64
VALUES = "values"


def target_shape(layer_name, params, in_shapes, target):
    """Shape of ``target`` ("weight"/"bias") of a layer, or None when unknown; torch layout."""
    if params is None or not in_shapes:
        return None
    pieces = 1
    if params.get("activation") == "maxout":
        pieces = int((params.get("activation_params") or {}).get("pieces", 2))
    if layer_name == "Dense":
        out = params["units"] * pieces
        return (out, int(in_shapes[0][0])) if target == "weight" else (out,)
    if layer_name in ("Conv1d", "Conv2d"):
        out, k = params["filters"] * pieces, params["kernel_size"]
        if target == "bias":
            return (out,)
        return (out, int(in_shapes[0][0])) + (k,) * (1 if layer_name == "Conv1d" else 2)
    if layer_name in ("SimpleRNN", "LSTM") and len(in_shapes[0]) == 2:  # W_x, W_h and b; LSTM stacks 4 gates
        rows, units = params["units"] * (4 if layer_name == "LSTM" else 1), params["units"]
        return {"weight": (rows, int(in_shapes[0][1])), "weight_hh": (rows, units)}.get(target, (rows,))
    if layer_name == "Embedding" and target == "weight":
        return params["num_embeddings"], params["embedding_dim"]
    return None


def _zeros(shape):
    if len(shape) == 1:
        return [0.0] * shape[0]
    return [_zeros(shape[1:]) for _ in range(shape[0])]


def _shape_of(values):
    shape = []
    v = values
    while isinstance(v, list):
        shape.append(len(v))
        v = v[0] if v else None
    return tuple(shape)


class InitEditor(QWidget):
    """Edits one ``init[target]`` entry; emits ``changed(spec or None)`` (None = layer default)."""

    changed = Signal(object)

    def __init__(self, target: str, registry, parent=None):
        super().__init__(parent)
        self.target = target
        self.registry = registry
        self.spec = None
        self.shape = None
        self._updating = False
        self._param_editors = []
        self._built_for = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setObjectName(f"init_{target}")
        self.combo.addItem("layer default", None)
        for e in registry.entries():
            self.combo.addItem("explicit values…" if e.name == VALUES else e.name, e.name)
            self.combo.setItemData(self.combo.count() - 1, e.doc, Qt.ToolTipRole)
        self.combo.setToolTip(f"How {target} is filled before training (seeded).")
        self.combo.setWhatsThis(f"Initializer for this layer's {target}. 'explicit values' lets you type every number, "
                                "e.g. a worked example from the lecture notes.")
        self.combo.currentIndexChanged.connect(self._on_combo)
        compact(self.combo, 8)  # "layer default (xavier_uniform)" must not widen the Properties dock
        lay.addWidget(self.combo)
        self.form = QFormLayout()
        self.form.setContentsMargins(12, 0, 0, 0)
        lay.addLayout(self.form)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #5b6573;")
        lay.addWidget(self.note)
        self.table = QTableWidget()
        self.table.setMinimumWidth(120)  # scrolls inside itself; the panel wraps around it
        self.table.setObjectName(f"values_{target}")
        self.table.setWhatsThis("Explicit values in torch layout: for a Dense weight, row j = weights into unit j, "
                                "column i = from input i.")
        self.table.cellChanged.connect(self._on_cell)
        lay.addWidget(self.table)

    # -- refresh from the document ------------------------------------------
    def set_state(self, spec, default_name: str, shape):
        self._updating = True
        try:
            self.spec, self.shape = spec, shape
            self.combo.setItemText(0, f"layer default ({default_name})")
            name = spec.get("type") if isinstance(spec, dict) else spec
            i = self.combo.findData(name)
            self.combo.setCurrentIndex(max(i, 0))
            vi = self.combo.findData(VALUES)
            if vi >= 0:
                ok = shape is not None and len(shape) <= 2
                item = self.combo.model().item(vi)
                item.setEnabled(ok or name == VALUES)
                item.setToolTip("" if ok else "explicit values need a known 1-D or 2-D shape (connect the layer first)")
            self._build_params(name)
            self._fill_table(name)
        finally:
            self._updating = False

    def _build_params(self, name):
        """Editors for the initializer's own parameters; rebuilt only when the initializer changes."""
        params = (self.spec.get("params") or {}) if isinstance(self.spec, dict) else {}
        if name != self._built_for:
            self._built_for = name
            while self.form.rowCount():
                self.form.removeRow(0)
            self._param_editors = []
            if name and name in self.registry:
                for p in self.registry.entry(name).schema.params:
                    if p.kind != "any":
                        ed = make_editor(p, lambda v, n=p.name: self._on_param(n, v))
                        self._param_editors.append(ed)
                        self.form.addRow(p.name, ed.widget)
        for ed in self._param_editors:
            ed.set_value(params.get(ed.param.name, ed.param.default))

    def _fill_table(self, name):
        show = name == VALUES
        self.table.setVisible(show and self.shape is not None and len(self.shape) <= 2)
        self.note.setVisible(False)
        if not show:
            return
        values = ((self.spec or {}).get("params") or {}).get("values")
        have = _shape_of(values) if values is not None else ()
        if self.shape is None or len(self.shape) > 2:
            self._note("the shape of this tensor is not known yet or is not 1-D/2-D" if self.shape is None else
                       f"{self.target} has shape {list(self.shape)}: too many dimensions for a table")
            return
        rows, cols = self.shape[0], (self.shape[1] if len(self.shape) == 2 else 1)
        if rows * cols > MAX_CELLS:
            self.table.setVisible(False)
            self._note(f"{self.target} has {rows * cols} numbers: too many to type; choose an initializer")
            return
        if have and have != tuple(self.shape):
            self._note(f"the values have shape {list(have)} but {self.target} needs {list(self.shape)}; "
                       "edit a cell to resize them", error=True)
        self.table.setRowCount(rows)
        self.table.setColumnCount(cols)
        if len(self.shape) == 2:
            self.table.setHorizontalHeaderLabels([f"in {i + 1}" for i in range(cols)])
            self.table.setVerticalHeaderLabels([f"unit {j + 1}" for j in range(rows)])
        else:
            self.table.setHorizontalHeaderLabels([self.target])
            self.table.setVerticalHeaderLabels([f"unit {j + 1}" for j in range(rows)])
        for r in range(rows):
            for c in range(cols):
                self.table.setItem(r, c, QTableWidgetItem(fmt_float(self._cell(values, r, c))))
        self.table.resizeColumnsToContents()
        h = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(min(rows, 8))) + 4
        self.table.setFixedHeight(h)

    def _cell(self, values, r, c):
        try:
            v = values[r][c] if len(self.shape) == 2 else values[r]
            return float(v)
        except (TypeError, IndexError, ValueError):
            return 0.0

    def _note(self, text, error=False):
        self.note.setText(text)
        self.note.setStyleSheet(f"color: {'#b42318' if error else '#5b6573'};")
        self.note.setVisible(True)

    # -- edits -------------------------------------------------------------------
    def _on_combo(self, i):
        if self._updating:
            return
        name = self.combo.itemData(i)
        if name is None:
            self.changed.emit(None)
        elif name == VALUES:
            self.changed.emit({"type": VALUES, "params": {"values": _zeros(self.shape) if self.shape else []}})
        else:
            self.changed.emit({"type": name, "params": {}})

    def _on_param(self, pname, value):
        spec = dict(self.spec) if isinstance(self.spec, dict) else {"type": self.spec, "params": {}}
        spec["params"] = dict(spec.get("params") or {}, **{pname: value})
        self.changed.emit(spec)

    def _on_cell(self, r, c):
        if self._updating:
            return
        item = self.table.item(r, c)
        try:
            float(item.text())
        except ValueError:
            bad = item.text()
            self._updating = True  # put the old number back, so every cell always parses
            item.setText(fmt_float(self._cell(((self.spec or {}).get("params") or {}).get("values"), r, c)))
            self._updating = False
            self._note(f"{bad!r} is not a number", error=True)
            return
        rows, cols = self.table.rowCount(), self.table.columnCount()
        grid = [[float(self.table.item(i, j).text()) if self.table.item(i, j) else 0.0 for j in range(cols)]
                for i in range(rows)]
        values = grid if len(self.shape) == 2 else [row[0] for row in grid]
        self.changed.emit({"type": VALUES, "params": {"values": values}})
