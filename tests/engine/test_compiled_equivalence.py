"""The compiled path trains exactly what the torch path trains (issue 11, item 2).

Each case trains both paths for 200 steps from the same initial weights and batch order,
and compares every step's loss and the final weights: ≤ 1e-5 relative in float32,
≤ 1e-10 in float64. The cases cover every activation, loss, optimizer, batch mode,
regularizer, constraint, clipping mode and schedule the compiled path accepts
(``engine.compiled.supports``), several at a time so the suite stays quick.
"""
from __future__ import annotations

import pytest

pytest.importorskip("numba")

from engine.compiled import supports  # noqa: E402

from tests.engine.compiled_helpers import assert_close_run, chain, dataset, run_both, session  # noqa: E402

TOL = {"float32": 1e-5, "float64": 1e-10}
H = [(6, "tanh"), (5, "relu")]

CASES = {
    # optimizers × batch modes (binary task, logits loss)
    "sgd-b10": dict(graph=chain(*H, (1, "identity"))),
    "sgd-b1": dict(graph=chain(*H, (1, "identity")), batch_size=1),
    "sgd-full": dict(graph=chain(*H, (1, "identity")), batch_size=0),
    "sgd-b7-uneven": dict(graph=chain(*H, (1, "identity")), batch_size=7, shuffle=False),
    "momentum": dict(graph=chain(*H, (1, "identity")), optimizer=("momentum", {"lr": 0.05, "momentum": 0.9})),
    "momentum-ema": dict(graph=chain(*H, (1, "identity")),
                         optimizer=("momentum", {"lr": 0.2, "momentum": 0.8, "form": "ema"})),
    "nesterov": dict(graph=chain(*H, (1, "identity")), optimizer=("nesterov", {"lr": 0.03, "momentum": 0.9})),
    "momentum-velocity-schedule": dict(graph=chain(*H, (1, "identity")),
                                       optimizer=("momentum", {"lr": 0.05, "momentum": 0.9, "form": "velocity"}),
                                       schedule={"type": "step", "params": {"every": 3, "factor": 0.5}}),
    "nesterov-notes-clip": dict(graph=chain(*H, (1, "identity")), clip="norm", clip_value=0.3,
                                optimizer=("nesterov", {"lr": 0.03, "momentum": 0.9, "form": "notes"})),
    "adagrad": dict(graph=chain(*H, (1, "identity")), optimizer=("adagrad", {"lr": 0.05})),
    "rmsprop": dict(graph=chain(*H, (1, "identity")), optimizer=("rmsprop", {"lr": 0.003, "rho": 0.85})),
    "adam": dict(graph=chain(*H, (1, "identity")), optimizer=("adam", {"lr": 0.01})),
    "adamw": dict(graph=chain(*H, (1, "identity")), optimizer=("adamw", {"lr": 0.01, "weight_decay": 0.1})),
    # activations, two per network
    "sigmoid-tanh": dict(graph=chain((6, "sigmoid"), (5, "tanh"), (1, "identity"))),
    "leaky-elu": dict(graph=chain((6, "leaky_relu", {"slope": 0.1}), (5, "elu", {"alpha": 0.7}), (1, "identity"))),
    "selu-gelu": dict(graph=chain((6, "selu"), (5, "gelu"), (1, "identity"))),
    "softplus-swish": dict(graph=chain((6, "softplus", {"beta": 2.0}), (5, "swish"), (1, "identity"))),
    "step-ste": dict(graph=chain((6, "step", {"grad": "ste"}), (5, "tanh"), (1, "identity"))),
    "step-zero-relu": dict(graph=chain((6, "tanh"), (5, "relu"), (4, "step"), (1, "identity"))),
    "activation-nodes": dict(graph=chain((6, "identity"), {"type": "Activation", "params": {"activation": "tanh"}},
                                         (1, "identity"))),
    # losses
    "bce-sigmoid": dict(graph=chain(*H, (1, "sigmoid")), loss="bce"),
    "hinge": dict(graph=chain(*H, (1, "identity")), loss="hinge"),
    "mse-class": dict(graph=chain(*H, (1, "tanh")), loss="mse"),
    "ce-logits": dict(graph=chain(*H, (3, "identity")), loss="cross_entropy", task="multi"),
    "ce-probs": dict(graph=chain(*H, (3, "softmax")), task="multi",
                     loss={"type": "cross_entropy", "params": {"from_logits": False}}),
    "ce-softmax-node": dict(graph=chain(*H, (3, "identity"), {"type": "Activation", "params": {"activation": "softmax"}}),
                            task="multi", loss={"type": "cross_entropy", "params": {"from_logits": False}}),
    "multiclass-hinge": dict(graph=chain(*H, (3, "identity")), task="multi",
                             loss={"type": "multiclass_hinge", "params": {"margin": 0.5}}),
    "mse-regression": dict(graph=chain(*H, (2, "identity")), loss="mse", task="regression"),
    "mse-half": dict(graph=chain(*H, (2, "identity")), loss={"type": "mse", "params": {"half": True}}, task="regression"),
    "mae": dict(graph=chain(*H, (2, "identity")), loss="mae", task="regression", optimizer=("adam", {"lr": 0.01})),
    "huber": dict(graph=chain(*H, (2, "identity")), loss={"type": "huber", "params": {"delta": 0.3}}, task="regression"),
    # regularizers, constraints, clipping
    "l1-l2": dict(graph=chain(*H, (1, "identity")), regularizers=[{"type": "l1", "params": {"lambda": 1e-3}},
                                                                 {"type": "l2", "params": {"lambda": 1e-2, "layers": ["d2"]}}]),
    "weight-decay-maxnorm": dict(graph=chain(*H, (1, "identity")), optimizer=("momentum", {"lr": 0.05, "momentum": 0.9}),
                                 regularizers=[{"type": "weight_decay", "params": {"lambda": 0.05}},
                                               {"type": "max_norm", "params": {"max_norm": 0.8, "layers": ["d1"]}}]),
    "adam-weight-decay": dict(graph=chain(*H, (1, "identity")), optimizer=("adam", {"lr": 0.01}),
                              regularizers=[{"type": "weight_decay", "params": {"lambda": 0.2}}]),
    "train-max-norm": dict(graph=chain(*H, (1, "identity")), optimizer=("sgd", {"lr": 0.3}), max_norm=1.0),
    "clip-norm": dict(graph=chain(*H, (1, "identity")), optimizer=("sgd", {"lr": 0.3}), clip="norm", clip_value=0.2),
    "clip-value": dict(graph=chain(*H, (1, "identity")), optimizer=("adam", {"lr": 0.01}), clip="value", clip_value=0.05),
    # schedules (6 steps an epoch: 200 steps are 34 epochs)
    "inverse-time": dict(graph=chain(*H, (1, "identity")), schedule={"type": "inverse_time", "params": {"decay": 0.2}}),
    "step-decay": dict(graph=chain(*H, (1, "identity")), schedule={"type": "step", "params": {"every": 5, "factor": 0.5}}),
    "exponential": dict(graph=chain(*H, (1, "identity")), schedule={"type": "exponential", "params": {"gamma": 0.9}}),
    "inverse-sqrt": dict(graph=chain(*H, (1, "identity")), schedule="inverse_sqrt"),
    "cosine": dict(graph=chain(*H, (1, "identity")), schedule={"type": "cosine", "params": {"t_max": 20}}),
    "plateau": dict(graph=chain(*H, (1, "identity")), optimizer=("sgd", {"lr": 0.5}),
                    schedule={"type": "reduce_on_plateau", "params": {"patience": 2, "factor": 0.5}}),
    "manual": dict(graph=chain(*H, (1, "identity")), schedule={"type": "manual", "params": {"every": 8, "factors": [1, 0.3, 0.1]}}),
    "warmup-cosine": dict(graph=chain(*H, (1, "identity")), optimizer=("adam", {"lr": 0.02}),
                          schedule={"type": "warmup", "params": {"warmup_steps": 50, "start_factor": 0.1,
                                                                 "then": {"type": "cosine", "params": {"t_max": 30}}}}),
    "early-stopping": dict(graph=chain(*H, (1, "identity")), optimizer=("sgd", {"lr": 1.0}),
                           early_stopping={"patience": 3, "min_delta": 0.0, "restore_best": True}),
    "no-bias": dict(graph={"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                                      {"id": "a", "type": "Dense", "params": {"units": 6, "activation": "tanh",
                                                                              "use_bias": False}},
                                      {"id": "b", "type": "Dense", "params": {"units": 1}},
                                      {"id": "output", "type": "Output"}]}),
    # merges
    "add-concat": dict(graph={"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "a", "type": "Dense", "params": {"units": 5, "activation": "tanh"}},
        {"id": "b", "type": "Dense", "params": {"units": 5, "activation": "relu"}},
        {"id": "c", "type": "Dense", "params": {"units": 5, "activation": "sigmoid"}},
        {"id": "sum", "type": "Add"},
        {"id": "cat", "type": "Concatenate"},
        {"id": "out", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"}],
        "edges": [{"from": a, "to": b} for a, b in (
            ("input", "a"), ("input", "b"), ("b", "c"), ("a", "sum"), ("b", "sum"), ("c", "sum"),
            ("sum", "cat"), ("input", "cat"), ("a", "cat"), ("cat", "out"), ("out", "output"))]}),
}

# float64 repeats a spread of the cases (each optimizer, loss family and constraint once)
FLOAT64 = ("sgd-b7-uneven", "nesterov", "nesterov-notes-clip", "momentum-velocity-schedule", "adamw", "rmsprop", "adagrad", "momentum-ema", "selu-gelu", "ce-probs",
           "multiclass-hinge", "huber", "bce-sigmoid", "l1-l2", "weight-decay-maxnorm", "clip-norm", "warmup-cosine",
           "add-concat")


def _case(name):
    kw = dict(CASES[name])
    task = kw.pop("task", "binary")
    graph = kw.pop("graph")
    return session(graph, **kw), dataset(task)


@pytest.mark.parametrize("dtype,name", [("float32", n) for n in CASES] + [("float64", n) for n in FLOAT64])
def test_compiled_equals_torch(dtype, name):
    s, data = _case(name)
    assert supports(s, "cpu", dataset=data) is None
    t, c, te, ce, tr, cr = run_both(s, data, steps=200, dtype=dtype)
    assert len(t[0]) >= 30, "the case must train, not stop at once"
    assert_close_run(t, c, TOL[dtype], f"{name}/{dtype}")
    # the same events in the same order (statistics have their own cadence), the same epoch ends
    names = [[type(e).__name__ for e in ev if type(e).__name__ != "Stats"] for ev in (te, ce)]
    assert names[0] == names[1]
    ends_t = [e for e in te if type(e).__name__ == "EpochEnd"]
    ends_c = [e for e in ce if type(e).__name__ == "EpochEnd"]
    for a, b in zip(ends_t, ends_c):
        assert a.lr == pytest.approx(b.lr, rel=1e-12)
        assert b.train_loss == pytest.approx(a.train_loss, rel=TOL[dtype] * 10)
        if a.val_loss is not None:
            assert b.val_loss == pytest.approx(a.val_loss, rel=TOL[dtype] * 10)
    assert tr.step == cr.step and tr.epoch == cr.epoch and tr.batch_in_epoch == cr.batch_in_epoch
