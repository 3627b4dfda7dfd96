"""Teach ▸ Unroll an RNN (lecture 001, recurrent neural networks): one recurrent layer copied once per time step.

For the chosen SimpleRNN/LSTM node and one sample, the top plot draws the sequence that enters the layer
and the heatmap every hidden state hₜ (time across, units down), so a student sees the state being carried
and rewritten step by step. The numbers come from ``engine.unroll`` with the current run's weights (the
session's initial weights before any training); Refresh reads the run again after more training.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from engine.errors import InvalidInput
from engine.unroll import Unroller

from ..plots import SERIES, colorbar, diverging_cmap, layout_widget, style_plot


class UnrollView(QWidget):
    computed = Signal(object)  # the engine.unroll.Unrolled shown (tests wait on it)

    def __init__(self, source, parent=None):
        """``source()`` gives ``(session, weights or None)``: the document's session and its run's weights."""
        super().__init__(parent)
        self.setWindowTitle("Unroll an RNN — NN Playground")
        self.source = source
        self.unroller = None
        self.result = None
        self.node = QComboBox()
        self.node.setObjectName("unrollNode")
        self.split = QComboBox()
        self.split.setObjectName("unrollSplit")
        self.split.addItems(["test", "val", "train"])
        self.sample = QSpinBox()
        self.sample.setObjectName("unrollSample")
        self.state = QComboBox()
        self.state.setObjectName("unrollState")
        self.state.addItem("hidden hₜ", "h")
        self.state.addItem("cell cₜ (LSTM)", "c")
        self.state.setToolTip("An LSTM carries two states: the hidden hₜ it outputs and the cell cₜ its gates update")
        self.refresh_btn = QPushButton("Refresh Weights")
        self.refresh_btn.setObjectName("unrollRefresh")
        self.refresh_btn.setToolTip("Read the current run's weights again (after more training)")
        self.refresh_btn.clicked.connect(self.reload)
        top = QHBoxLayout()
        for w in (QLabel("layer"), self.node, QLabel("split"), self.split, QLabel("sample"), self.sample,
                  QLabel("state"), self.state, self.refresh_btn):
            top.addWidget(w)
        top.addStretch(1)
        self.formula = QLabel()
        self.formula.setObjectName("unrollFormula")
        self.formula.setWordWrap(True)
        self.formula.setTextFormat(Qt.RichText)
        self.glw = layout_widget()
        self.glw.setObjectName("unrollPlots")
        self.glw.setMinimumSize(320, 260)
        self.seq_item = style_plot(self.glw.addPlot(row=0, col=0), y="input xₜ")
        self.seq_item.setMaximumHeight(150)
        self.heat_item = style_plot(self.glw.addPlot(row=1, col=0), x="time step t", y="unit")
        self.heat_item.invertY(True)
        self.heat_item.setXLink(self.seq_item)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.heat_item.addItem(self.image)
        self.cbar = colorbar((-1, 1), diverging_cmap(), "hₜ")
        self.cbar.setImageItem(self.image)
        self.glw.addItem(self.cbar, row=1, col=1)  # its own column: both plots keep one width, so step t lines up
        for item in (self.seq_item, self.heat_item):
            item.getAxis("left").setWidth(48)
        self.status = QLabel()
        self.status.setObjectName("unrollStatus")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.formula)
        lay.addWidget(self.glw, 1)
        lay.addWidget(self.status)
        self.node.currentIndexChanged.connect(self.show_current)
        self.split.currentIndexChanged.connect(self._on_split)
        self.sample.valueChanged.connect(self.show_current)
        self.state.currentIndexChanged.connect(self.show_current)
        self.reload()

    def shown_states(self, u):
        """(T, units) drawn in the heatmap and its name: hₜ, or cₜ when chosen and the layer is an LSTM."""
        if self.state.currentData() == "c" and u.c is not None:
            return u.c, "cₜ"
        return u.h, "hₜ"

    # -- data ---------------------------------------------------------------------
    def reload(self):
        """Rebuild from the source (refuses with one line when the network has no recurrent layer)."""
        session, weights = self.source()
        self.unroller = Unroller(session, weights=weights)
        keep = self.node.currentText()
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItems(self.unroller.nodes)
        if keep in self.unroller.nodes:
            self.node.setCurrentText(keep)
        self.node.blockSignals(False)
        self.weights_note = "the current run's weights" if weights is not None else "the initial weights (not trained yet)"
        self._on_split()

    def _on_split(self, *_):
        n = self.unroller.size(self.split.currentText())
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(n - 1, 0))
        self.sample.blockSignals(False)
        self.show_current()

    def show_current(self, *_):
        try:
            u = self.unroller.unroll(self.node.currentText(), split=self.split.currentText(), sample=self.sample.value())
        except InvalidInput as e:
            self.status.setText(f"✗ {e}")
            return
        self.result = u
        self._draw(u)
        self.computed.emit(u)

    # -- drawing ------------------------------------------------------------------
    def _draw(self, u):
        t = np.arange(1, u.steps + 1)
        self.seq_item.clear()
        for j in range(min(u.x.shape[1], len(SERIES))):
            self.seq_item.plot(t, u.x[:, j], pen=pg.mkPen(SERIES[j], width=2), symbol="o", symbolSize=5,
                               symbolBrush=SERIES[j], symbolPen=None)
        units = u.h.shape[1]
        self.state.model().item(1).setEnabled(u.c is not None)
        if u.c is None and self.state.currentIndex() == 1:  # a SimpleRNN has no cell state: back to hₜ
            self.state.blockSignals(True)
            self.state.setCurrentIndex(0)
            self.state.blockSignals(False)
        states, name = self.shown_states(u)
        # image row = unit, column = step; pixel (t, j) centred on (t, j)
        self.image.setImage(states.T, autoLevels=False)
        self.image.setRect(0.5, -0.5, u.steps, units)
        bounded = u.layer_type == "LSTM" and name == "hₜ"  # o⊙tanh(c) lies in (−1, 1); c and relu states need not
        lim = 1.0 if bounded else max(1.0, float(np.abs(states).max()))
        self.cbar.setLevels((-lim, lim))
        self.cbar.getAxis("left").setLabel(name, color="#1d232b")
        self.heat_item.setXRange(0.5, u.steps + 0.5, padding=0)
        self.heat_item.setYRange(-0.5, units - 0.5, padding=0)
        features = u.x.shape[1]
        if u.layer_type == "SimpleRNN":
            count = f"{units}·({features} + {units} + 1) = {u.param_count:,}"
            torch_count = units * (features + units + 2)
        else:
            count = f"4·{units}·({features} + {units} + 1) = {u.param_count:,}"
            torch_count = 4 * units * (features + units + 2)
        self.formula.setText(
            f"<b>{u.node}</b> ({u.layer_type}): <span style='font-size:12pt'>{u.formula}</span><br>"
            f"The same weights at each of the {u.steps} steps; parameters {count} with one bias vector "
            f"(torch.nn.{'RNN' if u.layer_type == 'SimpleRNN' else 'LSTM'} keeps two: {torch_count:,}).")
        last = ", ".join(f"{v:.3g}" for v in u.h[-1][:6]) + (", …" if units > 6 else "")
        target = ", ".join(f"{v:.3g}" for v in np.ravel(u.target)[:4])
        output = ", ".join(f"{v:.3g}" for v in np.ravel(u.output)[:4])
        self.status.setText(f"{u.split} sample {u.sample} with {self.weights_note}: h_T = [{last}] → "
                            f"network output [{output}], target [{target}].")


def from_window(win) -> UnrollView:
    """The view over the document's session, at the current run's weights when its network is this one."""
    from engine.run import structure_key

    def source():
        session = win.doc.session.copy()
        run = getattr(getattr(win, "controller", None), "run", None)
        if run is not None and getattr(run, "trainer", None) is not None and structure_key(run.session) == structure_key(session):
            with run.snapshot() as tr:
                weights = {k: v.detach().cpu().numpy().copy() for k, v in tr.model.state_dict().items()}
            return run.session.copy(), weights
        return session, None

    view = UnrollView(source)
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":  # python -m gui.teaching.unroll_view: the shipped RNN example, initial weights
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    s = load_session(Path(__file__).resolve().parents[2] / "resources" / "examples" / "rnn_sequence.json")
    v = UnrollView(lambda: (s, None))
    v.resize(900, 560)
    v.show()
    raise SystemExit(app.exec())
