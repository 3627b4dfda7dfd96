"""Checkpoints within a budget and branches that continue exactly where the original was."""
import numpy as np
import pytest

from engine import Run
from engine.errors import InvalidInput
from engine.session import Session
from engine.time_travel import Recorder, branch, log_spaced_count


def _session(opt=None, epochs=6):
    return Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 40, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": opt or {"type": "momentum", "params": {"lr": 0.1, "momentum": 0.9}},
        "training": {"epochs": epochs, "batch_size": 8, "shuffle": False}})


def test_steps_are_dense_early_then_log_spaced():
    r = Recorder(dense=5, growth=2.0)
    taken = [s for s in range(1, 200) if r.wants(s)]
    assert taken == [1, 2, 3, 4, 5, 10, 20, 40, 80, 160]
    assert log_spaced_count(199, 5, 2.0) == len(taken)


def test_recording_respects_the_budget_keeps_ends_and_thins_the_old_half():
    run = Run(_session(epochs=8), path="torch")
    one = sum(v.nbytes for v in run.weights().values())
    rec = Recorder(budget_bytes=12 * 3 * one, dense=3, growth=1.5, max_share=1.0)  # room for ~12 with momentum state
    for _ in rec.watch(run, run.events()):
        pass
    cps = rec.checkpoints
    assert rec.nbytes <= rec.budget and cps[0].step == 1 and cps[-1].step == run.step == 8 * 4
    assert [c.step for c in cps] == sorted(c.step for c in cps)
    assert sum(c.epoch_end for c in cps) >= 4  # epoch ends survive thinning first
    w = run.weights()
    assert all(np.array_equal(cps[-1].weights[k], w[k]) for k in w)


def test_branch_without_changes_continues_exactly():
    a = Run(_session(), path="torch")
    rec = Recorder()
    for _ in rec.watch(a, a.events(3)):
        pass
    at3 = [c for c in rec.checkpoints if c.epoch_end and c.epoch == 3][0]
    a.fit(6)
    b = branch(a.session, at3)
    assert b.branched_from == (at3.step, 3) and b.step == at3.step
    b.fit(6)  # full-batch order without shuffling: the same batches, and momentum's buffer came along
    wa, wb = a.weights(), b.weights()
    for k in wa:
        np.testing.assert_allclose(wb[k], wa[k], rtol=0, atol=1e-6)


def test_branch_with_a_changed_lr_differs_and_keeps_the_new_lr():
    a = Run(_session(), path="torch")
    rec = Recorder()
    for _ in rec.watch(a, a.events(2)):
        pass
    cp = rec.checkpoints[-1]
    b = branch(a.session, cp, optimizer={"type": "momentum", "params": {"lr": 0.01, "momentum": 0.9}})
    with b.snapshot() as tr:
        assert tr.optimizer.param_groups[0]["lr"] == 0.01 and tr.optimizer.state  # state kept, lr is the branch's
    c = branch(a.session, cp, optimizer={"type": "adam", "params": {"lr": 0.01}})
    with c.snapshot() as tr:
        assert not tr.optimizer.state  # a new optimizer type starts fresh
    with pytest.raises(InvalidInput, match="not 'colour'"):
        branch(a.session, cp, colour="red")
    with pytest.raises(InvalidInput, match="budget"):
        Recorder(budget_bytes=0)


def test_epoch_ends_give_way_when_they_would_slow_the_training():
    """Epoch-end checkpoints may take at most ``max_share`` of the training's time; steps and the end stay."""
    run = Run(_session(epochs=8), path="torch")
    none = Recorder(dense=1, growth=3.0, max_share=0.0)  # steps 1, 3, 9, 27: none at an epoch end (4 steps each)
    for _ in none.watch(run, run.events()):
        pass
    # step 3 (past the dense start) spent time before the first epoch end: all 8 are skipped; the last step is kept
    assert none.skipped_epoch_ends == 8 and [c.step for c in none.checkpoints] == [1, 3, 9, 27, 32]
    assert not any(c.epoch_end for c in none.checkpoints)
    # an epoch end on a step just recorded costs nothing: it is marked whatever the share
    marks = Recorder(dense=2, growth=2.0, max_share=0.0)  # steps 1, 2, 4, 8, 16, 32: 4, 8, 16, 32 end epochs
    run = Run(_session(epochs=8), path="torch")
    for _ in marks.watch(run, run.events()):
        pass
    assert [(c.step, c.epoch_end) for c in marks.checkpoints] == [(1, False), (2, False), (4, True), (8, True),
                                                                   (16, True), (32, True)]
    every = Recorder(dense=2, growth=2.0, max_share=1.0)
    run = Run(_session(epochs=8), path="torch")
    for _ in every.watch(run, run.events()):
        pass
    assert every.skipped_epoch_ends == 0 and sum(c.epoch_end for c in every.checkpoints) == 8
    # a chunk is wanted exactly when one of its steps would be, asked one by one
    one = Recorder(dense=5, growth=2.0)
    wanted = {s for s in range(1, 400) if one.wants(s)}  # 1..5, 10, 20, 40, 80, 160, 320
    chunks = Recorder(dense=5, growth=2.0)
    for a in range(1, 400, 7):
        assert chunks.wants_range(a, a + 6) == bool(wanted & set(range(a, a + 7))), a


def test_branch_on_the_compiled_path_continues_like_the_original():
    """The window branches on its own path: the compiled one must take the checkpoint's weights and momentum."""
    a = Run(_session(), path="compiled")
    rec = Recorder(max_share=1.0)
    for _ in rec.watch(a, a.events(3)):
        pass
    at3 = [c for c in rec.checkpoints if c.epoch_end and c.epoch == 3][0]
    a.fit(6)
    b = branch(a.session, at3, path="compiled", history=a.history)
    assert b.engine_path == "compiled" and b.step == at3.step
    assert all(np.array_equal(b.weights()[k], at3.weights[k]) for k in at3.weights)
    b.fit(6)  # no shuffling: the same batches, and the momentum buffer came along (else the weights differ)
    wa, wb = a.weights(), b.weights()
    for k in wa:
        np.testing.assert_allclose(wb[k], wa[k], rtol=0, atol=1e-5)


def test_a_branch_starts_with_the_originals_history_up_to_the_checkpoint():
    from engine.time_travel import history_until

    a = Run(_session(epochs=5), path="torch")
    rec = Recorder()
    for _ in rec.watch(a, a.events()):
        pass
    h = a.history
    cp = [c for c in rec.checkpoints if c.step == 10][0]  # inside epoch 3 (4 steps each): 2 epochs done
    cut = history_until(h, cp.step, cp.epoch)
    assert cut.n_epochs == 2 and list(cut.epoch_array("train_loss")) == list(h.epoch_array("train_loss")[:2])
    x, y = cut.step_loss.data()
    hx, hy = h.step_loss.data()
    assert list(x) == list(range(1, 11)) and np.array_equal(y, hy[:10])
    sx, _ = cut.layer_stats["h.weight"].data()
    assert len(sx) and sx.max() <= 10 and len(cut.epoch_metrics) == 2
    b = branch(a.session, cp, history=h)
    assert b.history.n_epochs == 2 and b.history.step_loss.data()[0][-1] == 10
