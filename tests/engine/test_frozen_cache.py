"""Caching the outputs of frozen layers (lecture 004): the same training, fewer multiply-adds a step.

Every equality test trains the same session twice, ``training.cache_frozen`` on and off, and compares
losses, validation curves and every weight; each also checks the cache was (or was not) used, so a
cache that silently switched itself off could not pass.
"""
import math

import numpy as np
import pytest
import torch

import engine.frozen_cache as fc_mod
from engine.errors import InvalidInput
from engine.run import Run
from engine.session import TRAINING_SCHEMA, Session
from engine.trainer import Trainer

RTOL = 1e-6


def dense(nid, units, act="tanh", frozen=False, **extra):
    d = {"id": nid, "type": "Dense", "params": {"units": units, "activation": act}, **extra}
    if frozen:
        d["trainable"] = False
    return d


def session(layers, *, cache=True, n=300, epochs=5, bs=10, regs=(), opt=None, seed=3, dataset=None, edges=None,
            **training):
    graph = {"layers": layers} if edges is None else {"nodes": layers, "edges": [{"from": a, "to": b} for a, b in edges]}
    return Session.from_dict({
        "seed": seed, "graph": graph,
        "dataset": dataset or {"type": "moons", "params": {"n": n}},
        "optimizer": opt or {"type": "adam", "params": {"lr": 0.01}}, "regularizers": list(regs),
        "training": {"epochs": epochs, "batch_size": bs, "device": "cpu", "cache_frozen": cache, **training}})


def chain(*hidden, width=2, head_act="identity"):
    """Input(width) → the given Dense layers → Dense(1) head → Output."""
    return [{"id": "input", "type": "Input", "params": {"shape": [width]}}, *hidden,
            dense("head", 1, head_act), {"id": "output", "type": "Output"}]


def skip_graph():
    """input → f1 (frozen) → f2 (frozen) → t (trainable); Add(f1, t) → f3 (frozen, after a trainable
    layer: not cacheable) → head. The cache holds f1 and f2 (two boundary tensors)."""
    return [{"id": "input", "type": "Input", "params": {"shape": [2]}},
            dense("f1", 16, frozen=True), dense("f2", 12, frozen=True), dense("t", 16),
            {"id": "add", "type": "Add"}, dense("f3", 8, frozen=True), dense("head", 1, "identity"),
            {"id": "output", "type": "Output"}], [("input", "f1"), ("f1", "f2"), ("f2", "t"), ("f1", "add"),
                                                   ("t", "add"), ("add", "f3"), ("f3", "head"), ("head", "output")]


def train(s):
    tr = Trainer(s)
    list(tr.run())
    return tr


def assert_same_training(a, b, min_steps=100):
    """Same steps, losses, validation curve and weights, to RTOL relative (float32)."""
    assert a.step == b.step >= min_steps
    la, lb = a.history.step_loss.data()[1], b.history.step_loss.data()[1]
    assert len(la) == len(lb) == a.step
    np.testing.assert_allclose(la, lb, rtol=RTOL, atol=0)
    for key in ("val_loss", "train_acc", "val_acc"):
        np.testing.assert_allclose(a.history.epoch_array(key), b.history.epoch_array(key), rtol=RTOL, err_msg=key)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_allclose(sa[k].numpy(), sb[k].numpy(), rtol=RTOL, atol=1e-7, err_msg=k)


def test_a_frozen_two_layer_prefix_trains_exactly_like_the_uncached_network():
    layers = chain(dense("d1", 32, frozen=True), dense("d2", 32, frozen=True))
    on, off = train(session(layers)), train(session(layers, cache=False))
    assert on.frozen_cache.report.cached and on.frozen_cache.builds == 1  # computed once for the whole run
    assert on.frozen_cache.report.boundary == ("d2",) and on.frozen_cache.report.frozen == ("d1", "d2")
    assert not off.frozen_cache.report.cached and off.frozen_cache.builds == 0
    assert_same_training(on, off)
    # the head really learned: its weights moved from their initial values
    init = Trainer(session(layers)).model.layers["head"].weight.detach()
    assert (on.model.layers["head"].weight.detach() - init).abs().max() > 1e-2


def test_training_metrics_on_the_first_samples_only_read_that_many_cached_rows(monkeypatch):
    """Epoch ends measure the training metrics on the first TRAIN_EVAL_LIMIT samples (1,024; 50 here)."""
    import engine.trainer

    monkeypatch.setattr(engine.trainer, "TRAIN_EVAL_LIMIT", 50)
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 8))
    on, off = train(session(layers, epochs=2)), train(session(layers, epochs=2, cache=False))
    assert on.frozen_cache.ready() is None  # released when the run finished
    assert on.frozen_cache.active() is not None  # rebuilt here, to read it
    loss, metrics, out = on.evaluate_split("train", 50)
    assert out.shape == (50, 1)
    loss_off, metrics_off, _ = off.evaluate_split("train", 50)
    assert loss == pytest.approx(loss_off, rel=RTOL) and metrics["confusion"] == metrics_off["confusion"]
    assert_same_training(on, off, min_steps=40)


def test_the_cached_features_are_the_frozen_layers_outputs():
    layers = chain(dense("d1", 8, frozen=True), dense("d2", 6, "relu", frozen=True))
    tr = Trainer(session(layers))
    fc = tr.frozen_cache.active()
    x = torch.as_tensor(tr.data.x_val, dtype=torch.float32)
    w1, b1 = (tr.model.layers["d1"].weight.detach().double(), tr.model.layers["d1"].bias.detach().double())
    w2, b2 = (tr.model.layers["d2"].weight.detach().double(), tr.model.layers["d2"].bias.detach().double())
    want = torch.relu(torch.tanh(x.double() @ w1.T + b1) @ w2.T + b2)  # by hand, in float64
    (got,) = fc._feats["val"]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_a_skip_connection_with_only_part_frozen_trains_exactly_like_the_uncached_network():
    layers, edges = skip_graph()
    on, off = train(session(layers, edges=edges, epochs=4)), train(session(layers, edges=edges, epochs=4, cache=False))
    rep = on.frozen_cache.report
    assert rep.cached and rep.frozen == ("f1", "f2") and set(rep.boundary) == {"f1", "f2"}
    assert "f3" not in on.frozen_cache._prefix  # frozen, but its input changes every step
    assert_same_training(on, off, min_steps=80)


def test_dropout_ends_the_prefix_and_its_masks_stay_the_same():
    """d1 frozen → Dropout → d2 frozen → head: only d1 is cached; the dropout (and d2) run every step on
    the cached features, drawing the same masks from the run's dropout stream."""
    layers = chain(dense("d1", 16, frozen=True), {"id": "drop", "type": "Dropout", "params": {"p": 0.3}},
                   dense("d2", 16, frozen=True))
    on, off = train(session(layers)), train(session(layers, cache=False))
    assert on.frozen_cache.report.cached and on.frozen_cache.report.boundary == ("d1",)
    assert_same_training(on, off)


def test_frozen_batchnorm_uses_its_running_stats_so_it_is_cached():
    layers = chain(dense("d1", 16, frozen=True), {"id": "bn", "type": "BatchNorm", "trainable": False},
                   dense("d2", 8))
    on, off = train(session(layers, epochs=4)), train(session(layers, epochs=4, cache=False))
    assert on.frozen_cache.report.boundary == ("bn",)
    assert_same_training(on, off, min_steps=80)


@pytest.mark.parametrize("layers, regs, reason", [
    (chain({"id": "drop", "type": "Dropout", "params": {"p": 0.2}}, dense("d1", 8, frozen=True)), (),
     "dropout in the frozen part (drop)"),
    (chain(dense("d1", 8, frozen=True)), ({"type": "input_noise", "params": {"std": 0.1}},),
     "input augmentation (input_noise) changes the inputs every step"),
    (chain(dense("d1", 8, frozen=True)), ({"type": "activity_l1", "params": {"lambda": 1e-3}},),
     "an activity penalty (activity_l1) reads the frozen layers' outputs"),
    (chain(dense("d1", 8), dense("d2", 8, frozen=True)), (),
     "the frozen layers come after trainable ones (their inputs change every step)"),
    (chain(dense("d1", 8)), (), "no frozen layers"),
])
def test_when_nothing_can_be_cached_the_reason_is_one_line(layers, regs, reason):
    tr = train(session(layers, regs=regs, epochs=1))
    rep = tr.frozen_cache.report
    assert not rep.cached and rep.text() == f"not cached: {reason}" and tr.frozen_cache.builds == 0
    assert rep.applies == any(not n.trainable for n in tr.session.graph.nodes)


def test_an_activity_penalty_on_the_trainable_layers_only_keeps_the_cache_and_the_numbers():
    layers = chain(dense("d1", 12, frozen=True), dense("d2", 12))
    regs = [{"type": "activity_l1", "params": {"lambda": 1e-2, "layers": ["d2"]}},
            {"type": "weight_noise", "params": {"std": 0.05}}]  # noise acts on trainable weights only
    on, off = train(session(layers, regs=regs)), train(session(layers, regs=regs, cache=False))
    assert on.frozen_cache.report.cached
    assert_same_training(on, off)


def test_multiply_adds_of_a_deep_frozen_extractor_with_a_small_head():
    """64-256-256-256 frozen, 256-10 head: forward multiply-adds 64·256 + 2·256² + 256·10 per sample."""
    layers = [{"id": "input", "type": "Input", "params": {"shape": [64]}}, dense("d1", 256, "relu", frozen=True),
              dense("d2", 256, "relu", frozen=True), dense("d3", 256, "relu", frozen=True),
              dense("head", 10, "identity"), {"id": "output", "type": "Output"}]
    s = session(layers, dataset={"type": "digits", "params": {"flat": True}}, epochs=1)
    s.loss = {"type": "cross_entropy", "params": {}}
    rep = Trainer(s).frozen_cache.report
    full, rest = 64 * 256 + 256 * 256 + 256 * 256 + 256 * 10, 256 * 10
    assert (rep.macs_full, rep.macs_rest) == (full, rest)
    # a step: the forward pass (all of it uncached) plus a backward pass of ~2× the rest's forward
    assert rep.ratio == pytest.approx((full + 2 * rest) / (3 * rest))
    assert rep.text() == f"cached: 3 frozen layers (input → d3), {(full + 2 * rest) / (3 * rest):.1f}× fewer multiply-adds a step"
    assert rep.nbytes == 1797 * 256 * 4  # every sample of every split (the 1,797 digits), 256 float32 features


def test_above_the_memory_cap_it_refuses_with_the_size(monkeypatch):
    monkeypatch.setattr(fc_mod, "MAX_CACHE_BYTES", 10_000)
    tr = Trainer(session(chain(dense("d1", 32, frozen=True)), n=200))
    rep = tr.frozen_cache.report
    assert not rep.cached and rep.nbytes == 200 * 32 * 4
    assert rep.text() == "not cached: the frozen outputs would take 26 kB (the cap is 10 kB)"
    assert tr.frozen_cache.active() is None


def test_reset_weights_rebuilds_the_cache_and_trains_like_the_uncached_reset():
    """New initial weights for the frozen layer too: features of the old d1 would train another network."""
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16))

    def go(cache):
        tr = train(session(layers, epochs=2, cache=cache))
        tr.reset_weights(seed=11)
        list(tr.run(5))
        return tr

    on, off = go(True), go(False)
    assert on.frozen_cache.builds == 2
    assert_same_training(on, off)


def test_imported_frozen_weights_rebuild_the_cache():
    """Writing new values into a frozen layer (a transfer, a restored checkpoint) bumps its version: the
    next step computes the features again from the new weights."""
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16))
    tr = Trainer(session(layers, epochs=1))
    list(tr.run(max_steps=3))
    old = tr.frozen_cache._feats["train"][0].clone()
    with torch.no_grad():
        tr.model.layers["d1"].weight.mul_(2.0)
    list(tr.run(max_steps=1))
    assert tr.frozen_cache.builds == 2
    assert not torch.allclose(old, tr.frozen_cache._feats["train"][0])
    x = torch.as_tensor(tr.data.x_train[:5], dtype=torch.float32)
    np.testing.assert_allclose(tr.frozen_cache._feats["train"][0][:5].numpy(),
                               tr.model.layers["d1"](x).detach().numpy(), rtol=1e-6)


def test_unfreezing_a_layer_ends_the_cache_for_it():
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16, frozen=True))
    tr = Trainer(session(layers, epochs=1))
    assert tr.frozen_cache.active().report.boundary == ("d2",)
    tr.model.layers["d2"].weight.requires_grad_(True)
    assert tr.frozen_cache.active().report.boundary == ("d1",)


def test_live_changes_augmentation_and_the_switch_end_the_cache_and_keep_the_numbers():
    """Train 40 steps cached, then ask for input noise (augmentation: nothing cacheable), then the
    switch off: every result equals a run trained without the cache with the same requests."""
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16))

    def go(cache):
        tr = Trainer(session(layers, cache=cache, epochs=6))
        list(tr.run(max_steps=40))
        was = tr.frozen_cache.report.cached
        tr.request(regularizers=[{"type": "input_noise", "params": {"std": 0.05}}])
        list(tr.run(max_steps=40))
        mid = tr.frozen_cache.report.text()
        tr.request(regularizers=[], cache_frozen=False)
        list(tr.run())
        return tr, was, mid

    (on, was_on, mid), (off, was_off, _) = go(True), go(False)
    assert was_on and not was_off
    assert mid == "not cached: input augmentation (input_noise) changes the inputs every step"
    assert on.frozen_cache.report.text() == "not cached: turned off (training.cache_frozen)"
    assert on.training["cache_frozen"] is False and on.session.training["cache_frozen"] is False
    assert_same_training(on, off)


def test_checkpoint_and_resume_equal_one_continuous_cached_run():
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16))
    whole = train(session(layers, epochs=6))
    first = Trainer(session(layers, epochs=6))
    list(first.run(3))
    tensors, meta = first.state()
    second = Trainer(session(layers, epochs=6))
    second.load_state(tensors, meta)
    second.history = first.history
    list(second.run(6))
    assert second.frozen_cache.report.cached and second.frozen_cache.builds == 1
    assert_same_training(second, whole)


def test_run_reports_the_cache_and_predict_uses_the_full_model():
    layers = chain(dense("d1", 16, frozen=True), dense("d2", 16))
    run = Run(session(layers, epochs=2), path="torch")
    run.fit()
    assert run.frozen_cache.cached and run.frozen_cache is run.trainer.frozen_cache.report
    x = np.asarray(run.data.x_test[:7], dtype=np.float32)
    with torch.no_grad():
        want = run.model.eval()(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(run.predict(x, logits=True, preprocessed=True), want, rtol=1e-6)


def test_the_setting_defaults_on_and_refuses_a_non_boolean():
    assert TRAINING_SCHEMA.validate({}, owner="training")["cache_frozen"] is True
    assert Session().to_dict()["training"]["cache_frozen"] is True
    with pytest.raises(InvalidInput, match="cache_frozen"):
        TRAINING_SCHEMA.validate({"cache_frozen": "yes"}, owner="training")
    with pytest.raises(InvalidInput, match="cache_frozen"):
        Trainer(session(chain(dense("d1", 4)), epochs=1)).request(cache_frozen=3)


def test_no_frozen_layer_costs_nothing_and_says_nothing():
    tr = train(session(chain(dense("d1", 8)), epochs=1))
    assert tr.frozen_cache.report.applies is False and tr.frozen_cache._feats is None
    assert math.isinf(fc_mod.CacheReport(True).ratio)  # a report with no rest: no division by zero


def test_a_finished_run_releases_its_cached_outputs_and_training_on_recomputes_them():
    """A finished run (kept in the window's Runs list) holds no cached features; more epochs rebuild them
    once and train exactly like a run that never stopped."""
    layers = chain(dense("d1", 32, frozen=True), dense("d2", 32, frozen=True))
    s = session(layers)
    epochs = s.training["epochs"]
    tr = train(s)
    assert tr.frozen_cache.report.cached and tr.frozen_cache._feats is None and tr.frozen_cache.builds == 1
    list(tr.run(epochs + 2, max_steps=3))  # a max_steps pause keeps them
    assert tr.frozen_cache._feats is not None and tr.frozen_cache.builds == 2
    list(tr.run(epochs + 2))
    assert tr.frozen_cache.builds == 2 and tr.frozen_cache._feats is None
    whole = Trainer(session(layers))
    list(whole.run(epochs + 2))
    assert_same_training(tr, whole)


@pytest.mark.parametrize("case", ["chain", "skip", "dropout_inside", "dropout_first", "frozen_bn", "after_trainable",
                                  "switched_off", "none_frozen"])
def test_the_memory_estimate_counts_the_cache_the_trainer_builds(case):
    """``engine.memory`` reads the graph only; what it adds for the cache is the trainer's real ``nbytes``."""
    from engine.memory import estimate

    drop = {"id": "drop", "type": "Dropout", "params": {"p": 0.3}}
    edges, cache = None, True
    if case == "skip":
        layers, edges = skip_graph()
    else:
        layers = {
            "chain": chain(dense("d1", 16, frozen=True), dense("d2", 6, "relu", frozen=True)),
            "dropout_inside": chain(dense("d1", 16, frozen=True), drop, dense("d2", 16, frozen=True)),
            "dropout_first": chain(drop, dense("d1", 8, frozen=True)),
            "frozen_bn": chain(dense("d1", 16, frozen=True), {"id": "bn", "type": "BatchNorm", "trainable": False},
                               dense("d2", 8)),
            "after_trainable": chain(dense("d1", 8), dense("d2", 8, frozen=True)),
            "switched_off": chain(dense("d1", 16, frozen=True)),
            "none_frozen": chain(dense("d1", 16)),
        }[case]
        cache = case != "switched_off"
    s = session(layers, edges=edges, cache=cache, n=300)
    rep = Trainer(s).frozen_cache.report
    want = rep.nbytes if rep.cached else 0
    assert (want > 0) == (case in ("chain", "skip", "dropout_inside", "frozen_bn"))
    est = estimate(s)
    assert est.cache_bytes == want
    if want:
        assert est.total_bytes - estimate(session(layers, edges=edges, cache=False, n=300)).total_bytes == want
        assert "frozen-layer cache ~" in est.describe()
    if case == "chain":
        assert want == 300 * 6 * 4  # every sample of every split, d2's 6 float32 outputs


def test_the_memory_estimate_leaves_out_a_cache_past_its_cap():
    from engine.memory import MAX_CACHE_BYTES, estimate

    s = session(chain(dense("d1", 20_000, "relu", frozen=True)), n=20_000)
    assert 20_000 * 20_000 * 4 > MAX_CACHE_BYTES and estimate(s).cache_bytes == 0  # the trainer would not cache it
    assert estimate(session(chain(dense("d1", 2_000, "relu", frozen=True)), n=20_000)).cache_bytes == 20_000 * 2_000 * 4
