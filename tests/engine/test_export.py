"""Exports reproduce the network's outputs: ONNX (onnxruntime), TorchScript, safetensors, generated PyTorch source; plus the report."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

from cli import run_cli
from engine.archive import save_archive
from engine.errors import InvalidInput, SessionError
from engine.export import export_session, load_exportable
from engine.export.svg_chart import Line, frame_for, line_chart, nice_range
from engine.session import Session, save_session_json
from engine.trainer import Trainer

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

ZOO_NODES = [
    {"id": "input", "type": "Input", "params": {"shape": [16]}},
    {"id": "d1", "type": "Dense", "params": {"units": 8, "activation": "maxout", "activation_params": {"pieces": 2}}},
    {"id": "d2", "type": "Dense", "params": {"units": 8, "activation": "step", "activation_params": {"grad": "ste"}}},
    {"id": "act", "type": "Activation", "params": {"activation": "prelu"}},
    {"id": "sg", "type": "Activation", "params": {"activation": "sign", "activation_params": {"grad": "ste"}}},
    {"id": "add", "type": "Add"},
    {"id": "drop", "type": "Dropout", "params": {"p": 0.5, "mode": "weight_scaling"}},
    {"id": "bn", "type": "BatchNorm"},
    {"id": "rs", "type": "Reshape", "params": {"shape": [1, 4, 4]}},
    {"id": "conv", "type": "Conv2d", "params": {"filters": 2, "kernel_size": 3, "padding": 1, "activation": "relu"}},
    {"id": "pool", "type": "MaxPool", "params": {"pool_size": 2}},
    {"id": "flat", "type": "Flatten"},
    {"id": "ln", "type": "LayerNorm"},
    {"id": "cat", "type": "Concatenate"},
    {"id": "rs1", "type": "Reshape", "params": {"shape": [2, 8]}},
    {"id": "c1", "type": "Conv1d", "params": {"filters": 3, "kernel_size": 3, "activation": "elu"}},
    {"id": "ap", "type": "AvgPool", "params": {"pool_size": 2}},
    {"id": "f2", "type": "Flatten"},
    {"id": "drop2", "type": "Dropout", "params": {"p": 0.2}},
    {"id": "out", "type": "Dense", "params": {"units": 3}},
    {"id": "output", "type": "Output"},
]
ZOO_EDGES = [("input", "d1"), ("input", "d2"), ("d1", "act"), ("act", "add"), ("d2", "sg"), ("sg", "add"), ("add", "drop"),
             ("drop", "bn"), ("input", "rs"), ("rs", "conv"), ("conv", "pool"), ("pool", "flat"), ("flat", "ln"),
             ("bn", "cat"), ("ln", "cat"), ("cat", "rs1"), ("rs1", "c1"), ("c1", "ap"), ("ap", "f2"),
             ("f2", "drop2"), ("drop2", "out"), ("out", "output")]
# by hand: d1 16·16+16, d2 16·8+8, PReLU 1, BatchNorm 2·8, Conv2d 2·1·9+2, LayerNorm 2·8, Conv1d 3·2·3+3, out 9·3+3
ZOO_PARAMS = 272 + 136 + 1 + 16 + 20 + 16 + 21 + 30


def _zoo_session():
    s = Session()
    s.name = "zoo net"
    s.graph = s.graph.from_dict({"nodes": ZOO_NODES, "edges": [{"from": a, "to": b} for a, b in ZOO_EDGES]})
    rng = np.random.default_rng(0)
    s.dataset = {"type": "inline", "params": {"x": rng.normal(size=(30, 16)).round(3).tolist(),
                                              "y": rng.integers(0, 3, size=30).tolist()},
                 "split": {"train": 0.7, "val": 0.3}}
    s.loss = {"type": "cross_entropy", "params": {}}
    s.optimizer = {"type": "adam", "params": {"lr": 0.01}}
    s.training = {"epochs": 2, "batch_size": 7, "device": "cpu"}  # 21 training samples: no batch of 1 for BatchNorm
    return s


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A trained zoo network (BatchNorm statistics moved by training), saved as .nnp; returns (trainer, path)."""
    tr = Trainer(_zoo_session())
    for _ in tr.run(2):
        pass
    tr.model.eval()
    path = tmp_path_factory.mktemp("zoo") / "zoo.nnp"
    save_archive(path, tr.session, tr)
    assert not torch.equal(tr.model.layers["bn"].running_mean, torch.zeros(8))
    return tr, str(path)


def _ref(tr, x):
    with torch.no_grad():
        return tr.model.eval()(x).numpy()


def test_onnx_matches_torch_for_batch_1_and_7(zoo, tmp_path):
    tr, path = zoo
    out = export_session(path, "onnx", tmp_path / "zoo.onnx")
    assert out == str(tmp_path / "zoo.onnx")
    model = onnx.load(out)
    assert model.opset_import[0].version >= 17
    assert model.graph.input[0].name == "input" and model.graph.output[0].name == "output"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    x = torch.randn(7, 16, generator=torch.Generator().manual_seed(1))
    ref = _ref(tr, x)
    for b in (1, 7):
        got = sess.run(None, {"input": x[:b].numpy()})[0]
        assert got.shape == (b, 3)
        np.testing.assert_allclose(got, ref[:b], atol=1e-5, rtol=0)


def test_torchscript_reloads_and_matches(zoo, tmp_path):
    tr, path = zoo
    out = export_session(path, "torchscript", tmp_path / "zoo.pt")
    ts = torch.jit.load(out)
    x = torch.randn(7, 16, generator=torch.Generator().manual_seed(2))
    ref = _ref(tr, x)
    for b in (1, 7):
        np.testing.assert_allclose(ts(x[:b]).detach().numpy(), ref[:b], atol=1e-6, rtol=0)


def test_safetensors_weights_and_architecture(zoo, tmp_path):
    tr, path = zoo
    out = export_session(path, "safetensors", tmp_path / "zoo.safetensors")
    w = load_file(out)
    sd = tr.model.state_dict()
    assert sorted(w) == sorted(sd)
    assert all(torch.equal(w[k], sd[k]) for k in sd)
    arch = json.loads((tmp_path / "zoo.json").read_text())
    assert arch["input_shape"] == [16] and arch["output_shape"] == [3] and arch["trained"] is True
    assert arch["total_params"] == ZOO_PARAMS == sum(v.numel() for v in tr.model.parameters())
    assert arch["tensors"]["layers.d1.weight"] == {"shape": [16, 16], "dtype": "float32"}
    nodes = {n["id"]: n for n in arch["nodes"]}
    assert nodes["pool"]["shape"] == [2, 2, 2] and nodes["c1"]["shape"] == [3, 6] and nodes["cat"]["inputs"] == ["bn", "ln"]
    assert Session.from_dict({"graph": arch["graph"]}).graph.to_dict() == tr.session.graph.to_dict()


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{abs(hash(str(path)))}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pytorch_source_is_standalone_and_matches(zoo, tmp_path):
    tr, path = zoo
    out = export_session(path, "pytorch", tmp_path / "zoo_net.py")
    src = open(out).read()
    assert not re.search(r"^\s*(import|from)\s+(engine|cli|gui)\b", src, re.M)
    assert "class ZooNet(nn.Module):" in src
    for node in ZOO_NODES:
        assert f"# {node['id']}: {node['type']}" in src  # a comment names each node
    assert "self.d1 = nn.Linear(16, 16, bias=True)" in src and "self.d1_act = Maxout(pieces=2)" in src
    assert "h_add = h_act + h_sg" in src and "Step(grad='ste', low=-1.0)" in src and "torch.cat([h_bn, h_ln], dim=1)" in src
    net = _import(out).load()
    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(net(x).detach().numpy(), _ref(tr, x), atol=1e-6, rtol=0)
    # the straight-through step passes the same gradient as the engine's autograd function
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    net.d2_act(net.d2(xa)).sum().backward()
    tr.model.layers["d2"](xb).sum().backward()
    assert xa.grad.abs().sum() > 0 and torch.allclose(xa.grad, xb.grad, atol=1e-6)
    tr.model.zero_grad(set_to_none=True)


def test_pytorch_source_runs_without_the_project(zoo, tmp_path):
    _, path = zoo
    export_session(path, "pytorch", tmp_path / "net.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-I", "net.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ZooNet(" in r.stdout and "tensor([[" in r.stdout


def test_embedding_network_exports(tmp_path):
    s = Session()
    s.graph = s.graph.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [4]}},
        {"id": "emb", "type": "Embedding", "params": {"num_embeddings": 10, "embedding_dim": 3}},
        {"id": "flat", "type": "Flatten"},
        {"id": "head", "type": "Dense", "params": {"units": 2, "activation": "softmax"}},
    ]})
    x = torch.tensor([[0, 1, 2, 3], [9, 8, 7, 6], [5, 5, 5, 5]], dtype=torch.float32)
    ex = load_exportable(s)
    with torch.no_grad():
        ref = ex.model(x).numpy()
    sess = ort.InferenceSession(export_session(s, "onnx", tmp_path / "e.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], ref, atol=1e-6, rtol=0)
    net = _import(export_session(s, "pytorch", tmp_path / "emb_net.py")).load()
    np.testing.assert_allclose(net(x).detach().numpy(), ref, atol=1e-7, rtol=0)
    assert np.allclose(ref.sum(axis=1), 1.0)


def test_untrained_session_exports_initial_weights(tmp_path):
    from engine.builder import build_model

    s = Session()
    save_session_json(s, tmp_path / "s.json")
    ts = torch.jit.load(export_session(str(tmp_path / "s.json"), "torchscript", tmp_path / "s.pt"))
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(ts(x).detach().numpy(), build_model(s.graph, seed=s.seed)(x).detach().numpy(), atol=1e-7)
    html = open(export_session(str(tmp_path / "s.json"), "report", tmp_path / "s.html"), encoding="utf-8").read()
    assert "Not trained yet" in html and "<svg" not in html


def test_report_is_self_contained_with_numbers_and_curves(zoo, tmp_path):
    tr, path = zoo
    html = open(export_session(path, "report", tmp_path / "r.html"), encoding="utf-8").read()
    assert "<script" not in html.lower() and not re.search(r"(src|href)\s*=", html)
    assert "<h1>zoo net</h1>" in html and "Trained for 2 epochs." in html
    h = tr.history
    assert f"<td>final train loss</td><td class=\"num\">{h.epochs['train_loss'][-1]:.6g}</td>" in html
    assert f"<td>final val acc</td><td class=\"num\">{h.epochs['val_acc'][-1]:.6g}</td>" in html
    assert f'<b>{ZOO_PARAMS}</b>' in html
    assert "<td>d1</td><td>Dense</td><td>units=8, activation=maxout</td><td>(8,)</td><td class=\"num\">272</td>" in html
    assert "<code>adam</code>" in html and "(30 values embedded)" in html
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    titles = [ET.fromstring(s).find("{http://www.w3.org/2000/svg}title").text for s in svgs]
    assert titles == ["Loss", "Accuracy", "Learning rate", "Loss per step"]
    loss = ET.fromstring(svgs[0])
    lines = {p.get("data-series"): p for p in loss.iter("{http://www.w3.org/2000/svg}polyline")}
    assert len(lines["train"].get("points").split()) == 2 == len(lines["validation"].get("points").split())


def test_svg_chart_maps_points_linearly_and_breaks_at_nan():
    lines = [Line("a", [0, 1, 2, 3, 4, 5], [0.0, 0.5, float("nan"), 1.0, 0.25, 0.75]), Line("b", [0, 1], [np.float32(0.5), None])]
    f = frame_for(lines)
    assert (f.x0, f.x1, f.y0, f.y1, f.y_step) == (0, 5, 0.0, 1.0, 0.2)
    svg = ET.fromstring(line_chart(lines, title="t"))
    ns = "{http://www.w3.org/2000/svg}"
    polys = [p for p in svg.iter(f"{ns}polyline")]
    assert [p.get("data-series") for p in polys] == ["a", "a"]
    first = [tuple(map(float, pt.split(","))) for pt in polys[0].get("points").split()]
    assert first[0] == pytest.approx((f.left, f.top + f.height)) and first[1] == pytest.approx(
        (f.left + f.width / 5, f.top + f.height / 2))
    circle = svg.find(f"{ns}circle")  # "b" has a single finite point
    assert circle.get("data-series") == "b" and float(circle.get("cy")) == pytest.approx(f.top + f.height / 2, abs=0.01)
    labels = [t.text for t in svg.iter(f"{ns}text")]
    assert ["0", "0.2", "0.4", "0.6", "0.8", "1.0"] == [x for x in labels if x and x[0].isdigit()][:6]
    assert nice_range(0.13, 0.87) == (0.0, 1.0, 0.2) and nice_range(2.0, 2.0) == pytest.approx((1.8, 2.2, 0.1))
    assert "no data yet" in line_chart([Line("x", [], [])], title="empty")
    acc = frame_for([Line("acc", [1, 2], [0.42, 0.61])], y_range=(0.0, 1.0))
    assert (acc.y0, acc.y1) == (0.0, 1.0)


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(SessionError, match="cannot open"):
        export_session(str(tmp_path / "missing.nnp"), "onnx", tmp_path / "x.onnx")
    with pytest.raises(InvalidInput, match="unknown export format 'keras'; choose one of: onnx, torchscript"):
        export_session(Session(), "keras", tmp_path / "x")
    with pytest.raises(InvalidInput, match=re.escape(f"the folder {tmp_path / 'nowhere'} does not exist")):
        export_session(Session(), "onnx", tmp_path / "nowhere" / "x.onnx")
    (tmp_path / "junk.nnp").write_bytes(b"not a zip")
    assert run_cli(["export", str(tmp_path / "junk.nnp"), "--format", "onnx", "--out", str(tmp_path / "o.onnx")]) == 2
    assert "junk.nnp is not a valid .nnp archive" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()
