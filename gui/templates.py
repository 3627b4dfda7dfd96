"""Starting points for File ▸ New: each returns a complete engine Session.

Pure data (no Qt): the engine validates the registry names when training
starts. Names follow the registries: losses ``bce_logits``/``cross_entropy``/
``mse``, optimizers ``sgd``/``adam``, datasets ``spiral``/``blobs``/``plane``/
``inline``/``digits``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.session import Session
from engine.spec import GraphSpec

from .canvas.layout import fill_missing_positions


def _session(name, layers, dataset, loss, optimizer, training=None, notes="") -> Session:
    s = Session()
    s.name = name
    s.graph = GraphSpec.from_dict({"layers": layers})
    fill_missing_positions(s.graph)
    s.dataset = dataset
    s.loss = loss
    s.optimizer = optimizer
    s.training = dict(training or {})
    s.notes = notes
    return s


def _dense(nid, units, activation="identity", **extra):
    return {"id": nid, "type": "Dense", "params": {"units": units, "activation": activation, **extra}}


def _input(shape):
    return {"id": "input", "type": "Input", "params": {"shape": list(shape)}}


OUTPUT = {"id": "output", "type": "Output"}


def empty() -> Session:
    return _session("Untitled", [_input([2]), OUTPUT], {"type": "spiral", "params": {}},
                    {"type": "bce_logits", "params": {}}, {"type": "sgd", "params": {"lr": 0.03}})


def playground() -> Session:
    """TF Playground's look: spiral, two hidden tanh layers of 8; one click on Train works."""
    return _session(
        "Playground",
        [_input([2]), _dense("dense1", 8, "tanh"), _dense("dense2", 8, "tanh"), _dense("dense3", 1), OUTPUT],
        {"type": "spiral", "params": {"noise": 0.0}},
        {"type": "bce_logits", "params": {}},
        {"type": "adam", "params": {"lr": 0.01}},
        {"epochs": 300, "batch_size": 10},
        "Binary classification of two interleaved spirals. The last Dense outputs a logit; bce_logits applies the sigmoid.",
    )


def classifier() -> Session:
    return _session(
        "Softmax classifier",
        [_input([2]), _dense("dense1", 16, "relu"), _dense("dense2", 3), OUTPUT],
        {"type": "blobs", "params": {"classes": 3}},
        {"type": "cross_entropy", "params": {}},
        {"type": "adam", "params": {"lr": 0.01}},
        {"epochs": 100, "batch_size": 16},
        "Three Gaussian blobs. Dense(3) outputs logits; cross_entropy applies softmax inside the loss.",
    )


def regression() -> Session:
    return _session(
        "Regression",
        [_input([2]), _dense("dense1", 8, "tanh"), _dense("dense2", 1), OUTPUT],
        {"type": "plane", "params": {}},
        {"type": "mse", "params": {}},
        {"type": "adam", "params": {"lr": 0.01}},
        {"epochs": 100, "batch_size": 10},
        "Fit a tilted plane with mean squared error.",
    )


def _values(v):
    return {"type": "values", "params": {"values": v}}


def xor_lecture() -> Session:
    """The lecture's worked example: one forward and backward pass on x = (1, 0), y = 1.

    Torch layout: W[j] holds the weights into hidden unit j, so z1 = -0.07·x1 + 0.22·x2 - 0.46
    and z2 = 0.94·x1 + 0.46·x2 + 0.1; f = σ(-0.22·z1 + 0.58·z2 + 0.78).
    """
    hidden = _dense("hidden", 2, "sigmoid")
    hidden["init"] = {"weight": _values([[-0.07, 0.22], [0.94, 0.46]]), "bias": _values([-0.46, 0.1])}
    out = _dense("out", 1, "sigmoid")
    out["init"] = {"weight": _values([[-0.22, 0.58]]), "bias": _values([0.78])}
    return _session(
        "XOR lecture example",
        [_input([2]), hidden, out, OUTPUT],
        {"type": "inline", "params": {"x": [[1, 0]], "y": [1], "task": "regression"},
         "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
        {"type": "mse", "params": {"half": True}},
        {"type": "sgd", "params": {"lr": 0.5}},
        {"epochs": 1, "batch_size": 1, "shuffle": False},
        "Lecture notes' worked example: x = (1, 0), y = 1, logistic units, L = ½(y − f)². The notes print "
        "f_in = 1.1122 and f_out = 0.7525 from rounded steps; exact arithmetic gives f_in = 1.1271, "
        "f_out = 0.7553, L = 0.0299. After one SGD step (η = 0.5) W becomes [[-0.0712, 0.22], [0.9425, 0.46]].",
    )


def cnn_digits() -> Session:
    return _session(
        "CNN on digits",
        [_input([1, 8, 8]),
         {"id": "conv1", "type": "Conv2d", "params": {"filters": 8, "kernel_size": 3, "activation": "relu"}},
         {"id": "pool1", "type": "MaxPool", "params": {"pool_size": 2}},
         {"id": "flatten", "type": "Flatten"},
         _dense("dense1", 10),
         OUTPUT],
        {"type": "digits", "params": {}},
        {"type": "cross_entropy", "params": {}},
        {"type": "adam", "params": {"lr": 0.01}},
        {"epochs": 30, "batch_size": 32},
        "8×8 handwritten digits: a 3×3 convolution, 2×2 max pooling, then a Dense layer with 10 logits.",
    )


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    make: Callable[[], Session]


TEMPLATES = (
    Template("playground", "TF Playground dense stack", "Spiral data, 2-8-8-1 tanh network (the default).", playground),
    Template("empty", "Empty", "Just an Input and an Output node.", empty),
    Template("classifier", "Softmax classifier", "Three blobs, Dense(16, relu) → Dense(3), cross-entropy.", classifier),
    Template("regression", "Regression", "A tilted plane, Dense(8, tanh) → Dense(1), mean squared error.", regression),
    Template("xor", "Lecture XOR example", "2-2-1 sigmoid with the lecture's explicit weights; one SGD step on x=(1,0).",
             xor_lecture),
    Template("cnn", "Small CNN on digits", "Conv2d 8@3×3 relu → MaxPool 2 → Flatten → Dense 10 on 8×8 digits.", cnn_digits),
)
FIRST_LAUNCH = "playground"


def make(key: str) -> Session:
    for t in TEMPLATES:
        if t.key == key:
            return t.make()
    raise KeyError(f"unknown template {key!r}; choose one of: {', '.join(t.key for t in TEMPLATES)}")
