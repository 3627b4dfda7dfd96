"""Sequence datasets for the recurrent layers: samples of shape (T, 1), one value per time step.

They register in the same ``DATASETS`` table as the 2-D sets (imported by ``engine/data/__init__``), so a
session names them like any other. Each needs memory across steps, which is what a recurrent layer adds:
the next value of a sine depends on its frequency and phase, read off the whole window; parity depends on
every bit seen so far.
"""
from __future__ import annotations

import math

import numpy as np

from ..params import Param, schema
from .generators import CLASSIFICATION, DATASETS, REGRESSION, Generated

# Angular frequency per step of sine_next: 8 to 30 steps per period, so a 20-step window holds most of one.
OMEGA = (0.2, 0.8)


def _steps(default, hi=200):
    return Param("length", "int", default, min=2, max=hi, doc="time steps T per sequence: samples have shape (T, 1)")


def sine_next_clean(omega, phase, length):
    """The noise-free windows sin(ω t + φ), t = 0..T, as (N, T + 1): the last column is the target."""
    t = np.arange(length + 1, dtype=np.float64)
    return np.sin(np.asarray(omega, np.float64)[:, None] * t + np.asarray(phase, np.float64)[:, None])


@DATASETS.register("sine_next", schema=schema(
    Param("n", "int", 600, min=2, max=200_000, doc="number of sequences"), _steps(20),
    Param("noise", "float", 0.05, min=0.0, max=2.0, doc="standard deviation σ of the noise on each input value")),
    group="regression",
    doc="Windows of a sine with random frequency (0.2..0.8 rad per step) and phase, plus Gaussian noise σ on the "
        "inputs; target: the next, noise-free value. Inputs (T, 1): a task for SimpleRNN/LSTM.")
def sine_next(rng, n, length, noise):
    omega = rng.uniform(*OMEGA, n)
    phase = rng.uniform(0.0, 2 * math.pi, n)
    clean = sine_next_clean(omega, phase, length)
    x = clean[:, :length] + noise * rng.standard_normal((n, length))
    names = [f"x[t{i - length + 1}]" if i < length - 1 else "x[t]" for i in range(length)]
    return Generated(x.reshape(n, length, 1).astype(np.float32), clean[:, length:].astype(np.float32), REGRESSION, 0,
                     names, [])


@DATASETS.register("parity", schema=schema(
    Param("n", "int", 1000, min=2, max=200_000, doc="number of sequences"), _steps(6, hi=64)),
    group="classification",
    doc="Random bit sequences (T, 1) of 0s and 1s; class 1 when the number of 1s is odd. Every bit matters, so "
        "the hidden state must carry a running parity (the XOR of all bits so far).")
def parity(rng, n, length):
    bits = rng.integers(0, 2, (n, length))
    return Generated(bits.reshape(n, length, 1).astype(np.float32), (bits.sum(axis=1) % 2).astype(np.int64),
                     CLASSIFICATION, 2, [f"bit{i}" for i in range(length)], ["even", "odd"])
