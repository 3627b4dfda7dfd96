"""Layer palette: every registered layer type, grouped, searchable, draggable onto the canvas."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine.layers import all_layers

from .. import style
from ..canvas.view import LAYER_MIME

NAME_ROLE = Qt.UserRole + 1
GROUP_ORDER = ("Input/Output", "Core", "Activation", "Regularization", "Normalization", "Merge", "Reshape",
               "Convolution", "Pooling", "Recurrent", "Embedding")


class _LayerTree(QTreeWidget):
    """Drags carry the layer name; Enter adds the current layer like a double-click."""

    enterPressed = Signal(object)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.enterPressed.emit(self.currentItem())
            return
        super().keyPressEvent(event)

    def mimeTypes(self):
        return [LAYER_MIME]

    def mimeData(self, items):
        names = [it.data(0, NAME_ROLE) for it in items if it.data(0, NAME_ROLE)]
        if not names:
            return None
        md = QMimeData()
        md.setData(LAYER_MIME, names[0].encode("utf-8"))
        md.setText(names[0])
        return md


class PalettePanel(QWidget):
    layerActivated = Signal(str)  # double-click / Enter: add this layer type at the view centre

    def __init__(self, layers: dict | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("palette")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name or description")
        self.search.textChanged.connect(self.filter)
        lay.addWidget(self.search)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(14)
        self.tree.setWhatsThis("Drag a layer onto the canvas, or double-click it to add it in the middle of the view.")
        # Double-click, not itemActivated: some desktops activate on a single click, which would add on every drag.
        self.tree.itemDoubleClicked.connect(self._activate)
        self.tree.enterPressed.connect(self._activate)
        lay.addWidget(self.tree)
        self.set_layers(all_layers() if layers is None else layers)

    def set_layers(self, layers: dict):
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}

        def rank(g):
            return (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g)

        for g in sorted({lt.group for lt in layers.values()}, key=rank):
            top = QTreeWidgetItem([g])
            top.setFlags(Qt.ItemIsEnabled)
            top.setForeground(0, QBrush(style.group_color(g)))
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.tree.addTopLevelItem(top)
            groups[g] = top
        for name, lt in layers.items():
            it = QTreeWidgetItem([name])
            it.setData(0, NAME_ROLE, name)
            it.setToolTip(0, f"<b>{name}</b><br>{lt.doc}" if lt.doc else name)
            it.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            groups[lt.group].addChild(it)
        self.tree.expandAll()
        self.filter(self.search.text())

    def items(self) -> dict:
        """Layer name -> tree item (for tests and keyboard navigation)."""
        out = {}
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                out[top.child(j).data(0, NAME_ROLE)] = top.child(j)
        return out

    def filter(self, text: str):
        text = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                it = top.child(j)
                hit = not text or text in it.text(0).lower() or text in it.toolTip(0).lower()
                it.setHidden(not hit)
                shown += hit
            top.setHidden(shown == 0)

    def visible_names(self) -> list[str]:
        return [n for n, it in self.items().items() if not it.isHidden() and not it.parent().isHidden()]

    def _activate(self, item, _col=0):
        name = item.data(0, NAME_ROLE)
        if name:
            self.layerActivated.emit(name)


if __name__ == "__main__":  # python -m gui.panels.palette
    import sys

    from gui.panels import preview

    def _make():
        w = PalettePanel()
        w.layerActivated.connect(lambda n: print("activated", n))
        return w

    sys.exit(preview(_make, (260, 560)))
