"""A registry form: pick an entry in a combo, then edit its parameters.

The editors come from ``gui.panels.editors`` (one per ``Param`` kind), so the
dataset, loss, optimizer and schedule forms look and behave like the layer
inspector. The form never touches the document: it emits ``changed`` with a
complete, validated ``{"type", "params"}`` spec, and ``set_spec`` refreshes it
with write-backs blocked. Parameters the engine rejects show inline in red.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from engine.errors import InvalidInput

from .editors import ParamEditor, make_editor
from .help_texts import TIPS, apply_help

ERROR_STYLE = "color: #b42318;"
SLIDER_STEPS = 100


def compact(combo, chars=10):
    """Let a combo shrink below its longest item, so a narrow dock never scrolls sideways."""
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def align_labels(root, schema_forms=(), texts=()):
    """Give every form label under ``root`` the same width, so fields line up across group boxes.

    ``texts``: labels that may appear later (a form's other entries), counted in the width too.
    """
    labels = []
    for form in root.findChildren(QFormLayout):
        for i in range(form.rowCount()):
            item = form.itemAt(i, QFormLayout.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                labels.append(item.widget())
    width = max([lab.sizeHint().width() for lab in labels] + [QLabel(t).sizeHint().width() for t in texts] or [0])
    for lab in labels:
        lab.setMinimumWidth(width)
    for f in schema_forms:
        f.label_width = width
    return width


def field_reason(field: str, error: str) -> str:
    """'optimizer “learning rate” must be ≥ 0.0, got -1.0': short enough for a 1024 px status bar.

    The engine's "optimizer 'adam'.lr " prefix is dropped, since ``field`` already names the field.
    """
    short = re.sub(r"^[\w ]+ '[^']+'\.\w+ ", "", str(error))
    return f"{field} {short}" if short.startswith("must") else f"{field}: {short}"


def adds_to(tip: str, doc: str | None) -> bool:
    """Whether a parameter's own doc says something the help tip does not (else the tooltip repeats itself).

    Same text, or the same leading term ("Learning rate η: …" twice), counts as a repeat.
    """
    if not doc or doc in tip:
        return False
    head = doc.split(":", 1)[0].strip().lower()
    return not (":" in doc and tip.split(":", 1)[0].strip().lower() == head)


def write_session_field(doc, key, value, text=None) -> bool:
    """One user action = one undo step: wrap the edit in a macro so it never merges with the previous one.

    ``Document.set_session_field`` merges consecutive edits of the same key
    (good for a spin box held down); a panel that commits once per gesture
    wants each gesture to undo on its own. Returns False when nothing changed.
    """
    if getattr(doc.session, key) == value:
        return False
    doc.undo_stack.beginMacro(text or f"Set {key}")
    try:
        doc.set_session_field(key, value)
    finally:
        doc.undo_stack.endMacro()
    return True


class SliderEditor(ParamEditor):
    """A float in [min, max] as a slider: previews while dragging, commits on release."""

    def __init__(self, param, on_commit, on_preview=None, percent=True):
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setObjectName(f"slider_{param.name}")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(38)
        self.value_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        self.lo, self.hi = float(param.min), float(param.max)
        self.percent = percent and self.lo == 0.0 and self.hi == 1.0
        self.on_preview = on_preview
        super().__init__(param, box, on_commit)
        self.slider.setToolTip(box.toolTip())
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(lambda: self._emit(self.value()))

    def value(self) -> float:
        return round(self.lo + (self.hi - self.lo) * self.slider.value() / SLIDER_STEPS, 6)

    def _text(self, v):
        return f"{round(v * 100)} %" if self.percent else f"{v:.3g}"

    def _moved(self, _pos):
        v = self.value()
        self.value_label.setText(self._text(v))
        if self._updating:
            return
        if self.slider.isSliderDown():
            if self.on_preview is not None:
                self.on_preview(v)
        else:  # keyboard, wheel, a click on the groove, or setValue from a test
            self._emit(v)

    def _show(self, value):
        v = float(self.param.default if value is None else value)
        self.slider.setValue(round((v - self.lo) / (self.hi - self.lo) * SLIDER_STEPS))
        self.value_label.setText(self._text(v))


class SchemaForm(QWidget):
    """Combo of registry entries plus editors for the chosen entry's schema.

    ``labels``: friendly names for entries; ``param_labels``: for parameters;
    ``hidden``: parameter names never shown (their values are kept);
    ``sliders``: float parameters shown as sliders; ``special``: entries whose
    choice emits ``specialChosen`` instead of switching (the owner decides and
    calls ``set_spec``); ``exclude``: entries not offered at all.
    """

    changed = Signal(dict)
    previewed = Signal(dict)  # a transient value while a slider is dragged
    specialChosen = Signal(str)

    def __init__(self, registry, *, labels=None, param_labels=None, hidden=(), sliders=(), special=(), exclude=(),
                 combo_label="Type", help_key=None, parent=None):
        super().__init__(parent)
        self.registry = registry
        self.labels = dict(labels or {})
        self.param_labels = dict(param_labels or {})
        self.hidden, self.sliders, self.special = set(hidden), set(sliders), set(special)
        self.editors: dict[str, ParamEditor] = {}
        self._spec: dict | None = None
        self._updating = False
        self.label_width = 0  # minimum label width (see align_labels)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        outer.addLayout(self.form)
        self.combo = QComboBox()
        self.combo.setObjectName(f"{registry.kind}Combo")
        compact(self.combo)
        self._fill_combo(set(exclude))
        if help_key:
            apply_help(self.combo, help_key)
        self.combo_label = QLabel(combo_label)
        self.combo_label.setToolTip(self.combo.toolTip())
        self.form.addRow(self.combo_label, self.combo)
        self.error = QLabel()
        self.error.setObjectName(f"{registry.kind}Error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.PlainText)
        self.error.hide()
        outer.addWidget(self.error)
        self.combo.currentIndexChanged.connect(self._on_combo)

    # -- building --------------------------------------------------------------
    def _fill_combo(self, exclude):
        group = None
        for e in self.registry.entries():
            if e.name in exclude:
                continue
            if group is not None and e.group != group:
                self.combo.insertSeparator(self.combo.count())
            group = e.group
            self.combo.addItem(self.labels.get(e.name, e.name), e.name)
            tip = TIPS.get(f"{self.registry.kind}.{e.name}") or e.doc.split("\n")[0]
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ToolTipRole)

    def _clear_rows(self):
        while self.form.rowCount() > 1:
            self.form.removeRow(1)
        self.editors = {}

    def _build(self, name):
        self._clear_rows()
        entry = self.registry.entry(name)
        for p in entry.schema.params:
            if p.name in self.hidden:
                continue
            if p.name in self.sliders and p.kind == "float" and p.min is not None and p.max is not None:
                ed = SliderEditor(p, lambda v, n=p.name: self._commit(n, v), lambda v, n=p.name: self._preview(n, v))
            else:
                ed = make_editor(p, lambda v, n=p.name: self._commit(n, v))
            key = next((k for k in (f"{self.registry.kind}.{p.name}", p.name) if k in TIPS), None)
            if key:
                apply_help(ed.widget, key, extra=p.doc if adds_to(TIPS[key], p.doc) else "")
                if isinstance(ed, SliderEditor):
                    ed.slider.setToolTip(ed.widget.toolTip())
            label = QLabel(self.param_labels.get(p.name, p.name.replace("_", " ")))
            label.setToolTip(ed.widget.toolTip())
            label.setMinimumWidth(self.label_width)
            self.form.addRow(label, ed.widget)
            self.editors[p.name] = ed

    # -- state -------------------------------------------------------------------
    @property
    def type_name(self) -> str | None:
        return self._spec["type"] if self._spec else None

    def spec(self) -> dict | None:
        return None if self._spec is None else {"type": self._spec["type"], "params": dict(self._spec["params"])}

    def set_spec(self, spec):
        """Show ``spec`` (name or dict); emits nothing. A spec the engine rejects is shown with its error."""
        try:
            canon = self.registry.canonical(spec)
            self._show_error("")
        except InvalidInput as e:
            self._show_error(str(e))
            name = spec if isinstance(spec, str) else (spec or {}).get("type") if isinstance(spec, dict) else None
            if name not in self.registry:
                return
            canon = {"type": self.registry.entry(name).name, "params": _salvage(self.registry.entry(name).schema, spec)}
        rebuild = self._spec is None or self._spec["type"] != canon["type"]
        self._spec = canon
        self._updating = True
        try:
            i = self.combo.findData(canon["type"])
            if i < 0:
                self.combo.addItem(self.labels.get(canon["type"], canon["type"]), canon["type"])
                i = self.combo.count() - 1
            self.combo.setCurrentIndex(i)
            if rebuild:
                self._build(canon["type"])
            for name, ed in self.editors.items():
                ed.set_value(canon["params"].get(name))
        finally:
            self._updating = False

    def _show_error(self, text):
        self.error.setText(text or "")
        self.error.setVisible(bool(text))

    # -- edits -------------------------------------------------------------------
    def _on_combo(self, index):
        if self._updating or index < 0:
            return
        name = self.combo.itemData(index)
        if name is None or name == self.type_name:
            return
        if name in self.special:
            self.specialChosen.emit(name)
            return
        try:
            canon = self.registry.canonical({"type": name, "params": {}})
        except InvalidInput as e:  # an entry whose defaults are not a valid choice on their own
            self._show_error(str(e))
            return
        self.set_spec(canon)
        self.changed.emit(self.spec())

    def _candidate(self, name, value):
        params = dict(self._spec["params"])
        params[name] = list(value) if isinstance(value, tuple) else value
        return self.registry.canonical({"type": self._spec["type"], "params": params})

    def _commit(self, name, value):
        if self._updating or self._spec is None:
            return
        ed = self.editors.get(name)
        try:
            canon = self._candidate(name, value)
        except InvalidInput as e:
            self._show_error(str(e))
            if ed is not None:
                if hasattr(ed, "mark_bad"):
                    ed.mark_bad(str(e))
                else:
                    ed.error = str(e)
            return
        self._show_error("")
        if ed is not None:
            ed.error = None
        self._spec = canon
        self.changed.emit(self.spec())

    def invalid_reason(self) -> str | None:
        """Why a field shows a value that is not in use (rejected or unparsable), naming the field; None if none.

        Text typed but not confirmed yet is committed first, so "typed 0.5, clicked Train" trains with 0.5.
        """
        for ed in list(self.editors.values()):
            ed.flush()
        for name, ed in self.editors.items():
            if ed.error:
                label = self.param_labels.get(name, name.replace("_", " "))
                return field_reason(f"{self.combo_label.text()} “{label}”", ed.error)
        return None

    def _preview(self, name, value):
        if self._updating or self._spec is None:
            return
        try:
            self.previewed.emit(self._candidate(name, value))
        except InvalidInput:
            pass


def _salvage(schema, spec) -> dict:
    """Defaults, overridden by every given value that is valid on its own (to show a broken spec)."""
    given = (spec.get("params") if isinstance(spec, dict) else None) or {}
    out = {}
    for p in schema.params:
        try:
            out[p.name] = p.check(given.get(p.name, p.default))
        except InvalidInput:
            out[p.name] = p.default
    return out
