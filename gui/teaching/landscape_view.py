"""Loss landscape view: a 2-D slice of the loss around the trained weights, the optimizer's path on it.

``engine.landscape.landscape`` trains a copy of the session (the path) and evaluates the loss on a
grid; it runs as a ``gui.analysis.jobs.JobRunner`` job whose progress reaches the GUI thread at most
30 times a second (progress bar, then the heatmap with the path); no widget is touched from the worker,
Stop keeps the part computed, closing the view stops the job. The user's run is never touched.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from engine.landscape import landscape

from ..analysis.jobs import JobRunner, StopFlag, Throttle

# other optimizers whose paths can be drawn on the same slice, from the same initial weights
COMPARE = {"SGD η=0.1": {"type": "sgd", "params": {"lr": 0.1}},
           "Momentum η=0.05": {"type": "momentum", "params": {"lr": 0.05, "momentum": 0.9}},
           "Adam η=0.01": {"type": "adam", "params": {"lr": 0.01}}}
COMPARE_COLORS = ("#ff7f0e", "#e377c2", "#17becf")
RUN_COLORS = ("#ffd92f", "#a6d854", "#fc8d62", "#8da0cb", "#e78ac3", "#66c2a5", "#b3b3b3", "#e5c494")


class LandscapeView(QWidget):
    finished = Signal(object)  # engine.landscape.Slice

    def __init__(self, session, parent=None, runs_provider=None):
        """``runs_provider()`` → {name: [weights, ...]}: the window's recorded runs of this network (their paths)."""
        super().__init__(parent)
        self.setWindowTitle("Loss landscape")
        self.session = session
        self.runs_provider = runs_provider or (lambda: {})
        self.result = None
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self.kind = QComboBox()
        self.kind.setObjectName("kind")
        self.kind.addItem("random, filter-normalised", "random")
        self.kind.addItem("PCA of the trajectory", "pca")
        self.epochs = QSpinBox(minimum=2, maximum=2000, value=30)
        self.res = QSpinBox(minimum=5, maximum=101, value=25)
        self.res.setToolTip("Grid points per axis (the loss is evaluated res² times on the whole split)")
        self.span = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=100.0, value=0.0, singleStep=0.25)
        self.span.setSpecialValueText("auto")
        self.span.setToolTip("Half-width of the slice in direction units; auto covers the whole path")
        self.seed = QSpinBox(minimum=0, maximum=10_000, value=0)
        self.start_btn = QPushButton("Compute")
        self.start_btn.setObjectName("compute")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.compare = {name: QCheckBox(name) for name in COMPARE}
        cmp_row = QHBoxLayout()
        cmp_row.addWidget(QLabel("Also draw the path of:"))
        for (name, box), color in zip(self.compare.items(), COMPARE_COLORS):
            box.setStyleSheet(f"QCheckBox {{ color: {color}; font-weight: bold; }}")
            box.setToolTip(f"Train one more copy from the same initial weights with {name} and project its path")
            cmp_row.addWidget(box)
        cmp_row.addStretch(1)
        self.runs_row = QHBoxLayout()
        self.runs_label = QLabel("Runs of this network:")
        self.runs_row.addWidget(self.runs_label)
        self.run_boxes: dict = {}
        self.runs_row.addStretch(1)
        row = QHBoxLayout()
        for w in (QLabel("Directions"), self.kind, QLabel("epochs"), self.epochs, QLabel("resolution"), self.res,
                  QLabel("range ±"), self.span, QLabel("seed"), self.seed, self.start_btn, self.stop_btn):
            row.addWidget(w)
        row.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.status = QLabel("Trains a copy of this session for the chosen epochs, then evaluates the loss on a grid "
                             "around its final weights; the white line is the copy's path.")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.pw = pg.PlotWidget()
        self.pw.setBackground("w")
        self.item = self.pw.getPlotItem()
        self.item.setLabel("bottom", "α (direction 1)")
        self.item.setLabel("left", "β (direction 2)")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.item.addItem(self.image)
        self.bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), label="log₁₀ loss", interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.item)
        self.item.addLegend(offset=(10, 10), brush=pg.mkBrush(40, 40, 40, 200), labelTextColor="w")
        self.path_curve = self.item.plot([], [], pen=pg.mkPen("w", width=2.5), symbol="o", symbolSize=4,
                                         symbolBrush="w", symbolPen=None, name="this session's optimizer")
        self.end_marker = self.item.plot([], [], pen=None, symbol="star", symbolSize=14, symbolBrush="#d62728")
        self.other_curves = {name: self.item.plot([], [], pen=pg.mkPen(c, width=2.5), name=name)
                             for name, c in zip(COMPARE, COMPARE_COLORS)}
        self.refresh_runs()
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(cmp_row)
        lay.addLayout(self.runs_row)
        lay.addWidget(self.progress)
        lay.addWidget(self.pw, 1)
        lay.addWidget(self.status)
        self.start_btn.clicked.connect(self.start)
        self.stop_btn.clicked.connect(self.runner.stop_early)  # the slice so far still comes back and is shown

    def refresh_runs(self):
        """One checkbox per recorded run of this network in the window (checked: its path is drawn)."""
        runs = self.runs_provider()
        for name in [n for n in self.run_boxes if n not in runs]:
            self.run_boxes.pop(name).deleteLater()
        for i, name in enumerate(runs):
            if name not in self.run_boxes:
                box = QCheckBox(name)
                box.setChecked(True)
                color = RUN_COLORS[i % len(RUN_COLORS)]
                box.setStyleSheet(f"QCheckBox {{ color: {color}; font-weight: bold; }}")
                box.setToolTip("This run's recorded checkpoints (time travel), projected onto the same slice")
                self.run_boxes[name] = box
                self.runs_row.insertWidget(self.runs_row.count() - 1, box)
                self.other_curves[name] = self.item.plot([], [], pen=pg.mkPen(color, width=2.5, style=Qt.DashLine),
                                                         name=name)
        self.runs_label.setText("Runs of this network:" if runs else
                                "Runs of this network: none recorded yet (train in the window to draw their paths)")
        self._runs = runs

    @Slot()
    def start(self):
        if self.runner.busy:
            return
        self.refresh_runs()
        args = dict(epochs=self.epochs.value(), kind=self.kind.currentData(), res=self.res.value(),
                    span=self.span.value() or None, seed=self.seed.value(),
                    compare={n: COMPARE[n] for n, box in self.compare.items() if box.isChecked()},
                    runs={n: pts for n, pts in self._runs.items() if self.run_boxes[n].isChecked()})
        session = self.session

        def work(progress, should_stop):  # the worker thread: no widgets here
            say = Throttle(progress)
            res = landscape(session, progress=lambda frac, text: say.push((frac, text)), stop=StopFlag(should_stop),
                            **args)
            say.flush()
            return res

        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.progress.setValue(0)
        self.runner.start(work)

    @Slot(object)
    def _on_progress(self, items):
        frac, text = items[-1]  # only the latest matters
        self.progress.setValue(int(1000 * (frac or 0)))
        if text:
            self.status.setText(text)

    def _ended(self):
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)

    @Slot(str)
    def _on_failed(self, text):
        self._ended()
        self.status.setText(text)

    @Slot(object)
    def _on_done(self, sl):
        self._ended()
        self._show(sl)

    def _show(self, sl):
        self.result = sl
        a, b = sl.alphas, sl.betas
        shown = np.log10(np.maximum(sl.losses, 1e-12))
        finite = shown[np.isfinite(shown)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.image.setImage(np.nan_to_num(shown, nan=hi).T, levels=(lo, hi if hi > lo else lo + 1))
        da, db = a[1] - a[0], b[1] - b[0]
        self.image.setRect(QRectF(a[0] - da / 2, b[0] - db / 2, a[-1] - a[0] + da, b[-1] - b[0] + db))
        self.bar.setLevels((lo, hi if hi > lo else lo + 1))
        if len(sl.path):
            self.path_curve.setData(sl.path[:, 0], sl.path[:, 1])
            self.end_marker.setData([sl.path[-1, 0]], [sl.path[-1, 1]])
        for name, curve in self.other_curves.items():
            pts = sl.others.get(name)
            curve.setData([] if pts is None else pts[:, 0], [] if pts is None else pts[:, 1])
        self.progress.setValue(1000 if sl.complete else self.progress.value())
        centre = sl.losses[len(b) // 2, len(a) // 2]
        what = ("PCA directions: {:.0%} and {:.0%} of the path's variance".format(*sl.explained)
                if sl.explained else "random filter-normalised directions")
        self.status.setText(f"{what}; loss at the trained weights {centre:.4g}, range {np.nanmin(sl.losses):.4g}–"
                            f"{np.nanmax(sl.losses):.4g}" + ("" if sl.complete else " (stopped early)") +
                            "".join(f"; {n}" for n in sl.notes))
        self.finished.emit(sl)

    def wait(self, timeout=None):
        """Wait for the job to end (seconds; None: up to 30 s); its result then arrives as a queued signal."""
        return self.runner.wait(int(1000 * (30.0 if timeout is None else timeout)))

    def closeEvent(self, event):
        self.runner.shutdown(10000)  # stops the job at its next check and waits for it
        super().closeEvent(event)


def from_window(win) -> LandscapeView:

    view = LandscapeView(win.doc.session.copy(), runs_provider=lambda: window_runs(win))
    view.setParent(win, Qt.Window)
    return view


def window_runs(win) -> dict:
    """{name: checkpoint weights} of the window's runs (current and kept) of the document's network."""
    from engine.run import structure_key

    c = win.controller
    key = structure_key(win.doc.session)
    out = {}
    runs = [*c.past_runs, c.run] if c.run is not None else list(c.past_runs)
    for i, run in enumerate(runs, start=1):
        rec = c.recorder_of(run)
        if rec is None or not rec.checkpoints or structure_key(run.session) != key:
            continue
        opt = run.session.optimizer
        name = f"run {i}: {opt['type']} η={opt.get('params', {}).get('lr', '?')}"
        out[name] = [cp.weights for cp in rec.checkpoints]
    return out


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "resources" / "examples" / "circle_playground.json")
    w = LandscapeView(load_session(path))
    w.resize(900, 640)
    w.show()
    w.start()
    sys.exit(app.exec())
