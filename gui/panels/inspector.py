"""Property editor for the selected layer, generated from its parameter schema.

Every change is one SetParam/SetNodeField command on the document. The panel
holds no state of its own: it rebuilds its editors when the selection changes
and only re-reads values (with write-backs blocked) when the document changes.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.errors import GraphError
from engine.layers import get_layer, shape_str
from engine.params import Param

from .editors import make_editor
from .init_editor import InitEditor, target_shape
from .rules_panel import RulesOfThumbBox
from .schema_form import compact

REG_TYPES = (("l1", "L1 λ", "L1 penalty λ·Σ|w| on this layer's weights: drives many to exactly 0."),
             ("l2", "L2 λ", "L2 penalty λ·Σw² on this layer's weights: keeps them small."))


def _activation_choices():
    """Names and help of every registered activation, if that registry is available."""
    try:
        from engine.activations import ACTIVATIONS
    except ImportError:
        return None, None
    return ACTIVATIONS.names(), {e.name: e.doc for e in ACTIVATIONS.entries()}


def _initializers():
    try:
        from engine.initializers import INITIALIZERS, default_init
    except ImportError:
        return None, None
    return INITIALIZERS, default_init


class InspectorPanel(QScrollArea):
    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        # Wrap, never scroll sideways: rows put their field under the label when the dock is narrow,
        # combos may shrink below their longest entry, long texts wrap (see _section, _fit).
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.doc = document
        self.node_id: str | None = None
        self.editors = {}  # param name -> ParamEditor
        self.reg_editors = {}  # "l1"/"l2" -> ParamEditor
        self.init_editors = {}  # target -> InitEditor
        self.trainable = None
        self._body = QWidget()
        self.setWidget(self._body)
        self._layout = QVBoxLayout(self._body)
        self._layout.setAlignment(Qt.AlignTop)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setObjectName("inspectorTitle")
        self.title.setTextFormat(Qt.RichText)
        self.doc_label = QLabel()
        self.doc_label.setWordWrap(True)
        self.doc_label.setStyleSheet("color: #5b6573;")
        self.shape_label = QLabel()
        self.shape_label.setWordWrap(True)
        self.shape_label.setObjectName("inspectorShape")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b42318;")
        for w in (self.title, self.doc_label, self.shape_label, self.error_label):
            self._layout.addWidget(w)
        self.rules = RulesOfThumbBox(document)  # with no layer selected: the notes' rules of thumb for the network
        self._layout.addWidget(self.rules)
        self._sections = []
        d = document
        d.selectionChanged.connect(self._on_selection)
        d.validityChanged.connect(self._on_report)  # follows every node edit, so one refresh per edit
        d.graphReset.connect(self._on_selection)
        self._on_selection()

    def disconnect_document(self):
        """Stop listening (napari's controls disconnect on close so a dead panel never reacts)."""
        d = self.doc
        for sig, slot in ((d.selectionChanged, self._on_selection), (d.validityChanged, self._on_report),
                          (d.graphReset, self._on_selection)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def closeEvent(self, event):
        self.disconnect_document()
        super().closeEvent(event)

    # -- binding ---------------------------------------------------------------
    def _on_selection(self):
        sel = self.doc.selection
        nid = sel[0] if len(sel) == 1 else None
        if nid != self.node_id or nid is None:
            self._bind(nid)
        else:
            self.refresh()

    def _clear(self):
        for box in self._sections:
            self._layout.removeWidget(box)
            box.hide()  # deleteLater waits for the event loop; never show stale editors meanwhile
            box.deleteLater()
        self._sections = []
        self.editors, self.reg_editors, self.init_editors, self.trainable = {}, {}, {}, None

    def _bind(self, node_id):
        self._clear()
        self.node_id = node_id
        self.rules.setVisible(node_id is None)
        if node_id is None:
            n = len(self.doc.selection)
            self.title.setText("<b>No layer selected</b>" if n == 0 else f"<b>{n} layers selected</b>")
            self.doc_label.setText("Click a layer on the canvas to edit its settings; drag layers in from the palette.")
            self.shape_label.setText("")
            self.error_label.setText("")
            return
        node = self.doc.graph.node(node_id)
        try:
            lt = get_layer(node.type)
        except GraphError as e:
            self.title.setText(f"<b>{html.escape(node.type)}</b> — {html.escape(node_id)}")
            self.doc_label.setText(str(e))
            return
        self.title.setText(f"<b style='font-size:13pt'>{html.escape(lt.name)}</b> &nbsp; {html.escape(node_id)}")
        self.doc_label.setText(lt.doc)
        self.setWhatsThis(lt.doc)
        if lt.schema.params:
            self._add_params_section(lt)
        if lt.init_targets:
            self._add_training_section(lt)
            self._add_init_section(lt)
        self.refresh()

    def _section(self, title):
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)  # narrow dock: the field goes under its label
        self._layout.addWidget(box)
        self._sections.append(box)
        return form

    def _add_params_section(self, lt):
        form = self._section("Parameters")
        act_names, act_docs = _activation_choices()
        for p in lt.schema.params:
            choices = act_names if (p.name == "activation" and act_names) else None
            ed = make_editor(p, lambda v, n=p.name: self._set_param(n, v), choices=choices, docs=act_docs if choices else None)
            if lt.doc and not p.doc:
                ed.widget.setToolTip(f"{p.name} of {lt.name}")
            if isinstance(ed.widget, QComboBox):
                compact(ed.widget, 8)
            self.editors[p.name] = ed
            label = QLabel(p.name.replace("_", " "))
            label.setToolTip(p.doc or p.name)
            form.addRow(label, ed.widget)

    def _add_training_section(self, lt):
        form = self._section("Training")
        self.trainable = QCheckBox("trainable")
        self.trainable.setObjectName("trainable")
        self.trainable.setToolTip("Uncheck to freeze this layer: its weights keep their initial (or loaded) values, "
                                  "as when fine-tuning a pretrained network.")
        self.trainable.setWhatsThis(self.trainable.toolTip())
        self.trainable.toggled.connect(self._set_trainable)
        form.addRow(self.trainable)
        for key, label, doc in REG_TYPES:
            p = Param(key, "float", None, min=0.0, optional=True, doc=doc)
            ed = make_editor(p, lambda v, k=key: self._set_reg(k, v))
            ed.widget.setPlaceholderText("off")
            self.reg_editors[key] = ed
            form.addRow(label, ed.widget)

    def _add_init_section(self, lt):
        registry, _ = _initializers()
        if registry is None:
            return
        form = self._section("Initialization")
        for t in lt.init_targets:
            ed = InitEditor(t, registry)
            ed.changed.connect(lambda spec, t=t: self._set_init(t, spec))
            self.init_editors[t] = ed
            form.addRow(t, ed)

    # -- refresh from the document (write-backs blocked inside the editors) --
    def _on_report(self, _report):
        if self.node_id is not None:
            if self.node_id not in self.doc.graph.ids():
                self._bind(None)
            else:
                self.refresh()

    def refresh(self):
        if self.node_id is None or self.node_id not in self.doc.graph.ids():
            return
        node = self.doc.graph.node(self.node_id)
        rep = self.doc.report
        params = rep.params.get(node.id) or {}
        for name, ed in self.editors.items():
            ed.set_value(node.params.get(name, params.get(name, ed.param.default)))
        ins = rep.in_shapes.get(node.id)
        out = rep.shapes.get(node.id)
        parts = []
        if ins:
            parts.append("in " + ", ".join(shape_str(s) for s in ins))
        parts.append("out " + (shape_str(out) if out is not None else "?"))
        if node.id in rep.param_counts:
            parts.append(f"{rep.param_counts[node.id]:,} parameters")
        self.shape_label.setText(" → ".join(parts[:2]) + (" · " + parts[2] if len(parts) > 2 else ""))
        errs = [str(e).removeprefix(f"node '{node.id}': ") for e in rep.errors_for(node.id)]
        self.error_label.setText("\n".join("✗ " + e for e in errs))
        self.error_label.setVisible(bool(errs))
        if self.trainable is not None:
            self.trainable.blockSignals(True)
            self.trainable.setChecked(node.trainable)
            self.trainable.blockSignals(False)
        regs = {r.get("type"): r for r in node.regularizers if isinstance(r, dict)}
        for key, ed in self.reg_editors.items():
            ed.set_value(((regs.get(key) or {}).get("params") or {}).get("lambda"))
        _, default_init = _initializers()
        for t, ed in self.init_editors.items():
            default = default_init(node.type, params.get("activation"), t)["type"] if default_init else "?"
            shape = target_shape(node.type, params or None, ins, t)
            ed.set_state(node.init.get(t), default, shape)

    # -- edits -------------------------------------------------------------------
    def _set_param(self, name, value):
        if self.node_id is not None:
            self.doc.set_param(self.node_id, name, value)

    def _set_trainable(self, on):
        if self.node_id is not None:
            self.doc.set_node_field(self.node_id, "trainable", bool(on))

    def _set_reg(self, key, lam):
        node = self.doc.graph.node(self.node_id)
        regs = [r for r in node.regularizers if not (isinstance(r, dict) and r.get("type") == key)]
        if lam:
            regs.append({"type": key, "params": {"lambda": float(lam)}})
        self.doc.set_node_field(self.node_id, "regularizers", regs)

    def _set_init(self, target, spec):
        node = self.doc.graph.node(self.node_id)
        init = dict(node.init)
        if spec is None:
            init.pop(target, None)
        else:
            init[target] = spec
        self.doc.set_node_field(self.node_id, "init", init)


if __name__ == "__main__":  # python -m gui.panels.inspector: the lecture's XOR network, hidden layer selected
    import sys

    from gui.document import Document
    from gui.panels import preview
    from gui.templates import xor_lecture

    def _make():
        doc = Document(xor_lecture())
        panel = InspectorPanel(doc)
        doc.set_selection(["hidden"])
        return panel

    sys.exit(preview(_make, (340, 720)))
