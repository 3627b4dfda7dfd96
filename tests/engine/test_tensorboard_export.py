"""TensorBoard export, read back with TensorBoard's own event reader."""
import numpy as np
import pytest

from engine import Run
from engine.errors import InvalidInput
from engine.session import Session

pytest.importorskip("tensorboard")


def _run():
    s = Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h", "type": "Dense", "params": {"units": 5, "activation": "tanh"}},
                             {"id": "o", "type": "Dense", "params": {"units": 1}}]},
        "dataset": {"type": "circle", "params": {"n": 60, "noise": 0.1}},
        "loss": "bce_logits", "optimizer": {"type": "adam", "params": {"lr": 0.05}},
        "training": {"epochs": 3, "batch_size": 10, "stats_every": 2}})
    run = Run(s, path="torch")
    run.fit()
    return run


def test_scalars_histograms_and_graph_read_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from engine.tensorboard_export import export_tensorboard

    run = _run()
    out = export_tensorboard(run, tmp_path / "tb")
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    h = run.history
    got = [e.value for e in acc.Scalars("epoch/train_loss")]
    np.testing.assert_allclose(got, h.epoch_array("train_loss"), rtol=1e-6)
    assert [e.step for e in acc.Scalars("epoch/val_loss")] == [1, 2, 3]
    xs, ys = h.step_loss.data()
    np.testing.assert_allclose([e.value for e in acc.Scalars("step/loss")], ys, rtol=1e-6)
    assert [e.step for e in acc.Scalars("step/loss")] == [int(x) for x in xs]
    w = run.weights()["layers.h.weight"].astype(np.float64)
    (hv,) = acc.Histograms("weights/h.weight")
    assert hv.step == run.step and hv.histogram_value.num == w.size
    assert hv.histogram_value.sum == pytest.approx(w.sum(), rel=1e-6)
    assert hv.histogram_value.min == pytest.approx(w.min()) and hv.histogram_value.max == pytest.approx(w.max())
    assert "norm/h.weight" in tags["scalars"] and "grad_norm/o.weight" in tags["scalars"]
    assert out["graph"] == "traced" and tags["graph"]
    # a second export adds a new events file beside the first, replacing nothing
    before = sorted(p.name for p in (tmp_path / "tb").iterdir())
    export_tensorboard(run, tmp_path / "tb")
    after = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert set(before) < set(after)


def test_refuses_a_file_as_logdir(tmp_path):
    from engine.tensorboard_export import export_tensorboard

    f = tmp_path / "x.txt"
    f.write_text("mine")
    with pytest.raises(InvalidInput, match="is a file, not a folder"):
        export_tensorboard(_run(), f)
    assert f.read_text() == "mine"


def test_without_tensorboard_the_export_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    from engine.tensorboard_export import export_tensorboard

    real = builtins.__import__

    def no_tb(name, *a, **k):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tb)
    with pytest.raises(InvalidInput, match=r"needs the tensorboard package: pip install"):
        export_tensorboard(_run(), tmp_path / "tb")
    assert not (tmp_path / "tb").exists()
