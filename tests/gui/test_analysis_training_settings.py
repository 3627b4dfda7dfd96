"""Augmentation, activity L1 and label noise as Training-panel settings: written to the session, explained from the
notes, and what training then does with them."""
import numpy as np

from gui.panels.help_texts import MORE, TIPS
from tests.gui.test_training_panel import make_panel, type_into


def test_new_rows_write_the_session_and_explain_themselves(qtbot):
    doc, panel = make_panel(qtbot)
    type_into(panel.reg_editors["input_noise"], "0.2")
    type_into(panel.reg_editors["activity_l1"], "1e-3")
    type_into(panel.reg_editors["label_noise"], "0.1")
    assert doc.session.regularizers == [{"type": "input_noise", "params": {"std": 0.2}},
                                        {"type": "activity_l1", "params": {"lambda": 0.001, "layers": []}},
                                        {"type": "label_noise", "params": {"p": 0.1}}]
    type_into(panel.reg_editors["random_shift"], "2")
    assert doc.session.regularizers[-1] == {"type": "random_shift", "params": {"max_shift": 2}}
    type_into(panel.reg_editors["label_noise"], "1.5")  # p above 1: refused, marked red, nothing written
    assert panel.reg_editors["label_noise"].error and len(doc.session.regularizers) == 4
    assert "label noise p" in (panel.invalid_reason() or "")
    type_into(panel.reg_editors["label_noise"], "")
    type_into(panel.reg_editors["input_noise"], "")
    assert [r["type"] for r in doc.session.regularizers] == ["activity_l1", "random_shift"]
    doc.undo_stack.undo()  # each change is one undo step
    assert [r["type"] for r in doc.session.regularizers] == ["input_noise", "activity_l1", "random_shift"]
    panel.refresh()
    assert panel.reg_editors["input_noise"].widget.text() == "0.2"
    for key, words in (("input_noise", "noise injection"), ("random_shift", "pixel translation"),
                       ("random_flip", "6 becomes a 9"), ("activity_l1", "sparse representation"),
                       ("label_noise", "hard probabilities")):
        w = panel.reg_editors[key].widget
        assert w.toolTip() == TIPS[key] and words in (TIPS[key] + MORE[key]).lower()
        assert MORE[key][:40] in w.whatsThis()


def test_what_training_does_with_them(qtbot):
    import torch

    from engine.augmentation import augment
    from engine.regularizers import apply_target_transforms, regularizers_from

    doc, panel = make_panel(qtbot, out_units=1, out_act="identity", loss="bce_logits",
                            dataset={"type": "circle", "params": {"n": 100}})
    type_into(panel.reg_editors["label_noise"], "1")
    type_into(panel.reg_editors["input_noise"], "0.5")
    regs = regularizers_from(doc.session.regularizers, doc.graph.nodes)
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 1, 0, 1])
    assert apply_target_transforms(regs, y, 2, g).tolist() == [1, 0, 0, 1, 0]  # p = 1: every binary label flipped
    x = torch.zeros(4000, 2)
    noisy = augment(regs, x, g)
    assert abs(float(noisy.std()) - 0.5) < 0.02 and abs(float(noisy.mean())) < 0.03
    assert np.array_equal(augment([], x, g).numpy(), x.numpy())
