"""Dockable panels, one per file; each runs alone with ``python -m gui.panels.<name>``."""


def preview(make_widget, size=(320, 600)) -> int:
    """Show one panel on sample data (the ``__main__`` block of each panel module)."""
    import sys

    from PySide6.QtWidgets import QApplication

    from gui.style import apply_style

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    widget = make_widget()
    widget.resize(*size)
    widget.show()
    preview.widget = widget  # keeps it alive; lets a smoke test inspect it
    return app.exec()
