"""The trainer: determinism, control flags, NaN guard, early stopping, live changes, compact history."""
import math
import threading
import time

import numpy as np
import pytest
import torch

from engine.errors import InvalidInput
from engine.events import EpochEnd, Finished, Started, Stats, Step
from engine.history import History, Series
from engine.session import Session
from engine.spec import GraphSpec
from engine.trainer import Trainer


def small_session(**training):
    s = Session()
    s.dataset = {"type": "circle", "params": {"n": 120, "noise": 0.1}, "split": {"train": 0.7, "val": 0.15, "test": 0.15}}
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "h", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
        {"id": "o", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"}]})
    s.loss = {"type": "bce_logits"}
    s.optimizer = {"type": "sgd", "params": {"lr": 0.1}}
    s.training = {"epochs": 3, "batch_size": 10, **training}
    s.seed = 3
    return s


def events(tr, *a, **k):
    return list(tr.run(*a, **k))


def curves(tr):
    """Every per-epoch series except wall-clock seconds."""
    return {k: v for k, v in tr.history.epochs.items() if k != "seconds"}


def test_same_seed_gives_bit_identical_history_and_weights():
    a, b = Trainer(small_session()), Trainer(small_session())
    events(a), events(b)
    assert curves(a) == curves(b)
    xa, ya = a.history.step_loss.data()
    xb, yb = b.history.step_loss.data()
    assert np.array_equal(ya, yb) and np.array_equal(xa, xb)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = Trainer(small_session())
    c.session.seed = 4
    d = Trainer(c.session)
    events(d)
    assert d.history.epochs["train_loss"] != a.history.epochs["train_loss"]


def test_event_stream_shape_and_learning():
    tr = Trainer(small_session(epochs=15, stats_every=5))
    evs = events(tr)
    assert isinstance(evs[0], Started) and evs[0].steps_per_epoch == math.ceil(84 / 10)
    steps = [e for e in evs if isinstance(e, Step)]
    assert len(steps) == 15 * 9 and steps[-1].step == 135
    epochs = [e for e in evs if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == list(range(1, 16))
    assert epochs[-1].train_loss < epochs[0].train_loss  # it learns
    assert 0 <= epochs[-1].val_metrics["accuracy"] <= 1
    stats = [e for e in evs if isinstance(e, Stats)]
    assert len(stats) == 135 // 5
    layer = {(l.node, l.param): l for l in stats[-1].layers}
    w = tr.model.layers["h"].weight.detach()
    assert layer[("h", "weight")].norm == pytest.approx(w.norm().item(), rel=1e-6)
    assert sum(layer[("h", "weight")].hist_counts) == w.numel()
    fin = evs[-1]
    assert isinstance(fin, Finished) and fin.reason == "completed" and fin.epochs_run == 15
    assert "accuracy" in fin.test_metrics


def test_step_then_continue_equals_straight_run():
    a = Trainer(small_session())
    events(a)
    b = Trainer(small_session())
    f1 = events(b, max_steps=1)[-1]
    assert f1.reason == "step" and b.step == 1 and b.batch_in_epoch == 1
    f2 = events(b, to_epoch_end=True)[-1]
    assert f2.reason == "step" and b.epoch == 1 and b.batch_in_epoch == 0
    events(b)
    assert curves(a) == curves(b)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


def test_stop_from_another_thread_within_200ms():
    tr = Trainer(small_session(epochs=100000))
    it = tr.run()
    next(it)
    timer = threading.Timer(0.2, tr.stop)
    t0 = time.perf_counter()
    timer.start()
    last = None
    for last in it:
        pass
    assert isinstance(last, Finished) and last.reason == "stopped"
    assert time.perf_counter() - t0 < 0.2 + 0.2


def test_pause_blocks_until_resume():
    tr = Trainer(small_session(epochs=100000))
    it = tr.run()
    next(it)
    next(it)
    tr.pause()
    done = []

    def consume():
        done.append(next(it))

    th = threading.Thread(target=consume)
    th.start()
    th.join(0.3)
    assert th.is_alive() and not done  # paused: no step happens
    tr.resume()
    th.join(2)
    assert done and isinstance(done[0], (Step, Stats, EpochEnd))
    tr.stop()
    assert isinstance(list(it)[-1], Finished)


def test_nan_guard_stops_with_a_diagnosis():
    s = small_session(epochs=50)
    s.dataset = {"type": "plane", "params": {"n": 100, "noise": 0.0}}
    s.loss = {"type": "mse"}
    s.optimizer = {"type": "sgd", "params": {"lr": 50.0}}
    tr = Trainer(s)
    fin = events(tr)[-1]
    assert fin.reason == "diverged"
    assert "learning rate" in fin.diagnosis.lower() or "gradient" in fin.diagnosis.lower()
    assert all(math.isfinite(v) for v in tr.history.step_loss.data()[1])  # no garbage recorded


def test_early_stopping_restores_best():
    s = small_session(epochs=200, early_stopping={"patience": 3, "min_delta": 0.0, "restore_best": True})
    s.optimizer = {"type": "sgd", "params": {"lr": 3.0}}  # noisy enough to stop early
    tr = Trainer(s)
    fin = events(tr)[-1]
    assert fin.reason == "early_stopping"
    assert fin.epochs_run < 200 and fin.best_epoch <= fin.epochs_run
    val_loss, _, _ = tr.evaluate_split("val")
    assert val_loss == pytest.approx(min(tr.history.epochs["val_loss"]), rel=1e-5)


def test_request_changes_lr_at_next_step_without_reset():
    tr = Trainer(small_session(epochs=1000))
    it = tr.run()
    for _ in range(5):
        next(it)
    w_before = tr.model.layers["h"].weight.detach().clone()
    tr.request(lr=0.01, batch_size=20)
    ev = next(e for e in it if isinstance(e, Step))
    assert ev.lr == pytest.approx(0.01) and tr.batch_size == 20
    # exactly one SGD step at the new lr from the weights before it: w − 0.01·g (a re-initialization,
    # or a step at the old lr 0.1, would land elsewhere)
    w, g = tr.model.layers["h"].weight.detach(), tr.model.layers["h"].weight.grad
    np.testing.assert_allclose(w.numpy(), (w_before - 0.01 * g).numpy(), rtol=0, atol=1e-7)
    assert (w - (w_before - 0.1 * g)).abs().max() > 1e-4
    with pytest.raises(InvalidInput, match="cannot change 'seed'"):
        tr.request(seed=3)  # structural: needs a new run
    tr.stop()
    list(it)


def test_batchnorm_never_sees_a_batch_of_one():
    s = small_session(epochs=2)
    s.dataset = {"type": "circle", "params": {"n": 30, "noise": 0.1}, "split": {"train": 0.7, "val": 0.3, "test": 0.0}}
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "h", "type": "Dense", "params": {"units": 4}},
        {"id": "bn", "type": "BatchNorm"},
        {"id": "o", "type": "Dense", "params": {"units": 1}}]})
    tr = Trainer(s)
    assert len(tr.data.x_train) == 21  # 21 = 2*10 + 1: the lone sample joins the last batch
    assert tr.steps_per_epoch == 2
    assert events(tr)[-1].reason == "completed"
    with pytest.raises(InvalidInput, match="at least 2"):
        tr.request(batch_size=1)


def test_dataset_shape_mismatch_is_an_input_error():
    s = small_session()
    s.graph.node("input").params["shape"] = [3]
    with pytest.raises(InvalidInput, match=r"shape \(2,\).*expects \(3,\)"):
        Trainer(s)


def test_series_thins_itself_to_a_fixed_budget():
    s = Series(capacity=1000)
    for i in range(1_000_000):
        s.append(i, float(i))
    x, y = s.data()
    assert len(x) <= 1000 and x[0] == 0 and x[-1] > 990_000
    assert np.all(np.diff(x) == np.diff(x)[0])  # evenly thinned
    assert s.nbytes() < 20_000


def test_million_step_history_stays_small():
    h = History()
    for i in range(1000):
        h.add_step(i, 0.5, 0.1)
    assert h.nbytes() < 64 * 1024  # a short run costs little
    for i in range(1000, 1_000_000):
        h.add_step(i, 0.5, 0.1)
    assert h.nbytes() <= 12 * 1024 * 1024  # a million steps: bounded, a few MB
    assert len(h.step_loss) <= 500_000


def test_histograms_of_big_tensors_are_sampled_but_keep_their_shape():
    s = small_session(epochs=1, stats_every=1)
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "wide", "type": "Dense", "params": {"units": 300}},
        {"id": "big", "type": "Dense", "params": {"units": 200}},
        {"id": "o", "type": "Dense", "params": {"units": 1}}]})
    tr = Trainer(s)
    st = next(e for e in tr.run() if isinstance(e, Stats))
    big = next(l for l in st.layers if l.node == "big" and l.param == "weight")
    w = tr.model.layers["big"].weight.detach().reshape(-1)
    assert w.numel() == 60_000 > 16384
    assert abs(sum(big.hist_counts) - w.numel()) <= 30  # scaled to the full tensor (rounding per bin)
    exact = torch.histc(w, bins=30, min=big.hist_edges[0], max=big.hist_edges[-1]).numpy()
    got = np.asarray(big.hist_counts, dtype=float)
    assert np.abs(got - exact).sum() / w.numel() < 0.05  # same distribution within 5% total variation
    assert big.norm == pytest.approx(w.norm().item(), rel=1e-5)  # moments stay exact


def test_a_step_that_completes_an_epoch_closes_it():
    """With one batch per epoch (the worked examples), every Step is a whole epoch, evaluated."""
    s = small_session(epochs=5, batch_size=0)  # full batch: one step per epoch
    tr = Trainer(s)
    for k in (1, 2):
        evs = events(tr, max_steps=1)
        assert [type(e).__name__ for e in evs][-2:] == ["EpochEnd", "Finished"]
        assert evs[-1].reason == "step" and tr.step == k and tr.epoch == k and tr.batch_in_epoch == 0


def test_large_models_space_their_statistics_by_size_small_ones_keep_stats_every():
    """Stats every ``stats_every`` steps, but a model of ≥ LARGE_STEP_WORK multiply-adds a step gets them
    at the first multiple of it ≥ 50 steps (a pass over its weights costs a quarter of a step)."""
    from engine.device import LARGE_STEP_WORK
    from engine.trainer import STATS_MIN_STEPS_LARGE

    def stats_steps(units, stats_every):
        s = small_session(epochs=2, batch_size=40, stats_every=stats_every)
        s.dataset = {"type": "circle", "params": {"n": 2000, "noise": 0.1}, "split": {"train": 1.0, "val": 0.0, "test": 0.0}}
        s.graph.nodes[1].params["units"] = units
        tr = Trainer(s)
        return tr.n_params * tr.batch_size, [e.step for e in tr.run(max_steps=60) if isinstance(e, Stats)]

    work, steps = stats_steps(6, 7)
    assert work < LARGE_STEP_WORK and steps == [7, 14, 21, 28, 35, 42, 49, 56]
    work, steps = stats_steps(20_000, 7)  # 2-20000-1: 80k parameters × 40 rows
    assert work >= LARGE_STEP_WORK and STATS_MIN_STEPS_LARGE == 50 and steps == [56]  # 7 × ⌈50 / 7⌉
    work, steps = stats_steps(20_000, 60)
    assert steps == [60]  # already past the floor: stats_every stands


def test_training_metrics_are_measured_on_3_percent_of_the_rows_on_a_large_model_all_1024_on_a_small_one():
    """A forward pass over R rows costs ~1/3 of training on them: on a large model R ≤ 3 % of the training
    rows (≥ 256) keeps the epoch end's training metrics at ~1 % of the epoch; small models keep 1,024."""
    from engine.device import LARGE_STEP_WORK

    def epoch_end(units, n, batch_size=40):
        s = small_session(epochs=1, batch_size=batch_size)
        s.dataset = {"type": "circle", "params": {"n": n, "noise": 0.1}, "split": {"train": 1.0, "val": 0.0, "test": 0.0}}
        s.graph.nodes[1].params["units"] = units
        tr = Trainer(s)
        end = [e for e in tr.run() if isinstance(e, EpochEnd)][-1]
        return tr, end

    tr, end = epoch_end(6, 2000)
    assert tr.n_params * tr.batch_size < LARGE_STEP_WORK and tr.train_eval_rows() == 1024
    assert int(np.sum(end.train_metrics["confusion"])) == 1024
    tr, end = epoch_end(6, 600)
    assert tr.train_eval_rows() == 600  # fewer rows than the limit: all of them
    tr, end = epoch_end(5_000, 10_000, 500)  # 2-5000-1 × 500 rows: large
    assert tr.n_params * tr.batch_size >= LARGE_STEP_WORK and tr.train_eval_rows() == 300  # ⌈0.03 × 10,000⌉
    # the accuracy is the model's own on the first 300 rows, computed here independently
    x, y = tr.data.x_train[:300], tr.data.y_train[:300]
    p = tr.predict(x)[:, 0]
    assert end.train_metrics["accuracy"] == pytest.approx(float(np.mean((p > 0) == (y == 1))), abs=1e-12)
    assert int(np.sum(end.train_metrics["confusion"])) == 300
    tr, _ = epoch_end(5_000, 4000, 500)
    assert tr.train_eval_rows() == 256  # 3 % would be 120: the floor
