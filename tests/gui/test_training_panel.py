"""The training panel: registry forms write the session, pairing warnings follow loss, graph and dataset."""
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.session import Session
from engine.spec import GraphSpec
from gui.document import Document
from gui.panels.help_texts import TIPS
from gui.panels.pairing import last_activation
from gui.panels.training_panel import TrainingPanel

ROOT = Path(__file__).resolve().parents[2]


def make_panel(qtbot, out_units=3, out_act="softmax", dataset=None, loss="cross_entropy"):
    s = Session()
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "hidden", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "last", "type": "Dense", "params": {"units": out_units, "activation": out_act}},
        {"id": "output", "type": "Output"}]})
    s.dataset = dataset or {"type": "blobs", "params": {"classes": 3}}
    s.loss = {"type": loss, "params": {}}
    doc = Document(s)
    panel = TrainingPanel(doc)
    panel.resize(380, 1000)
    qtbot.addWidget(panel)
    panel.show()
    return doc, panel


def type_into(editor, text):
    editor.widget.setText(text)
    editor.widget.editingFinished.emit()


def test_optimizer_choice_and_its_params_go_into_the_session(qtbot):
    doc, panel = make_panel(qtbot)
    form = panel.optimizer
    assert form.combo.currentData() == "sgd" and form.editors["lr"].widget.text() == "0.03"
    form.combo.setCurrentIndex(form.combo.findData("adam"))
    assert doc.session.optimizer == {"type": "adam", "params": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
    assert set(form.editors) == {"lr", "beta1", "beta2", "eps"}
    type_into(form.editors["lr"], "0.01")
    type_into(form.editors["beta1"], "0.8")
    assert doc.session.optimizer["params"] == {"lr": 0.01, "beta1": 0.8, "beta2": 0.999, "eps": 1e-8}
    type_into(form.editors["beta2"], "1.5")  # the schema's max is 0.99999: the engine's message, nothing written
    assert not form.error.isHidden() and "beta2" in form.error.text() and "1.5" in form.error.text()
    assert doc.session.optimizer["params"]["beta2"] == 0.999
    form.combo.setCurrentIndex(form.combo.findData("momentum"))
    type_into(form.editors["momentum"], "0.5")
    assert doc.session.optimizer == {"type": "momentum", "params": {"lr": 0.01, "momentum": 0.5, "form": "classic"}}
    assert form.error.isHidden()
    assert "velocity" in form.editors["momentum"].widget.toolTip()  # help from the lecture notes
    doc.undo_stack.undo()
    assert doc.session.optimizer["params"]["momentum"] == 0.9 and form.editors["momentum"].widget.text() == "0.9"


def test_softmax_with_logit_cross_entropy_warns_and_a_fix_clears_it(qtbot):
    doc, panel = make_panel(qtbot)
    assert not panel.pairing.isHidden()
    assert "cross_entropy applies the softmax itself" in panel.pairing.text()
    assert panel.pairing_ok.text() == "last layer last (softmax), 3 output units, classification."
    panel.loss.editors["from_logits"].widget.setChecked(False)  # softmax probabilities + CE on probabilities: fine
    assert doc.session.loss == {"type": "cross_entropy", "params": {"from_logits": False, "eps": 1e-7}}
    assert panel.pairing.isHidden() and panel.pairing.text() == ""
    assert panel.pairing_ok.text().startswith("✓ ")
    doc.undo_stack.undo()
    assert not panel.pairing.isHidden()
    doc.set_param("last", "activation", "identity")  # logits out of the graph: also fine
    assert panel.pairing.isHidden()
    doc.set_param("last", "units", 1)
    assert "needs one output unit per class" in panel.pairing.text()
    assert "One output unit can only separate 2 classes, but the dataset has 3" in panel.pairing.text()


def test_mse_on_sigmoid_classification_and_dataset_task(qtbot):
    doc, panel = make_panel(qtbot, out_units=1, out_act="sigmoid", dataset={"type": "circle"}, loss="bce")
    assert panel.pairing.isHidden()
    panel.loss.combo.setCurrentIndex(panel.loss.combo.findData("mse"))
    assert doc.session.loss == {"type": "mse", "params": {"half": False}}
    assert "mse on a sigmoid output learns slowly" in panel.pairing.text()
    doc.set_session_field("dataset", {"type": "plane"})  # a regression dataset: mse is right
    assert panel.pairing.isHidden() and panel.pairing_ok.text().endswith("regression.")
    assert last_activation(doc.graph, doc.report) == ("sigmoid", "last")


def test_batches_epochs_regularization_and_early_stopping(qtbot):
    doc, panel = make_panel(qtbot)
    panel.batch.setValue(32)
    panel.epochs.setValue(250)
    t = doc.session.training
    assert t["batch_size"] == 32 and t["epochs"] == 250
    qtbot.mouseClick(panel.full_batch, Qt.LeftButton)
    assert doc.session.training["batch_size"] == 0 and not panel.batch.isEnabled()
    qtbot.mouseClick(panel.full_batch, Qt.LeftButton)
    assert doc.session.training["batch_size"] == 32 and panel.batch.isEnabled()
    type_into(panel.reg_editors["l2"], "1e-3")
    type_into(panel.reg_editors["weight_noise"], "0.05")
    assert doc.session.regularizers == [{"type": "l2", "params": {"lambda": 0.001, "layers": []}},
                                        {"type": "weight_noise", "params": {"std": 0.05, "layers": []}}]
    type_into(panel.reg_editors["l2"], "")
    assert doc.session.regularizers == [{"type": "weight_noise", "params": {"std": 0.05, "layers": []}}]
    type_into(panel.reg_editors["label_smoothing"], "2")  # ε above 1: refused, marked red
    assert "epsilon" in panel.reg_editors["label_smoothing"].widget.toolTip()
    assert len(doc.session.regularizers) == 1
    type_into(panel.max_norm, "3")
    assert doc.session.training["max_norm"] == 3.0
    panel.clip.setCurrentIndex(panel.clip.findData("norm"))
    type_into(panel.clip_value, "0.5")
    assert (doc.session.training["clip"], doc.session.training["clip_value"]) == ("norm", 0.5)
    assert panel.clip_value.widget.isEnabled()
    panel.early.setChecked(True)
    assert doc.session.training["early_stopping"] == {"patience": 10, "min_delta": 0.0, "restore_best": True,
                                                       "monitor": "val_loss"}
    panel.patience.setValue(5)
    type_into(panel.min_delta, "0.001")
    panel.restore_best.setChecked(False)
    assert doc.session.training["early_stopping"] == {"patience": 5, "min_delta": 0.001, "restore_best": False,
                                                       "monitor": "val_loss"}
    panel.early.setChecked(False)
    assert doc.session.training["early_stopping"] is None
    doc.undo_stack.undo()
    assert panel.early.isChecked() and panel.patience.value() == 5 and not panel.restore_best.isChecked()
    assert "Dropout" in panel.findChild(object, "dropoutHint").text()


def test_schedule_seed_and_device(qtbot, monkeypatch):
    doc, panel = make_panel(qtbot)
    panel.schedule.combo.setCurrentIndex(panel.schedule.combo.findData("step"))
    panel.schedule.editors["every"].widget.setValue(20)
    assert doc.session.schedule == {"type": "step", "params": {"every": 20, "t": 0.5}}
    panel.seed.setValue(42)
    assert doc.session.seed == 42
    doc.undo_stack.undo()
    assert doc.session.seed == 0 and panel.seed.value() == 0
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    assert doc.session.training["device"] == "cpu"
    import torch

    model = panel.device.model()
    panel.update_devices()
    assert model.item(panel.device.findData("cuda")).isEnabled() == torch.cuda.is_available()
    monkeypatch.delitem(sys.modules, "torch")  # before torch is imported nothing is grayed out
    panel.update_devices()
    assert all(model.item(i).isEnabled() for i in range(model.rowCount()))
    assert "torch" not in sys.modules  # and checking did not import it


def test_every_control_has_help(qtbot):
    doc, panel = make_panel(qtbot)
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    controls = [w for cls in (QComboBox, QLineEdit, QAbstractSpinBox, QAbstractButton) for w in panel.findChildren(cls)]
    controls = [w for w in controls if w.isVisibleTo(panel) and not isinstance(w.parent(), QAbstractSpinBox)
                and not isinstance(w.parent(), QComboBox)]
    assert len(controls) > 15
    missing = [w.objectName() or type(w).__name__ for w in controls if not w.toolTip()]
    assert missing == []
    assert panel.batch.toolTip() == TIPS["batch_size"] and "full-batch" in panel.batch.whatsThis()
    assert "too high" in panel.optimizer.editors["lr"].widget.whatsThis().lower()


def test_undo_of_a_loss_change_shows_the_old_loss(qtbot):
    doc, panel = make_panel(qtbot)
    panel.loss.combo.setCurrentIndex(panel.loss.combo.findData("multiclass_hinge"))
    assert doc.session.loss["type"] == "multiclass_hinge" and "margin" in panel.loss.editors
    doc.undo_stack.undo()
    assert panel.loss.combo.currentData() == "cross_entropy" and set(panel.loss.editors) == {"from_logits", "eps"}


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_panel_runs_alone_and_screenshot(qtbot, run_alone):
    w = run_alone("gui.panels.training_panel")
    assert "softmax" in w.pairing.text() and w.optimizer.combo.currentData() == "momentum"
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert w.grab().save(str(out / "training_panel.png"))


def test_early_stopping_watches_the_score_chosen_in_the_panel(qtbot):
    from engine.early_stopping import MONITORS, EarlyStopping
    from gui.document import Document
    from gui.panels.training_panel import EARLY_MONITORS, TrainingPanel

    from engine.session import DEFAULT_GRAPH

    doc = Document(Session.from_dict({"graph": DEFAULT_GRAPH, "dataset": {"type": "circle"}, "loss": "bce_logits"}))
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    assert all(name in MONITORS for name, _ in EARLY_MONITORS)
    panel.early.setChecked(True)
    panel.monitor.setCurrentIndex(panel.monitor.findData("val_accuracy"))
    es = doc.session.training["early_stopping"]
    assert es["monitor"] == "val_accuracy"
    assert EarlyStopping(**es).mode == "max"  # accuracy must rise
    panel.monitor.setCurrentIndex(panel.monitor.findData("val_loss"))
    assert doc.session.training["early_stopping"]["monitor"] == "val_loss"
    doc.set_session_field("training", dict(doc.session.training, early_stopping={"patience": 3, "monitor": "train_f1"}))
    assert panel.monitor.currentData() == "train_f1"  # a score from the file is shown as it is


def test_the_schedule_says_whether_it_meets_sgds_convergence_conditions(qtbot):
    """Lecture 003: Σαₙ = ∞ and Σαₙ² < ∞. The note under the schedule follows the combo, its parameters and η."""
    doc, panel = make_panel(qtbot)
    doc.set_session_field("optimizer", {"type": "sgd", "params": {"lr": 0.1}})
    note = panel.convergence
    assert note.isVisible() and "ends at a constant > 0" in note.text() and "Σαₙ² = ∞ ✗" in note.text()
    panel.schedule.combo.setCurrentIndex(panel.schedule.combo.findData("inverse_time"))
    assert doc.session.schedule["type"] == "inverse_time"
    assert note.text() == "αₙ ∝ 1/n: Σαₙ = ∞ ✓, Σαₙ² < ∞ ✓ — meets both SGD convergence conditions."
    type_into(panel.schedule.editors["decay"], "0")  # no decay: a constant again
    assert "ends at a constant" in note.text()
    panel.schedule.combo.setCurrentIndex(panel.schedule.combo.findData("exponential"))
    assert "Σαₙ < ∞ ✗ (may stop short of the minimum)" in note.text()
    doc.set_session_field("optimizer", {"type": "adam", "params": {"lr": 0.01}})
    assert note.text().endswith("(The conditions are stated for SGD; this optimizer rescales each step.)")
