"""Teach ▸ Common Mistakes (lecture 003, "Bad practice / common mistakes"): one mistake made on purpose on a
copy of this session, trained beside the right way, with the measured verdict.

The playground itself never forgets ``zero_grad()``, the eval mode, raw logits or a clean test set, so
a student cannot see what those mistakes do to a training; ``engine.mistakes`` makes each on a copy
and this view draws the two curves. The work runs in the background (``gui.analysis.jobs.JobRunner``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from engine.mistakes import MISTAKES

from ..analysis.jobs import JobRunner
from ..plots import legend_above, plot_widget

RIGHT_PEN, WRONG_PEN = "#1f77b4", "#d62728"
WHY = {
    "zero_grad": "PyTorch adds each backward() into .grad. Without zero_grad() every step uses the sum of all the "
                 "gradients so far: an undamped momentum that overshoots and oscillates.",
    "eval_mode": "Dropout and batch norm behave differently while training. Evaluated in train mode, dropout still "
                 "drops units and batch norm normalises with each batch's statistics: the 'tests on the train set "
                 "differ from training' bad sign of the notes.",
    "softmax_logits": "A loss 'from logits' applies softmax (or sigmoid) itself. Squashing the outputs first applies "
                      "it twice: the probabilities crowd into a narrow band and the gradient shrinks.",
    "test_leak": "Rows of the test set that were also trained on are predicted too well: the test score no longer "
                 "estimates the error on new data. Keep the test set apart, and never tune on it.",
}


class MistakesView(QWidget):
    computed = Signal(object)  # the engine.mistakes.Demo shown

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Common mistakes — NN Playground")
        self.session = session
        self.result = None
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self.mistake = QComboBox()
        self.mistake.setObjectName("mistake")
        for key, text in MISTAKES.items():
            self.mistake.addItem(text, key)
        self.mistake.currentIndexChanged.connect(self._on_choice)
        self.epochs = QSpinBox()
        self.epochs.setObjectName("mistakeEpochs")
        self.epochs.setRange(1, 2000)
        self.epochs.setValue(30)
        self.steps = QSpinBox()
        self.steps.setObjectName("mistakeSteps")
        self.steps.setRange(1, 20_000)
        self.steps.setValue(200)
        self.run_btn = QPushButton("Make the Mistake")
        self.run_btn.setObjectName("runMistake")
        self.run_btn.clicked.connect(self.run)
        top = QHBoxLayout()
        for w in (QLabel("mistake"), self.mistake, QLabel("epochs"), self.epochs, QLabel("steps"), self.steps,
                  self.run_btn):
            top.addWidget(w)
        top.addStretch(1)
        self.why = QLabel()
        self.why.setObjectName("mistakeWhy")
        self.why.setWordWrap(True)
        self.pw = plot_widget(x="", y="")
        self.pw.setObjectName("mistakePlot")
        self.pw.setMinimumSize(300, 200)
        legend = legend_above(self.pw, columns=2)
        item = self.pw.getPlotItem()
        self.right_curve = item.plot([], [], pen=pg.mkPen(RIGHT_PEN, width=2))
        self.wrong_curve = item.plot([], [], pen=pg.mkPen(WRONG_PEN, width=2))
        self.legend = legend
        self.verdict = QLabel("Choose a mistake and press Make the Mistake: it is made on a copy of this session.")
        self.verdict.setObjectName("mistakeVerdict")
        self.verdict.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.why)
        lay.addWidget(self.pw, 1)
        lay.addWidget(self.verdict)
        self._on_choice()

    def key(self) -> str:
        return self.mistake.currentData()

    def _on_choice(self, *_):
        key = self.key()
        self.why.setText(WHY[key])
        self.steps.setEnabled(key == "zero_grad")
        self.epochs.setEnabled(key != "zero_grad")

    def run(self):
        from engine.mistakes import demonstrate

        s, key = self.session.copy(), self.key()
        epochs, steps = int(self.epochs.value()), int(self.steps.value())
        self.run_btn.setEnabled(False)
        self.verdict.setText("Training the right way and the wrong way…")
        self.runner.start(lambda progress, stop: demonstrate(s, key, epochs=epochs, steps=steps))

    def _on_done(self, demo):
        self.run_btn.setEnabled(True)
        self.result = demo
        item = self.pw.getPlotItem()
        item.setLabel("bottom", demo.x_label)
        item.setLabel("left", demo.y_label)
        x = np.arange(1, len(demo.right) + 1)
        self.right_curve.setData(x, demo.right)
        self.wrong_curve.setData(np.arange(1, len(demo.wrong) + 1), demo.wrong)
        self.legend.clear()
        self.legend.addItem(self.right_curve, demo.right_label)
        self.legend.addItem(self.wrong_curve, demo.wrong_label)
        self.verdict.setText(demo.verdict)
        self.computed.emit(demo)

    def _on_failed(self, text):
        self.run_btn.setEnabled(True)
        self.verdict.setText(text)

    def closeEvent(self, event):
        self.runner.cancel()
        super().closeEvent(event)


def from_window(win):
    return MistakesView(win.doc.session)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    path = Path(__file__).resolve().parents[2] / "resources" / "examples" / "circle_playground.json"
    v = MistakesView(load_session(path))
    v.resize(900, 560)
    v.show()
    raise SystemExit(app.exec())
