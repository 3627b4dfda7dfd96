"""Where training is: epoch, step, speed (steps/s) and time left, plus a progress bar for this run.

The training controller calls ``reset()`` whenever the document's training is
gone (New, an example opened, Reset Weights): the panel then shows the idle
text and dashes, never the last run's numbers. ``stopped()`` keeps where a run
got to but drops its speed and time left, which mean nothing once it stops.
No position past the total is ever shown: a batch whose epoch exceeds the run's
total (a continued run counting from an earlier one) shows the epoch as the total.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from ..elided_label import ElidedLabel


def fmt_duration(seconds) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


IDLE_TEXT = "Not trained yet — press Train (F5)"


class ProgressPanel(QWidget):
    min_interval = 0.2  # text: five updates a second are plenty

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("progressPanel")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.state = ElidedLabel(IDLE_TEXT)  # one line: a wrapped state pushed its first line out of the dock
        self.state.setObjectName("progress_state")
        self.state.setStyleSheet("font-weight: 600;")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("")
        self.labels = {}
        grid.addWidget(self.state, 0, 0, 1, 2)
        grid.addWidget(self.bar, 1, 0, 1, 2)
        for i, (key, title) in enumerate((("epoch", "Epoch"), ("step", "Step"), ("speed", "Speed"),
                                          ("eta", "Time left"))):
            t = QLabel(title)
            t.setStyleSheet("color: #5b6573;")
            v = QLabel("–")
            v.setObjectName(f"progress_{key}")
            self.labels[key] = v
            # two columns, each title above its value: fits the 180 px a 1024-wide window leaves this dock
            row, col = 2 + 2 * (i // 2), i % 2
            t.setStyleSheet("color: #5b6573; font-size: 8pt;")
            grid.addWidget(t, row, col)
            grid.addWidget(v, row + 1, col)
        # the frozen-layer cache of the run (engine.frozen_cache): "cached: …, 20.2× fewer multiply-adds a step"
        self.cache = QLabel()
        self.cache.setObjectName("progress_cache")
        self.cache.setWordWrap(True)
        self.cache.setStyleSheet("color: #5b6573; font-size: 8pt;")
        self.cache.setVisible(False)
        grid.addWidget(self.cache, 6, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.last = None
        self.dirty = False

    def set_state(self, text):
        self.state.setText(text)

    def set_cache_note(self, text: str):
        """What the frozen-layer cache does for this run, or why it is off; "" hides the line."""
        if text != self.cache.text():
            self.cache.setText(text)
            self.cache.setToolTip("Lecture 004: the outputs of frozen layers are computed once per split and "
                                  "the rest of the network trains on them (Training ▸ Run ▸ Cache frozen "
                                  "layers' outputs)." if text else "")
        self.cache.setVisible(bool(text))
        self._fit_cache_note()

    def _fit_cache_note(self):
        """Ask for the wrapped note's full height, so the splitter above Diagnostics never cuts its last line."""
        if self.cache.isVisible() or self.cache.text():
            self.cache.setMinimumHeight(self.cache.heightForWidth(max(self.cache.width(), 60)))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_cache_note()

    def clear(self):
        self.last = None
        for v in self.labels.values():
            v.setText("–")
        self.bar.setValue(0)
        self.bar.setFormat("")

    def reset(self, text: str = IDLE_TEXT):
        """Nothing trained: the idle text and dashes (after New, opening a session or example, Reset Weights)."""
        self.clear()
        self.dirty = False
        self.set_state(text)
        self.set_cache_note("")

    def stopped(self, text: str | None = None):
        """A run ended (Stop, finished, failed): keep epoch and step, drop speed and time left."""
        self.labels["speed"].setText("–")
        self.labels["eta"].setText("–")
        if self.last is not None:
            self.last = None  # a late batch from the stopped run must not bring the time left back
        if text is not None:
            self.set_state(text)

    def set_meta(self, meta):
        self.clear()

    PAST_STYLE = "font-weight: 600; color: #8a4b00;"

    def show_past(self, step: int, epoch: int, total_epochs: int):
        """Time travel: the panel shows the checkpoint's epoch and step (amber), until ``show_present``."""
        if getattr(self, "_present", None) is None:
            self._present = (self.state.text(), self.labels["epoch"].text(), self.labels["step"].text())
        self.state.setText(f"Viewing the past: epoch {epoch} of {total_epochs} (Live returns)")
        self.state.setStyleSheet(self.PAST_STYLE)
        self.labels["epoch"].setText(f"{epoch:,} / {max(total_epochs, 1):,}")
        self.labels["step"].setText(f"{step:,}")

    def show_present(self):
        present, self._present = getattr(self, "_present", None), None
        self.state.setStyleSheet("font-weight: 600;")
        if present is not None:
            self.state.setText(present[0])
            self.labels["epoch"].setText(present[1])
            self.labels["step"].setText(present[2])

    def ingest(self, batch):
        self.last = batch
        self.dirty = True

    def redraw(self):
        b = self.last
        if b is None:
            return
        total = max(int(b.total_epochs), 1)
        frac = min(max(b.position / total, 0.0), 1.0)
        self.bar.setValue(int(1000 * frac))
        self.bar.setFormat(f"{100 * frac:.0f}% of {total:,} epoch{'s' * (total != 1)}")
        self.labels["epoch"].setText(f"{min(int(b.epoch), total):,} / {total:,}")
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
