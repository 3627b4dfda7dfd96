"""The compiled path as a trainer: determinism, save/resume, dropout, events, live changes, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("numba")

from engine.compiled import CompiledTrainer, supports  # noqa: E402
from engine.compiled.records import extend_series  # noqa: E402
from engine.compiled.trainer import NotCompiled  # noqa: E402
from engine.errors import InvalidInput  # noqa: E402
from engine.events import EpochEnd, Finished, Stats, Step, Steps  # noqa: E402
from engine.history import Series  # noqa: E402
from tests.engine.compiled_helpers import chain, dataset, session, steps_of, torch_trainer, weights  # noqa: E402

DROP = {"type": "Dropout", "params": {"p": 0.3}}


def _adam_dropout():
    g = chain((8, "tanh"), DROP, (6, "relu"), (1, "identity"))
    return session(g, optimizer=("adam", {"lr": 0.01}), batch_size=7,
                   schedule={"type": "reduce_on_plateau", "params": {"patience": 2}},
                   early_stopping={"patience": 50, "min_delta": 0.0, "restore_best": True})


def _losses(events):
    out = []
    for e in events:
        if isinstance(e, Steps):
            out.extend(e.losses.tolist())
        elif isinstance(e, Step):
            out.append(e.loss)
    return np.array(out)


def _roundtrip(state):
    """Through safetensors bytes and JSON text, as an .nnp stores them."""
    from safetensors.torch import load, save

    tensors, meta = state
    return load(save(tensors)), json.loads(json.dumps(meta))


def test_same_seed_same_training_bit_for_bit_and_another_seed_differs():
    data = dataset()
    runs = []
    for seed in (0, 0, 1):
        s = _adam_dropout()
        s.seed = seed
        tr = CompiledTrainer(s, dataset=data)
        runs.append((_losses(tr.run(max_steps=150)), weights(tr.model)))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


@pytest.mark.parametrize("opt", [("adam", {"lr": 0.01}), ("momentum", {"lr": 0.05, "momentum": 0.9})])
def test_save_mid_epoch_and_resume_continues_bit_identically(opt):
    data = dataset()
    s = _adam_dropout()
    s.optimizer = {"type": opt[0], "params": opt[1]}
    straight = CompiledTrainer(s, dataset=data)
    want = _losses(straight.run(max_steps=200))
    tr = CompiledTrainer(s, dataset=data)
    parts = [_losses(tr.run(max_steps=83))]
    for n in (50, 67):  # saved twice: what a resumed run saves resumes too
        assert tr.batch_in_epoch not in (0, tr.steps_per_epoch), "the save must fall inside an epoch"
        state = _roundtrip(tr.state())
        tr = CompiledTrainer(s, dataset=data)
        tr.load_state(*state)
        parts.append(_losses(tr.run(max_steps=n)))
    assert np.array_equal(np.concatenate(parts), want)
    w1, w2 = weights(straight.model), weights(tr.model)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    assert np.array_equal(tr.s1, straight.s1) and np.array_equal(tr.s2, straight.s2)


@pytest.mark.parametrize("opt", [("adam", {"lr": 0.01}), ("momentum", {"lr": 0.05, "momentum": 0.9}),
                                 ("rmsprop", {"lr": 0.003})])
def test_checkpoints_move_between_the_paths(opt):
    """torch → compiled and compiled → torch mid-epoch: both continue the uninterrupted torch run."""
    data = dataset()
    s = session(chain((6, "tanh"), (5, "relu"), (1, "identity")), optimizer=opt, batch_size=7)
    ref = torch_trainer(s, data)
    want = steps_of(ref.run(max_steps=160))
    for first_cls, then_cls in ((torch_trainer, CompiledTrainer), (CompiledTrainer, torch_trainer)):
        first = first_cls(s, data) if first_cls is torch_trainer else CompiledTrainer(s, dataset=data, batched=False)
        a = steps_of(first.run(max_steps=61))
        then = then_cls(s, data) if then_cls is torch_trainer else CompiledTrainer(s, dataset=data, batched=False)
        then.load_state(*_roundtrip(first.state()))
        b = steps_of(then.run(max_steps=99))
        got = np.concatenate([a, b])
        assert np.max(np.abs(got - want) / np.abs(want)) < 1e-5, f"{first_cls.__name__} → {then_cls.__name__}"
        w_ref, w = weights(ref.model), weights(then.model)
        for k in w_ref:
            assert np.abs(w[k] - w_ref[k]).max() <= 1e-5 * np.abs(w_ref[k]).max()


@pytest.mark.parametrize("opt", ["adagrad", "adam", "momentum", "sgd"])
def test_a_state_saved_before_any_step_trains_on_torch(opt):
    data = dataset()
    s = session(chain((4, "tanh"), (1, "identity")), optimizer=(opt, {"lr": 0.01}))
    tr = torch_trainer(s, data)
    tr.load_state(*_roundtrip(CompiledTrainer(s, dataset=data).state()))
    assert len(steps_of(tr.run(max_steps=3))) == 3


def test_an_archive_saved_on_the_compiled_path_opens_on_both(tmp_path):
    from engine.archive import load_archive, save_archive

    data = dataset()
    s = session(chain((6, "tanh"), (1, "identity")), optimizer=("adam", {"lr": 0.01}), batch_size=7)
    tr = CompiledTrainer(s, dataset=data)
    list(tr.run(max_steps=40))
    path = save_archive(tmp_path / "c.nnp", tr.session, tr)
    for target in (CompiledTrainer(s, dataset=data), torch_trainer(s, data)):
        load_archive(path).restore_into(target)
        assert target.step == 40 and target.batch_in_epoch == tr.batch_in_epoch
        w, w0 = weights(target.model), weights(tr.model)
        assert all(np.array_equal(w[k], w0[k]) for k in w)
        assert target.history.step_loss.n == 40


def _dropout_values(mode, p, x, steps, train=True):
    """The Dropout node's output (its columns of the work buffer) for ``x``, one array per step."""
    from engine.compiled.kernels import OUT_OFF, forward

    d = x.shape[1]
    g = chain({"type": "Dropout", "params": {"p": p, "mode": mode}}, (1, "identity"), d=d)
    tr = CompiledTrainer(session(g, loss="mse"), dataset=dataset("regression", n=len(x), d=d))
    prog, off = tr.prog, tr.prog.ops[0, OUT_OFF]
    buf = np.zeros((len(x), prog.width), np.float32)
    mask = np.zeros_like(buf)
    out = []
    for step in range(steps):
        buf[:, :d] = x
        forward(tr.theta, prog.ops, prog.fops, prog.merge, buf, mask, len(x), train, 7, step)
        out.append(buf[:, off:off + d].copy())
    return np.stack(out)


def test_dropout_statistics():
    """Masks are not torch's, so dropout is checked by its statistics: rate p, kept units scaled by 1/(1−p)."""
    p = 0.3
    outs = _dropout_values("inverted", p, np.ones((40, 50), np.float32), 25)  # 25 steps × 2000 units
    kept = outs != 0
    n = kept.size
    assert abs((1 - kept.mean()) - p) < 4 * np.sqrt(p * (1 - p) / n)  # four standard errors
    assert np.allclose(outs[kept], np.float32(1) / np.float32(1 - p))
    assert abs(outs.mean() - 1.0) < 0.02  # inverted dropout keeps the mean
    assert not np.array_equal(outs[0], outs[1]), "each step draws new masks"
    # units are independent: two units agree as often as chance says
    a, b = kept[:, :, 0].ravel(), kept[:, :, 1].ravel()
    assert abs(np.mean(a == b) - ((1 - p) ** 2 + p * p)) < 0.06
    assert np.array_equal(_dropout_values("inverted", p, np.ones((4, 5), np.float32), 1, train=False)[0],
                          np.ones((4, 5))), "evaluation keeps every unit (inverted dropout)"


def test_weight_scaling_dropout_keeps_unscaled_units_and_scales_at_evaluation():
    train = _dropout_values("weight_scaling", 0.25, np.ones((40, 50), np.float32), 4)
    assert set(np.unique(train)) == {0.0, 1.0}
    assert np.allclose(_dropout_values("weight_scaling", 0.25, np.ones((3, 4), np.float32), 1, train=False), 0.75)


def test_batched_events_carry_every_step_and_match_the_unbatched_stream():
    data = dataset()
    s = session(chain((6, "tanh"), (1, "identity")), stats_every=3)
    a = list(CompiledTrainer(s, dataset=data, stats_min_steps=1).run(epochs=5))
    b = list(CompiledTrainer(s, dataset=data, batched=False).run(epochs=5))
    chunks = [e for e in a if isinstance(e, Steps)]
    assert sum(len(c) for c in chunks) == 30 and len(chunks) == 5  # one chunk per 6-step epoch
    assert [c.first_step for c in chunks] == [1, 7, 13, 19, 25]
    assert np.array_equal(np.concatenate([c.losses for c in chunks]), steps_of(b))
    flat = [st for c in chunks for st in c.steps()]
    assert [st.step for st in flat] == list(range(1, 31)) and all(st.lr == 0.05 for st in flat)
    assert [type(e) for e in a if isinstance(e, (EpochEnd, Finished))] == [EpochEnd] * 5 + [Finished]
    stats = [e for e in a if isinstance(e, Stats)]
    assert [st.step for st in stats] == [6, 12, 18, 24, 30]  # chunk ends on a stats_every (3) boundary
    thinned = list(CompiledTrainer(s, dataset=data, stats_min_steps=10).run(epochs=5))
    assert [st.step for st in thinned if isinstance(st, Stats)] == [12, 24]  # each chunk reaching a multiple of 12 (4 × 3)


def test_history_matches_the_torch_path():
    data = dataset()
    s = session(chain((6, "tanh"), (1, "identity")), stats_every=3)
    tr, cr = torch_trainer(s, data), CompiledTrainer(s, dataset=data, metrics_every=1, stats_min_steps=1)
    list(tr.run(epochs=4))
    list(cr.run(epochs=4))
    (tx, ty), (cx, cy) = tr.history.step_loss.data(), cr.history.step_loss.data()
    assert np.array_equal(tx, cx) and np.allclose(ty, cy, rtol=1e-5)
    for key in ("train_loss", "val_loss", "train_acc", "val_acc", "lr"):
        assert np.allclose(tr.history.epoch_array(key), cr.history.epoch_array(key), rtol=1e-5), key
    # statistics at the same steps carry the same numbers
    st_t = {k: v.data() for k, v in tr.history.layer_stats.items()}
    st_c = {k: v.data() for k, v in cr.history.layer_stats.items()}
    assert st_t.keys() == st_c.keys()
    for k in st_t:
        common, it, ic = np.intersect1d(st_t[k][0], st_c[k][0], return_indices=True)
        assert len(common) >= 2
        assert np.allclose(st_t[k][1][it], st_c[k][1][ic], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("capacity,chunks", [(8, [3, 5, 1, 20, 7, 2, 40]), (1000, [17, 300]), (5, [1] * 30)])
def test_extend_series_thins_exactly_like_append(capacity, chunks):
    a, b = Series(capacity), Series(capacity)
    step = 0
    for n in chunks:
        xs = np.arange(step, step + n)
        ys = np.sin(xs).astype(np.float32)
        for x, y in zip(xs, ys):
            a.append(x, y)
        extend_series(b, xs, ys)
        step += n
        assert (a.n, a.stride, a._skip) == (b.n, b.stride, b._skip)
        assert np.array_equal(a.data()[0], b.data()[0]) and np.array_equal(a.data()[1], b.data()[1])


def test_stop_pause_and_max_steps_act_between_chunks():
    data = dataset(n=600)
    s = session(chain((6, "tanh"), (1, "identity")), batch_size=1)
    tr = CompiledTrainer(s, dataset=data)
    it = tr.run()
    next(it)
    first = next(it)
    k = min(tr._chunk, tr.steps_per_epoch)
    assert isinstance(first, Steps) and len(first) == k
    tr.stop()
    rest = list(it)
    assert isinstance(rest[-1], Finished) and rest[-1].reason == "stopped"
    assert tr.step == k
    ev = list(tr.run(max_steps=5))
    assert ev[-1].reason == "step" and tr.step == k + 5


def test_live_changes_take_effect_at_the_next_chunk():
    data = dataset()
    s = session(chain((6, "tanh"), (1, "identity")), optimizer=("momentum", {"lr": 0.05, "momentum": 0.9}))
    tr = CompiledTrainer(s, dataset=data, batched=False)
    list(tr.run(max_steps=12))
    buf = tr.s1.copy()
    tr.request(lr=0.01, batch_size=5, clip="norm", clip_value=0.5)
    ev = [e for e in tr.run(max_steps=12) if isinstance(e, Step)]
    assert all(e.lr == 0.01 for e in ev) and tr.batch_size == 5 and tr._clip_mode == 1
    assert tr.steps_per_epoch == 12
    assert not np.array_equal(tr.s1, buf)
    # same optimizer type with new settings keeps the velocity; a new type starts afresh
    kept = tr.s1.copy()
    tr.request(optimizer={"type": "momentum", "params": {"lr": 0.02, "momentum": 0.5}})
    tr._apply_pending()
    assert np.array_equal(tr.s1, kept) and tr._opt_h[0] == 0.5
    tr.request(optimizer={"type": "adam", "params": {"lr": 0.01}})
    tr._apply_pending()
    assert not tr.s1.any() and tr.opt_steps == 0
    with pytest.raises(NotCompiled, match="weight_noise"):
        tr.request(regularizers=[{"type": "weight_noise", "params": {"std": 0.1}}])
    with pytest.raises(NotCompiled, match="lbfgs"):
        tr.request(optimizer={"type": "lbfgs", "params": {}})
    with pytest.raises(InvalidInput):
        tr.request(batch_size=-3)


def test_divergence_stops_with_the_torch_paths_reason():
    data = dataset()
    s = session(chain((6, "relu"), (1, "identity")), loss="mse", optimizer=("sgd", {"lr": 1e6}))
    tr = CompiledTrainer(s, dataset=data)
    ev = list(tr.run(epochs=50))
    assert ev[-1].reason == "diverged" and ev[-1].diagnosis
    torch_ev = list(torch_trainer(s, data).run(epochs=50))
    assert torch_ev[-1].reason == "diverged" and ev[-1].epochs_run == torch_ev[-1].epochs_run


def _reason(**kw):
    graph = kw.pop("graph", chain((6, "tanh"), (1, "identity")))
    return supports(session(graph, **kw), kw.pop("device", "cpu"))


def test_supports_names_the_reason_for_everything_it_refuses():
    assert _reason() is None
    conv = {"layers": [{"id": "input", "type": "Input", "params": {"shape": [1, 4, 4]}},
                       {"id": "c", "type": "Conv2d", "params": {"filters": 2, "kernel_size": 3}},
                       {"id": "f", "type": "Flatten"}, {"id": "d", "type": "Dense", "params": {"units": 1}},
                       {"id": "output", "type": "Output"}]}
    assert _reason(graph=conv) == "Conv2d layers run on torch"
    assert _reason(graph=chain((6, "maxout", {"pieces": 2}), (1, "identity"))) == "the maxout activation runs on torch"
    assert _reason(graph=chain((6, "prelu"), (1, "identity"))) == "the prelu activation runs on torch"
    assert _reason(optimizer=("lbfgs", {"lr": 1.0})) == "the lbfgs optimizer runs on torch"
    assert _reason(regularizers=[{"type": "label_smoothing", "params": {}}]) == "the label_smoothing regularizer runs on torch"
    assert "multiclass_hinge" not in (_reason(loss="multiclass_hinge") or "")
    s = session(chain((6, "tanh"), (1, "identity")))
    assert supports(s, "cuda") == "device 'cuda' trains with torch"
    big = chain((512, "relu"), (512, "relu"), (1, "identity"))
    assert "too large" in _reason(graph=big, batch_size=32)
    soft = session(chain((6, "tanh"), (2, "identity")), loss="cross_entropy")
    assert supports(soft, "cpu", dataset=dataset("regression")) == "cross_entropy on real-valued (soft) targets runs on torch"
    frozen = chain((6, "tanh"), (1, "identity"))
    frozen["layers"][1]["trainable"] = False
    assert _reason(graph=frozen) == "frozen layers run on torch (d1 is frozen)"


def test_an_option_not_compiled_is_refused_not_ignored(monkeypatch):
    import engine.compiled.support as sup

    monkeypatch.setitem(sup.OPTIMIZER_PARAMS, "adam", {"lr", "beta1", "beta2"})
    assert _reason(optimizer=("adam", {"lr": 0.01})) == "the adam optimizer's option 'eps' is not compiled"
    monkeypatch.setitem(sup.OPTIMIZER_CHOICES, ("momentum", "form"), {"classic"})
    assert _reason(optimizer=("momentum", {"lr": 0.01, "form": "ema"})) == "the momentum optimizer with form='ema' runs on torch"
    with pytest.raises(NotCompiled, match="cannot use the compiled path"):
        CompiledTrainer(session(chain((2, "tanh")), optimizer=("adam", {"lr": 0.01})), dataset=dataset())


def test_full_batch_on_a_large_dataset_is_refused_once_the_data_is_known():
    s = session(chain((64, "tanh"), (64, "tanh"), (1, "identity")), batch_size=0)
    data = dataset(n=200)
    assert supports(s, "cpu") is None  # without the data the full-batch size is unknown
    assert "too large" in supports(s, "cpu", dataset=data)
    with pytest.raises(NotCompiled, match="too large"):
        CompiledTrainer(s)  # builds the session's own dataset (circle: 350 training points)


def test_without_numba_supports_says_so(monkeypatch):
    import engine.compiled.support as sup

    real = sup.importlib.util.find_spec
    monkeypatch.setattr(sup.importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    assert _reason() == "numba is not installed"


def test_without_numba_the_engine_still_imports_and_refuses_in_one_line():
    import subprocess
    import sys

    code = ("import sys; sys.modules['numba'] = None\n"
            "from engine.compiled import supports\nfrom engine.session import Session\n"
            "print(supports(Session(training={'device': 'cpu'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "numba is not installed"


def test_predict_and_evaluate_match_the_torch_model():
    data = dataset("multi")
    s = session(chain((6, "tanh"), (3, "identity")), loss="cross_entropy")
    tr = CompiledTrainer(s, dataset=data)
    list(tr.run(epochs=3))
    x = data.x_val
    with torch.no_grad():
        ref = tr.model(torch.as_tensor(x)).numpy()  # the torch model reads the same weights (views)
    assert np.allclose(tr.predict(x), ref, rtol=1e-5, atol=1e-6)
    loss, metrics, out = tr.evaluate_split("val")
    ref_loss = torch.nn.functional.cross_entropy(torch.as_tensor(ref), torch.as_tensor(data.y_val)).item()
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(np.mean(ref.argmax(1) == data.y_val))


def test_default_cadences_full_evaluation_every_2000_steps_and_statistics_every_1024():
    """6-step epochs: full evaluations on epochs 1, 334, 668 (⌈2000 / 6⌉ = 334 apart) and the last; statistics
    at the first chunk end past each multiple of 1,030 (stats_every 10 × ⌈1024 / 10⌉)."""
    data = dataset(n=60)
    tr = CompiledTrainer(session(chain((4, "tanh"), (1, "identity"))), dataset=data)
    evs = list(tr.run(epochs=700))
    full = [e.epoch for e in evs if isinstance(e, EpochEnd) and e.val_metrics]
    assert full == [1, 334, 668, 700]
    acc = tr.history.epoch_array("val_acc")
    assert np.flatnonzero(np.isfinite(acc)).tolist() == [0, 333, 667, 699]
    assert np.isfinite(tr.history.epoch_array("val_loss")).all()  # every epoch keeps its losses
    assert [e.step for e in evs if isinstance(e, Stats)] == [1032, 2064, 3090, 4122]
