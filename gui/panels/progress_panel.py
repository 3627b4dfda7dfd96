"""Where training is: epoch, step, speed (steps/s) and time left, plus a progress bar for this run."""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget


def fmt_duration(seconds) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressPanel(QWidget):
    min_interval = 0.2  # text: five updates a second are plenty

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("progressPanel")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.state = QLabel("Not trained yet — press Train (F5)")
        self.state.setStyleSheet("font-weight: 600;")
        self.state.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("")
        self.labels = {}
        grid.addWidget(self.state, 0, 0, 1, 4)
        grid.addWidget(self.bar, 1, 0, 1, 4)
        for i, (key, title) in enumerate((("epoch", "Epoch"), ("step", "Step"), ("speed", "Speed"),
                                          ("eta", "Time left"))):
            t = QLabel(title)
            t.setStyleSheet("color: #5b6573;")
            v = QLabel("–")
            v.setObjectName(f"progress_{key}")
            self.labels[key] = v
            row, col = 2 + i // 2, 2 * (i % 2)  # two pairs per row keeps the dock narrow
            grid.addWidget(t, row, col)
            grid.addWidget(v, row, col + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.last = None
        self.dirty = False

    def set_state(self, text):
        self.state.setText(text)

    def clear(self):
        self.last = None
        for v in self.labels.values():
            v.setText("–")
        self.bar.setValue(0)
        self.bar.setFormat("")

    def set_meta(self, meta):
        self.clear()

    def ingest(self, batch):
        self.last = batch
        self.dirty = True

    def redraw(self):
        b = self.last
        if b is None:
            return
        frac = min(max(b.position / max(b.total_epochs, 1), 0.0), 1.0)
        self.bar.setValue(int(1000 * frac))
        self.bar.setFormat(f"{100 * frac:.0f}% of {b.total_epochs:,} epochs")
        self.labels["epoch"].setText(f"{b.epoch:,} / {b.total_epochs:,}")
        self.labels["step"].setText(f"{b.step:,}")
        self.labels["speed"].setText(f"{b.speed:,.0f} steps/s" if b.speed else "–")
        self.labels["eta"].setText(fmt_duration(b.eta))
        self.dirty = False


if __name__ == "__main__":
    from types import SimpleNamespace

    from gui.panels import preview

    def make():
        p = ProgressPanel()
        p.ingest(SimpleNamespace(epoch=12, position=12.4, step=420, steps_per_epoch=35, total_epochs=200, speed=850.0, eta=95.0))
        p.redraw()
        return p

    raise SystemExit(preview(make, (380, 120)))
