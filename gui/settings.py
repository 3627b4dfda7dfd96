"""Where the GUI keeps window geometry, dock layout and recent files."""
from PySide6.QtCore import QSettings

ORG, APP = "NNPlayground", "NN Playground"


def app_settings() -> QSettings:
    """INI on every platform, so tests can redirect it with ``QSettings.setPath(IniFormat, UserScope, dir)``."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORG, APP)
