"""The wheel over the dataset preview scrolls the panel; Ctrl+wheel zooms; Fit shows every point again."""
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.session import Session
from gui.document import Document
from gui.panels.dataset_panel import DatasetPanel


def wheel(widget, steps, modifiers=Qt.NoModifier):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, -120 * steps),
                     Qt.NoButton, modifiers, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget.viewport(), ev)


def spiral_panel(qtbot):
    s = Session()
    s.dataset = {"type": "spiral", "params": {}}
    panel = DatasetPanel(Document(s))
    panel.resize(330, 420)  # short: the panel scrolls
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.update_preview_now()
    return panel


def ranges(pv):
    return np.array(pv.vb.viewRange())


def test_plain_wheel_scrolls_the_panel_and_leaves_the_zoom(qtbot):
    panel = spiral_panel(qtbot)
    pv = panel.preview
    bar = panel.verticalScrollBar()
    assert bar.maximum() > 0
    before, top = ranges(pv), bar.value()
    wheel(pv.plot, 2)
    assert bar.value() > top  # the panel moved down
    np.testing.assert_allclose(ranges(pv), before)  # the spiral kept its size


def test_ctrl_wheel_zooms_and_fit_shows_every_point_again(qtbot):
    panel = spiral_panel(qtbot)
    pv = panel.preview
    home = ranges(pv)
    bar = panel.verticalScrollBar()
    top = bar.value()
    wheel(pv.plot, -3, Qt.ControlModifier)  # wheel up with Ctrl: zoom in
    zoomed = ranges(pv)
    assert (zoomed[:, 1] - zoomed[:, 0] < 0.9 * (home[:, 1] - home[:, 0])).all() and bar.value() == top
    pv.fit_button.click()
    got = ranges(pv)
    x = np.concatenate([pv.items[s].data["x"] for s in pv.items])
    y = np.concatenate([pv.items[s].data["y"] for s in pv.items])
    assert got[0, 0] <= x.min() and got[0, 1] >= x.max() and got[1, 0] <= y.min() and got[1, 1] >= y.max()
    assert (got[:, 1] - got[:, 0] < 1.5 * (home[:, 1] - home[:, 0])).all()  # back to the fitted view, not far out
