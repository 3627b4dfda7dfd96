"""Transfer learning on the canvas (lecture 004): import layers with their weights from a trained ``.nnp``,
freeze or unfreeze layers, add a new head, fine-tune with a lower learning rate.

Every edit goes through the Document as one undoable step (Edit ▸ Undo takes a whole import back). The
weights travel as ``values`` initializers (``engine.layer_import``), so the session file alone rebuilds
them; a frozen node is drawn dashed and lighter with "frozen" in its text, and training leaves its
weights unchanged bit for bit.
"""
from __future__ import annotations

import json
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QSpinBox, QVBoxLayout, QHBoxLayout)  # noqa: I001

from engine.errors import InvalidInput

MULTI_OUTPUT_LOSSES = ("cross_entropy", "ce", "categorical_crossentropy", "nll", "multiclass_hinge")


def _dataset_outputs(session) -> int | None:
    """Units a new head needs for the document's dataset (classes, 1 for binary, or targets), or None."""
    try:
        from engine.data import make_dataset

        data = make_dataset(session.dataset, seed=session.seed)
    except Exception:  # noqa: BLE001 - a dataset that does not load yet: the user types the number
        return None
    loss = (session.loss.get("type") if isinstance(session.loss, dict) else str(session.loss or "")).lower()
    if data.task == "classification" and data.n_classes == 2 and loss not in MULTI_OUTPUT_LOSSES:
        return 1  # binary losses (bce, bce_logits, hinge) read one output
    return int(data.n_outputs)


class ImportLayersDialog(QDialog):
    """Choose the layers of a trained network to import, whether to freeze them, and the new head."""

    def __init__(self, layers, head_units, source_name, parent=None):
        super().__init__(parent)
        self.setObjectName("importLayersDialog")
        self.setWindowTitle("Import layers")
        lay = QVBoxLayout(self)
        intro = QLabel(f"Layers of <b>{source_name}</b> to copy onto the canvas, with their trained weights. "
                       "The notes' recipe: reuse the early layers, freeze them, add a new output layer, train; "
                       "then optionally unfreeze and fine-tune with a lower learning rate.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.list = QListWidget()
        self.list.setObjectName("layerList")
        last_weighted = max((i for i, r in enumerate(layers) if r["weights"]), default=-1)
        for i, r in enumerate(layers):
            text = f"{r['id']}  ({r['type']}{', ' + ' + '.join(r['weights']) if r['weights'] else ''})"
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, r["id"])
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            # default: everything before the old head (the last layer with weights), which the new task replaces
            keep = i < last_weighted and r["type"] != "Output"
            item.setCheckState(Qt.Checked if keep else Qt.Unchecked)
            self.list.addItem(item)
        lay.addWidget(self.list, 1)
        self.freeze = QCheckBox("Freeze the imported layers (their weights stay as trained)")
        self.freeze.setObjectName("freezeImported")
        self.freeze.setChecked(True)
        lay.addWidget(self.freeze)
        row = QHBoxLayout()
        self.head = QCheckBox("Add a new output layer (head): Dense with")
        self.head.setObjectName("addHead")
        self.head.setChecked(True)
        self.units = QSpinBox()
        self.units.setObjectName("headUnits")
        self.units.setRange(1, 100000)
        self.units.setValue(head_units or 1)
        self.units.setToolTip("Outputs of this session's task: classes (1 for a binary loss on one output), or targets.")
        row.addWidget(self.head)
        row.addWidget(self.units)
        row.addWidget(QLabel("units"))
        row.addStretch(1)
        lay.addLayout(row)
        self.wire = QCheckBox("Connect them: Input → imported layers → new head → Output")
        self.wire.setObjectName("wireInput")
        self.wire.setChecked(True)
        lay.addWidget(self.wire)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(460, 380)

    def chosen(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.Checked]

    def options(self) -> dict:
        return {"ids": self.chosen(), "freeze": self.freeze.isChecked(),
                "head": int(self.units.value()) if self.head.isChecked() else None, "wire": self.wire.isChecked()}


class TransferDialogs:
    """The questions the import asks; tests replace them."""

    @staticmethod
    def ask_source(parent) -> str | None:
        start = os.path.dirname(getattr(getattr(parent, "doc", None), "path", None) or "") or os.getcwd()
        return QFileDialog.getOpenFileName(parent, "Import layers from a trained session", start,
                                           "Trained sessions (*.nnp)")[0] or None

    @staticmethod
    def ask_options(parent, layers, head_units, source_name) -> dict | None:
        dlg = ImportLayersDialog(layers, head_units, source_name, parent)
        return dlg.options() if dlg.exec() == QDialog.Accepted else None


DIALOGS = TransferDialogs()


def _free_origin(doc):
    """A spot below every node on the canvas, so imported layers never cover existing ones."""
    ys = [n.pos[1] for n in doc.graph.nodes if n.pos is not None]
    xs = [n.pos[0] for n in doc.graph.nodes if n.pos is not None]
    return (min(xs) if xs else 0.0), (max(ys) + 160.0 if ys else 0.0)


def apply_import(doc, payload, *, head=None, wire=True) -> dict:
    """Paste ``payload`` (``engine.layer_import.import_payload``) into ``doc`` in one undoable step.

    Returns ``{"ids": new ids in order, "head": head id or None, "notes": [why a connection was skipped]}``.
    """
    from engine.layer_import import last_of

    ox, oy = _free_origin(doc)
    step = 220.0
    laid = dict(payload, nodes=[dict(n, pos=[i * step, 0.0]) for i, n in enumerate(payload["nodes"])])
    notes = []
    doc.undo_stack.beginMacro("Import layers")
    try:
        ids = doc.paste_json(json.dumps(laid), offset=(ox, oy), text_label="Import layers")
        rename = dict(zip([n["id"] for n in payload["nodes"]], ids))
        head_id = None
        if ids and head:
            last = rename.get(last_of(payload), ids[-1])
            head_id = doc.add_node("Dense", (ox + len(ids) * step, oy), params={"units": int(head)})
            why = doc.connect_ports(last, head_id)
            if why:
                notes.append(why)
        if ids and wire:
            inputs = [n.id for n in doc.graph.nodes if n.type == "Input"]
            first = rename[payload["nodes"][0]["id"]]
            if len(inputs) == 1 and not doc.graph.inputs_of(first):
                why = doc.connect_ports(inputs[0], first)
                if why:
                    notes.append(why)
            outs = [n.id for n in doc.graph.nodes if n.type == "Output"]
            if head_id and len(outs) == 1:  # the network's output now reads the new head (undo puts it back)
                doc.disconnect_edges([e for e in doc.graph.edges if e.dst == outs[0]])
                why = doc.connect_ports(head_id, outs[0])
                if why:
                    notes.append(why)
            doc.auto_layout()  # wired into the network: lay it out left to right (part of the same undo step)
    finally:
        doc.undo_stack.endMacro()
    doc.set_selection(ids + ([head_id] if head_id else []))
    return {"ids": ids, "head": head_id, "notes": notes}


def import_layers(win, path=None, dialogs=None) -> dict | None:
    """Analyze ▸ Import Layers…: ask for a trained .nnp and the layers, then put them on the canvas."""
    from engine.archive import load_archive
    from engine.layer_import import import_payload, importable_layers

    d = dialogs or DIALOGS
    path = path or d.ask_source(win)
    if not path:
        return None
    try:
        archive = load_archive(path)
        if not archive.trained:
            raise InvalidInput(f"{os.path.basename(path)} was saved before any training: it has no weights to import")
        layers = importable_layers(archive)
        opts = d.ask_options(win, layers, _dataset_outputs(win.doc.session), os.path.basename(path))
        if opts is None:
            return None
        payload = import_payload(archive, opts["ids"], freeze=opts["freeze"])
    except InvalidInput as e:
        win.statusBar().showMessage(f"Cannot import layers: {e}", 10000)
        return None
    except OSError as e:
        win.statusBar().showMessage(f"Cannot import layers: {e.strerror or e}", 10000)
        return None
    result = apply_import(win.doc, payload, head=opts["head"], wire=opts["wire"])
    if opts["wire"] and hasattr(win, "view"):
        win.view.fit_to_view()
    frozen = " (frozen)" if opts["freeze"] else ""
    extra = f"; not connected: {result['notes'][0]}" if result["notes"] else ""
    win.statusBar().showMessage(f"Imported {len(result['ids'])} layer(s){frozen} from {os.path.basename(path)}"
                                f"{' and a new head' if result['head'] else ''}{extra}", 10000)
    return result


def toggle_freeze(win) -> list[str]:
    """Freeze the selected layers with weights (or unfreeze them when all are frozen already); one undo step."""
    doc = win.doc
    ids = [i for i in doc.selection if i in set(doc.graph.ids())]
    if not ids:
        win.statusBar().showMessage("Select the layers to freeze or unfreeze first", 5000)
        return []
    nodes = [doc.graph.node(i) for i in ids]
    freeze = any(n.trainable for n in nodes)
    doc.undo_stack.beginMacro("Freeze layers" if freeze else "Unfreeze layers")
    try:
        for n in nodes:
            if n.trainable == freeze:
                doc.set_node_field(n.id, "trainable", not freeze)
    finally:
        doc.undo_stack.endMacro()
    win.statusBar().showMessage(f"{'Froze' if freeze else 'Unfroze'} {', '.join(ids)}", 5000)
    return ids


def fine_tune(win) -> dict | None:
    """Unfreeze every layer and lower the learning rate ten times (the notes' fine-tuning step); one undo step."""
    from engine.layer_import import FINE_TUNE_FACTOR, fine_tune_optimizer

    doc = win.doc
    try:
        opt = fine_tune_optimizer(doc.session.optimizer)
    except InvalidInput as e:
        win.statusBar().showMessage(f"Cannot fine-tune: {e}", 8000)
        return None
    doc.undo_stack.beginMacro("Fine-tune")
    try:
        for n in doc.graph.nodes:
            if not n.trainable:
                doc.set_node_field(n.id, "trainable", True)
        doc.set_session_field("optimizer", opt)
    finally:
        doc.undo_stack.endMacro()
    win.statusBar().showMessage(f"Every layer trainable; learning rate × {FINE_TUNE_FACTOR:g} = "
                                f"{opt['params']['lr']:g}. Train to fine-tune.", 8000)
    return opt


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    dlg = ImportLayersDialog([{"id": "input", "type": "Input", "weights": []},
                              {"id": "dense1", "type": "Dense", "weights": ["bias", "weight"]},
                              {"id": "dense2", "type": "Dense", "weights": ["bias", "weight"]},
                              {"id": "output", "type": "Output", "weights": []}], 3, "sample.nnp")
    dlg.show()
    raise SystemExit(app.exec())
