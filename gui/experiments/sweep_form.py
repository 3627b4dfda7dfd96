"""The search form: which settings to search and over what range, as an ``engine.search`` SPACE.

One row per setting the notes tune (learning rate on a log range, units per hidden layer, the number
of hidden layers, activation, optimizer, batch size, L2, dropout); a row's check box puts it in the
search. ``space()`` returns the SPACE dict ``main.py sweep --space`` reads, so a search set up here can
be repeated headless.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QGridLayout, QLabel, QLineEdit, QSpinBox, QWidget

from engine.errors import InvalidInput

# key, label, path, kind, defaults
ROWS = (
    ("lr", "Learning rate", "optimizer.lr", "float_log", (0.001, 0.3), True),
    ("units", "Units per hidden layer", "graph.units", "int", (2, 32), True),
    ("layers", "Hidden layers", "graph.hidden_layers", "int", (1, 3), False),
    ("activation", "Activation", "graph.activation", "choices", "relu, tanh, sigmoid", False),
    ("optimizer", "Optimizer", "optimizer.type", "choices", "sgd, adam", False),
    ("batch_size", "Batch size", "training.batch_size", "int_choices", "10, 32, 100", False),
    ("l2", "L2 penalty λ", "regularizers.l2", "float_log", (1e-5, 1e-2), False),
    ("dropout", "Dropout rate", "graph.dropout", "float", (0.0, 0.5), False),
)


class SearchForm(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for c, text in enumerate(("Search", "from", "to / values")):
            grid.addWidget(QLabel(f"<b>{text}</b>"), 0, c)
        self.rows = {}
        for r, (key, label, path, kind, default, on) in enumerate(ROWS, start=1):
            box = QCheckBox(label)
            box.setObjectName(f"search_{key}")
            box.setChecked(on)
            grid.addWidget(box, r, 0)
            widgets = []
            if kind in ("float_log", "float", "int"):
                for c, v in enumerate(default, start=1):
                    if kind == "int":
                        w = QSpinBox()
                        w.setRange(1, 4096)
                    else:
                        w = QDoubleSpinBox()
                        w.setDecimals(6 if kind == "float_log" else 3)
                        w.setRange(1e-6 if kind == "float_log" else 0.0, 10.0 if kind == "float_log" else 0.95)
                        w.setSingleStep(0.001 if kind == "float_log" else 0.05)
                    w.setValue(v)
                    grid.addWidget(w, r, c)
                    widgets.append(w)
            else:
                w = QLineEdit(default)
                grid.addWidget(w, r, 1, 1, 2)
                widgets.append(w)
            self.rows[key] = (box, path, kind, widgets)

    def set_checked(self, key, on=True):
        self.rows[key][0].setChecked(on)

    def space(self) -> dict:
        """The SPACE of the checked rows; refuses an empty search or a reversed range."""
        out = {}
        for key, (box, path, kind, widgets) in self.rows.items():
            if not box.isChecked():
                continue
            label = box.text()
            if kind in ("choices", "int_choices"):
                parts = [p.strip() for p in widgets[0].text().split(",") if p.strip()]
                if not parts:
                    raise InvalidInput(f"{label}: list at least one value")
                if kind == "int_choices":
                    try:
                        parts = [int(p) for p in parts]
                    except ValueError:
                        raise InvalidInput(f"{label}: whole numbers separated by commas") from None
                out[path] = {"type": "categorical", "choices": parts}
                continue
            lo, hi = widgets[0].value(), widgets[1].value()
            if lo > hi:
                raise InvalidInput(f"{label}: 'from' {lo:g} is above 'to' {hi:g}")
            if kind == "int":
                out[path] = {"type": "int", "low": int(lo), "high": int(hi)}
            else:
                out[path] = {"type": "float", "low": float(lo), "high": float(hi), "log": kind == "float_log"}
        if not out:
            raise InvalidInput("check at least one setting to search")
        return out
