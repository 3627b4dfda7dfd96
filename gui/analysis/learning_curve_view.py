"""Learning curve (lecture 000): the training and validation loss against the number of training samples.

Each point is a fresh ``engine.Run`` of the document's settings trained on a subset (10%, 25%, 50%, 75%,
100% of the training split), in the background; points appear as they finish and Stop ends the job
after the current point. Reading it: the two curves meet near the noise level as n grows; a wide gap at
the largest n means more data would still help, two high curves that already met mean a bigger model.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox

from ..plots import TRAIN_PEN, VAL_PEN, legend_above, plot_widget
from .base import SettingsView

FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


class LearningCurveView(SettingsView):
    title = "Learning curve"
    button_text = "Compute"
    needs = ("Press Compute: the network is trained from scratch on 10%…100% of the training split "
             "(in the background; your training is not touched).")

    def __init__(self, run_provider=None, parent=None, session_provider=None):
        super().__init__(run_provider, parent, session_provider)
        self.epochs = self.add_control(QSpinBox(), "epochs per point")
        self.epochs.setObjectName("lcEpochs")
        self.epochs.setRange(1, 10000)
        self.epochs.setValue(20)
        self.epochs.setToolTip("Each subset trains this many epochs from the same initial weights.")
        self.stop_button = self.add_control(QPushButton("Stop"))
        self.stop_button.setObjectName("lcStop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.finish_bar()
        self.pw = plot_widget(x="training samples n", y="final loss")
        self.pw.setObjectName("learningCurvePlot")
        self.pw.setMinimumSize(200, 120)
        legend = legend_above(self.pw, columns=2)
        item = self.pw.getPlotItem()
        self.train_curve = item.plot([], [], pen=pg.mkPen(TRAIN_PEN, width=2), symbol="o", symbolBrush=TRAIN_PEN,
                                     symbolPen=None, symbolSize=6)
        self.val_curve = item.plot([], [], pen=pg.mkPen(VAL_PEN, width=2), symbol="o", symbolBrush=VAL_PEN,
                                   symbolPen=None, symbolSize=6)
        legend.addItem(self.train_curve, "training loss")
        self.val_legend = legend
        legend.addItem(self.val_curve, "validation loss")
        self.body.addWidget(self.pw, 1)
        self.reading = QLabel()
        self.reading.setObjectName("lcReading")
        self.reading.setWordWrap(True)
        self.body.addWidget(self.reading)
        self.points: list = []

    def job(self, session):
        if session is None:
            return None
        from engine.evaluation import learning_curve

        s, epochs = session.copy(), int(self.epochs.value())
        self.points = []
        self._draw()
        self.stop_button.setEnabled(True)
        return lambda progress, stop: learning_curve(s, fractions=FRACTIONS, epochs=epochs, should_stop=stop,
                                                     on_point=progress)

    def stop(self):
        self.runner.cancel()
        self.button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.set_status(f"Stopped after {len(self.points)} point(s).")

    def on_progress(self, point):
        self.points.append(point)
        self.set_status(f"Computing… {len(self.points)} of {len(FRACTIONS)} subsets trained")
        self._draw()

    def _on_failed(self, text):
        self.stop_button.setEnabled(False)
        super()._on_failed(text)

    def show_result(self, result):
        self.stop_button.setEnabled(False)
        self.points = list(result["points"])
        self._draw()
        self.val_split = result["eval_split"]
        last = self.points[-1] if self.points else None
        if last and last["train_loss"] is not None and last["val_loss"] is not None:
            gap = last["val_loss"] - last["train_loss"]
            rel = gap / max(abs(last["val_loss"]), 1e-12)
            text = (f"At n = {last['n']}: training loss {last['train_loss']:.4g}, {result['eval_split']} loss "
                    f"{last['val_loss']:.4g}. ")
            text += ("The gap is still wide: more data would probably help (or regularize)." if rel > 0.25 else
                     "The curves have nearly met: more data will help little; if both are high, use a bigger model "
                     "or train longer.")
            self.reading.setText(text)

    def _draw(self):
        n = np.array([p["n"] for p in self.points], dtype=float)
        tr = np.array([np.nan if p["train_loss"] is None else p["train_loss"] for p in self.points], dtype=float)
        va = np.array([np.nan if p["val_loss"] is None else p["val_loss"] for p in self.points], dtype=float)
        self.train_curve.setData(n, tr)
        self.val_curve.setData(n, va)
        if not self.points:
            self.reading.setText("")

    def export_item(self):
        return self.pw.getPlotItem()

    def csv_table(self):
        return (["n", "train_loss", "val_loss"],
                [[p["n"] for p in self.points], [p["train_loss"] for p in self.points],
                 [p["val_loss"] for p in self.points]])


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(LearningCurveView))
