"""A trained recurrent network exports to ONNX, TorchScript, PyTorch source and safetensors, each equal to Run.predict."""
import re

import numpy as np
import pytest

from engine.export import export_session
from engine.run import Run
from engine.session import Session
from tests.engine.test_export_preprocess import TOL, all_formats

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def rnn_session():
    """SimpleRNN (PReLU, every hₜ) into an LSTM into Dense, on standardised sine windows: raw inputs need the scaling."""
    return Session.from_dict({
        "name": "rnn export", "seed": 2,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [8, 1]}},
                             {"id": "rnn", "type": "SimpleRNN", "params": {"units": 4, "activation": "prelu",
                                                                          "return_sequences": True}},
                             {"id": "lstm", "type": "LSTM", "params": {"units": 3}},
                             {"id": "head", "type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "sine_next", "params": {"n": 60, "length": 8, "noise": 0.1},
                    "preprocess": {"scale": "standardize"}},
        "loss": "mse", "optimizer": {"type": "adam", "params": {"lr": 0.02}},
        "training": {"epochs": 2, "batch_size": 16, "device": "cpu"},
    })


def test_every_format_equals_run_predict_on_raw_sequences(tmp_path):
    s = rnn_session()
    run = Run(s)
    run.fit(2)
    tr = run.trainer
    assert tr.data.preprocess_state and tr.model.layers["rnn"].act is not None
    rng = np.random.default_rng(9)
    x = np.concatenate([tr.data.raw["test"], rng.normal(0, 1, (5, 8, 1))]).astype(np.float32)
    want = run.predict(x, logits=True)
    assert want.shape == (len(x), 1) and np.ptp(want) > 1e-3
    outs = all_formats(run, s, tmp_path, x)
    assert sorted(outs) == ["onnx", "pytorch", "safetensors", "torchscript"]
    for fmt, got in outs.items():
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0, err_msg=fmt)
    src = (tmp_path / "m_src.py").read_text()
    assert "class SimpleRNN(nn.Module):" in src and "class LSTM(nn.Module):" in src
    assert "self.rnn = SimpleRNN(1, 4, return_sequences=True, act=nn.PReLU(num_parameters=1))" in src
    assert re.search(r"# lstm: LSTM \(units=3, return_sequences=False\) -> \(3,\)", src)
    onnx_batch1 = all_formats(run, s, tmp_path, x[:1])["onnx"]  # the batch axis stays dynamic
    np.testing.assert_allclose(onnx_batch1, want[:1], atol=TOL, rtol=0)


def test_a_saved_nnp_reloads_the_recurrent_weights_and_says_why_it_trains_on_torch(tmp_path):
    run = Run(rnn_session())
    run.fit(1)
    x = np.asarray(run.trainer.data.raw["test"], np.float32)
    path = run.save(tmp_path / "rnn.nnp")
    again = Run(path)
    np.testing.assert_array_equal(again.predict(x, logits=True), run.predict(x, logits=True))
    assert again.weights()["layers.lstm.weight_hh"].shape == (12, 3) and again.epoch == 1
    assert run.engine_path == "torch cpu" and run.compiled_reason == "SimpleRNN layers run on torch"


def test_the_report_names_the_recurrent_layers_and_counts(tmp_path):
    s = rnn_session()
    html = open(export_session(s, "report", tmp_path / "r.html"), encoding="utf-8").read()
    assert "<td>rnn</td><td>SimpleRNN</td>" in html and f'<td class="num">{4 * (1 + 4 + 1) + 1}</td>' in html
    assert "<td>lstm</td><td>LSTM</td>" in html and f'<td class="num">{4 * 3 * (4 + 3 + 1)}</td>' in html


def test_every_layer_type_is_exported_by_some_test():
    """The zoo (tests/engine/test_export.py), its Embedding test and this file together export every registered type."""
    from engine.layers import all_layers
    from tests.engine.test_export import ZOO_NODES

    covered = {n["type"] for n in ZOO_NODES} | {n.type for n in rnn_session().graph.nodes} | {"Embedding"}
    assert sorted(set(all_layers()) - covered) == []
