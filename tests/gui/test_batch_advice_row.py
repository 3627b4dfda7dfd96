"""Training panel: the notes' batch-size rule (b ≈ 1.5 × outliers) under the batch size, and its Apply button."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.batch_advice import count_outliers
from engine.data import make_dataset
from engine.session import Session
from engine.spec import GraphSpec
from gui.document import Document
from gui.panels.training_panel import TrainingPanel


def planted_session(batch=10):
    x = np.linspace(-1.0, 1.0, 100)[:, None].repeat(2, axis=1)
    x[[2, 11, 23, 35, 50, 64, 88], 1] = [9, -8, 12, 7, -20, 6.5, 30]  # 7 outliers in x2, none else
    s = Session()
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "last", "type": "Dense", "params": {"units": 1, "activation": "sigmoid"}},
        {"id": "output", "type": "Output"}]})
    s.dataset = {"type": "inline", "params": {"x": x.tolist(), "y": (np.arange(100) % 2).tolist()},
                 "split": {"train": 1.0, "val": 0.0, "test": 0.0}}
    s.loss = {"type": "bce", "params": {}}
    s.training = dict(s.training or {}, batch_size=batch)
    return s


def test_the_rule_counts_the_planted_outliers_and_apply_sets_the_size(qtbot):
    doc = Document(planted_session())
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(380, 1000)
    panel.show()
    row = panel.batch_advice
    assert row.isVisibleTo(panel)
    assert row.label.text() == "The notes' rule: b ≈ 1.5 × 7 outliers ≈ 11; current 10."
    assert row.button.isEnabled() and "1.5 times the number of outliers" in row.toolTip()
    qtbot.mouseClick(row.button, Qt.LeftButton)
    assert doc.session.training["batch_size"] == 11 and panel.batch.value() == 11
    assert row.label.text().endswith("current 11.") and not row.button.isEnabled()
    doc.undo_stack.undo()
    assert doc.session.training["batch_size"] == 10 and row.label.text().endswith("current 10.")
    # a full batch shows as such, and Apply leaves it for the suggestion
    panel.full_batch.setChecked(True)
    assert row.label.text().endswith("current: full batch.")
    qtbot.mouseClick(row.button, Qt.LeftButton)
    assert doc.session.training["batch_size"] == 11 and not panel.full_batch.isChecked()


def test_a_new_dataset_is_counted_again_after_the_debounce(qtbot):
    doc = Document(planted_session())
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    row = panel.batch_advice
    doc.set_session_field("dataset", {"type": "xor", "params": {"n": 120}})
    expected = count_outliers(make_dataset(doc.session.dataset, seed=doc.session.seed).raw_x("train"))
    qtbot.waitUntil(lambda: "7 outliers" not in row.label.text(), timeout=3000)
    assert row.advice.n_outliers == expected.n_outliers == 0  # uniform XOR points have no outlier
    assert "no outliers in the" in row.label.text() and not row.button.isEnabled()
    doc.set_session_field("dataset", {"type": "csv", "params": {"path": "/nonexistent/d.csv"}})
    qtbot.waitUntil(lambda: "cannot count outliers" in row.label.text(), timeout=3000)
    assert not row.button.isEnabled()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_the_row_runs_alone_and_counts_regression_targets(run_alone):
    row = run_alone("gui.panels.batch_advice_row")
    assert {5, 40, 77} <= set(row.advice.indices) and row.advice.per_feature.get("target", 0) == 3
    assert row.advice.suggested == int(1.5 * row.advice.n_outliers + 0.5)
