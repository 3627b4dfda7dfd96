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


def main(argv=None) -> int:
    """``argv``: arguments without the program name (like main.main); an optional session path."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import APP, ORG
    from .style import apply_style, icon

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    apply_style(app)
    app.setWindowIcon(icon("train"))
    paths = [a for a in argv if not a.startswith("-")]
    win = MainWindow()
    from .panels.install import install_panels

    install_panels(win)
    if paths:
        win.open_path(paths[0])
    win.show()
    from .live_training import install_live_training

    # plots and the training controller (pyqtgraph, ~0.7 s) come in right after the first paint
    QTimer.singleShot(0, lambda: install_live_training(win))
    if not os.environ.get("NNP_NO_PRELOAD"):
        QTimer.singleShot(500, _preload_torch)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
