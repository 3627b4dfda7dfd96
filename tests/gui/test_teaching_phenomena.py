"""Help ▸ Phenomena opens each preset as an untitled document with its card."""
import pytest

from engine.phenomena import presets


def test_menu_lists_presets_and_opens_one_with_its_card(qtbot, window):
    acts = [a.objectName() for a in window.phenomena_menu.actions()]
    assert acts == [f"phenomenon_{p.key}" for p in presets()]
    window.files.maybe_save = lambda: True
    next(a for a in window.phenomena_menu.actions() if a.objectName() == "phenomenon_symmetry").trigger()
    p = next(p for p in presets() if p.key == "symmetry")
    assert window.doc.session.name == p.title and window.doc.path is None  # the shipped file is not the document
    card = window.phenomenon_card
    assert card.isVisible() and card.text.text() == p.card and "stay identical" in p.card
    assert [n.id for n in window.doc.session.graph.nodes] == ["input", "dense1", "dense2", "output"]
    card.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_card_runs_alone(qtbot, monkeypatch):
    import runpy

    from PySide6.QtWidgets import QApplication

    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    with pytest.raises(SystemExit):
        runpy.run_module("gui.teaching.phenomena_card", run_name="__main__")
    (card,) = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "PhenomenonCard" and w.isVisible()]
    qtbot.addWidget(card)
    assert card.text.text() == presets()[0].card
    card.close()
