"""Time travel: record a training's checkpoints, scrub back through them, branch a new run from one.

*Record* trains a copy of the session (``engine.run.Run``) while an ``engine.time_travel.Recorder``
keeps checkpoints within the memory budget (every early step, then log-spaced, plus epoch ends).
The slider (or Play) moves the view to a checkpoint: the decision boundary at those weights
(``engine.views.ViewComputer``) and a marker on the loss curve. *Branch from here* starts a new run
from the checkpoint with the chosen η and trains it to the recording's last epoch; its loss curve
is drawn beside the original. Work runs on plain threads; a 30 Hz timer picks up the results.
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout,
                               QWidget)

from engine.errors import InvalidInput
from engine.time_travel import Recorder, branch

BRANCH_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class TimeTravelView(QWidget):
    recorded = Signal()
    branched = Signal(object)  # the branch's Run

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Time travel")
        self.session = session
        self.run = self.recorder = self.views = None
        self.branches: list = []  # (Run, label)
        self._jobs: list = []
        self._lock = threading.Lock()
        self._pending: list = []  # (kind, payload) from the threads

        self.epochs = QSpinBox(minimum=1, maximum=10_000, value=30)
        self.budget = QSpinBox(minimum=1, maximum=4096, value=64, suffix=" MB")
        self.record_btn = QPushButton("Record")
        self.record_btn.setObjectName("record")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("scrubber")
        self.slider.setEnabled(False)
        self.play_btn = QPushButton("Play")
        self.play_btn.setEnabled(False)
        self.speed = QSpinBox(minimum=1, maximum=60, value=10, suffix=" /s")
        self.speed.setToolTip("Checkpoints shown per second while playing")
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.0, maximum=10.0, value=0.01, singleStep=0.001)
        self.lr.setObjectName("branchLr")
        self.branch_btn = QPushButton("Branch from here")
        self.branch_btn.setObjectName("branch")
        self.branch_btn.setEnabled(False)
        self.status = QLabel("Record trains a copy of this session and keeps checkpoints; then scrub, play, branch.")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        row1 = QHBoxLayout()
        for w in (QLabel("epochs"), self.epochs, QLabel("budget"), self.budget, self.record_btn, QLabel("branch η"),
                  self.lr, self.branch_btn):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.play_btn)
        row2.addWidget(self.speed)
        row2.addWidget(self.slider, 1)

        self.loss_pw = pg.PlotWidget()
        self.loss_pw.setBackground("w")
        self.loss_item = self.loss_pw.getPlotItem()
        self.loss_item.setLabel("bottom", "epoch")
        self.loss_item.setLabel("left", "training loss")
        self.loss_item.addLegend()
        self.loss_curve = self.loss_item.plot([], [], pen=pg.mkPen("#1f77b4", width=2.5), name="recorded run")
        self.branch_curves: list = []
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2))
        self.marker.setVisible(False)
        self.loss_item.addItem(self.marker)
        self.map_pw = pg.PlotWidget()
        self.map_pw.setBackground("w")
        self.map_item = self.map_pw.getPlotItem()
        self.map_item.setAspectLocked(True)
        self.image = pg.ImageItem()
        cmap = pg.colormap.get("CET-D1")
        cmap.reverse()  # P(class 1) high in blue, like the class-1 points and the window's boundary plot
        self.image.setColorMap(cmap)
        self.map_item.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=5, pen=pg.mkPen("k", width=0.5))
        self.map_item.addItem(self.points)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_pw, 1)
        plots.addWidget(self.map_pw, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addLayout(plots, 1)
        lay.addWidget(self.status)

        self.poll = QTimer(self)
        self.poll.setInterval(33)
        self.poll.timeout.connect(self._poll)
        self.player = QTimer(self)
        self.player.timeout.connect(self._advance)
        self.record_btn.clicked.connect(self.record)
        self.slider.valueChanged.connect(self.show_checkpoint)
        self.play_btn.clicked.connect(self.toggle_play)
        self.branch_btn.clicked.connect(self.branch_here)

    # -- background work ----------------------------------------------------------------
    def _start(self, kind, fn):
        def work():
            try:
                out = fn()
                with self._lock:
                    self._pending.append((kind, out))
            except InvalidInput as e:
                with self._lock:
                    self._pending.append(("error", str(e)))
            except Exception as e:  # noqa: BLE001  say what broke instead of dying silently
                with self._lock:
                    self._pending.append(("error", f"{kind} failed: {e}"))

        t = threading.Thread(target=work, name=f"time-travel-{kind}", daemon=True)
        self._jobs.append(t)
        t.start()
        self.poll.start()

    @Slot()
    def record(self):
        from engine.run import Run

        s = self.session.copy()
        s.training = dict(s.training, epochs=self.epochs.value(), early_stopping=None)
        budget = self.budget.value() * 2 ** 20
        self.record_btn.setEnabled(False)
        self.status.setText("Recording…")

        def fn():
            run = Run(s, path="torch")
            rec = Recorder(budget_bytes=budget)
            for _ in rec.watch(run, run.events()):
                pass
            return run, rec

        self._start("record", fn)

    @Slot()
    def _poll(self):
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, out in pending:
            if kind == "error":
                self.status.setText(out)
                self.record_btn.setEnabled(True)
            elif kind == "record":
                self._recorded(*out)
            elif kind == "branch":
                self._branched(*out)
        if all(not t.is_alive() for t in self._jobs) and not self._pending:
            self.poll.stop()

    def _recorded(self, run, rec):
        from engine.views import ViewComputer, describe

        self.run, self.recorder = run, rec
        self.views = ViewComputer(run.trainer, describe(run.trainer))
        self._meta = self.views.meta
        h = run.history.epoch_array("train_loss")
        self.loss_curve.setData(np.arange(1, len(h) + 1), h)
        raw = self._meta.raw.get("train")
        if raw is not None:
            x, y = raw
            self.points.setData(x[:, 0], x[:, 1], brush=[pg.mkBrush("#0877bd" if v else "#f59322") for v in np.ravel(y)])
        self.slider.setRange(0, len(rec.checkpoints) - 1)
        self.slider.setEnabled(True)
        self.play_btn.setEnabled(True)
        self.branch_btn.setEnabled(True)
        self.record_btn.setEnabled(True)
        self.slider.setValue(len(rec.checkpoints) - 1)
        self.show_checkpoint(self.slider.value())
        self.recorded.emit()

    # -- scrubbing ---------------------------------------------------------------------------
    def checkpoint(self):
        return self.recorder.checkpoints[self.slider.value()] if self.recorder else None

    @Slot(int)
    def show_checkpoint(self, index):
        import torch

        if self.recorder is None:
            return
        cp = self.recorder.checkpoints[index]
        with self.run.snapshot() as tr:
            tr.model.load_state_dict({k: torch.as_tensor(v) for k, v in cp.weights.items()})
        frame = self.views.boundary(cp.step)
        steps_per_epoch = max(self.run.trainer.steps_per_epoch, 1)
        self.marker.setValue(cp.step / steps_per_epoch)
        self.marker.setVisible(True)
        if frame is not None and frame.kind in ("binary", "regression"):
            x0, x1, y0, y1 = frame.extent
            self.image.setImage(frame.values.T, levels=(0.0, 1.0) if frame.kind == "binary" else None)
            self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.frame = frame
        self.status.setText(f"Checkpoint {index + 1}/{len(self.recorder.checkpoints)}: step {cp.step}, epoch "
                            f"{cp.epoch}{' (epoch end)' if cp.epoch_end else ''}; "
                            f"{len(self.recorder.checkpoints)} kept in {self.recorder.nbytes / 2 ** 20:.2f} MB")

    @Slot()
    def toggle_play(self):
        if self.player.isActive():
            self.player.stop()
            self.play_btn.setText("Play")
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)
        self.player.start(int(1000 / self.speed.value()))
        self.play_btn.setText("Pause")

    @Slot()
    def _advance(self):
        if self.slider.value() >= self.slider.maximum():
            self.toggle_play()
            return
        self.slider.setValue(self.slider.value() + 1)

    # -- branching -------------------------------------------------------------------------
    @Slot()
    def branch_here(self):
        cp = self.checkpoint()
        if cp is None:
            return
        lr = self.lr.value()
        opt = dict(self.run.session.optimizer)
        opt["params"] = dict(opt.get("params") or {}, lr=lr)
        target = self.run.epoch
        session = self.run.session

        def fn():
            b = branch(session, cp, optimizer=opt)
            b.fit(max(target, cp.epoch))
            return b, f"η={lr:g} from step {cp.step}"

        self.status.setText(f"Branching from step {cp.step} with η = {lr:g}…")
        self._start("branch", fn)

    def _branched(self, run, label):
        self.branches.append((run, label))
        color = BRANCH_COLORS[(len(self.branches) - 1) % len(BRANCH_COLORS)]
        h = run.history.epoch_array("train_loss")
        start = run.branched_from[1]
        curve = self.loss_item.plot(np.arange(start + 1, start + len(h) + 1), h, pen=pg.mkPen(color, width=2), name=label)
        self.branch_curves.append(curve)
        self.status.setText(f"Branch {len(self.branches)} ({label}) trained to epoch {run.epoch}.")
        self.branched.emit(run)

    def wait(self, timeout=None):
        for t in self._jobs:
            t.join(timeout)

    def closeEvent(self, event):
        self.player.stop()
        for run in [self.run] + [b for b, _ in self.branches]:
            if run is not None:
                run.stop()
        self.wait(10.0)
        self.poll.stop()
        super().closeEvent(event)


def from_window(win) -> TimeTravelView:
    view = TimeTravelView(win.doc.session.copy())
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "resources" / "examples" / "circle_playground.json")
    w = TimeTravelView(load_session(path))
    w.resize(1000, 560)
    w.show()
    w.epochs.setValue(10)
    w.record()
    sys.exit(app.exec())
