"""engine.Run: one training's whole life, many in one process, commands and snapshots between steps."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import Run, Session
from engine.run import Cancelled, RunState, live_changes, structure_key

ROOT = Path(__file__).resolve().parents[2]


def noisy_session(seed=3, **training) -> dict:
    """Dropout, weight noise, label noise and input noise: every random stream of a training is used."""
    return {
        "name": "noisy", "seed": seed,
        "graph": {"layers": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}},
            {"id": "d1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
            {"id": "drop", "type": "Dropout", "params": {"p": 0.3}},
            {"id": "d2", "type": "Dense", "params": {"units": 1, "activation": "identity"}},
            {"id": "output", "type": "Output"}]},
        "dataset": {"type": "circle", "params": {"n": 120, "noise": 0.1}},
        "loss": {"type": "bce_logits"},
        "optimizer": {"type": "sgd", "params": {"lr": 0.1}},
        "regularizers": [{"type": "weight_noise", "params": {"std": 0.01}},
                         {"type": "label_noise", "params": {"p": 0.05}},
                         {"type": "input_noise", "params": {"std": 0.05}}],
        "training": {"epochs": 3, "batch_size": 10, **training},
    }


def _losses(events):
    out = []
    for ev in events:
        if type(ev).__name__ == "Step":
            out.append(ev.loss)
        elif type(ev).__name__ == "Steps":  # the compiled path reports steps in chunks
            out.extend(float(v) for v in ev.losses)
    return out


def compiled_session(seed=3, **training):
    """Dropout and L2 on a Dense chain: the compiled path takes it (noise regularizers run on torch)."""
    s = noisy_session(seed, **training)
    s["regularizers"] = [{"type": "l2", "params": {"lambda": 0.001}}]
    return s


@pytest.mark.parametrize("make", [noisy_session, compiled_session], ids=["torch", "compiled"])
def test_interleaved_runs_equal_solo_runs_bitwise(make):
    solo = {}
    for seed in (3, 4):
        run = Run(make(seed))
        solo[seed] = (_losses(run.events()), run.weights())
    # two runs built one after the other (the second build must not touch the first's streams), stepped alternately
    a, b = Run(make(3)), Run(make(4))
    assert a.engine_path == ("torch cpu" if make is noisy_session else "compiled")
    ga, gb = a.events(), b.events()
    got = {3: [], 4: []}
    live = {3: ga, 4: gb}
    while live:
        for seed in list(live):
            try:
                ev = next(live[seed])
            except StopIteration:
                del live[seed]
                continue
            if type(ev).__name__ == "Step":
                got[seed].append(ev.loss)
            elif type(ev).__name__ == "Steps":
                got[seed].extend(float(v) for v in ev.losses)
    for seed, run in ((3, a), (4, b)):
        assert got[seed] == solo[seed][0]
        for k, w in run.weights().items():
            assert np.array_equal(w, solo[seed][1][k]), k
    assert len(got[3]) == 3 * 9  # 84 training samples / batch 10 -> 9 steps an epoch


@pytest.mark.parametrize("make", [noisy_session, compiled_session], ids=["torch", "compiled"])
def test_a_run_changes_nothing_process_wide(make):
    torch.manual_seed(123)
    before, threads = torch.get_rng_state().clone(), torch.get_num_threads()
    run = Run(make())
    run.fit(2)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads


def test_fit_returns_finished_and_continues_the_same_curves():
    one = Run(noisy_session())
    one.fit(1)
    fin = one.fit(3)
    straight = Run(noisy_session())
    fin2 = straight.fit(3)
    assert fin.reason == fin2.reason == "completed" and fin.epochs_run == 3
    assert one.history.epochs["train_loss"] == straight.history.epochs["train_loss"]
    assert one.state is RunState.FINISHED


def test_saving_from_another_thread_never_stops_or_changes_the_training(tmp_path):
    ref = Run(noisy_session(epochs=6))
    ref.fit()
    run = Run(noisy_session(epochs=6))
    saves = []

    def saver():
        while run.state in (RunState.READY, RunState.RUNNING):
            saves.append(run.save(tmp_path / f"s{len(saves) % 2}.nnp"))
            h = run.history  # a stable copy, taken between steps
            assert h.n_epochs <= 6

    t = threading.Thread(target=saver)
    t.start()
    fin = run.fit()
    t.join(10)
    assert fin.reason == "completed" and fin.epochs_run == 6
    assert len(saves) >= 1
    assert run.history.epochs["train_loss"] == ref.history.epochs["train_loss"]
    # a save made mid-training reopens as a consistent run: its step count matches its history
    re_run = Run(tmp_path / "s0.nnp")
    steps, _ = re_run.history.step_loss.data()
    assert re_run.step == (steps[-1] if len(steps) else 0)


def test_stop_and_pause_from_another_thread_take_effect_quickly():
    run = Run(noisy_session(epochs=100000))
    seen = []

    def control():
        time.sleep(0.3)
        run.pause()
        time.sleep(0.3)
        seen.append(run.step)
        time.sleep(0.3)
        seen.append(run.step)  # no step while paused
        t0 = time.perf_counter()
        run.stop()
        run.resume()
        seen.append(t0)

    t = threading.Thread(target=control)
    t.start()
    fin = run.fit()
    t_end = time.perf_counter()
    t.join()
    assert fin.reason == "stopped"
    assert seen[0] == seen[1] and seen[0] > 0
    assert t_end - seen[2] < 0.2


def test_stop_before_or_during_build_cancels_it():
    run = Run(noisy_session(), build=False)
    run.stop()
    with pytest.raises(Cancelled):
        run.build()
    assert run.state is RunState.NEW and run.trainer is None

    phases = []  # a build phase that takes a while: stop() from another thread lands before the next one
    run = Run(noisy_session(), build=False)
    orig = run._checkpoint

    def slow(phase):
        phases.append(phase)
        if phase == "model":
            time.sleep(0.3)
        orig(phase)

    run._checkpoint = slow
    threading.Timer(0.1, run.stop).start()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        run.build()
    assert time.perf_counter() - t0 < 0.6
    assert phases == ["memory", "data", "checks", "dataset", "model"] and run.trainer is None  # never built


def test_live_lr_change_keeps_weights_and_continues_the_curve():
    run = Run(noisy_session(epochs=2))
    run.fit()
    w_before = run.weights()
    run.request(lr=0.0)
    # lr 0 with SGD: no weight moves (weight noise is added and removed around each pass)
    session = dict(noisy_session(epochs=4), regularizers=[])
    assert run.session.optimizer["params"]["lr"] == 0.0
    fin = run.fit(4)
    assert fin.epochs_run == 4 and run.history.n_epochs == 4
    for k, w in run.weights().items():
        np.testing.assert_allclose(w, w_before[k], rtol=0, atol=1e-7, err_msg=k)
    lrs = run.history.epochs["lr"]
    assert lrs[:2] == [0.1, 0.1] and lrs[2:] == [0.0, 0.0]
    assert session  # the structure did not change: no new run was needed
    assert structure_key(Session.from_dict(noisy_session())) == structure_key(run.session)


def test_optimizer_hyperparameters_change_live_and_keep_their_state():
    base = dict(noisy_session(epochs=2), regularizers=[],
                graph={"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                                  {"id": "d1", "type": "Dense", "params": {"units": 1}},
                                  {"id": "output", "type": "Output"}]},
                training={"epochs": 2, "batch_size": 0})
    base["optimizer"] = {"type": "momentum", "params": {"lr": 0.1, "momentum": 0.9}}
    run = Run(base, path="torch")  # reads torch's optimizer state
    run.fit(1)
    tr = run.trainer
    v = {i: st["momentum_buffer"].clone() for i, st in tr.optimizer.state_dict()["state"].items()}
    w0 = [p.detach().clone() for p in tr.model.trainable_parameters()]
    run.request(optimizer={"type": "momentum", "params": {"lr": 0.1, "momentum": 0.5}})
    run.fit(2)
    # one full-batch step with the new momentum and the old velocity: w1 = w0 - lr (0.5 v + g)
    g = [p.grad.detach() for p in tr.model.trainable_parameters()]
    # the gradient left on the parameters is the one of the step just taken
    for i, (p, w, gi) in enumerate(zip(tr.model.trainable_parameters(), w0, g)):
        expect = w - 0.1 * (0.5 * v[i] + gi)
        torch.testing.assert_close(p.detach(), expect, rtol=1e-5, atol=1e-6)
    assert run.session.optimizer["params"]["momentum"] == 0.5


def test_auto_path_says_why_a_session_trains_on_torch():
    run = Run(noisy_session(), build=False)
    run.build()
    assert run.engine_path == "torch cpu" and "weight_noise" in run.compiled_reason
    with pytest.raises(Exception, match="cannot use the compiled path: the weight_noise regularizer"):
        Run(noisy_session(), path="compiled")
    plain = compiled_session(epochs=2)
    plain["graph"]["layers"].pop(2)  # no dropout: its masks come from different generators on the two paths
    fast = Run(plain)
    assert fast.engine_path == "compiled" and fast.compiled_reason is None
    slow = Run(plain, path="torch")
    # the same training on both paths (the differential tests in test_compiled*.py cover every combination)
    fast.fit(), slow.fit()
    np.testing.assert_allclose(fast.history.epochs["train_loss"], slow.history.epochs["train_loss"], rtol=1e-5)


def test_bad_live_changes_are_refused_at_once():
    run = Run(noisy_session())
    for bad in ({"lr": -1}, {"lr": float("nan")}, {"batch_size": -3}, {"graph": {}},
                {"optimizer": {"type": "nope"}}):
        with pytest.raises(Exception) as e:
            run.request(**bad)
        assert type(e.value).__name__ in ("InvalidInput", "SessionError", "GraphError"), bad
    assert run.fit(1).reason == "completed"  # nothing bad was queued


def test_live_changes_compare_canonical_forms():
    a = Session.from_dict(noisy_session())
    b = a.copy()
    b.optimizer = {"type": "sgd", "params": {"lr": 0.1}}  # same thing, spelled out
    assert live_changes(a, b) == {}
    b.optimizer = {"type": "sgd", "params": {"lr": 0.3}}
    b.training = dict(b.training, batch_size=20)
    changes = live_changes(a, b)
    assert changes["optimizer"]["params"]["lr"] == 0.3 and changes["batch_size"] == 20
    c = a.copy()
    c.seed = 99
    assert structure_key(c) != structure_key(a)


def test_predict_takes_raw_inputs_and_gives_probabilities():
    s = noisy_session(epochs=2)
    s["dataset"] = {"type": "blobs", "params": {"n": 90, "classes": 3},
                     "preprocess": {"scale": "standardize"}}
    s["graph"]["layers"][3]["params"]["units"] = 3
    s["loss"] = {"type": "cross_entropy"}
    s["regularizers"] = []
    run = Run(s)
    run.fit()
    raw = run.data.raw_x("test")
    p = run.predict(raw)
    assert p.shape == (len(raw), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    from engine.data.preprocess import apply_preprocess

    z = run.trainer.model.eval()(torch.as_tensor(apply_preprocess(raw, run.data.preprocess_state)))
    np.testing.assert_allclose(run.predict(raw, logits=True), z.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(p, torch.softmax(z, 1).detach().numpy(), atol=1e-5)
    assert run.predict(raw[0]).shape == (1, 3)  # one sample


def test_history_is_a_copy():
    run = Run(noisy_session(epochs=1))
    run.fit()
    h = run.history
    run.fit(2)
    assert h.n_epochs == 1 and run.history.n_epochs == 2


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    m = re.search(r"```python\n(.*?)```", text, re.S)
    assert m, "README has a python notebook example"
    code = m.group(1)
    assert "from engine import Session, Run" in code and len(code.strip().splitlines()) <= 15
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)  # noqa: S102 - our own README
    assert isinstance(ns["run"], Run) and ns["run"].history.n_epochs > 0


def test_a_live_optimizer_type_switch_starts_its_own_state_and_keeps_the_weights():
    s = dict(noisy_session(epochs=1), regularizers=[])
    s["optimizer"] = {"type": "momentum", "params": {"lr": 0.05, "momentum": 0.9}}
    run = Run(s, path="torch")
    run.fit()
    w = run.weights()
    run.request(optimizer={"type": "adam", "params": {"lr": 0.01}})
    fin = run.fit(3)
    assert fin.reason == "completed" and run.history.n_epochs == 3
    assert type(run.trainer.optimizer).__name__ == "Adam" and run.session.optimizer["type"] == "adam"
    state = run.trainer.optimizer.state_dict()["state"]
    assert state and all("exp_avg" in st for st in state.values())  # Adam's own moments, not momentum buffers
    changed = max(float(np.abs(run.weights()[k] - w[k]).max()) for k in w)
    assert 0 < changed < 5  # trained on from the same weights, not re-initialised


def test_reset_weights_trains_exactly_like_a_fresh_run():
    fresh = Run(noisy_session(epochs=2))
    fresh.fit()
    run = Run(noisy_session(epochs=2))
    run.fit()
    run.reset_weights()
    assert run.step == 0 and run.history.n_epochs == 0
    run.fit(2)
    assert run.history.epochs["train_loss"] == fresh.history.epochs["train_loss"]


@pytest.mark.parametrize("path", ["torch", "auto"])
def test_a_finite_loss_that_explodes_stops_the_run_as_diverged(path):
    s = dict(compiled_session(epochs=20), regularizers=[])
    s["graph"]["layers"].pop(2)
    s["optimizer"] = {"type": "sgd", "params": {"lr": 1e6}}  # BCE on logits: huge but finite losses
    run = Run(s, path=path)
    fin = run.fit()
    losses = run.history.epochs["train_loss"]
    assert fin.reason == "diverged" and fin.epochs_run == 1 and np.isfinite(losses[0])
    assert losses[0] > 1e3 * run.history.step_loss.data()[1][0]
    assert "learning rate" in fin.diagnosis and "overfitting" not in fin.diagnosis


def test_a_live_change_the_compiled_path_cannot_run_continues_the_run_on_torch():
    s = dict(compiled_session(epochs=2), regularizers=[])
    s["graph"]["layers"].pop(2)
    run = Run(s)
    run.fit()
    assert run.engine_path == "compiled"
    w, steps = run.weights(), run.step
    run.request(regularizers=[{"type": "weight_noise", "params": {"std": 0.01}}])  # torch only
    assert run.engine_path == "torch cpu" and "weight_noise" in run.compiled_reason
    assert run.step == steps and run.history.n_epochs == 2
    for k, v in run.weights().items():
        np.testing.assert_array_equal(v, w[k])  # the same weights carried over
    fin = run.fit(3)
    assert fin.reason == "completed" and run.history.n_epochs == 3 and run.step > steps


def test_a_run_refuses_at_build_what_validate_refuses():
    from engine.errors import InvalidInput

    s = dict(noisy_session(), regularizers=[])
    s["graph"]["layers"][3]["params"]["units"] = 3  # 3 outputs for a 2-class dataset
    with pytest.raises(InvalidInput, match="the output has 3 units but the dataset has 2 classes"):
        Run(s)


def test_time_travel_records_compiled_runs_too():
    from engine.time_travel import Recorder

    s = dict(compiled_session(epochs=3), regularizers=[])
    run = Run(s)
    assert run.engine_path == "compiled"
    rec = Recorder(dense=5)
    for _ in rec.watch(run, run.events()):
        pass
    steps = [c.step for c in rec.checkpoints]
    # compiled chunks end at most at an epoch's end: checkpoints fall on chunk ends, every epoch end included
    assert steps == [9, 18, 27] and all(c.epoch_end for c in rec.checkpoints)
