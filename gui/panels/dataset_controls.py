"""Two small editors of the dataset panel: the train/val/test split and the preprocessing.

Each emits a complete value (a split dict of fractions, a preprocess dict)
when the person changes it, and ``set_*`` refreshes it without emitting.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.data import FEATURES, SCALES

from .help_texts import apply_help
from .schema_form import compact

SPLITS = ("train", "val", "test")
SPLIT_LABELS = {"train": "train", "val": "validation", "test": "test"}
FLOOR = {"train": 1, "val": 0, "test": 0}  # the engine needs a non-empty training part
# Who gives way when one part changes: the later parts first, training last.
ABSORB = {"train": ("test", "val"), "val": ("test", "train"), "test": ("val", "train")}
FEATURE_CELLS = {"x1": (0, 0), "x2": (0, 1), "x1*x2": (0, 2), "x1^2": (1, 0), "x2^2": (1, 1),
                 "sin(x1)": (2, 0), "sin(x2)": (2, 1)}  # raw, squares, sines: one idea per row
SCALE_LABELS = {"none": "none", "standardize": "standardize (mean 0, std 1)", "minmax": "min–max to [0, 1]",
                "pca_whiten": "PCA whitening"}
FEATURE_LABELS = {"x1": "x1", "x2": "x2", "x1^2": "x1²", "x2^2": "x2²", "x1*x2": "x1·x2",
                  "sin(x1)": "sin(x1)", "sin(x2)": "sin(x2)"}


def rebalance(percent: dict, changed: str) -> dict:
    """Integer percentages that sum to 100, keeping ``changed`` (clamped) and adjusting the others."""
    out = {s: int(percent[s]) for s in SPLITS}
    others = ABSORB[changed]
    out[changed] = max(FLOOR[changed], min(out[changed], 100 - sum(FLOOR[o] for o in others)))
    excess = sum(out.values()) - 100
    for o in others:
        if excess > 0:
            take = min(excess, out[o] - FLOOR[o])
            out[o] -= take
            excess -= take
        elif excess < 0:
            out[o] -= excess  # the first to give way takes all of the slack
            excess = 0
    return out


class SplitEditor(QWidget):
    """Three percentage spin boxes that always sum to 100."""

    changed = Signal(dict)  # fractions {"train", "val", "test"}

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.spins = {}
        for s in SPLITS:
            box = QVBoxLayout()
            box.setSpacing(1)
            label = QLabel(SPLIT_LABELS[s])
            label.setAlignment(Qt.AlignCenter)
            spin = QSpinBox()
            spin.setObjectName(f"split_{s}")
            spin.setRange(FLOOR[s], 100)
            spin.setSuffix(" %")
            spin.setKeyboardTracking(False)
            apply_help(spin, f"dataset.split.{s}")
            apply_help(label, f"dataset.split.{s}")
            spin.valueChanged.connect(lambda _v, s=s: self._on_change(s))
            box.addWidget(label)
            box.addWidget(spin)
            row.addLayout(box)
            self.spins[s] = spin
        self.set_split({"train": 0.7, "val": 0.15, "test": 0.15})

    def percent(self) -> dict:
        return {s: self.spins[s].value() for s in SPLITS}

    def fractions(self) -> dict:
        return {s: v / 100.0 for s, v in self.percent().items()}

    def set_split(self, split: dict):
        pct = {s: round(100 * float(split.get(s, 0.0))) for s in SPLITS}
        pct["train"] += 100 - sum(pct.values())  # 33.3 % each shows as 34/33/33
        self._show(pct)

    def _show(self, pct):
        for s, spin in self.spins.items():
            spin.blockSignals(True)
            spin.setValue(pct[s])
            spin.blockSignals(False)

    def _on_change(self, part):
        pct = rebalance(self.percent(), part)
        self._show(pct)
        self.changed.emit({s: v / 100.0 for s, v in pct.items()})


class PreprocessEditor(QWidget):
    """Scaling choice plus TF Playground's feature-expansion checkboxes (2-D inputs only)."""

    changed = Signal(dict)  # {"scale", "features"}

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.scale = QComboBox()
        self.scale.setObjectName("scaleCombo")
        compact(self.scale)
        for s in SCALES:
            self.scale.addItem(SCALE_LABELS.get(s, s), s)
        apply_help(self.scale, "dataset.scale")
        scale_label = QLabel("scaling")
        apply_help(scale_label, "dataset.scale")
        form.addRow(scale_label, self.scale)
        lay.addLayout(form)
        self.features_box = QGroupBox("Feature expansion")
        self.features_box.setObjectName("featuresBox")
        self.features_box.setCheckable(True)
        apply_help(self.features_box, "dataset.features")
        grid = QGridLayout(self.features_box)
        grid.setHorizontalSpacing(6)
        self.checks = {}
        for name in FEATURES:
            cb = QCheckBox(FEATURE_LABELS.get(name, name))
            cb.setObjectName(f"feature_{name}")
            apply_help(cb, "dataset.features")
            cb.toggled.connect(self._emit)
            grid.addWidget(cb, *FEATURE_CELLS.get(name, (3, 0)))
            self.checks[name] = cb
        lay.addWidget(self.features_box)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #5b6573;")
        lay.addWidget(self.note)
        self.scale.currentIndexChanged.connect(self._emit)
        self.features_box.toggled.connect(self._box_toggled)
        self._updating = False
        self.set_preprocess({"scale": "none", "features": None}, True)

    def value(self) -> dict:
        feats = None
        if self.features_box.isChecked() and self.features_box.isEnabled():
            feats = [n for n in FEATURES if self.checks[n].isChecked()]
        return {"scale": self.scale.currentData(), "features": feats}

    def set_preprocess(self, pre: dict, two_d: bool):
        self._updating = True
        try:
            self.scale.setCurrentIndex(max(self.scale.findData(pre.get("scale", "none")), 0))
            feats = pre.get("features")
            self.features_box.setChecked(bool(feats))
            chosen = set(feats or ("x1", "x2"))
            for n, cb in self.checks.items():
                cb.setChecked(n in chosen)
            self.features_box.setEnabled(two_d)
            self.note.setText("" if two_d else "Feature expansion needs 2-D inputs (x1, x2).")
            self.note.setVisible(not two_d)
        finally:
            self._updating = False

    def _box_toggled(self, on):
        if on and not any(cb.isChecked() for cb in self.checks.values()):
            self._updating = True
            self.checks["x1"].setChecked(True)
            self.checks["x2"].setChecked(True)
            self._updating = False
        self._emit()

    def _emit(self, *_):
        if self._updating:
            return
        v = self.value()
        if v["features"] == []:  # the last box was unticked: keep one so the input is never empty
            self._updating = True
            self.sender().setChecked(True) if isinstance(self.sender(), QCheckBox) else None
            self._updating = False
            return
        self.changed.emit(v)
