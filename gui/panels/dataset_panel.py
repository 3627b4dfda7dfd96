"""The Dataset dock: generator and its parameters, split, preprocessing, seed and a live preview.

The session stays the only state: every change is one undoable
``session.dataset`` (or ``session.seed``) edit, and the panel re-reads the
session on ``sessionChanged``/``sessionReplaced`` with its write-backs blocked.
Painting turns the data into an ``inline`` spec (the points as plain lists).
``make_dataset`` is fast, so the preview simply rebuilds 100 ms after the last change.
"""
from __future__ import annotations

import copy
import math
import random

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QDialog, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from engine.data import DATASETS, dataset_canonical, make_dataset
from engine.errors import InvalidInput
from engine.layers import shape_str

from .dataset_controls import PreprocessEditor, SplitEditor
from .dataset_preview import DatasetPreview
from .help_texts import apply_help
from .painting import add_point, erase_near, to_inline
from .schema_form import ERROR_STYLE, SchemaForm, align_labels, write_session_field

LABELS = {
    "circle": "Circle (TF Playground)", "xor": "Exclusive or (TF Playground)", "gauss": "Gaussian (TF Playground)",
    "spiral": "Spiral (TF Playground)", "plane": "Plane — regression (TF)", "multi_gauss": "Multi Gaussian — regression (TF)",
    "moons": "Two moons", "blobs": "Blobs (k classes)", "spirals": "Spirals (k arms)", "digits": "Handwritten digits 8×8",
    "multi_label": "Multi-label (3 labels at once)", "inline": "Painted points", "csv": "Imported CSV…",
}
PARAM_LABELS = {"n": "points", "noise": "noise", "classes": "classes", "std": "spread (std)", "flat": "flat vectors"}
HIDDEN = ("x", "y", "task", "feature_names", "class_names", "source",
          "path", "target", "delimiter", "header")  # a CSV named by path is read when the session opens
SPECIAL = ("inline", "csv")
PREVIEW_DELAY_MS = 100
WARN_STYLE = "QFrame#inputWarning { background: #fff6e5; border: 1px solid #f0b54a; border-radius: 4px; }"


def summary(ds) -> str:
    """Task, input shape and features, scaling: what the legend under the plot does not already say."""
    feats = ", ".join(ds.feature_names[:6]) + (", …" if len(ds.feature_names) > 6 else "")
    shape = "(" + ", ".join(map(str, ds.input_shape)) + ("," if len(ds.input_shape) == 1 else "") + ")"
    if ds.task == "multilabel":  # a point can carry several labels: the counts may add up to more than N
        what = f"multi-label, {ds.n_classes} labels (train samples with each: " + ", ".join(
            f"{n} {c}" for n, c in zip(ds.class_names, ds.class_counts("train"))) + ")"
    else:
        what = f"{ds.n_classes} classes" if ds.task == "classification" else "regression"
    return f"{what}; inputs {shape}: {feats}; scaling {ds.preprocess_state.get('scale', 'none')}"


class DatasetPanel(QScrollArea):
    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("datasetPanel")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.doc = document
        self.ds = None  # the Dataset the preview shows
        self._spec = None  # canonical spec shown (None if the session's is invalid)
        self._pending = None  # transient spec to preview (slider drag, painting)
        self._refit = True
        self._stroke = None  # inline params while a paint gesture is under way
        self._updating = False
        body = QWidget()
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setAlignment(Qt.AlignTop)
        lay.addWidget(self._data_group())
        self.error = QLabel()
        self.error.setObjectName("datasetError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.PlainText)
        self.error.hide()
        lay.addWidget(self.error)
        lay.addWidget(self._input_warning())
        self.preview = DatasetPreview()
        self.preview.painted.connect(self._on_paint)
        lay.addWidget(self.preview, 1)
        self.summary = QLabel()
        self.summary.setObjectName("datasetSummary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #5b6573;")
        self.summary.setTextFormat(Qt.PlainText)
        lay.addWidget(self.summary)
        split_box = QGroupBox("Split")
        apply_help(split_box, "dataset.split")
        sl = QVBoxLayout(split_box)
        self.split = SplitEditor()
        self.split.changed.connect(self._on_split)
        sl.addWidget(self.split)
        lay.addWidget(split_box)
        pre_box = QGroupBox("Preprocessing")
        pl = QVBoxLayout(pre_box)
        self.prep = PreprocessEditor()
        self.prep.changed.connect(self._on_preprocess)
        pl.addWidget(self.prep)
        lay.addWidget(pre_box)
        align_labels(body, (self.form,), PARAM_LABELS.values())
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(PREVIEW_DELAY_MS)
        self.timer.timeout.connect(self.update_preview_now)
        document.sessionChanged.connect(self._on_session_changed)
        document.sessionReplaced.connect(self.refresh)
        document.validityChanged.connect(self._on_report)
        self.refresh()
        self.update_preview_now()

    # -- building ------------------------------------------------------------------
    def _data_group(self):
        box = QGroupBox("Data")
        lay = QVBoxLayout(box)
        self.form = SchemaForm(DATASETS, labels=LABELS, param_labels=PARAM_LABELS, hidden=HIDDEN, sliders=("noise",),
                               special=SPECIAL, combo_label="dataset", help_key="dataset.type")
        self.form.changed.connect(self._on_form)
        self.form.previewed.connect(self._on_form_preview)
        self.form.specialChosen.connect(self._on_special)
        lay.addWidget(self.form)
        seed_row = QHBoxLayout()
        seed_label = QLabel("seed")
        apply_help(seed_label, "dataset.seed")
        seed_form = QFormLayout()
        seed_form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        seed_form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.seed = QSpinBox()
        self.seed.setObjectName("datasetSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setMinimumWidth(60)  # the size hint makes room for ten digits
        apply_help(self.seed, "dataset.seed")
        self.seed.valueChanged.connect(self._on_seed)
        self.reseed = QPushButton("New seed")
        self.reseed.setObjectName("reseed")
        apply_help(self.reseed, "dataset.reseed")
        self.reseed.clicked.connect(lambda: self.seed.setValue(random.randrange(0, 100_000)))
        self.csv_button = QPushButton("Import CSV…")
        self.csv_button.setObjectName("importCsv")
        apply_help(self.csv_button, "dataset.csv")
        self.csv_button.clicked.connect(self.import_csv)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.reseed)
        seed_form.addRow(seed_label, seed_row)
        lay.addLayout(seed_form)
        lay.addWidget(self.csv_button)
        return box

    def _input_warning(self):
        self.input_warning = QFrame()
        self.input_warning.setObjectName("inputWarning")
        self.input_warning.setStyleSheet(WARN_STYLE)
        row = QHBoxLayout(self.input_warning)
        row.setContentsMargins(8, 6, 8, 6)
        self.input_text = QLabel()
        self.input_text.setWordWrap(True)
        self.input_text.setTextFormat(Qt.PlainText)
        self.fix_input = QPushButton("Fix Input shape")
        self.fix_input.setObjectName("fixInputShape")
        apply_help(self.fix_input, "dataset.fix_input")
        self.fix_input.clicked.connect(self.fix_input_shape)
        row.addWidget(self.input_text, 1)
        row.addWidget(self.fix_input)
        self.input_warning.hide()
        return self.input_warning

    # -- refresh from the session (no write-backs) ---------------------------------
    def _on_session_changed(self, key):
        if key in ("dataset", "seed"):
            self.refresh()

    def refresh(self):
        raw = self.doc.session.dataset
        self._updating = True
        try:
            try:
                self._spec = dataset_canonical(raw)
            except InvalidInput as e:
                self._spec = None
                self.form.set_spec({"type": raw.get("type"), "params": raw.get("params") or {}}
                                   if isinstance(raw, dict) else raw)
                if self.form.error.isHidden():  # else the form already shows the message by the field
                    self._show_error(str(e))
            else:
                self.form.set_spec({"type": self._spec["type"], "params": self._spec["params"]})
                self.split.set_split(self._spec["split"])
                self.prep.set_preprocess(self._spec["preprocess"], self._two_d())
            self.seed.setValue(int(self.doc.session.seed))
        finally:
            self._updating = False
        self._schedule(refit=self.preview.mode == "view")  # while painting, the view stays put

    def _two_d(self) -> bool:
        if self._spec is None:
            return False
        if self._spec["type"] in ("inline", "csv"):
            x = self._spec["params"].get("x") or []
            return bool(len(x)) and hasattr(x[0], "__len__") and len(x[0]) == 2  # lists, or an imported DataArray
        return self._spec["type"] != "digits"

    def _schedule(self, spec=None, refit=True):
        self._pending = spec
        self._refit = self._refit or refit
        self.timer.start()

    def update_preview_now(self):
        """Rebuild the preview from the session (or the transient spec) now; tests call this instead of waiting."""
        self.timer.stop()
        spec = self._pending or self._spec
        self._pending = None
        refit, self._refit = self._refit, False
        if spec is None:
            self.ds = None
            self.preview.clear("No preview: the dataset settings have an error.")
            self._check_input()
            return
        try:
            ds = make_dataset(spec, self.doc.session.seed)
        except InvalidInput as e:
            self.ds = None
            self._show_error(str(e))
            self.preview.clear()
            self.summary.setText("")
        else:
            self.ds = ds
            self._show_error("")
            self.preview.show_dataset(ds, refit=refit)
            self.summary.setText(summary(ds))
            two_d = len(ds.raw_x("train").shape) == 2 and ds.raw_x("train").shape[1] == 2
            if ds.task == "multilabel":
                self.preview.set_paintable(False, "Painting gives a point one class; multi-label points need "
                                                  "every label (write them as inline y lists).")
            else:
                self.preview.set_paintable(two_d, "Painting needs 2-D inputs (x1, x2).")
        self._check_input()

    def invalid_reason(self) -> str | None:
        """Why training would not use the dataset settings shown (a rejected or unparsable field); None if it would.

        Called by Train/Step before they start, like ``TrainingPanel.invalid_reason``.
        """
        return self.form.invalid_reason()

    def _show_error(self, text):
        self.error.setText(text)
        self.error.setVisible(bool(text))

    # -- the Input node ---------------------------------------------------------------
    def _input_node(self):
        rep = self.doc.report
        nid = rep.input_id or next((n.id for n in self.doc.graph.nodes if n.type == "Input"), None)
        return nid

    def _on_report(self, _report):
        self._check_input()

    def _check_input(self):
        nid = self._input_node()
        if self.ds is None or nid is None:
            self.input_warning.hide()
            return
        have = self.doc.report.shapes.get(nid) or tuple(self.doc.graph.node(nid).params.get("shape") or ())
        want = tuple(self.ds.input_shape)
        if tuple(have) == want:
            self.input_warning.hide()
            return
        feats = self.ds.preprocess_state.get("features")
        why = f" ({len(feats)} expanded features)" if feats else ""
        self.input_text.setText(f"The Input node '{nid}' expects {shape_str(tuple(have))} but the "
                                f"dataset gives {shape_str(want)}{why}.")
        self.input_warning.show()

    def fix_input_shape(self):
        nid = self._input_node()
        if self.ds is not None and nid is not None:
            self.doc.set_param(nid, "shape", list(self.ds.input_shape))

    # -- edits ------------------------------------------------------------------------------
    def _write(self, spec, text):
        if self._updating:
            return
        try:
            canon = dataset_canonical(spec)
        except InvalidInput as e:
            self._show_error(str(e))
            return
        if not write_session_field(self.doc, "dataset", canon, text):
            self.refresh()  # nothing changed (e.g. a no-op edit): still show the session's values

    def _base(self) -> dict:
        """The current spec's split and preprocessing (defaults if the session's spec is broken)."""
        if self._spec is not None:
            return {"split": dict(self._spec["split"]), "preprocess": dict(self._spec["preprocess"])}
        return {"split": self.split.fractions(), "preprocess": self.prep.value()}

    def _on_form(self, spec):
        new = {**spec, **self._base()}
        if self._spec is None or spec["type"] != self._spec["type"]:
            if spec["type"] == "digits":
                new["preprocess"]["features"] = None
            self._write(new, f"Dataset: {LABELS.get(spec['type'], spec['type'])}")
        else:
            self._write(new, "Change dataset parameters")

    def _on_form_preview(self, spec):
        self._schedule({**spec, **self._base()}, refit=False)

    def _on_special(self, name):
        if name == "csv":
            self.import_csv()
        elif self.ds is not None and self.preview.mode_buttons["paint"].isEnabled():
            self._write({"type": "inline", "params": to_inline(self.ds), **self._base()}, "Convert to painted points")
            self.preview.set_mode("paint")
        else:
            self._show_error("Painting needs a valid 2-D dataset to start from.")
        self.refresh()  # re-shows the session's type when the choice was cancelled

    def _on_split(self, fractions):
        if self._spec is not None:
            self._write({**self._spec, "split": fractions}, "Change split")

    def _on_preprocess(self, pre):
        if self._spec is not None:
            self._write({**self._spec, "preprocess": pre}, "Change preprocessing")

    def _on_seed(self, value):
        if not self._updating:
            write_session_field(self.doc, "seed", int(value), "Change seed")

    def import_csv(self):
        from .csv_dialog import CsvImportDialog

        dlg = CsvImportDialog(self, split=self._base()["split"])
        if dlg.exec() == QDialog.Accepted and dlg.spec() is not None:
            self.apply_import(dlg)
        self.refresh()

    def apply_import(self, dlg):
        """The dialog's data, and with "set up a network" the network and settings sized to it: one undo step."""
        text = f"Import {dlg.table.name or 'CSV'}"
        if not dlg.setup_network.isChecked():
            return self._write(dlg.spec(), text)
        from engine.spec import GraphSpec

        s = dlg.suggested_session()
        self.doc.undo_stack.beginMacro(text)
        try:
            self.doc.replace_graph(GraphSpec.from_dict(s.graph.to_dict()), "Network for the data")
            for key in ("loss", "optimizer"):
                self.doc.set_session_field(key, getattr(s, key))
            self.doc.set_session_field("training", dict(self.doc.session.training, epochs=s.training["epochs"],
                                                        batch_size=s.training["batch_size"]))
            self._write(s.dataset, text)  # last: the preview and its Input check see the new network
        finally:
            self.doc.undo_stack.endMacro()

    # -- painting ------------------------------------------------------------------------------
    def _on_paint(self, action, x, y, phase):
        if self.ds is None or not (math.isfinite(x) and math.isfinite(y)):
            return
        if phase in ("click", "start") or self._stroke is None:
            base = self._spec if self._spec and self._spec["type"] == "inline" else None
            self._stroke = copy.deepcopy(base["params"]) if base else to_inline(self.ds)
            self._stroke_last = None
        s = self._stroke
        px, py = self.preview.vb.viewPixelSize()
        if action == "add":
            spacing = 12 * max(px, py)
            last = self._stroke_last
            if phase in ("click", "start") or last is None or math.hypot(x - last[0], y - last[1]) >= spacing:
                add_point(s, x, y, self.preview.paint_target())
                self._stroke_last = (x, y)
        else:
            erase_near(s, x, y, 10 * max(px, py))
        spec = {"type": "inline", "params": s, **self._base()}
        if phase in ("click", "end"):
            self._stroke = None
            self._write(spec, "Paint points" if action == "add" else "Erase points")
        else:
            self._pending = spec
            self._refit = False
            self.update_preview_now()

    # -- lifetime ------------------------------------------------------------------------------
    def disconnect_document(self):
        d = self.doc
        for sig, slot in ((d.sessionChanged, self._on_session_changed), (d.sessionReplaced, self.refresh),
                          (d.validityChanged, self._on_report)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self.timer.stop()

    def closeEvent(self, event):
        self.disconnect_document()
        super().closeEvent(event)


if __name__ == "__main__":  # python -m gui.panels.dataset_panel: the TF Playground spiral with a little noise
    import sys

    from engine.session import Session
    from gui.document import Document
    from gui.panels import preview

    def _make():
        s = Session()
        s.dataset = {"type": "spiral", "params": {"noise": 0.1, "n": 300}}
        return DatasetPanel(Document(s))

    sys.exit(preview(_make, (380, 900)))
