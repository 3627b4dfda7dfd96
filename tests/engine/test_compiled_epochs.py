"""Whole-epoch chunks on the compiled path (engine.compiled.epochs): the same training as one call per epoch.

Each test trains a session twice, with ``whole_epochs`` on and off, and compares everything a user
or a checkpoint can see, bit for bit: weights, optimizer slots, the generator, the history and the
events. A spy on the kernel makes sure the chunks of several epochs really ran, so a change that
quietly turned them off would fail here too.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("numba")

from engine.compiled import CompiledTrainer  # noqa: E402
from engine.compiled import epochs as whole  # noqa: E402
from engine.diagnostics import EXPLODED_FACTOR  # noqa: E402
from engine.events import EpochEnd, Finished, Started, Stats, Step, Steps  # noqa: E402
from tests.engine.compiled_helpers import chain, dataset, session  # noqa: E402

DROP = {"type": "Dropout", "params": {"p": 0.2}}


@pytest.fixture
def calls(monkeypatch):
    """(epochs asked, steps done, the step count before) of every whole-epoch kernel call."""
    seen = []
    real = whole.train_epochs

    def spy(*args):
        done = real(*args)
        seen.append((args[16].shape[0], done, args[21]))  # perms: one row per epoch; step0
        return done

    monkeypatch.setattr(whole, "train_epochs", spy)
    return seen


def _train(s, data, whole_epochs, epochs, dtype="float32", **kw):
    tr = CompiledTrainer(s, dataset=data, dtype=dtype, whole_epochs=whole_epochs, **kw)
    return tr, list(tr.run(epochs=epochs))


def _event_key(ev):
    """What an event says, less its timings."""
    if isinstance(ev, Steps):
        return ("steps", ev.first_step, ev.epoch, ev.batch, ev.losses.tolist(), ev.lrs.tolist())
    if isinstance(ev, Step):
        return ("step", ev.step, ev.epoch, ev.loss, ev.lr)
    if isinstance(ev, EpochEnd):
        return ("epoch", ev.epoch, ev.train_loss, ev.val_loss, sorted(ev.train_metrics.items()),
                sorted(ev.val_metrics.items()), ev.lr, [d.code for d in ev.diagnoses])
    if isinstance(ev, Stats):
        return ("stats", ev.step, ev.epoch, ev.grad_norm, [(s.node, s.param, s.mean, s.std) for s in ev.layers])
    if isinstance(ev, Finished):
        return ("finished", ev.reason, ev.epochs_run, ev.best_epoch, ev.diagnosis, sorted(ev.test_metrics.items()))
    if isinstance(ev, Started):
        return ("started", ev.epochs, ev.steps_per_epoch)
    return (type(ev).__name__,)


def _history(tr):
    h = tr.history
    out = {"step_loss": [a.tolist() for a in h.step_loss.data()], "step_lr": [a.tolist() for a in h.step_lr.data()]}
    for k, v in h.epochs.items():
        if k != "seconds":
            out[k] = np.asarray(v, dtype=float).tolist()
    return out


def _assert_same(a, b):
    (ta, ea), (tb, eb) = a, b
    assert [_event_key(e) for e in ea] == [_event_key(e) for e in eb]
    for x, y in ((ta.theta, tb.theta), (ta.s1, tb.s1), (ta.s2, tb.s2)):
        assert np.array_equal(x, y, equal_nan=True)
    assert ta.opt_steps == tb.opt_steps
    assert (ta.epoch, ta.step, ta.batch_in_epoch) == (tb.epoch, tb.step, tb.batch_in_epoch)
    assert torch.equal(ta.gen.get_state(), tb.gen.get_state())
    assert np.array_equal(np.asarray(ta._perm), np.asarray(tb._perm))
    assert repr(_history(ta)) == repr(_history(tb))  # repr: NaN equals NaN


CASES = {
    "adam, constant": dict(graph=chain((8, "tanh"), (8, "tanh"), (1, "identity")), optimizer=("adam", {"lr": 0.01})),
    "momentum, step decay, L2, max-norm, dropout": dict(
        graph=chain((8, "relu"), DROP, (6, "tanh"), (1, "identity")),
        optimizer=("momentum", {"lr": 0.05, "momentum": 0.9}), schedule={"type": "step", "params": {"every": 3, "t": 0.3}},
        regularizers=[{"type": "l2", "params": {"lambda": 1e-3}}, {"type": "max_norm", "params": {"max_norm": 1.5}}]),
    "rmsprop, warm-up that ends mid-run, 3 classes": dict(
        graph=chain((7, "gelu"), (3, "identity")), loss="cross_entropy", task="multi",
        optimizer=("rmsprop", {"lr": 0.01}),
        schedule={"type": "warmup", "params": {"warmup_steps": 40, "then": {"type": "cosine", "params": {"t_max": 20}}}}),
    "sgd, no shuffling, regression, no validation set": dict(
        graph=chain((6, "sigmoid"), (2, "identity")), loss="mse", task="regression", val=0,
        optimizer=("sgd", {"lr": 0.05}), shuffle=False),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_whole_epoch_chunks_train_exactly_as_one_call_per_epoch(case, dtype, calls):
    kw = dict(CASES[case])
    data = dataset(kw.pop("task", "binary"), n=60, val=kw.pop("val", 20))
    s = session(kw.pop("graph"), **kw)
    a = _train(s, data, True, 40, dtype, metrics_every=7)
    multi = [c for c in calls if c[0] > 1]
    assert multi and sum(c[1] for c in multi) >= 20 * a[0].steps_per_epoch, "the whole-epoch kernel must run"
    made = len(calls)
    b = _train(s, data, False, 40, dtype, metrics_every=7)
    assert len(calls) == made  # off: one call per epoch at most
    _assert_same(a, b)


def test_chunks_end_where_python_must_look_full_evaluations_statistics_and_the_last_epoch(calls):
    data = dataset(n=60)
    s = session(chain((5, "tanh"), (1, "identity")), stats_every=5)  # 6 steps an epoch
    tr, ev = _train(s, data, True, 30, metrics_every=4, stats_min_steps=40)
    full = [e.epoch for e in ev if isinstance(e, EpochEnd) and e.train_metrics]
    assert full == [1, 4, 8, 12, 16, 20, 24, 28, 30]
    stats = [e.step for e in ev if isinstance(e, Stats)]
    # statistics every 40 steps, taken at the end of the epoch that passes each multiple of 40
    assert stats == [math.ceil(40 * k / 6) * 6 for k in range(1, 5)]
    # no call ran past a full evaluation or a statistics epoch: each is the last epoch of its chunk
    assert calls
    for n, done, step0 in calls:
        first, last = step0 // 6 + 1, step0 // 6 + n  # the epochs of the call, numbered as EpochEnd.epoch
        assert done == 6 * n
        assert not any(first <= e < last for e in full), (first, last)
        assert not any(step0 < s_ <= 6 * (last - 1) for s_ in stats), (first, last)
    covered = [e for n, _, step0 in calls for e in range(step0 // 6 + 1, step0 // 6 + n + 1)]
    assert len(covered) >= 18 and len(set(covered)) == len(covered)
    assert tr.epoch == 30


def test_steps_events_say_their_own_epoch_and_batch():
    data = dataset(n=55)  # 6 batches of 10 and a last of 5... as the trainer splits them
    s = session(chain((5, "tanh"), (1, "identity")))
    tr, ev = _train(s, data, True, 12, metrics_every=5)
    spe = tr.steps_per_epoch
    chunks = [e for e in ev if isinstance(e, Steps)]
    assert chunks
    for c in chunks:  # an independent count: every epoch has spe steps
        assert c.epoch == (c.first_step - 1) // spe and c.batch == (c.first_step - 1) % spe
    assert sum(len(c) for c in chunks) == 12 * spe


def test_stop_and_pause_wait_for_the_chunk_and_lose_nothing(calls):
    data = dataset(n=60)
    s = session(chain((5, "tanh"), (1, "identity")))
    tr = CompiledTrainer(s, dataset=data, metrics_every=50)
    it = tr.run(epochs=200)
    seen = []
    for e in it:
        seen.append(e)
        if isinstance(e, EpochEnd) and e.epoch == 3:  # inside a chunk: its other epochs already trained
            tr.stop()
    assert seen[-1].reason == "stopped"
    ends = [e.epoch for e in seen if isinstance(e, EpochEnd)]
    assert ends == list(range(1, tr.epoch + 1)) and tr.epoch > 3  # every trained epoch was reported
    assert len(tr.history.epochs["train_loss"]) == tr.epoch


@pytest.mark.parametrize("ending", ["nan", "exploded"])
def test_divergence_inside_a_chunk_ends_as_one_call_per_epoch(ending, calls):
    """A learning rate that jumps at epoch 4 (the manual schedule) ends the run inside a chunk of epochs."""
    data = dataset("regression" if ending == "nan" else "binary", n=60)
    if ending == "nan":  # MSE on ReLU units: the weights overflow within the epoch
        s = session(chain((6, "relu"), (2, "identity")), loss="mse", optimizer=("sgd", {"lr": 0.01}),
                    schedule={"type": "manual", "params": {"every": 4, "factors": [1.0, 1e7]}})
    else:  # BCE on logits grows linearly with the weights: finite, and past a thousand times the first loss
        s = session(chain((6, "tanh"), (1, "identity")), optimizer=("sgd", {"lr": 0.5}),
                    schedule={"type": "manual", "params": {"every": 4, "factors": [1.0, 3e4]}})
    a = _train(s, data, True, 30, metrics_every=20)
    b = _train(s, data, False, 30, metrics_every=20)
    _assert_same(a, b)
    fin = a[1][-1]
    assert isinstance(fin, Finished) and fin.reason == "diverged" and fin.epochs_run < 10
    first = a[0].history.step_loss.data()[1][0]
    ends = [e for e in a[1] if isinstance(e, EpochEnd)]
    if ending == "nan":
        assert not math.isfinite(a[0].history.step_loss.data()[1][-1]) or isinstance(a[1][-2], Steps)
        assert any(n > 1 and done < n * a[0].steps_per_epoch for n, done, _ in calls), "stopped inside a chunk"
    else:
        assert math.isfinite(ends[-1].train_loss) and ends[-1].train_loss >= EXPLODED_FACTOR * first
    assert any(n > 1 for n, _, _ in calls)


def test_a_state_saved_after_a_chunk_resumes_bit_identically(calls):
    data = dataset(n=60)
    s = session(chain((6, "tanh"), (1, "identity")), optimizer=("adam", {"lr": 0.02}))
    ref, _ = _train(s, data, True, 30, metrics_every=9)
    tr = CompiledTrainer(s, dataset=data, metrics_every=9)
    list(tr.run(epochs=14))
    assert (tr.epoch, tr.batch_in_epoch) == (14, 0)  # a chunk never passes the epochs asked for
    assert any(n > 1 and (step0 + done) // tr.steps_per_epoch == 14 for n, done, step0 in calls)
    state = tr.state()
    again = CompiledTrainer(s, dataset=data, metrics_every=9)
    again.load_state(*state)
    list(again.run(epochs=30))
    assert np.array_equal(again.theta, ref.theta) and np.array_equal(again.s2, ref.s2)
    assert torch.equal(again.gen.get_state(), ref.gen.get_state())


def test_early_stopping_plateau_and_max_steps_keep_one_call_per_epoch(calls):
    data = dataset(n=60)
    g = chain((5, "tanh"), (1, "identity"))
    _train(session(g, early_stopping={"patience": 3}), data, True, 15)
    _train(session(g, schedule={"type": "reduce_on_plateau", "params": {"patience": 2}}), data, True, 15)
    tr = CompiledTrainer(session(g), dataset=data)
    list(tr.run(epochs=15, max_steps=60))
    assert not calls
    assert tr.step == 60


@pytest.mark.parametrize("max_share", [0.0, 1.0], ids=["no epoch end affordable", "every epoch end affordable"])
def test_time_travel_records_what_it_would_one_epoch_per_call(max_share, calls):
    """The recorder says where it wants the trainer next (``wanted_step``): its checkpoints are the same either way."""
    from engine import Run
    from engine.time_travel import Recorder

    data = dataset(n=60)
    s = session(chain((6, "tanh"), (1, "identity")), optimizer=("adam", {"lr": 0.02}))

    def recorded(whole_epochs):
        run = Run(s, dataset=data, path="compiled")
        run.trainer.metrics_every = 50
        rec = Recorder(dense=5, max_share=max_share)  # 0 and 1 make the budget's verdicts independent of timing
        for _ in rec.watch(run, run.events(epochs=60, whole_epochs=whole_epochs)):
            pass
        assert run.trainer.wanted_step is None  # the wish ends with the watch
        return [(c.step, c.epoch, c.epoch_end, sorted((k, v.tolist()) for k, v in c.weights.items()))
                for c in rec.checkpoints]

    on = recorded(True)
    used = sum(n > 1 for n, _, _ in calls)
    assert on == recorded(False)
    if max_share == 1.0:
        assert used == 0 and [c[1] for c in on if c[2]] == list(range(1, 61))  # every epoch end, one per call
    else:
        assert used >= 3  # between the log-spaced checkpoints, epochs trained several to a call


def test_a_run_shows_each_event_its_own_state_unless_its_consumer_reads_only_events(calls):
    """``Run.events`` trains one epoch per call by default, so the state read at an event is that event's;
    ``whole_epochs=True`` (the window, the command line) and ``fit`` without a callback batch them."""
    from engine import Run

    data = dataset(n=60)
    s = session(chain((6, "tanh"), (1, "identity")))

    def epochs_seen(**kw):
        run = Run(s, dataset=data, path="compiled")
        run.trainer.metrics_every = 50
        return [(ev.epoch, run.epoch) for ev in run.events(epochs=40, **kw) if isinstance(ev, EpochEnd)]

    exact = epochs_seen()
    assert [e for e, _ in exact] == list(range(1, 41)) and all(e == now for e, now in exact) and not calls
    batched = epochs_seen(whole_epochs=True)
    assert [e for e, _ in batched] == list(range(1, 41)) and any(now > e for e, now in batched) and calls
    n = len(calls)
    run = Run(s, dataset=data, path="compiled")
    run.fit(40, callback=lambda ev: None)
    assert len(calls) == n  # a callback may read the run at each event: one epoch per call
    run = Run(s, dataset=data, path="compiled")
    run.fit(40)
    assert len(calls) > n and run.epoch == 40
