"""Properties panel, nothing selected: the notes' rules of thumb follow the graph and the session."""
import pytest

from engine.session import Session
from engine.spec import GraphSpec
from gui.document import Document
from gui.panels.inspector import InspectorPanel


def doc_with(units=16):
    s = Session()
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "hidden", "type": "Dense", "params": {"units": units, "activation": "relu"}},
        {"id": "last", "type": "Dense", "params": {"units": 1, "activation": "sigmoid"}},
        {"id": "output", "type": "Output"}]})
    s.dataset = {"type": "circle", "params": {}}
    s.loss = {"type": "bce", "params": {}}
    return Document(s)


def texts(box):
    return {lab.objectName(): lab.text() for lab in box.rows if not lab.isHidden()}


def test_rules_show_with_no_selection_and_follow_edits(qtbot):
    doc = doc_with(16)
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(320, 900)
    panel.show()
    box = panel.rules
    assert box.isVisible() and "not laws" in box.note.text() and "Add flexibility" in box.note.toolTip()
    t = texts(box)
    assert set(t) == {"rule_first_layer", "rule_twice_inputs", "rule_between", "rule_deep", "rule_funnel",
                      "rule_stretch"}
    assert "➜ deep beats wide" in t["rule_deep"] and "(2 → 6 → 6 → 1) have 67 parameters" in t["rule_deep"]
    assert "✓ first hidden layer = linear boundaries" in t["rule_first_layer"]
    deep = next(lab for lab in box.rows if lab.objectName() == "rule_deep")
    assert "For the same number of parameters, more hidden layers is better than wider layers" in deep.toolTip()
    assert "➜ stretch pants" in t["rule_stretch"]
    # an L2 penalty regularizes: stretch pants is followed
    doc.set_session_field("regularizers", [{"type": "l2", "params": {"lambda": 0.001}}])
    assert "✓ stretch pants" in texts(box)["rule_stretch"] and "regularized by l2" in texts(box)["rule_stretch"]
    # two units cannot enclose the circle's disc
    doc.set_param("hidden", "units", 2)
    assert "➜ first hidden layer" in texts(box)["rule_first_layer"]
    assert "at least 3 units" in texts(box)["rule_first_layer"]
    # a broken graph: one line, no rules
    doc.set_param("hidden", "units", 0)
    shown = [lab for lab in box.rows if not lab.isHidden()]
    assert len(shown) == 1 and "fix the network first" in shown[0].text()
    doc.undo_stack.undo()
    assert len(texts(box)) == 6
    # a layer selected: its properties instead of the rules
    doc.set_selection(["hidden"])
    assert not box.isVisible()
    doc.set_selection([])
    assert box.isVisible()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_the_box_runs_alone(run_alone):
    box = run_alone("gui.panels.rules_panel")
    assert box.isVisible() and [a.verdict for a in box.items][3] == "consider"  # deep beats wide for 2 → 16 → 1
