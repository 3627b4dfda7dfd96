"""Sample data for running an experiments view alone (``python -m gui.experiments.<module>``)."""
from __future__ import annotations


def sample_session(epochs=12, lr=0.1, n=200):
    from engine import Session

    return Session.from_dict({
        "name": "sample circle", "seed": 1,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "hidden", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": n, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": lr}},
        "training": {"epochs": epochs, "batch_size": 20}})


def sample_book(lrs=(0.03, 0.1, 0.3), epochs=8):
    """A RunBook holding one trained run per learning rate (torch path: no compile wait)."""
    from engine import Run

    from .runs import RunBook

    book = RunBook()
    for lr in lrs:
        run = Run(sample_session(epochs, lr), path="torch")
        run.fit()
        book.record(run)
    return book
