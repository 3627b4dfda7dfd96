"""Tiny sessions for the experiment tests: a few dozen points, a few steps, the torch path."""
from engine.session import Session


def tiny(n=60, epochs=2, batch=20, lr=0.1, units=4, seed=0, dataset="circle", **training):
    out_units, loss = (1, "bce_logits") if dataset != "plane" else (1, "mse")
    return Session.from_dict({
        "seed": seed,
        "graph": {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                            {"id": "h", "type": "Dense", "params": {"units": units, "activation": "tanh"}},
                            {"id": "out", "type": "Dense", "params": {"units": out_units}}],
                  "edges": [{"from": "in", "to": "h"}, {"from": "h", "to": "out"}]},
        "dataset": {"type": dataset, "params": {"n": n, "noise": 0.1}},
        "loss": loss, "optimizer": {"type": "sgd", "params": {"lr": lr}},
        "training": {"epochs": epochs, "batch_size": batch, **training}})
