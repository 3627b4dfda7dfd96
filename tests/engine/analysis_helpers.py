"""Small sessions and independent formulas shared by the evaluation/explanation tests (engine and GUI)."""
import itertools

from engine import Session


def session(kind="circle", n=160, epochs=4, loss="bce_logits", out=1, seed=3, **extra):
    d = {"name": kind, "seed": seed,
         "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                              {"id": "h", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                              {"id": "out", "type": "Dense", "params": {"units": out}}]},
         "dataset": {"type": kind, "params": dict({"n": n}, **extra),
                     "split": {"train": 0.6, "val": 0.2, "test": 0.2}},
         "loss": loss, "optimizer": {"type": "sgd", "params": {"lr": 0.1}},
         "training": {"epochs": epochs, "batch_size": 16}}
    return Session.from_dict(d)


def auc_by_pairs(y, s):
    pos, neg = s[y == 1], s[y == 0]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))
