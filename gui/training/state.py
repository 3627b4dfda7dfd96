"""The training controller's states, as an explicit enum with a transition table.

A state change that the table does not allow is a bug (it raises), so every path through
the controller is visible here rather than spread over flags.
"""
from __future__ import annotations

import enum

from PySide6.QtCore import QObject, Signal


class TrainState(str, enum.Enum):
    IDLE = "idle"  # no run yet, or its network is not the document's
    BUILDING = "building"  # the worker builds the network (cancellable: Stop returns here at once)
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # the run stopped or completed: Train continues it
    FAILED = "failed"  # the last build or training failed (the message says why)


S = TrainState
TRANSITIONS = {
    S.IDLE: {S.BUILDING, S.RUNNING, S.FINISHED},
    S.BUILDING: {S.RUNNING, S.PAUSED, S.IDLE, S.FINISHED, S.FAILED},
    S.RUNNING: {S.PAUSED, S.FINISHED, S.FAILED, S.IDLE},
    S.PAUSED: {S.RUNNING, S.FINISHED, S.FAILED, S.IDLE},
    S.FINISHED: {S.BUILDING, S.RUNNING, S.IDLE, S.FINISHED},
    S.FAILED: {S.BUILDING, S.RUNNING, S.IDLE, S.FINISHED},
}

# What the Train menu allows in each state.
ACTIONS = {
    "train": {S.IDLE, S.PAUSED, S.FINISHED, S.FAILED},
    "pause": {S.RUNNING, S.BUILDING},  # during the build: paused as soon as it is built
    "step": {S.IDLE, S.PAUSED, S.FINISHED, S.FAILED},
    "stop": {S.BUILDING, S.RUNNING, S.PAUSED},
    "reset_weights": {S.PAUSED, S.FINISHED},
}


class TrainingStateMachine(QObject):
    """The signals the window listens to, and the one place the state changes."""

    stateChanged = Signal(str)  # a TrainState value
    message = Signal(str)  # status-bar text
    deviceChanged = Signal(str)  # "torch cpu", "cuda", ...

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = S.IDLE

    def set_state(self, state):
        state = TrainState(state)
        if state == self.state:
            return
        if state not in TRANSITIONS[self.state]:
            raise RuntimeError(f"training state {self.state.value} -> {state.value} is not a transition")
        self.state = state
        self.stateChanged.emit(state.value)

    def allows(self, action: str) -> bool:
        return self.state in ACTIONS[action]
