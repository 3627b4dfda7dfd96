"""Look and feel in one place: the Fusion palette, the stylesheet, canvas colours and icons."""
from __future__ import annotations

import zlib
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

RESOURCES = Path(__file__).resolve().parents[1] / "resources"

# Canvas colours (TF Playground's blue/orange for positive/negative weights).
CANVAS_BG = QColor("#f7f8fa")
GRID_MINOR = QColor("#e9ecf1")
GRID_MAJOR = QColor("#d9dee6")
NODE_BODY = QColor("#ffffff")
NODE_BORDER = QColor("#9aa4b2")
NODE_SELECTED = QColor("#2f6fde")
NODE_INVALID = QColor("#d62d2d")
NODE_TEXT = QColor("#1d232b")
NODE_MUTED = QColor("#5b6573")
EDGE = QColor("#7d8795")
EDGE_HOVER = QColor("#2f6fde")
POSITIVE = QColor("#0877bd")
NEGATIVE = QColor("#f59322")
PORT_IN = QColor("#ffffff")
PORT_OUT = QColor("#2f6fde")
OK_TEXT = "#1b7f3b"
ERROR_TEXT = "#b42318"

# Header colour by layer group (keyword match, so a new group name still gets a sensible colour).
_GROUP_COLORS = (
    (("input", "output", "i/o", "io"), "#5a6b85"),
    (("dense", "core", "linear"), "#2f6fde"),
    (("activation",), "#e08a1e"),
    (("dropout", "regular"), "#8e5cc7"),
    (("norm",), "#16907e"),
    (("merge", "combine"), "#c2417a"),
    (("reshape", "shape"), "#6b7a2a"),
    (("conv",), "#1f8a3b"),
    (("pool",), "#0e7490"),
    (("embed",), "#a15c1c"),
)
_FALLBACK = ("#4f6d7a", "#7a4f6d", "#6d7a4f", "#4f5b7a")


def group_color(group: str) -> QColor:
    g = (group or "").lower()
    for keys, color in _GROUP_COLORS:
        if any(k in g for k in keys):
            return QColor(color)
    return QColor(_FALLBACK[zlib.crc32(g.encode()) % len(_FALLBACK)])


def icon(name: str, fallback: QStyle.StandardPixmap | None = None) -> QIcon:
    """An SVG from resources/icons, else a QStyle standard icon."""
    path = RESOURCES / "icons" / f"{name}.svg"
    if path.exists():
        return QIcon(str(path))
    if fallback is not None and QApplication.instance() is not None:
        return QApplication.style().standardIcon(fallback)
    return QIcon()


def apply_style(app: QApplication):
    """Fusion with a light palette everywhere, so screenshots match across desktops."""
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.Window, QColor("#eef0f3"))
    pal.setColor(QPalette.WindowText, QColor("#1d232b"))
    pal.setColor(QPalette.Base, QColor("#ffffff"))
    pal.setColor(QPalette.AlternateBase, QColor("#f4f6f9"))
    pal.setColor(QPalette.Text, QColor("#1d232b"))
    pal.setColor(QPalette.Button, QColor("#f4f5f7"))
    pal.setColor(QPalette.ButtonText, QColor("#1d232b"))
    pal.setColor(QPalette.Highlight, NODE_SELECTED)
    pal.setColor(QPalette.HighlightedText, Qt.white)
    pal.setColor(QPalette.ToolTipBase, QColor("#fffbe6"))
    pal.setColor(QPalette.ToolTipText, QColor("#1d232b"))
    pal.setColor(QPalette.PlaceholderText, QColor("#8a93a0"))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor("#9aa1ab"))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#9aa1ab"))
    pal.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#9aa1ab"))
    app.setPalette(pal)
    qss = RESOURCES / "styles" / "app.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
