"""What the Train menu and toolbar drive: the live-training helper subclasses this.

The main window only calls these five methods and listens to the signals, so
the trainer (a worker thread over the engine's event stream) can be plugged in
with ``MainWindow.set_training_controller`` without touching the window.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

STATES = ("unavailable", "idle", "running", "paused")


class TrainingController(QObject):
    stateChanged = Signal(str)  # one of STATES
    message = Signal(str)  # status-bar text
    deviceChanged = Signal(str)  # "cpu", "cuda", ...

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = "unavailable"

    def set_state(self, state: str):
        if state not in STATES:
            raise ValueError(f"unknown training state {state!r}; one of {', '.join(STATES)}")
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    # The placeholder does nothing but say so; a real controller overrides all five.
    def train(self):
        self.message.emit("Training is not available yet")

    def pause(self):
        self.message.emit("Training is not available yet")

    def step(self):
        self.message.emit("Training is not available yet")

    def stop(self):
        pass

    def reset_weights(self):
        self.message.emit("Training is not available yet")
