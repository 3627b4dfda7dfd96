"""File ▸ New lists the templates and, after them, every example session."""
from pathlib import Path

from PySide6.QtCore import Qt

from gui.new_dialog import EXAMPLE_PREFIX, TemplateDialog

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_new_dialog_lists_examples_and_opens_one_untitled(window, qtbot):
    files = window.files
    examples = [(files.example_title(p), p) for p in files.examples()]
    assert len(examples) == len(list(EXAMPLES.glob("*.json"))) >= 9
    dlg = TemplateDialog(window, examples)
    qtbot.addWidget(dlg)
    keys = [dlg.list.item(i).data(Qt.UserRole) for i in range(dlg.list.count())]
    example_keys = [k for k in keys if k and k.startswith(EXAMPLE_PREFIX)]
    assert len(example_keys) == len(examples)
    xor = next(k for k in example_keys if k.endswith("xor_worked_example.json"))
    files.ask_template = lambda: xor
    assert files.new()
    assert window.doc.path is None  # untitled: Save asks where, the example stays as shipped
    assert window.doc.session.name.startswith("XOR worked example")
    assert [n.id for n in window.doc.graph.nodes] == ["x", "z", "f", "output"]
