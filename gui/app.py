"""GUI entry point: show the window first, load torch afterwards.

``import torch`` costs over a second, so nothing imported here may pull it in;
once the window is on screen a background thread warms torch up so the first
click on Train does not stall (set NNP_NO_PRELOAD=1 to skip that).
"""
from __future__ import annotations

import os
import sys
import threading


def _preload_torch():
    def run():
        try:
            import torch  # noqa: F401
        except Exception:  # pragma: no cover - reported later by the trainer, with context
            pass

    threading.Thread(target=run, name="torch-preload", daemon=True).start()


def start(argv=(), *, recovery_folder=None, autosave_ms=None, ask_recover=None):
    """Build and show the window: recovered work first, else the session file in ``argv``, else the template.

    A file that cannot be opened is explained in a message box and the window starts with the default
    template; nothing is written to the file. Returns the window (``main`` runs the event loop).
    """
    from PySide6.QtCore import QTimer

    from engine.device import configure_process

    from .main_window import MainWindow
    from .panels.install import install_panels
    from .recovery import INTERVAL_MS, install_recovery, offer_recovery

    configure_process(gui=True)  # once, at start-up: allocator tuning and the GIL hand-over interval
    paths = [a for a in argv if not a.startswith("-")]
    win = MainWindow()
    install_panels(win)
    win.show()
    install_recovery(win, recovery_folder, autosave_ms or INTERVAL_MS)
    restored = offer_recovery(win, recovery_folder, ask_recover)
    if paths:
        if restored:
            win.show_message(f"Recovered unsaved work; {paths[0]} was not opened (File ▸ Open it when you like)")
        else:  # after the first paint, saying "Opening …": reading a trained .nnp takes seconds
            QTimer.singleShot(0, lambda: win.files.open_file_argument(paths[0]))
    # the live plots (pyqtgraph, ~0.7 s) come in right after the first paint
    QTimer.singleShot(0, win.build_live_views)
    return win


def main(argv=None) -> int:
    """``argv``: arguments without the program name (like main.main); an optional session path."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .settings import APP, ORG
    from .style import apply_style, icon

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    from .gc_on_gui_thread import install as collect_garbage_on_gui_thread

    collect_garbage_on_gui_thread(app)  # once, at start-up: a worker thread must never free a widget
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    apply_style(app)
    app.setWindowIcon(icon("train"))
    win = start(argv)  # noqa: F841 - kept alive by this frame while the loop runs
    if not os.environ.get("NNP_NO_PRELOAD"):
        QTimer.singleShot(500, _preload_torch)
        from .training.fast_path import warm_in_background

        QTimer.singleShot(3000, warm_in_background)  # compiles the small-network kernels once, in another process
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
