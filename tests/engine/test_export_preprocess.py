"""Exported models take raw inputs: the dataset's scaling and feature crosses are their first layers.

The reference is independent of the exporters: the trainer's fitted ``preprocess_state`` applied
with ``engine.data.preprocess.apply_preprocess`` (float64 numpy), then the trained network; and
``engine.Run.predict`` where the lead's Run is available. Every format must agree within 1e-5
on raw rows. The iris-like case (4 features on wildly different scales, 3 classes, standardised)
is the one where the old, bare export scored at chance on raw rows.
"""
import importlib.util
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from engine.builder import build_model
from engine.data.preprocess import apply_preprocess
from engine.export import export_name, export_session, load_exportable
from engine.session import Session
from engine.trainer import Trainer

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
TOL = 1e-5
SCALES = np.array([1e-3, 1.0, 50.0, 2e3])  # feature scales five orders of magnitude apart


def iris_like(n=150, seed=0):
    """Three Gaussian classes in 4-D whose features live on very different scales (like cm vs mm vs µm)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    y = np.repeat(np.arange(3), n // 3)
    x = (centres[y] + 0.3 * rng.standard_normal((len(y), 4))) * SCALES + SCALES * 10
    return x.round(6), y


def session(x, y, *, scale="standardize", features=None, n_out=3, loss="cross_entropy", name="iris like"):
    width = 2 if features is None and scale != "none" and x.shape[1] == 2 else x.shape[1]
    in_dim = len(features) if features else x.shape[1]
    s = Session.from_dict({
        "name": name, "seed": 3,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [in_dim]}},
                             {"type": "Dense", "params": {"units": 12, "activation": "tanh"}},
                             {"type": "Dense", "params": {"units": n_out}}, {"type": "Output"}]},
        "dataset": {"type": "inline", "params": {"x": x.tolist(), "y": y.tolist()},
                    "split": {"train": 0.6, "val": 0.2, "test": 0.2},
                    "preprocess": {"scale": scale, "features": features}},
        "loss": loss, "optimizer": {"type": "adam", "params": {"lr": 0.03}},
        "training": {"epochs": 40, "batch_size": 16, "device": "cpu"},
    })
    assert width  # (keeps the helper's signature honest for 2-D data)
    return s


def train(s, epochs=40):
    """(source for export, reference(x_raw) -> logits, raw test inputs, test targets)."""
    try:
        from engine.run import Run
    except ImportError:  # the lead's Run not there yet: the trainer alone
        Run = None
    if Run is not None:
        run = Run(s)
        run.fit(epochs)
        tr = run.trainer
    else:
        run, tr = None, Trainer(s)
        for _ in tr.run(epochs):
            pass

    def reference(x_raw):
        tr.model.eval()
        with torch.no_grad():
            out = tr.model(torch.as_tensor(apply_preprocess(x_raw, tr.data.preprocess_state)))
        if run is not None:  # Run.predict must say the same
            np.testing.assert_allclose(run.predict(x_raw, logits=True), out.numpy(), atol=TOL, rtol=0)
        return out.numpy()

    return (run if run is not None else tr), tr, reference


def raw_rows(tr, n_extra=20, seed=5):
    """The raw test split plus new raw points around the training data (never seen by the scaler)."""
    raw = np.asarray(tr.data.raw["test"], dtype=np.float32)
    rng = np.random.default_rng(seed)
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    extra = (lo + (hi - lo) * rng.random((n_extra, raw.shape[1]))).astype(np.float32)
    return np.concatenate([raw, extra])


def onnx_out(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def torchscript_out(path, x):
    m = torch.jit.load(str(path))
    with torch.no_grad():
        return m(torch.as_tensor(x)).numpy()


def pytorch_out(path, x):
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
        net = mod.load()
        with torch.no_grad():
            return net(torch.as_tensor(x)).numpy()
    finally:
        del sys.modules[spec.name]


def weights_out(path, s, x):
    """Rebuild from the safetensors + JSON pair alone: the JSON's preprocessing in numpy, then the bare net."""
    arch = json.loads(path.with_suffix(".json").read_text())
    pre = arch["preprocess"]
    with safe_open(str(path), "pt") as f:
        assert json.loads(f.metadata()["preprocess"]) == pre  # the same numbers in the safetensors file
    z = np.asarray(x, dtype=np.float64)
    if pre and pre["features"]:
        a, b = z[:, 0], z[:, 1]
        table = {"x1": a, "x2": b, "x1^2": a * a, "x2^2": b * b, "x1*x2": a * b, "sin(x1)": np.sin(a), "sin(x2)": np.sin(b)}
        z = np.stack([table[n] for n in pre["features"]], axis=1)
    shape = z.shape
    z = z.reshape(len(z), -1)  # the numbers are per flattened input, as the JSON says
    if pre and pre["scale"] == "standardize":
        z = (z - np.asarray(pre["mean"])) / np.asarray(pre["std"])
    elif pre and pre["scale"] == "minmax":
        z = (z - np.asarray(pre["min"])) / np.asarray(pre["range"])
    elif pre and pre["scale"] == "pca_whiten":
        z = (z - np.asarray(pre["mean"])) @ np.asarray(pre["components"]).T * np.asarray(pre["scales"])
    z = z.reshape(shape)
    net = build_model(s.graph, seed=0)
    net.load_state_dict(load_file(str(path)))
    net.eval()
    with torch.no_grad():
        return net(torch.as_tensor(z, dtype=torch.float32)).numpy()


def all_formats(src, s, tmp_path, x):
    outs = {}
    outs["onnx"] = onnx_out(export_session(src, "onnx", tmp_path / "m.onnx"), x)
    outs["torchscript"] = torchscript_out(export_session(src, "torchscript", tmp_path / "m.pt"), x)
    from pathlib import Path

    outs["pytorch"] = pytorch_out(Path(export_session(src, "pytorch", tmp_path / "m_src.py")), x)
    outs["safetensors"] = weights_out(Path(export_session(src, "safetensors", tmp_path / "m.safetensors")), s, x)
    return outs


def test_iris_like_standardised_exports_answer_right_on_raw_rows(tmp_path):
    x, y = iris_like()
    s = session(x, y)
    src, tr, reference = train(s)
    xr = raw_rows(tr)
    want = reference(xr)
    yt = tr.data.y_test
    acc = float(np.mean(want[:len(yt)].argmax(1) == yt))
    assert acc >= 0.9  # the trained model itself is good on raw rows through its scaling
    for fmt, got in all_formats(src, s, tmp_path, xr).items():
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=fmt)
    # what the old export did: the bare network fed raw rows; on these scales it is far off
    bare = onnx_out(export_session(src, "onnx", tmp_path / "bare.onnx", bare=True), xr)
    bare_acc = float(np.mean(bare[:len(yt)].argmax(1) == yt))
    assert bare_acc <= 0.7 < acc and np.abs(bare - want).max() > 1.0
    meta = {m.key: m.value for m in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    bare_meta = {m.key: m.value for m in onnx.load(str(tmp_path / "bare.onnx")).metadata_props}
    assert meta["name"] == "iris like" and meta["preprocess_included"] == "true"
    assert bare_meta["preprocess_included"] == "false"
    assert json.loads(bare_meta["preprocess"])["mean"] == tr.data.preprocess_state["mean"]  # what to apply first
    # the bare network on preprocessed rows is the trained network again
    pre = apply_preprocess(xr, tr.data.preprocess_state)
    np.testing.assert_allclose(onnx_out(tmp_path / "bare.onnx", pre), want, atol=TOL, rtol=0)


def test_feature_crosses_and_minmax_are_the_first_layers(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-6, 6, size=(120, 2))
    y = (x[:, 0] ** 2 + x[:, 1] ** 2 < 12).astype(int)
    feats = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    s = session(x.round(4), y, scale="minmax", features=feats, n_out=1, loss="bce_logits", name="circle crosses")
    src, tr, reference = train(s, 20)
    xr = raw_rows(tr)
    assert xr.shape[1] == 2  # raw points go in, the 7 features are computed inside the model
    want = reference(xr)
    for fmt, got in all_formats(src, s, tmp_path, xr).items():
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=fmt)


def test_pca_whitening_matrix_travels_with_the_model(tmp_path):
    rng = np.random.default_rng(2)
    mix = np.array([[3.0, 0.5, 0.0], [0.2, 40.0, 1.0], [0.0, 2.0, 0.01]])
    x = rng.standard_normal((90, 3)) @ mix + [100.0, -5.0, 0.3]
    y = (x[:, 0] > 100).astype(int) + (x[:, 1] > 0).astype(int)
    s = session(x.round(5), y, scale="pca_whiten", name="pca case")
    src, tr, reference = train(s, 15)
    xr = raw_rows(tr)
    want = reference(xr)
    for fmt, got in all_formats(src, s, tmp_path, xr).items():
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=fmt)
    arch = json.loads((tmp_path / "m.json").read_text())
    st = tr.data.preprocess_state
    assert arch["preprocess"]["components"] == st["components"] and arch["preprocess"]["scales"] == st["scales"]
    text = open(export_session(src, "report", tmp_path / "r.html")).read()
    row = f'<tr><td>pc 1</td><td class="num">{st["scales"][0]:.6g}</td><td class="num">{st["components"][0][0]:.6g}</td>'
    assert row in text  # each component with its own scale, not mixed into the per-feature table


def test_report_lists_the_scaling_epochs_trained_and_test_metrics(tmp_path):
    x, y = iris_like(90, seed=4)
    s = session(x, y)
    s.training["epochs"] = 100
    src, tr, _ = train(s, 12)
    html = (tmp_path / "r.html")
    export_session(src, "report", html)
    text = html.read_text()
    assert "Trained for 12 epochs of the 100 set in the training settings." in text
    st = tr.data.preprocess_state
    assert f"{st['mean'][3]:.6g}" in text and f"{st['std'][2]:.6g}" in text and "(x - mean) / std" in text
    # test metrics measured on the test split, against an independent computation
    tr.model.eval()
    with torch.no_grad():
        out = tr.model(torch.as_tensor(tr.data.x_test)).numpy()
    acc = float(np.mean(out.argmax(1) == tr.data.y_test))
    assert "Test metrics" in text and f"<td>test accuracy</td><td class=\"num\">{acc:.6g}</td>" in text


def test_export_names_come_from_the_session_then_the_file(tmp_path):
    x, y = iris_like(60)
    s = session(x, y, name="Untitled")
    assert export_name(s, "", str(tmp_path / "flowers.onnx")) == "flowers"
    assert export_name(s, str(tmp_path / "iris.nnp"), str(tmp_path / "x.onnx")) == "iris"
    s.name = "My iris"
    assert export_name(s, str(tmp_path / "iris.nnp")) == "My iris"
    s.name = "Untitled"
    path = export_session(s, "pytorch", tmp_path / "flowers.py")
    text = open(path).read()
    assert "class Flowers(nn.Module)" in text and "Untitled" not in text
    export_session(s, "safetensors", tmp_path / "flowers.safetensors")
    assert json.loads((tmp_path / "flowers.json").read_text())["name"] == "flowers"


def test_a_session_without_scaling_exports_the_network_unchanged(tmp_path):
    x, y = iris_like(60)
    s = session(x / SCALES, y, scale="none")
    ex = load_exportable(s)
    assert not ex.with_preprocess and ex.export_model() is ex.model
    assert json.loads(json.dumps(None)) is None
    export_session(s, "safetensors", tmp_path / "n.safetensors")
    assert json.loads((tmp_path / "n.json").read_text())["preprocess"] is None


def test_cli_export_bare_flag(tmp_path):
    from cli import run_cli
    from engine.session import save_session_json

    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, size=(40, 2)).round(3)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    s = session(x, y, scale="standardize", features=["x1", "x2", "x1*x2"], n_out=1, loss="bce_logits", name="xor-ish")
    src = tmp_path / "s.json"
    save_session_json(s, src)
    assert run_cli(["export", str(src), "--format", "onnx", "--out", str(tmp_path / "full.onnx")]) == 0
    assert run_cli(["export", str(src), "--format", "onnx", "--out", str(tmp_path / "bare.onnx"), "--bare"]) == 0
    full = ort.InferenceSession(str(tmp_path / "full.onnx"), providers=["CPUExecutionProvider"])
    bare = ort.InferenceSession(str(tmp_path / "bare.onnx"), providers=["CPUExecutionProvider"])
    assert full.get_inputs()[0].shape[1] == 2 and bare.get_inputs()[0].shape[1] == 3  # raw points vs the 3 features
    pts = x[:5].astype(np.float32)
    ex = load_exportable(s)
    z = apply_preprocess(pts, ex.dataset().preprocess_state)
    np.testing.assert_allclose(full.run(None, {"input": pts})[0], bare.run(None, {"input": z})[0], atol=TOL, rtol=0)


def test_image_inputs_keep_their_shape_through_the_scaling(tmp_path):
    """8×8 digits as (1, 8, 8) images, standardised per pixel: the scaling reshapes back before the network."""
    s = Session.from_dict({
        "name": "digits images", "seed": 0,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [1, 8, 8]}}, {"type": "Flatten"},
                             {"type": "Dense", "params": {"units": 16, "activation": "relu"}},
                             {"type": "Dense", "params": {"units": 10}}, {"type": "Output"}]},
        "dataset": {"type": "digits", "params": {"flat": False}, "preprocess": {"scale": "standardize"}},
        "loss": "cross_entropy", "optimizer": {"type": "adam", "params": {"lr": 0.01}},
        "training": {"epochs": 2, "batch_size": 64, "device": "cpu"},
    })
    src, tr, reference = train(s, 2)
    xr = np.asarray(tr.data.raw["test"][:40], dtype=np.float32)
    assert xr.shape[1:] == (1, 8, 8) and xr.max() == 1.0 and xr.min() == 0.0  # raw intensities in [0, 1]
    want = reference(xr)
    for fmt, got in all_formats(src, s, tmp_path, xr).items():
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=fmt)


def test_report_says_when_early_stopping_ended_the_run(tmp_path):
    from engine.archive import save_archive

    x, y = iris_like(90, seed=6)
    s = session(x, y)
    s.training.update(epochs=200, early_stopping={"patience": 2, "monitor": "val_accuracy"})
    tr = Trainer(s)
    fin = list(tr.run())[-1]
    assert fin.reason == "early_stopping"
    for src in (tr, save_archive(tmp_path / "run.nnp", tr.session, tr)):
        text = open(export_session(src, "report", tmp_path / "r.html")).read()
        assert (f"Early stopping ended the run at epoch {tr.early.stopped_epoch} (watching val_accuracy); the exported "
                f"weights are those of its best epoch, {tr.early.best_epoch}.") in text
        assert f"Trained for {tr.epoch} epochs of the 200 set" in text
