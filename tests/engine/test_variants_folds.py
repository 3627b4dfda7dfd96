"""engine.variants (side-by-side runs) and engine.folds (cross-validation as Runs)."""
import numpy as np
import pytest

from engine import Run
from engine.errors import InvalidInput
from engine.folds import FoldRuns
from engine.variants import VariantSet, boundary_grid, data_extent, parse_value, variant_sessions, with_variant
from tests.engine.experiments_helpers import tiny


def test_each_setting_changes_exactly_what_it_names():
    s = tiny(lr=0.1)
    assert with_variant(s, "lr", 0.3).optimizer["params"]["lr"] == 0.3
    adam = with_variant(s, "optimizer", "adam").optimizer
    assert adam["type"] == "adam" and adam["params"]["lr"] == 0.1  # the same step size
    assert with_variant(s, "seed", 7).seed == 7
    assert with_variant(s, "batch_size", 5).training["batch_size"] == 5
    act = with_variant(s, "activation", "relu").graph
    assert act.node("h").params["activation"] == "relu"
    assert "activation" not in act.node("out").params  # the output layer keeps its own
    init = with_variant(s, "initializer", "he_normal").graph
    assert init.node("h").init["weight"]["type"] == "he_normal" and init.node("out").init["weight"]["type"] == "he_normal"
    assert s.optimizer["params"]["lr"] == 0.1 and s.graph.node("h").params["activation"] == "tanh"  # untouched


@pytest.mark.parametrize("setting, values, frag", [
    ("lr", [0.1], "2 to 16 values"), ("lr", [0.1 * i for i in range(1, 18)], "2 to 16 values"),
    ("lr", [0.1, 0.1], "must differ"), ("optimizer", ["sgd", "nosuch"], "nosuch"), ("colour", [1, 2], "vary one of")])
def test_bad_variants_are_refused(setting, values, frag):
    with pytest.raises(InvalidInput, match=frag):
        variant_sessions(tiny(), setting, values)


def test_parse_value_refuses_nonsense():
    assert parse_value("lr", " 0.03 ") == 0.03 and parse_value("seed", "4") == 4
    for setting, text in (("lr", "-1"), ("lr", "fast"), ("batch_size", "0"), ("seed", "x")):
        with pytest.raises(InvalidInput):
            parse_value(setting, text)


def test_variants_trained_together_equal_each_trained_alone():
    """Interleaved in one thread, no run disturbs another: each history is the lone run's, bit for bit."""
    s = tiny(epochs=3)
    vs = VariantSet(s, "lr", [0.03, 0.3], path="torch")
    order = [i for i, ev in vs.events() if type(ev).__name__ == "EpochEnd"]
    assert order == [0, 1, 0, 1, 0, 1]  # level: one epoch each in turn
    for lr, run in zip((0.03, 0.3), vs.runs):
        alone = Run(with_variant(s, "lr", lr), path="torch")
        alone.fit()
        np.testing.assert_array_equal(run.history.epoch_array("train_loss"), alone.history.epoch_array("train_loss"))
        w, wa = run.weights(), alone.weights()
        assert all(np.array_equal(w[k], wa[k]) for k in w)
    assert vs.labels == ["lr 0.03", "lr 0.3"]
    a, b = vs.curves("train_loss")
    assert len(a) == 3 and not np.array_equal(a, b)


def test_boundary_grid_is_the_runs_prediction_on_the_grid():
    vs = VariantSet(tiny(epochs=1), "seed", [0, 1], path="torch")
    vs.fit()
    run = vs.runs[1]
    ext = data_extent(run)
    raw = np.concatenate([run.data.raw_x(s) for s in ("train", "val", "test")])
    assert ext[0] < raw[:, 0].min() and ext[1] > raw[:, 0].max()
    grid = boundary_grid(run, ext, n=7)
    gx, gy = np.meshgrid(np.linspace(ext[0], ext[1], 7), np.linspace(ext[2], ext[3], 7))
    import torch

    tr = run.trainer
    from engine.data.preprocess import apply_preprocess

    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    if tr.data.preprocess_state:
        pts = apply_preprocess(pts, tr.data.preprocess_state)
    with torch.no_grad():
        tr.model.eval()
        p = torch.sigmoid(tr.model(torch.as_tensor(pts))).numpy()[:, 0]
    np.testing.assert_allclose(grid.ravel(), p, rtol=1e-5, atol=1e-6)


def test_a_failing_variant_does_not_stop_the_others():
    s = tiny(epochs=1)
    vs = VariantSet(s, "batch_size", [10, 20], path="torch")
    vs.runs[0].session.training = dict(vs.runs[0].session.training, batch_size="x")  # breaks its build
    out = vs.fit()
    assert isinstance(out[0], Exception) and type(out[1]).__name__ == "Finished"


def test_fold_runs_match_crossval_on_the_same_folds():
    """The Runs' folds score exactly as engine.crossval's Trainer loop on the same folds (torch path)."""
    from engine.crossval import cross_validate

    s = tiny(n=60, epochs=2)
    fr = FoldRuns(s, 3, path="torch")
    summary = fr.fit()
    ref = cross_validate(s, 3)
    assert summary["metric"] == "accuracy" and summary["k"] == 3
    for f, r in zip(summary["folds"], ref["folds"]):
        assert f["n_val"] == r["n_val"] and f["accuracy"] == pytest.approx(r["accuracy"])
        assert f["val_loss"] == pytest.approx(r["val_loss"], rel=1e-5)
    accs = [f["accuracy"] for f in summary["folds"]]
    assert summary["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert summary["std"]["accuracy"] == pytest.approx(np.std(accs))
    assert sum(f["n_val"] for f in summary["folds"]) == 51  # train + val pool (85 % of 60), each validated once


def test_fold_runs_refuse_a_bad_k():
    with pytest.raises(InvalidInput, match="k ≥ 2"):
        FoldRuns(tiny(), 1)


def test_variants_on_two_threads_equal_each_trained_alone():
    s = tiny(epochs=3)
    vs = VariantSet(s, "seed", [0, 1, 2], path="torch")
    last = {}
    ends = {0: 0, 1: 0, 2: 0}
    for i, ev in vs.events(threads=2):
        last[i] = ev
        ends[i] += type(ev).__name__ == "EpochEnd"
    assert ends == {0: 3, 1: 3, 2: 3} and all(type(ev).__name__ == "Finished" for ev in last.values())
    for seed, run in zip((0, 1, 2), vs.runs):
        alone = Run(with_variant(s, "seed", seed), path="torch")
        alone.fit()
        w, wa = run.weights(), alone.weights()
        assert all(np.array_equal(w[k], wa[k]) for k in w)


def _stream(vs, **kw):
    """Each run's events as (type, epoch, step) rows, and the (index, event) pairs in arrival order."""
    rows, pairs = {}, []
    for i, ev in vs.events(**kw):
        pairs.append((i, ev))
        rows.setdefault(i, []).append((type(ev).__name__, getattr(ev, "epoch", None), getattr(ev, "first_step", None),
                                       getattr(ev, "train_loss", None)))
    return rows, pairs


def test_threaded_variants_give_each_run_its_own_stream_in_order_and_keep_a_failure_to_its_run():
    """Three threads, four runs on the compiled path (auto): each run's events are its single-threaded stream,
    one run failing mid-way yields its exception once and the others finish."""
    s = tiny(epochs=6, batch=5)
    alone, _ = _stream(VariantSet(s, "seed", [0, 1, 2, 3]))
    vs = VariantSet(s, "seed", [0, 1, 2, 3])
    vs.runs[2].build()
    real = vs.runs[2].events

    def failing(epochs=None, **kw):
        for ev in real(epochs, **kw):
            yield ev
            if type(ev).__name__ == "EpochEnd" and ev.epoch == 2:
                raise RuntimeError("variant 2 broke")

    vs.runs[2].events = failing
    rows, pairs = _stream(vs, threads=3)
    assert vs.runs[0].engine_path == "compiled"
    for i in (0, 1, 3):
        assert rows[i] == alone[i] and rows[i][-1][0] == "Finished"
        assert [r[1] for r in rows[i] if r[0] == "EpochEnd"] == [1, 2, 3, 4, 5, 6]
    assert rows[2][:-1] == alone[2][:len(rows[2]) - 1] and rows[2][-1][0] == "RuntimeError"
    assert sum(isinstance(ev, Exception) for _, ev in pairs) == 1
    assert rows[0] != rows[1]  # different seeds: the comparison is not between equal streams


def test_closing_the_threaded_stream_leaves_no_helper_running():
    import threading

    vs = VariantSet(tiny(epochs=10_000, batch=5), "seed", [0, 1, 2])
    before = threading.active_count()
    it = vs.events(threads=3)
    for _, ev in it:
        if type(ev).__name__ == "EpochEnd" and ev.epoch == 3:
            break
    it.close()
    assert threading.active_count() == before
    assert all(r.epoch < 10_000 for r in vs.runs)
