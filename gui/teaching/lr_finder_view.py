"""LR range test view: sweep η on a copy of the run, plot loss against η, apply the suggestion.

The sweep (``engine.lr_finder.lr_range_test``) runs as a ``gui.analysis.jobs.JobRunner`` job: the
worker sends the new points at most 30 times a second, and the curve is redrawn on the GUI thread
when they arrive, so no widget is touched from the worker; closing the view stops the sweep. Apply sets the optimizer's η in the document, which the
training sync turns into a live change of the current run (or the next run's setting).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from engine.lr_finder import lr_range_test

from ..analysis.jobs import JobRunner, StopFlag, Throttle


def three_digits(v: float) -> float:
    """η rounded to 3 significant digits, the precision the suggestion is shown with."""
    return float(f"{v:.3g}")


class LRFinderView(QWidget):
    finished = Signal(object)  # engine.lr_finder.LRTest

    def __init__(self, session, *, weights=None, document=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("LR range test")
        self.session, self.weights, self.document = session, weights, document
        self.result = None
        self._lrs, self._losses = [], []
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_points)
        self.runner.done.connect(self._show)
        self.runner.failed.connect(self._on_failed)

        self.lr_min = QDoubleSpinBox(decimals=8, minimum=1e-8, maximum=1.0, value=1e-5)
        self.lr_min.setObjectName("lrMin")
        self.lr_max = QDoubleSpinBox(decimals=4, minimum=1e-4, maximum=100.0, value=10.0)
        self.lr_max.setObjectName("lrMax")
        self.steps = QSpinBox(minimum=10, maximum=2000, value=200)
        self.steps.setObjectName("steps")
        self.start_btn = QPushButton("Run test")
        self.start_btn.setObjectName("start")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.apply_btn = QPushButton("Apply suggested η")
        self.apply_btn.setObjectName("apply")
        self.apply_btn.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.label = QLabel("Sweeps η geometrically on a copy of this network (your run is not touched); "
                            "the loss falls fastest at a good η and blows up past the largest stable one.")
        self.label.setObjectName("summary")
        self.label.setWordWrap(True)
        row = QHBoxLayout()
        for w in (QLabel("η from"), self.lr_min, QLabel("to"), self.lr_max, QLabel("steps"), self.steps,
                  self.start_btn, self.stop_btn, self.apply_btn):
            row.addWidget(w)
        row.addStretch(1)
        self.pw = pg.PlotWidget()
        self.pw.setBackground("w")
        self.item = self.pw.getPlotItem()
        self.item.setLogMode(x=True)
        self.item.setLabel("bottom", "learning rate η (log)")
        self.item.setLabel("left", "batch loss")
        self.item.showGrid(x=True, y=True, alpha=0.25)
        self.item.addLegend()
        self.raw_curve = self.item.plot([], [], pen=pg.mkPen("#9ab7d3", width=1), name="loss")
        self.smooth_curve = self.item.plot([], [], pen=pg.mkPen("#0877bd", width=2.5), name="smoothed")
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2, style=pg.QtCore.Qt.DashLine))
        self.marker.setVisible(False)
        self.item.addItem(self.marker)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.pw, 1)
        lay.addWidget(self.label)
        self.start_btn.clicked.connect(self.start)
        self.stop_btn.clicked.connect(self.runner.stop_early)  # the sweep so far still comes back and is shown
        self.apply_btn.clicked.connect(self.apply)

    # -- the sweep, a JobRunner job ------------------------------------------------
    @Slot()
    def start(self):
        if self.runner.busy:
            return
        self._lrs, self._losses = [], []
        args = dict(weights=self.weights, lr_min=self.lr_min.value(), lr_max=self.lr_max.value(),
                    steps=self.steps.value())
        session = self.session

        def work(progress, should_stop):  # the worker thread: no widgets here
            points = Throttle(progress)
            res = lr_range_test(session, progress=lambda k, n, lr, loss: points.push((lr, loss)),
                                stop=StopFlag(should_stop), **args)
            points.flush()
            return res

        self.progress.setRange(0, args["steps"])
        self.progress.setValue(0)
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.apply_btn.setEnabled(False)
        self.marker.setVisible(False)
        self.runner.start(work)

    @Slot(object)
    def _on_points(self, points):
        for lr, loss in points:
            self._lrs.append(lr)
            self._losses.append(loss)
        self.raw_curve.setData(self._lrs, self._losses)
        self.progress.setValue(len(self._lrs))

    @Slot(str)
    def _on_failed(self, text):
        self.label.setText(text)
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)

    @Slot(object)
    def _show(self, res):
        self.result = res
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        if len(res.lrs):
            self.raw_curve.setData(res.lrs, res.losses)
            self.smooth_curve.setData(res.lrs, res.smoothed)
            finite = res.smoothed[np.isfinite(res.smoothed)]
            if len(finite):  # the blow-up at the end would squash the interesting part
                self.item.setYRange(float(finite.min()) * 0.95, float(min(finite.max(), 4 * finite[0])) * 1.05)
        if res.suggestion is not None:
            self.marker.setValue(math.log10(res.suggestion))
            self.marker.setVisible(True)
            self.apply_btn.setText(f"Apply η = {three_digits(res.suggestion):g}")
            self.apply_btn.setEnabled(True)
        self.label.setText(res.sentence)
        self.finished.emit(res)

    @Slot()
    def apply(self):
        """Write the suggested η into the document's optimizer (undoable; a live change while training)."""
        if self.result is None or self.result.suggestion is None or self.document is None:
            return
        opt = dict(self.document.session.optimizer)
        opt["params"] = dict(opt.get("params", {}), lr=three_digits(self.result.suggestion))
        self.document.set_session_field("optimizer", opt)
        self.label.setText(f"η = {opt['params']['lr']:g} applied to the optimizer (Edit ▸ Undo takes it back).")

    def wait(self, timeout: float | None = None):
        """Wait for the sweep to end (seconds; None: up to 30 s); its result then arrives as a queued signal."""
        return self.runner.wait(int(1000 * (30.0 if timeout is None else timeout)))

    def closeEvent(self, event):
        self.runner.shutdown(5000)  # stops the sweep at its next step and waits for it
        super().closeEvent(event)


def from_window(win) -> LRFinderView:
    """On the window's session, from the current run's weights when it is this network."""
    from PySide6.QtCore import Qt

    from engine.run import structure_key

    session = win.doc.session.copy()
    weights = None
    run = getattr(getattr(win, "controller", None), "run", None)
    if run is not None and getattr(run, "trainer", None) is not None and structure_key(run.session) == structure_key(session):
        weights = run.weights()
    view = LRFinderView(session, weights=weights, document=win.doc)
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session
    from gui.document import Document

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "resources" / "examples" / "circle_playground.json")
    doc = Document(load_session(path))
    w = LRFinderView(doc.session, document=doc)
    w.resize(900, 560)
    w.show()
    w.start()
    sys.exit(app.exec())
