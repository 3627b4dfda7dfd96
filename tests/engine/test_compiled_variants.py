"""Side-by-side variants (issue 11, item 4): each trains exactly as it would alone, all of them at once."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from engine.compiled import CompiledTrainer, Variants  # noqa: E402
from engine.compiled.variants import variant_session  # noqa: E402
from engine.errors import InvalidInput  # noqa: E402
from engine.events import EpochEnd, Finished, Step, Steps  # noqa: E402
from tests.engine.compiled_helpers import chain, dataset, session, weights  # noqa: E402

CHANGES = [{}, {"lr": 0.2}, {"seed": 5}, {"optimizer": {"type": "adam", "params": {"lr": 0.01}}},
           {"batch_size": 4}, {"init": {"d1": {"weight": {"type": "normal", "params": {"std": 0.5}}}}}]


def _alone(s, data, epochs):
    tr = CompiledTrainer(s, dataset=data)
    losses = np.concatenate([e.losses for e in tr.run(epochs) if isinstance(e, Steps)])
    return losses, weights(tr.model)


@pytest.mark.parametrize("threads", [1, 2])
def test_each_variant_trains_as_it_would_alone(threads):
    data = dataset()
    base = session(chain((6, "tanh"), (1, "identity")))
    v = Variants(base, CHANGES, dataset=data, threads=threads)
    per = {i: [] for i in range(len(v))}
    finished = {}
    for i, ev in v.run(8):
        if isinstance(ev, Steps):
            per[i].append(ev.losses)
        elif isinstance(ev, Finished):
            finished[i] = ev
    assert sorted(finished) == list(range(len(CHANGES))) and all(f.reason == "completed" for f in finished.values())
    results = []
    for i, change in enumerate(CHANGES):
        want_l, want_w = _alone(variant_session(base, change), data, 8)
        got = np.concatenate(per[i])
        assert np.array_equal(got, want_l), f"variant {i} ({change})"
        w = weights(v.trainers[i].model)
        assert all(np.array_equal(w[k], want_w[k]) for k in w)
        assert v.histories[i].n_epochs == 8
        results.append(got)
    # the variants really differ from one another
    assert len({r.tobytes() for r in results}) == len(CHANGES)
    assert len(results[4]) == 8 * 15  # batch 4: 15 steps an epoch


def test_closing_the_stream_stops_every_variant():
    data = dataset(n=600)
    v = Variants(session(chain((6, "tanh"), (1, "identity")), batch_size=1), [{}, {"lr": 0.1}, {"seed": 2}],
                 dataset=data, threads=2)
    it = v.run(1000)
    next(it)
    it.close()
    assert all(tr._stop.is_set() for tr in v.trainers)
    assert all(tr.epoch < 1000 for tr in v.trainers)


def test_a_variant_may_change_only_what_it_lists():
    with pytest.raises(InvalidInput, match="cannot change 'loss'"):
        variant_session(session(chain((2, "tanh"))), {"loss": "mse"})


def _signature(ev):
    """What an event says, comparable across runs (timings left out)."""
    if isinstance(ev, Steps):
        return ("Steps", ev.first_step, ev.epoch, ev.losses.tobytes(), ev.lrs.tobytes())
    if isinstance(ev, Step):
        return ("Step", ev.step, ev.epoch, ev.loss, ev.lr)
    if isinstance(ev, EpochEnd):
        return ("EpochEnd", ev.epoch, ev.train_loss, ev.val_loss)
    if isinstance(ev, Finished):
        return ("Finished", ev.reason)
    return (type(ev).__name__,)


@pytest.mark.parametrize("batched", [True, False])
def test_each_variants_event_stream_is_its_stream_alone_in_order(batched):
    """The consumer's thread and a helper take turns on the same variant; its events must still come in its
    own order, every one exactly once (a turn put out of order, or yielded twice, would show here)."""
    data = dataset(n=90)
    base = session(chain((5, "tanh"), (1, "identity")), batch_size=3)
    changes = [{}, {"lr": 0.05}, {"seed": 3}, {"batch_size": 7}, {"seed": 4, "lr": 0.2}]
    v = Variants(base, changes, dataset=data, threads=2, batched=batched, stats_min_steps=8)
    got = {i: [] for i in range(len(v))}
    for i, ev in v.run(6):
        got[i].append(_signature(ev))
    for i, change in enumerate(changes):
        alone = CompiledTrainer(variant_session(base, change), dataset=data, batched=batched, stats_min_steps=8)
        want = [_signature(ev) for ev in alone.run(6)]
        assert got[i] == want, f"variant {i} ({change})"
        assert want[0] == ("Started",) and want[-1][0] == "Finished"
        assert sum(s[0] == "EpochEnd" for s in want) == 6
        assert any(s[0] == "Stats" for s in want)


def test_an_error_in_a_helper_thread_reaches_the_consumer():
    data = dataset()
    v = Variants(session(chain((4, "tanh"), (1, "identity"))), [{}, {"seed": 1}, {"seed": 2}], dataset=data,
                 threads=2)

    def boom(*a, **k):
        raise RuntimeError("kernel failed")

    for tr in v.trainers:  # every variant fails on its first chunk, whichever thread runs it
        tr._run_chunk = boom
    with pytest.raises(RuntimeError, match="kernel failed"):
        for _ in v.run(3):
            pass
    assert all(tr._stop.is_set() for tr in v.trainers)
