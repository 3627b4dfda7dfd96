"""Typed editors generated from an ``engine.params.Param``: one widget per kind.

An editor calls ``on_commit(value)`` when the person changes it, and never
when ``set_value`` refreshes it from the document (the write-back guard that
keeps edits from looping). Text that does not parse turns the field red and
commits nothing; the editor then remembers why in ``error`` until the field
is fixed or refreshed, so the panel can refuse to train with a value the
person sees but training would not use (``invalid_reason``).
"""
from __future__ import annotations

import json
import math
import re
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QDoubleValidator, QIntValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

INT_LIMIT = 2**31 - 1
BAD_STYLE = "QLineEdit { border: 1px solid #d62d2d; background: #fff4f4; }"


def fmt_float(v) -> str:
    """Shortest text that round-trips (0.5, 1e-05), so re-reading a field never changes its value."""
    return repr(float(v)) if v is not None else ""


def parse_list(text: str, kind: str):
    """``"2, 8"`` → ``[2, 8]``; raises ValueError naming the bad item."""
    parts = [t for t in re.split(r"[\s,;\[\]()]+", text) if t]
    out = []
    for t in parts:
        v = float(t)
        if kind == "ints":
            if not math.isfinite(v) or v != int(v):
                raise ValueError(f"{t!r} is not an integer")
            v = int(v)
        out.append(v)
    return out


class ParamEditor:
    """Owns one widget; subclasses implement ``_show`` and connect their change signal to ``_emit``."""

    def __init__(self, param, widget, on_commit: Callable):
        self.param = param
        self.widget = widget
        self.on_commit = on_commit
        self._updating = False
        self.error: str | None = None  # why the value shown is not the value in use (None: it is)
        tip = param.doc or param.name
        widget.setToolTip(tip)
        widget.setWhatsThis(f"<b>{param.name}</b> ({param.kind}): {tip}"
                            + (f"<br>default: {param.default!r}" if param.default is not None else ""))
        widget.setObjectName(f"param_{param.name}")

    def set_value(self, value):
        self._updating = True
        try:
            self._show(value)
        finally:
            self._updating = False
        self.error = None

    def flush(self):
        """Commit text typed but not yet confirmed (Enter or focus-out); a no-op for non-text editors."""

    def _emit(self, value):
        if not self._updating:
            self.on_commit(value)

    def _show(self, value):  # pragma: no cover - abstract
        raise NotImplementedError


class SpinEditor(ParamEditor):
    def __init__(self, param, on_commit):
        w = QSpinBox()
        w.setRange(int(param.min) if param.min is not None else -INT_LIMIT,
                   int(param.max) if param.max is not None else INT_LIMIT)
        w.setKeyboardTracking(False)  # commit on Enter/arrows/focus-out, not per keystroke
        w.setAccelerated(True)
        super().__init__(param, w, on_commit)
        w.valueChanged.connect(self._emit)

    def _show(self, value):
        self.widget.setValue(int(value if value is not None else (self.param.default or 0)))


class CheckEditor(ParamEditor):
    def __init__(self, param, on_commit, label=""):
        super().__init__(param, QCheckBox(label), on_commit)
        self.widget.toggled.connect(self._emit)

    def _show(self, value):
        self.widget.setChecked(bool(value))


class ComboEditor(ParamEditor):
    def __init__(self, param, on_commit, choices=None, docs=None):
        w = QComboBox()
        for c in choices if choices is not None else param.choices:
            w.addItem(str(c), c)
            if docs and docs.get(c):
                w.setItemData(w.count() - 1, docs[c], Qt.ToolTipRole)
        super().__init__(param, w, on_commit)
        w.currentIndexChanged.connect(lambda i: self._emit(w.itemData(i)))

    def _show(self, value):
        i = self.widget.findData(value)
        if i < 0 and value is not None:  # a value outside the list (old file): show it anyway
            self.widget.addItem(str(value), value)
            i = self.widget.count() - 1
        self.widget.setCurrentIndex(i)


class TextEditor(ParamEditor):
    """Line edit for float, optional int, str, ints/floats lists and JSON ("any")."""

    def __init__(self, param, on_commit):
        w = QLineEdit()
        k = param.kind
        if k == "float":
            v = QDoubleValidator(w)
            v.setNotation(QDoubleValidator.ScientificNotation)
            w.setValidator(v)
        elif k == "int":
            w.setValidator(QIntValidator(w))
        if param.optional:
            w.setPlaceholderText("none" if param.default is None else f"default {param.default}")
        elif k in ("ints", "floats"):
            w.setPlaceholderText("e.g. 2, 8")
        elif k == "any":
            w.setPlaceholderText("JSON, e.g. {\"slope\": 0.1}")
        super().__init__(param, w, on_commit)
        self._shown = ""
        self._tip = None  # the help tooltip, kept while the field shows an error instead
        self._unparsed = False  # ``error`` is about text that did not parse (not about a rejected value)
        w.editingFinished.connect(self._finish)
        w.textEdited.connect(lambda _t: w.setStyleSheet(""))

    def text_of(self, value) -> str:
        k = self.param.kind
        if value is None:
            return ""
        if k == "float":
            return fmt_float(value)
        if k in ("ints", "floats"):
            return ", ".join(fmt_float(v) if k == "floats" else str(int(v)) for v in value)
        if k == "any":
            return json.dumps(value)
        return str(value)

    def parse(self, text: str):
        k = self.param.kind
        text = text.strip()
        if not text:
            if self.param.optional:
                return None
            if k == "any":
                return self.param.default
            raise ValueError("a value is required")
        if k == "float":
            return float(text)
        if k == "int":
            return int(text)
        if k in ("ints", "floats"):
            return parse_list(text, k)
        if k == "any":
            return json.loads(text)
        return text

    def _show(self, value):
        self._shown = self.text_of(value)
        self.widget.setText(self._shown)
        self.widget.setStyleSheet("")
        self._unparsed = False
        if self._tip is not None:
            self.widget.setToolTip(self._tip)

    def flush(self):
        self._finish()

    def mark_bad(self, reason: str):
        """Show ``reason`` on the field (red, in its tooltip) and remember it in ``error``."""
        if self._tip is None:
            self._tip = self.widget.toolTip()
        self.error = reason
        self.widget.setStyleSheet(BAD_STYLE)
        self.widget.setToolTip(f"Not applied: {reason}")

    def _finish(self):
        text = self.widget.text()
        if text == self._shown:
            if self._unparsed:  # typed back to the value in use
                self.error, self._unparsed = None, False
                self.widget.setStyleSheet("")
                if self._tip is not None:
                    self.widget.setToolTip(self._tip)
            return  # (an error the form set for this very text stays until the text changes)
        try:
            value = self.parse(text)
        except (ValueError, json.JSONDecodeError) as e:
            k = self.param.kind
            why = ("is not a number" if k == "float" else "is not a whole number" if k == "int"
                   else f"is not valid ({e})")
            self.mark_bad(f"“{text.strip()}” {why}")
            self._unparsed = True
            return
        self.error, self._unparsed = None, False
        self.widget.setStyleSheet("")
        if self._tip is not None:
            self.widget.setToolTip(self._tip)
        self._shown = text
        self._emit(value)


def make_editor(param, on_commit, choices=None, docs=None) -> ParamEditor:
    """The editor for ``param``; ``choices`` overrides the list (e.g. all registered activations)."""
    k = param.kind
    if choices is not None or k == "choice" or (k == "str" and param.choices):
        return ComboEditor(param, on_commit, choices, docs)
    if k == "bool":
        return CheckEditor(param, on_commit)
    if k == "int" and not param.optional:
        return SpinEditor(param, on_commit)
    return TextEditor(param, on_commit)
