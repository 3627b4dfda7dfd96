"""GUI test set-up: offscreen Qt before any Qt import, settings in a temporary folder, no dialogs."""
import os
import re

os.environ["QT_QPA_PLATFORM"] = os.environ.get("NNP_TEST_QPA", "offscreen")
os.environ["NNP_NO_PRELOAD"] = "1"

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from engine.session import Session  # noqa: E402
from engine.spec import GraphSpec  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def gc_on_gui_thread(qapp):
    """As the app does at start-up: Python's cyclic collector runs on the GUI thread only."""
    from gui.gc_on_gui_thread import install

    return install(qapp)


# What Qt says when an object is used or freed on a thread it does not live on; the crash it leads to
# comes later, in an unrelated test, so the test during which Qt said it fails instead.
QT_THREAD_MISUSE = re.compile(r"from another thread|Destroyed while thread|in a different thread|"
                              r"outside the GUI thread|Cannot create children for a parent that is in a different")


@pytest.hookimpl(wrapper=True, trylast=True)  # inside pytest-qt's wrapper: its capture still exists
def pytest_runtest_makereport(item, call):
    report = yield
    capture = getattr(item, "qt_log_capture", None)
    if call.when == "call" and capture is not None and report.passed:
        said = [r.message for r in capture.records if QT_THREAD_MISUSE.search(r.message)]
        if said:
            report.outcome = "failed"
            report.longrepr = "Qt objects used or freed on the wrong thread: " + " | ".join(dict.fromkeys(said))
    return report


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own settings folder, so nothing touches the user's real settings."""
    folder = tmp_path / "qsettings"
    folder.mkdir()
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    # A modal box would hang an offscreen test; fail loudly instead.
    for name in ("warning", "critical", "question", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, **k: pytest.fail(f"unexpected message box {a[1:3]}")))
    return folder


def make_session(layers=None, nodes=None, edges=None, name="Test"):
    s = Session()
    s.name = name
    s.graph = GraphSpec.from_dict({"layers": layers} if layers is not None else {"nodes": nodes, "edges": edges or []})
    return s


@pytest.fixture
def session_of():
    """``session_of(layers=[...])`` or ``session_of(nodes=[...], edges=[...])``: a Session around that graph."""
    return make_session


@pytest.fixture
def run_alone(qtbot, monkeypatch):
    """``run_alone("gui.panels.x")``: run a module as ``python -m`` does, its event loop skipped; its preview widget.

    Every panel and view can run alone (``if __name__ == "__main__"``) and leaves what it shows in
    ``gui.panels.preview.widget``; the run must exit 0.
    """
    import runpy

    from PySide6.QtWidgets import QApplication

    def run(module):
        monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
        with pytest.raises(SystemExit) as ex:
            runpy.run_module(module, run_name="__main__")
        assert ex.value.code == 0
        from gui.panels import preview

        qtbot.addWidget(preview.widget)
        return preview.widget

    return run


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow

    win = MainWindow()
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def editor(qtbot):
    """A Document with a scene and view, no main window: ``(doc, scene, view)``."""
    from gui.canvas import GraphScene, GraphView
    from gui.document import Document

    doc = Document(make_session([
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "d1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
        {"id": "d2", "type": "Dense", "params": {"units": 4}},
        {"id": "output", "type": "Output"},
    ]))
    scene = GraphScene(doc)
    view = GraphView(scene)
    view.resize(800, 500)
    qtbot.addWidget(view)
    yield doc, scene, view
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().clear()  # the clipboard owns copied QMimeData; free it while Qt is alive


@pytest.fixture
def live_windows(qtbot):
    """``live_windows(session=None, strict=False, size=None)``: a shown MainWindow with live training.

    Message boxes are collected in ``win.notes`` (also ``win.live.notes``), or fail the test when
    ``strict``; a "the network changed: new run?" question always fails it. Workers are shut down afterwards.
    """
    from engine.device import configure_process
    from gui.main_window import MainWindow

    configure_process(gui=True)  # what gui.app does at start-up

    made = []

    def make(session=None, strict=False, size=None):
        win = MainWindow(session)
        win.files.ask_unsaved = lambda: QMessageBox.Discard
        win.notes = []

        def note(title, text):
            if strict:
                pytest.fail(f"unexpected note {(title, text)}")
            win.notes.append((title, text))

        win.files.notify = note
        win.export.notify = note
        live = win.build_live_views()
        live.notes = win.notes
        live.controller.notify = note
        live.controller.engine_path = "torch"  # deterministic: not whether this machine cached the compiled kernels
        live.controller.ask_structural_change = lambda: pytest.fail("unexpected structural-change question")
        qtbot.addWidget(win)
        if size:
            win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        made.append(live)
        return win

    yield make
    for live in made:
        live.controller.shutdown()

