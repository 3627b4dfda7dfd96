"""Optimizer sandbox: the product's optimizers animate side by side on a 2-parameter surface.

Click the surface to choose the start point; every ticked optimizer's path (``engine.sandbox``,
the registry's own optimizers) is computed at once (a few hundred 2-parameter steps take
milliseconds) and revealed by a 30 Hz timer at the chosen speed. The update rules are listed
beside the plot in the notes' symbols.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from engine.errors import InvalidInput
from engine.sandbox import DEFAULTS, FORMULAS, SURFACES, default_specs, grid, paths

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


class SandboxView(QWidget):
    pathsChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Optimizer sandbox")
        self.surface = QComboBox()
        self.surface.setObjectName("surface")
        for key, s in SURFACES.items():
            self.surface.addItem(s.title, key)
        self.kappa = QDoubleSpinBox(decimals=1, minimum=1.0, maximum=1000.0, value=10.0)
        self.kappa.setObjectName("kappa")
        self.kappa.setToolTip("Condition number κ of the bowl: the ratio of its steepest to its flattest curvature")
        self.steps = QSpinBox(minimum=1, maximum=5000, value=200)
        self.speed = QSpinBox(minimum=1, maximum=100, value=3)
        self.speed.setToolTip("Steps revealed per frame (30 frames a second)")
        self.play_btn = QPushButton("Pause")
        self.play_btn.setObjectName("play")
        self.replay_btn = QPushButton("Replay")
        self.checks, self.lrs = {}, {}
        opts = QGridLayout()
        for row, (name, (spec, label)) in enumerate(DEFAULTS.items()):
            box = QCheckBox(label)
            box.setChecked(name != "momentum_velocity")
            box.setStyleSheet(f"QCheckBox {{ color: {COLORS[row]}; font-weight: bold; }}")
            box.setToolTip(FORMULAS[name])
            lr = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=10.0, singleStep=0.001)
            lr.setObjectName(f"lr_{name}")
            self.checks[name], self.lrs[name] = box, lr
            opts.addWidget(box, row, 0)
            opts.addWidget(lr, row, 1)
            box.toggled.connect(self.recompute)
            lr.editingFinished.connect(self.recompute)
        form = QFormLayout()
        form.addRow("Surface", self.surface)
        form.addRow("κ (bowl)", self.kappa)
        form.addRow("Steps", self.steps)
        form.addRow("Speed", self.speed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_btn)
        buttons.addWidget(self.replay_btn)
        self.formula = QLabel()
        self.formula.setObjectName("formulas")
        self.formula.setWordWrap(True)
        self.status = QLabel("Click the surface to start from there.")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addLayout(opts)
        side.addLayout(buttons)
        side.addWidget(self.formula)
        side.addWidget(self.status)
        side.addStretch(1)

        self.pw = pg.PlotWidget()
        self.pw.setBackground("w")
        self.item = self.pw.getPlotItem()
        self.item.setLabel("bottom", "x")
        self.item.setLabel("left", "y")
        self.item.setAspectLocked(False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.item.addItem(self.image)
        self.curves = {n: self.item.plot([], [], pen=pg.mkPen(COLORS[i], width=2.5), symbol="o", symbolSize=3,
                                         symbolBrush=COLORS[i], symbolPen=None, name=DEFAULTS[n][1])
                       for i, n in enumerate(DEFAULTS)}
        self.start_marker = self.item.plot([], [], pen=None, symbol="x", symbolSize=14, symbolBrush="w",
                                           symbolPen=pg.mkPen("w", width=2))
        self.pw.scene().sigMouseClicked.connect(self._on_click)
        lay = QHBoxLayout(self)
        lay.addWidget(self.pw, 1)
        holder = QWidget()
        holder.setLayout(side)
        holder.setMaximumWidth(360)
        lay.addWidget(holder)

        self.result: dict = {}
        self.shown = 0
        self.start = SURFACES["bowl"].start
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._tick)
        self.surface.currentIndexChanged.connect(self._on_surface)
        self.kappa.editingFinished.connect(self._on_surface_keep_start)
        self.steps.editingFinished.connect(self.recompute)
        self.play_btn.clicked.connect(self.toggle_play)
        self.replay_btn.clicked.connect(self.replay)
        self._on_surface()

    # -- state ------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return self.surface.currentData()

    def specs(self) -> dict:
        base = default_specs(self.key)
        out = {}
        for name, box in self.checks.items():
            if box.isChecked():
                out[name] = {"type": base[name]["type"], "params": dict(base[name]["params"], lr=self.lrs[name].value())}
        return out

    @Slot()
    def _on_surface(self):
        s = SURFACES[self.key]
        for name, spec in default_specs(self.key).items():
            self.lrs[name].blockSignals(True)
            self.lrs[name].setValue(spec["params"]["lr"])
            self.lrs[name].blockSignals(False)
        self.kappa.setEnabled(self.key == "bowl")
        self.start = s.start
        self._draw_surface()
        self.recompute()

    @Slot()
    def _on_surface_keep_start(self):
        self._draw_surface()
        self.recompute()

    def _draw_surface(self):
        s = SURFACES[self.key]
        x0, x1, y0, y1 = s.extent
        xs, ys, z = grid(self.key, n=160, kappa=self.kappa.value())
        shown = np.log1p(z - z.min())  # log so the valley floor is visible next to the walls
        self.image.setImage(shown.T, levels=(float(shown.min()), float(shown.max())))
        self.image.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.item.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        lines = [f"<b>{html.escape(s.title)}</b>: {html.escape(s.formula)}"]
        lines += [f"<span style='color:{COLORS[i]}'><b>{html.escape(DEFAULTS[n][1])}</b></span>: {html.escape(FORMULAS[n])}"
                  for i, n in enumerate(DEFAULTS)]
        self.formula.setText("<br>".join(lines))

    def set_start(self, point):
        self.start = (float(point[0]), float(point[1]))
        self.recompute()

    @Slot()
    def recompute(self):
        try:
            self.result = paths(self.key, self.start, steps=self.steps.value(), kappa=self.kappa.value(),
                                specs=self.specs())
        except InvalidInput as e:
            self.status.setText(str(e))
            self.result = {}
        self.start_marker.setData([self.start[0]], [self.start[1]])
        self.replay()
        self.pathsChanged.emit()

    @Slot()
    def replay(self):
        self.shown = 0
        for c in self.curves.values():
            c.setData([], [])
        self.timer.start()
        self.play_btn.setText("Pause")

    @Slot()
    def toggle_play(self):
        if self.timer.isActive():
            self.timer.stop()
            self.play_btn.setText("Play")
        else:
            self.timer.start()
            self.play_btn.setText("Pause")

    def finish(self):
        """Show every path to its end at once (tests, and Replay's end)."""
        self.shown = self.steps.value()
        self._draw_paths()
        self.timer.stop()

    @Slot()
    def _tick(self):
        self.shown += self.speed.value()
        self._draw_paths()
        if self.shown >= self.steps.value():
            self.timer.stop()
            self.play_btn.setText("Play")

    def _draw_paths(self):
        k = self.shown
        parts = []
        for name, curve in self.curves.items():
            if name not in self.result:
                curve.setData([], [])
                continue
            pts, vals = self.result[name]
            n = min(k + 1, len(pts))
            curve.setData(pts[:n, 0], pts[:n, 1])
            end = "diverged" if len(pts) < self.steps.value() + 1 and n == len(pts) else f"f = {vals[n - 1]:.4g}"
            parts.append(f"{DEFAULTS[name][1]}: {end}")
        self.status.setText(f"step {min(k, self.steps.value())} from ({self.start[0]:.2f}, {self.start[1]:.2f}) · "
                            + " · ".join(parts))

    def _on_click(self, ev):
        vb = self.item.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        self.set_start((p.x(), p.y()))


def from_window(win) -> SandboxView:
    from PySide6.QtCore import Qt

    view = SandboxView()
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    w = SandboxView()
    w.surface.setCurrentIndex(list(SURFACES).index("rosenbrock"))
    w.resize(1100, 640)
    w.show()
    sys.exit(app.exec())
