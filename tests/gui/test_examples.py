"""Help ▸ Examples: every shipped example opens from the menu as an untitled document and trains."""
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMenu, QMessageBox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))


def test_the_menu_lists_every_example_by_its_name(window):
    menu = window.findChild(QMenu, "examplesMenu")
    menu.aboutToShow.emit()
    names = [json.loads(p.read_text())["name"] for p in EXAMPLES]
    assert len(names) >= 9 and [a.text() for a in menu.actions()] == names


@pytest.fixture
def live(qtbot):
    from gui.main_window import MainWindow

    win = MainWindow()
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    lt = win.build_live_views()
    lt.controller.notify = lambda *a: pytest.fail(f"unexpected note {a}")
    qtbot.addWidget(win)
    win.show()
    yield win
    lt.controller.shutdown()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_opens_untitled_and_trains(live, qtbot, tmp_path, path):
    before = path.read_bytes()
    menu = live.findChild(QMenu, "examplesMenu")
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.objectName() == f"example_{path.stem}")
    action.trigger()
    name = json.loads(before)["name"]
    doc = live.doc
    assert doc.path is None and doc.session.name == name and doc.report.ok and not doc.dirty
    assert live.windowTitle() == f"{name} — NN Playground"
    c = live.live.controller
    seen = [0]
    for _ in range(6):  # Step runs one batch (a press after an epoch's last batch only closes that epoch)
        with qtbot.waitSignal(c.finished, timeout=15000) as fin:
            c.step()
        assert fin.args[0].reason in ("step", "completed") and c.trainer.step - seen[-1] in (0, 1)
        seen.append(c.trainer.step)
        if seen[-1] == 3:
            break
    steps, losses = c.trainer.history.step_loss.data()
    assert list(steps) == [1, 2, 3] and np.all(np.isfinite(losses))
    # Save asks for a path instead of overwriting the example
    asked = []
    live.files.ask_save_path = lambda: asked.append(1) or str(tmp_path / "mine")
    assert live.files.save()
    assert asked == [1] and doc.path == str(tmp_path / "mine.nnp") and path.read_bytes() == before
