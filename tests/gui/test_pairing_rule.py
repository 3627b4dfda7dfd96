"""The training panel's pairing label and warnings use the engine's rule for the last activation
(engine.graph.final_activation): where the window's old walk passed through BatchNorm, it now agrees with
the trainer."""
from engine.graph import final_activation, validate
from engine.preflight import preflight
from engine.session import Session
from engine.spec import GraphSpec
from gui.document import Document
from gui.panels.pairing import last_activation, pairing_warnings
from gui.panels.training_panel import TrainingPanel


def graph(*middle):
    layers = [{"id": "input", "type": "Input", "params": {"shape": [2]}},
              {"id": "last", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]
    layers += [{"id": f"m{i}", "type": t, "params": p} for i, (t, p) in enumerate(middle)]
    return GraphSpec.from_dict({"layers": layers + [{"id": "output", "type": "Output"}]})


def panel_for(qtbot, g, loss):
    s = Session()
    s.graph, s.dataset, s.loss = g, {"type": "blobs", "params": {"classes": 3, "n": 60}}, loss
    doc = Document(s)
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    return doc, panel


def test_softmax_then_batchnorm_the_window_says_what_the_trainer_says(qtbot):
    probs = {"type": "cross_entropy", "params": {"from_logits": False}}
    doc, panel = panel_for(qtbot, graph(("BatchNorm", {})), probs)
    assert last_activation(doc.graph, doc.report) == ("identity", "m0")
    assert panel.pairing_ok.text().startswith("last layer m0 (identity), 3 output units")
    assert "needs softmax probabilities, but the output is linear" in panel.pairing.text()
    assert not panel.pairing.isHidden()
    assert pairing_warnings(doc.session, doc.report) == preflight(doc.session, build=False)
    doc.set_session_field("loss", {"type": "cross_entropy", "params": {"from_logits": True}})
    assert panel.pairing.isHidden()  # the old window warned "softmax twice" here; the trainer did not
    assert panel.pairing_ok.text().startswith("✓ last layer m0 (identity)")


def test_window_and_trainer_agree_on_each_net(qtbot):
    for middle in ((), (("BatchNorm", {}),), (("Dropout", {"p": 0.2}),), (("LayerNorm", {}), ("Dropout", {"p": 0.2}))):
        for loss in ({"type": "cross_entropy", "params": {"from_logits": False}}, "cross_entropy", "mse"):
            s = Session()
            s.graph, s.dataset, s.loss = graph(*middle), {"type": "blobs", "params": {"classes": 3, "n": 60}}, loss
            rep = validate(s.graph)
            assert last_activation(s.graph, rep) == final_activation(s.graph, rep)
            assert pairing_warnings(s, rep) == preflight(s, build=False)
    doc, panel = panel_for(qtbot, graph(("Dropout", {"p": 0.2})), "cross_entropy")
    assert panel.pairing_ok.text().startswith("last layer last (softmax)")
    assert "applies the softmax itself" in panel.pairing.text()
