"""The Training dock: loss, optimizer, schedule, batches, regularization, early stopping, seed, device.

Each control writes one undoable edit of ``session.loss``, ``optimizer``,
``schedule``, ``regularizers``, ``training`` or ``seed``; the panel re-reads
the session on every ``sessionChanged`` with write-backs blocked. The
"common mistakes" check (``engine.losses.check_pairing``) runs on every loss,
graph or dataset change and shows its warnings inline.
"""
from __future__ import annotations

import html
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from engine.data import dataset_canonical
from engine.errors import InvalidInput
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZERS
from engine.params import Param
from engine.regularizers import REGULARIZERS
from engine.schedules import SCHEDULES
from engine.session import TRAINING_SCHEMA

from .batch_advice_row import BatchAdviceRow
from .editors import make_editor

# Scores early stopping can watch (engine.early_stopping.MONITORS); losses fall, the others rise.
EARLY_MONITORS = (("val_loss", "validation loss"), ("val_accuracy", "validation accuracy"),
                  ("val_f1", "validation F1"), ("val_auc", "validation AUC"), ("val_rmse", "validation RMSE"),
                  ("val_r2", "validation R²"), ("train_loss", "training loss"))
from .help_texts import apply_help
from .pairing import dataset_facts, last_activation, pairing_warnings, torch_devices
from .schema_form import SchemaForm, compact, field_reason, write_session_field

LOSS_LABELS = {"mae": "MAE (L1)", "mse": "MSE (L2)", "huber": "Huber", "bce": "binary CE (probabilities)",
               "bce_logits": "binary CE (logits)", "cross_entropy": "cross-entropy", "hinge": "hinge (SVM)",
               "multiclass_hinge": "multi-class hinge"}
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "Nesterov momentum", "adagrad": "AdaGrad",
              "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW", "lbfgs": "L-BFGS", "newton": "Newton's method",
              "bfgs": "BFGS", "gauss_newton": "Gauss-Newton", "levenberg": "Levenberg",
              "levenberg_marquardt": "Levenberg-Marquardt"}
SCHEDULE_LABELS = {"constant": "constant", "inverse_time": "1/(1 + t·epoch) decay", "step": "step decay",
                   "exponential": "exponential decay", "inverse_sqrt": "t/√epoch", "cosine": "cosine annealing",
                   "reduce_on_plateau": "reduce on plateau", "warmup": "linear warm-up",
                   "manual": "manual (values by hand)"}
PARAM_LABELS = {"lr": "learning rate", "beta1": "β1", "beta2": "β2", "rho": "ρ", "eps": "ε", "from_logits": "from logits",
                "weight_decay": "weight decay", "max_iter": "max iterations", "history_size": "history size",
                "line_search": "line search", "t_max": "epochs to minimum", "eta_min": "final lr"}
# Global regularizers the panel edits: type -> (row label, value param, help key)
REGS = {"l1": ("L1 λ", "lambda", "l1"), "l2": ("L2 λ", "lambda", "l2"), "weight_decay": ("weight decay λ", "lambda", "weight_decay"),
        "weight_noise": ("weight noise std", "std", "weight_noise"), "label_smoothing": ("label smoothing ε", "epsilon", "label_smoothing"),
        "activity_l1": ("activity L1 λ", "lambda", "activity_l1"), "label_noise": ("label noise p", "p", "label_noise")}
# Data augmentation (engine/augmentation.py): the same kind of rows, in their own group
AUGMENT = {"input_noise": ("input noise std", "std", "input_noise"), "random_shift": ("shift (pixels)", "max_shift", "random_shift"),
           "random_flip": ("flip probability", "p", "random_flip"),
           "random_rotation": ("rotation ± °", "max_degrees", "random_rotation"),
           "random_scale": ("zoom ± fraction", "max_zoom", "random_scale"),
           "lens_distortion": ("lens distortion k", "max_k", "lens_distortion"),
           "vignetting": ("vignetting", "max_strength", "vignetting"),
           "random_negative": ("negative p", "p", "random_negative")}
INT_PARAMS = {"max_shift"}
DEVICES = ("auto", "cpu", "cuda", "mps")
# Lecture 004, transfer learning; the setting is training.cache_frozen (engine/frozen_cache.py).
CACHE_TIP = ("Lecture 004, transfer learning: “Freeze these layers — this will set the corresponding parameters as "
             "non-trainable. Optimization: you can actually cache the outputs of frozen layers for every input.”\n\n"
             "On: the frozen layers next to the input compute their outputs once per split (train, validation, test) "
             "and each step trains only the rest of the network on them: the same losses and weights, fewer "
             "multiply-adds a step. The progress panel says what is cached, or why nothing can be (dropout or "
             "augmentation in the way).")
WARN_STYLE = "color: #8a4b00; background: #fff6e5; border: 1px solid #f0b54a; border-radius: 4px; padding: 6px;"


class TrainingPanel(QScrollArea):
    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.doc = document
        self._updating = False
        body = QWidget()
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setAlignment(Qt.AlignTop)
        self.loss = SchemaForm(LOSSES, labels=LOSS_LABELS, param_labels=PARAM_LABELS, combo_label="loss", help_key="loss")
        self.optimizer = SchemaForm(OPTIMIZERS, labels=OPT_LABELS, param_labels=PARAM_LABELS, combo_label="optimizer",
                                    help_key="optimizer")
        self.schedule = SchemaForm(SCHEDULES, labels=SCHEDULE_LABELS, param_labels=PARAM_LABELS, combo_label="schedule",
                                   help_key="schedule")
        for key, form in (("loss", self.loss), ("optimizer", self.optimizer), ("schedule", self.schedule)):
            form.changed.connect(lambda spec, k=key: self._write(k, spec, f"Change {k}"))
        self.pairing = QLabel()
        self.pairing.setObjectName("pairingWarning")
        self.pairing.setWordWrap(True)
        self.pairing.setStyleSheet(WARN_STYLE)
        self.pairing.setTextFormat(Qt.RichText)
        self.pairing_ok = QLabel()
        self.pairing_ok.setObjectName("pairingInfo")
        self.pairing_ok.setWordWrap(True)
        self.pairing_ok.setStyleSheet("color: #5b6573;")
        self.pairing_ok.setTextFormat(Qt.PlainText)
        apply_help(self.pairing_ok, "pairing")
        lay.addWidget(self._group("Loss", self.loss, self.pairing, self.pairing_ok))
        lay.addWidget(self._group("Optimizer", self.optimizer))
        self.convergence = QLabel()
        self.convergence.setObjectName("scheduleConvergence")
        self.convergence.setWordWrap(True)
        self.convergence.setStyleSheet("color: #5b6573;")
        self.convergence.setToolTip("Lecture 003 §4.3.3.1: SGD converges to the minimum of a strictly convex loss "
                                    "when αₙ ≥ 0, Σαₙ = ∞ and Σαₙ² < ∞.")
        lay.addWidget(self._group("Learning-rate schedule", self.schedule, self.convergence))
        lay.addWidget(self._batches())
        lay.addWidget(self._regularization())
        lay.addWidget(self._early_stopping())
        lay.addWidget(self._run())
        d = document
        d.sessionChanged.connect(self._on_session_changed)
        d.sessionReplaced.connect(self.refresh)
        d.validityChanged.connect(self._on_report)
        self.refresh()

    # -- building -----------------------------------------------------------------
    def _group(self, title, *widgets):
        box = QGroupBox(title)
        lay = QVBoxLayout(box)
        for w in widgets:
            lay.addWidget(w)
        return box

    def _form_group(self, title):
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        return box, form

    def _row(self, form, label, widget, key):
        apply_help(widget, key)
        lab = QLabel(label)
        apply_help(lab, key)
        form.addRow(lab, widget)
        return widget

    def _spin(self, name, lo, hi, on_change):
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(lo, hi)
        spin.setKeyboardTracking(False)
        spin.setAccelerated(True)
        spin.valueChanged.connect(on_change)
        return spin

    def _batches(self):
        box, form = self._form_group("Batches and epochs")
        self.batch = self._spin("batchSize", 1, 1_000_000, lambda v: self._set_training(batch_size=v))
        self.batch.setMinimumWidth(70)  # the hint sizes for 7 digits; nobody needs to see them all at once
        self.full_batch = QCheckBox("full batch (one step per epoch)")
        self.full_batch.setObjectName("fullBatch")
        apply_help(self.full_batch, "full_batch")
        self.full_batch.toggled.connect(self._on_full_batch)
        self._row(form, "batch size", self.batch, "batch_size")
        self.batch_advice = BatchAdviceRow(self.doc)  # lecture 002's b ≈ 1.5 × outliers, counted, with Apply
        self.batch_advice.apply.connect(lambda b: self._set_training(batch_size=int(b)))
        form.addRow(self.batch_advice)
        form.addRow(self.full_batch)
        self.epochs = self._row(form, "epochs", self._spin("epochs", 1, 1_000_000, lambda v: self._set_training(epochs=v)),
                                "epochs")
        self.shuffle = QCheckBox("reshuffle every epoch")
        self.shuffle.setObjectName("shuffle")
        self.shuffle.toggled.connect(lambda on: self._set_training(shuffle=bool(on)))
        apply_help(self.shuffle, "shuffle")
        form.addRow(self.shuffle)
        return box

    def _float(self, name, on_commit, optional=True):
        ed = make_editor(Param(name, "float", None, min=0.0, optional=optional), on_commit)
        ed.widget.setPlaceholderText("off")
        return ed

    def _regularization(self):
        box, form = self._form_group("Regularization")
        self.reg_editors = {}
        for rtype, (label, pname, key) in REGS.items():
            ed = self._float(f"reg_{rtype}", lambda v, t=rtype, p=pname: self._set_reg(t, p, v))
            self.reg_editors[rtype] = ed
            self._row(form, label, ed.widget, key)
        self.max_norm = self._float("max_norm", lambda v: self._set_training(max_norm=v or None))
        self._row(form, "max-norm r", self.max_norm.widget, "max_norm")
        self.clip = QComboBox()
        self.clip.setObjectName("clipMode")
        compact(self.clip, 6)
        for text, mode in (("none", "none"), ("by norm", "norm"), ("by value", "value")):
            self.clip.addItem(text, mode)
        self.clip.currentIndexChanged.connect(lambda i: self._set_training(clip=self.clip.itemData(i)))
        self.clip_value = self._float("clip_value", lambda v: self._set_training(clip_value=v) if v else self.refresh())
        self.clip_value.widget.setPlaceholderText("threshold")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.clip, 1)
        row.addWidget(self.clip_value.widget, 1)
        holder = QWidget()
        holder.setLayout(row)
        self._row(form, "gradient clipping", holder, "clip")
        apply_help(self.clip, "clip")
        apply_help(self.clip_value.widget, "clip_value")
        aug = QLabel("Data augmentation (training batches):")
        aug.setObjectName("augmentationHeading")
        aug.setStyleSheet("color: #5b6573;")
        apply_help(aug, "input_noise")
        form.addRow(aug)
        for rtype, (label, pname, key) in AUGMENT.items():  # augmentation: inputs altered per batch, labels kept
            ed = self._float(f"reg_{rtype}", lambda v, t=rtype, p=pname: self._set_reg(t, p, v))
            self.reg_editors[rtype] = ed
            self._row(form, label, ed.widget, key)
        self.preview_augmentation = QPushButton("Preview augmentation…")
        self.preview_augmentation.setObjectName("previewAugmentation")
        apply_help(self.preview_augmentation, "preview_augmentation")
        self.preview_augmentation.clicked.connect(self.open_augmentation_preview)
        form.addRow(self.preview_augmentation)
        hint = QLabel("Dropout is a layer: add a <b>Dropout</b> layer from the palette after a hidden layer.")
        hint.setObjectName("dropoutHint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #5b6573;")
        apply_help(hint, "dropout")
        form.addRow(hint)
        return box

    def _early_stopping(self):
        self.early = QGroupBox("Early stopping")
        self.early.setObjectName("earlyStopping")
        self.early.setCheckable(True)
        apply_help(self.early, "early_stopping")
        form = QFormLayout(self.early)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.patience = self._row(form, "patience", self._spin("patience", 0, 100_000, lambda v: self._set_early()), "patience")
        self.min_delta = self._float("min_delta", lambda v: self._set_early(min_delta=v or 0.0))
        self.min_delta.widget.setPlaceholderText("0")
        self._row(form, "min delta", self.min_delta.widget, "min_delta")
        self.monitor = QComboBox()
        self.monitor.setObjectName("earlyMonitor")
        compact(self.monitor, 10)
        for name, label in EARLY_MONITORS:
            self.monitor.addItem(label, name)
        self.monitor.currentIndexChanged.connect(lambda _i: self._set_early())
        self._row(form, "watch", self.monitor, "early_monitor")
        self.restore_best = QCheckBox("restore the best weights")
        self.restore_best.setObjectName("restoreBest")
        self.restore_best.toggled.connect(lambda _on: self._set_early())
        apply_help(self.restore_best, "restore_best")
        form.addRow(self.restore_best)
        self.early_note = QLabel("No validation split: early stopping will watch the training loss.")
        self.early_note.setWordWrap(True)
        self.early_note.setStyleSheet("color: #8a4b00;")
        form.addRow(self.early_note)
        self.early.toggled.connect(lambda _on: self._set_early())
        return self.early

    def _run(self):
        box, form = self._form_group("Run")
        self.seed = self._row(form, "seed", self._spin("trainingSeed", 0, 2**31 - 1, self._on_seed), "seed")
        self.device = QComboBox()
        self.device.setObjectName("device")
        compact(self.device, 6)
        for d in DEVICES:
            self.device.addItem(d, d)
        self.device.currentIndexChanged.connect(lambda i: self._set_training(device=self.device.itemData(i)))
        self._row(form, "device", self.device, "device")
        self.cache_frozen = QCheckBox("Cache frozen layers' outputs")
        self.cache_frozen.setObjectName("cacheFrozen")
        self.cache_frozen.setToolTip(CACHE_TIP)
        self.cache_frozen.toggled.connect(lambda on: self._set_training(cache_frozen=bool(on)))
        form.addRow(self.cache_frozen)
        return box

    # -- refresh from the session ------------------------------------------------------------
    def _on_session_changed(self, key):
        if key in ("loss", "optimizer", "schedule", "regularizers", "training", "seed", "dataset"):
            self.refresh()

    def _on_report(self, _report):
        self.update_pairing()

    def refresh(self):
        s = self.doc.session
        self._updating = True
        try:
            self.loss.set_spec(s.loss)
            self.optimizer.set_spec(s.optimizer)
            self.schedule.set_spec(s.schedule)
            t = self._training()
            full = t["batch_size"] == 0
            self.full_batch.setChecked(full)
            self.batch.setEnabled(not full)
            if not full:
                self.batch.setValue(t["batch_size"])
            self.epochs.setValue(t["epochs"])
            self.shuffle.setChecked(t["shuffle"])
            self.clip.setCurrentIndex(max(self.clip.findData(t["clip"]), 0))
            self.clip_value.set_value(t["clip_value"])
            self.clip_value.widget.setEnabled(t["clip"] != "none")
            self.max_norm.set_value(t["max_norm"])
            es = t["early_stopping"] if isinstance(t["early_stopping"], dict) else None
            self.early.setChecked(es is not None)
            es = es or {}
            self.patience.setValue(int(es.get("patience", 10)))
            self.min_delta.set_value(float(es.get("min_delta", 0.0)))
            self.restore_best.setChecked(bool(es.get("restore_best", True)))
            monitor = es.get("monitor", "val_loss")
            if self.monitor.findData(monitor) < 0:  # a score typed into the session file: show it as it is
                self.monitor.addItem(monitor, monitor)
            self.monitor.setCurrentIndex(self.monitor.findData(monitor))
            for rtype, ed in self.reg_editors.items():
                ed.set_value(self._reg_value(rtype))
            self.seed.setValue(int(s.seed))
            self.device.setCurrentIndex(max(self.device.findData(t["device"]), 0))
            self.cache_frozen.setChecked(bool(t["cache_frozen"]))
            self.update_devices()
        finally:
            self._updating = False
        self.update_pairing()
        self._update_early_note()
        self._update_convergence()

    def _update_convergence(self):
        """The schedule against SGD's step-size conditions, by its formula (``engine.schedule_convergence``)."""
        from engine.schedule_convergence import conditions

        s = self.doc.session
        try:
            text = conditions(s.schedule, float(s.optimizer["params"]["lr"])).text()
        except (InvalidInput, KeyError, TypeError, ValueError):
            text = ""
        if text and s.optimizer.get("type") != "sgd":
            text += " (The conditions are stated for SGD; this optimizer rescales each step.)"
        self.convergence.setText(text)
        self.convergence.setVisible(bool(text))

    def _training(self) -> dict:
        try:
            return TRAINING_SCHEMA.validate(self.doc.session.training, owner="training")
        except InvalidInput:
            return TRAINING_SCHEMA.defaults()

    def _global_reg(self, rtype):
        for r in self.doc.session.regularizers:
            if isinstance(r, dict) and r.get("type") == rtype and not (r.get("params") or {}).get("layers"):
                return r
        return None

    def _reg_value(self, rtype):
        r = self._global_reg(rtype)
        return None if r is None else (r.get("params") or {}).get({**REGS, **AUGMENT}[rtype][1], None)

    def update_pairing(self):
        try:
            warnings = pairing_warnings(self.doc.session, self.doc.report)
        except InvalidInput as e:
            warnings = [f"Cannot check the loss: {e}"]
        act, nid = last_activation(self.doc.graph, self.doc.report)
        self.pairing.setText("<br>".join("⚠ " + html.escape(w) for w in warnings))
        self.pairing.setVisible(bool(warnings))
        out = self.doc.report.shapes.get(self.doc.report.output_id) if self.doc.report.output_id else None
        try:
            task = dataset_facts(self.doc.session.dataset)[0]
        except InvalidInput:
            task = "?"
        where = f"last layer {nid} ({act})" if nid else "no activation layer before the output"
        units = f"{out[0]} output unit{'s' * (out[0] != 1)}" if out is not None and len(out) == 1 else "output shape unknown"
        self.pairing_ok.setText(f"{'✓ ' if not warnings else ''}{where}, {units}, {task}.")

    def update_devices(self):
        """Gray out cuda/mps once torch is loaded and says they are missing (torch is never imported here)."""
        avail = torch_devices()
        model = self.device.model()
        for i, d in enumerate(DEVICES):
            ok = True if avail is None else avail[d]
            model.item(i).setEnabled(ok or self.device.currentIndex() == i)
            model.item(i).setToolTip("" if ok else f"{d} is not available to torch on this machine")

    def _update_early_note(self):
        try:
            val = dataset_canonical(self.doc.session.dataset)["split"]["val"]
        except InvalidInput:
            val = 1.0
        self.early_note.setVisible(val == 0.0 and self.early.isChecked())

    def showEvent(self, event):
        self.update_devices()
        super().showEvent(event)

    # -- what Train may use ---------------------------------------------------------------
    def invalid_reason(self) -> str | None:
        """Why training would not use what this panel shows, in one sentence naming the field; None if it would.

        The Train and Step actions (and the training controller) call this first and refuse with the
        reason in the status bar, so a red field (learning rate −1, "1e" half typed) never trains
        silently with the previous value. Text typed but not yet confirmed is committed first.
        """
        for form in (self.loss, self.optimizer, self.schedule):
            reason = form.invalid_reason()
            if reason:
                return reason
        fields = [({**REGS, **AUGMENT}[t][0], ed) for t, ed in self.reg_editors.items()]
        fields += [("max-norm r", self.max_norm), ("clipping threshold", self.clip_value), ("min delta", self.min_delta)]
        for label, ed in fields:
            if ed.widget.isEnabled():
                ed.flush()
            if ed.error:
                return field_reason(f"“{label}”", ed.error)
        return None

    # -- edits -----------------------------------------------------------------------------
    def _write(self, key, value, text):
        if not self._updating:
            write_session_field(self.doc, key, value, text)

    def _set_training(self, **changes):
        if self._updating:
            return
        try:
            new = TRAINING_SCHEMA.validate({**self._training(), **changes}, owner="training")
        except InvalidInput:
            self.refresh()
            return
        self._write("training", new, f"Change {', '.join(changes).replace('_', ' ')}")

    def _on_full_batch(self, on):
        self.batch.setEnabled(not on)
        self._set_training(batch_size=0 if on else self.batch.value())

    def _set_early(self, **override):
        if self._updating:
            return
        es = None
        if self.early.isChecked():
            old = self._training()["early_stopping"] or {}
            es = {"patience": self.patience.value(), "min_delta": float(old.get("min_delta", 0.0)),
                  "restore_best": self.restore_best.isChecked(),
                  "monitor": self.monitor.currentData() or "val_loss", **override}
            if old.get("mode", "auto") != "auto":
                es["mode"] = old["mode"]
        self._set_training(early_stopping=es)

    def _set_reg(self, rtype, pname, value):
        if self._updating:
            return
        regs = list(self.doc.session.regularizers)
        old = self._global_reg(rtype)
        if value:
            ed = self.reg_editors[rtype]
            try:
                v = int(round(float(value))) if pname in INT_PARAMS else float(value)
                new = REGULARIZERS.canonical({"type": rtype, "params": {pname: v}})
            except InvalidInput as e:
                ed.mark_bad(str(e))
                return
            regs = [new if r is old else r for r in regs] if old is not None else regs + [new]
        elif old is not None:
            regs = [r for r in regs if r is not old]
        self._write("regularizers", regs, f"Change {({**REGS, **AUGMENT})[rtype][0]}")

    def open_augmentation_preview(self):
        """Eight training images and their augmented versions (gui/panels/augmentation_preview.py)."""
        from .augmentation_preview import AugmentationPreview

        self.augmentation_dialog = AugmentationPreview(self.doc.session.copy(), self)
        self.augmentation_dialog.show()
        return self.augmentation_dialog

    def _on_seed(self, value):
        self._write("seed", int(value), "Change seed")


if __name__ == "__main__":  # python -m gui.panels.training_panel: the three-class template with a softmax mistake
    from engine.session import Session
    from engine.spec import GraphSpec
    from gui.document import Document
    from gui.panels import preview

    def _make():
        s = Session()
        s.graph = GraphSpec.from_dict({"layers": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}},
            {"id": "dense1", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
            {"id": "dense2", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
            {"id": "output", "type": "Output"}]})
        s.dataset = {"type": "blobs", "params": {"classes": 3}}
        s.loss = {"type": "cross_entropy", "params": {}}
        s.optimizer = {"type": "momentum", "params": {"lr": 0.05}}
        return TrainingPanel(Document(s))

    sys.exit(preview(_make, (380, 1000)))
