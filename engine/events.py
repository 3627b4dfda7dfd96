"""What the trainer reports, as small frozen dataclasses (plain Python and numpy only).

The GUI re-emits these as Qt signals; the command line prints them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Started:
    epochs: int
    steps_per_epoch: int
    device: str
    n_params: int
    epoch: int = 0  # first epoch of this run (non-zero when resuming)


@dataclass(frozen=True)
class Step:
    step: int  # global optimizer steps done
    epoch: int
    loss: float
    lr: float


@dataclass(frozen=True, eq=False)
class Steps:
    """A chunk of consecutive steps in one event, for paths too fast for an object per step (engine.compiled).

    Step ``first_step + i`` had loss ``losses[i]`` and learning rate ``lrs[i]``; every step lies in ``epoch``,
    as its batch ``batch + i`` (0 is the epoch's first). Several chunks may be yielded after the trainer ran them
    all (engine.compiled.epochs), so a consumer places the steps from these fields, not from the trainer's counters.
    """

    first_step: int  # global step count after the chunk's first step (as Step.step)
    epoch: int
    losses: np.ndarray  # float64 (n,)
    lrs: np.ndarray  # float64 (n,)
    batch: int  # the first step's batch within its epoch

    def __len__(self):
        return len(self.losses)

    @property
    def last_step(self) -> int:
        return self.first_step + len(self.losses) - 1

    def steps(self):
        """The chunk as one ``Step`` per step (for consumers written for the torch path)."""
        return [Step(self.first_step + i, self.epoch, float(l), float(r))
                for i, (l, r) in enumerate(zip(self.losses.tolist(), self.lrs.tolist()))]


@dataclass(frozen=True)
class LayerStats:
    node: str
    param: str  # "weight", "bias", ...
    mean: float
    std: float
    norm: float
    grad_norm: float
    hist_counts: tuple  # weight histogram
    hist_edges: tuple


@dataclass(frozen=True)
class Stats:
    step: int
    epoch: int
    layers: tuple  # of LayerStats
    grad_norm: float  # total, before clipping


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 1-based count of finished epochs
    train_loss: float
    val_loss: float | None
    train_metrics: dict
    val_metrics: dict
    lr: float
    seconds: float
    steps_per_second: float
    diagnoses: tuple = ()


@dataclass(frozen=True)
class Finished:
    reason: str  # completed | stopped | early_stopping | diverged | step
    epochs_run: int
    best_epoch: int | None
    seconds: float
    diagnosis: str | None = None
    test_metrics: dict = field(default_factory=dict)
