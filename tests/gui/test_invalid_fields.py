"""A field that shows a value training would not use blocks Train with the reason; it never trains silently."""
from PySide6.QtWidgets import QMessageBox


def type_into(editor, text, confirm=True):
    editor.widget.setText(text)
    if confirm:
        editor.widget.editingFinished.emit()


class Spy:
    def __init__(self):
        self.calls = []
        self.state = "idle"

    def __getattr__(self, name):
        if name in ("train", "step", "reset_weights"):
            return lambda: self.calls.append(name)
        if name in ("stop", "shutdown"):
            return lambda: None
        raise AttributeError(name)


def enable(window):
    """What a controller that may train would say (the state names are the controller's business)."""
    for k in ("train", "step", "reset_weights"):
        window.actions_by_name[k].setEnabled(True)


def test_negative_learning_rate_blocks_train_with_the_reason(qtbot, window):
    from gui.panels.install import install_panels

    install_panels(window)
    panel = window.training_panel
    spy = Spy()
    window.controller = spy
    enable(window)
    lr = panel.optimizer.editors["lr"]
    before = window.doc.session.optimizer["params"]["lr"]
    type_into(lr, "-1")
    assert window.doc.session.optimizer["params"]["lr"] == before  # the engine refused it
    reason = panel.invalid_reason()
    assert reason is not None and "learning rate" in reason and "-1" in reason
    window.actions_by_name["train"].trigger()
    window.actions_by_name["step"].trigger()
    assert spy.calls == []  # neither ran with the old value
    msg = window.statusBar().currentMessage()
    assert msg.startswith("Cannot step:") and "learning rate" in msg
    type_into(lr, "0.5")
    assert panel.invalid_reason() is None and window.doc.session.optimizer["params"]["lr"] == 0.5
    window.actions_by_name["train"].trigger()
    assert spy.calls == ["train"]


def test_text_typed_but_not_confirmed_is_applied_or_refused_at_train(qtbot, window):
    from gui.panels.install import install_panels

    install_panels(window)
    spy = Spy()
    window.controller = spy
    enable(window)
    lr = window.training_panel.optimizer.editors["lr"]
    type_into(lr, "0.25", confirm=False)  # typed, then the toolbar clicked: no editingFinished
    window.actions_by_name["train"].trigger()
    assert window.doc.session.optimizer["params"]["lr"] == 0.25 and spy.calls == ["train"]
    type_into(lr, "1e", confirm=False)  # half-typed exponent: the validator never confirms it
    window.actions_by_name["train"].trigger()
    assert spy.calls == ["train"] and "1e" in window.statusBar().currentMessage()
    assert lr.widget.toolTip() == "Not applied: “1e” is not a number"


def test_rejected_regularizer_and_dataset_fields_block_train(qtbot, window):
    from gui.panels.install import install_panels

    install_panels(window)
    tp, dp = window.training_panel, window.dataset_panel
    type_into(tp.reg_editors["label_smoothing"], "3")  # ε must be < 1
    assert "label smoothing" in tp.invalid_reason()
    type_into(tp.reg_editors["label_smoothing"], "")
    assert tp.invalid_reason() is None
    window.doc.set_session_field("dataset", {"type": "blobs", "params": {}})
    type_into(dp.form.editors["std"], "abc")
    assert "“abc” is not a number" in dp.invalid_reason()
    assert window.doc.session.dataset["params"].get("std") != "abc"


def test_reset_weights_asks_before_discarding_trained_weights(qtbot, window, monkeypatch):
    spy = Spy()
    window.controller = spy
    enable(window)
    enable(window)
    answers = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: answers.append(a[2]) or QMessageBox.Cancel))
    window.trained_state = lambda: None
    window.actions_by_name["reset_weights"].trigger()
    assert spy.calls == ["reset_weights"] and answers == []  # nothing trained: nothing to ask
    window.trained_state = lambda: type("T", (), {"step": 420})()
    window.actions_by_name["reset_weights"].trigger()
    assert spy.calls == ["reset_weights"] and "420 steps" in answers[0]  # asked, cancelled, kept
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.Reset))
    window.actions_by_name["reset_weights"].trigger()
    assert spy.calls == ["reset_weights", "reset_weights"]


def test_toolbar_buttons_keep_their_place_whatever_undo_says(qtbot, window):
    tb = window.toolbar
    fit = tb.widgetForAction(window.actions_by_name["fit"])
    train = tb.widgetForAction(window.actions_by_name["train"])
    before = (fit.geometry(), train.geometry())
    window.doc.set_session_field("name", "A rather long session name so the undo text is long too")
    window.doc.add_node("Dense", (500.0, 500.0))
    qtbot.wait(10)
    undo = window.actions_by_name["undo_toolbar"]
    assert undo.text() == "Undo" and "Add" in undo.toolTip() and undo.isEnabled()
    assert (fit.geometry(), train.geometry()) == before
    window.doc.undo_stack.undo()
    window.doc.undo_stack.undo()
    assert not undo.isEnabled() and window.actions_by_name["redo_toolbar"].isEnabled()
    assert (fit.geometry(), train.geometry()) == before


def test_optimizer_and_schedule_names_and_a_tooltip_that_says_things_once(qtbot, session_of):
    from engine.optimizers import OPTIMIZERS
    from engine.schedules import SCHEDULES
    from gui.document import Document
    from gui.panels.schema_form import adds_to
    from gui.panels.training_panel import TrainingPanel

    panel = TrainingPanel(Document(session_of(layers=[{"id": "input", "type": "Input", "params": {"shape": [2]}},
                                                      {"id": "output", "type": "Output"}])))
    qtbot.addWidget(panel)
    shown = {panel.optimizer.combo.itemData(i): panel.optimizer.combo.itemText(i)
             for i in range(panel.optimizer.combo.count()) if panel.optimizer.combo.itemData(i)}
    assert set(shown) == {e.name for e in OPTIMIZERS.entries()}
    assert all(text != name for name, text in shown.items() if name not in ("bfgs",))  # no raw registry names
    assert shown["levenberg_marquardt"] == "Levenberg-Marquardt" and shown["gauss_newton"] == "Gauss-Newton"
    sched = {panel.schedule.combo.itemData(i): panel.schedule.combo.itemText(i)
             for i in range(panel.schedule.combo.count()) if panel.schedule.combo.itemData(i)}
    assert set(sched) == {e.name for e in SCHEDULES.entries()} and sched["manual"] != "manual"
    tip = panel.optimizer.editors["lr"].widget.toolTip()
    assert tip.count("Learning rate η") == 1
    assert adds_to("Momentum γ: the share of the old step.", "Momentum form: classic or torch.")
    assert not adds_to("Learning rate η: the step size.", "Learning rate η: the size of each step.")


def test_refusal_is_short_enough_for_the_status_bar_at_1024(qtbot, window):
    from gui.panels.install import install_panels
    from gui.panels.schema_form import field_reason

    assert field_reason("optimizer “learning rate”", "optimizer 'adam'.lr must be ≥ 0.0, got -1.0") == (
        "optimizer “learning rate” must be ≥ 0.0, got -1.0")
    assert field_reason("“L2 λ”", "“x” is not a number") == "“L2 λ”: “x” is not a number"
    install_panels(window)
    enable(window)
    window.controller = Spy()
    type_into(window.training_panel.optimizer.editors["lr"], "-1")
    window.doc.add_node("Dense", (600.0, 600.0))  # a dangling layer: the long validity text is shown too
    window.resize(1024, 700)
    window.actions_by_name["train"].trigger()
    qtbot.wait(20)
    sb = window.statusBar()
    msg = sb.currentMessage()
    assert msg == "Cannot train: optimizer “learning rate” must be ≥ 0.0, got -1.0"
    room = sb.width() - sum(w.width() for w in (window.validity_label, window.params_label, window.device_label))
    assert sb.fontMetrics().horizontalAdvance(msg) < room  # the whole sentence is visible
    assert window.validity_label.width() <= 300 and "dangling" in window.validity_label.text()
