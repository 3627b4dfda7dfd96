"""Every export of a multi-label network answers raw inputs as ``Run.predict`` does: P(label j) per label.

A sigmoid output exports the probabilities themselves; a ``bce_logits`` network exports raw scores whose
sigmoid is ``Run.predict``. The scaling travels with the model (raw rows in), and the HTML report lists the
multi-label test metrics (subset accuracy, Hamming loss) measured independently here.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.export import export_session
from engine.run import Run
from engine.session import Session
from tests.engine.test_export_preprocess import all_formats

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "multi_label_playground.json"


def trained(tmp_path, out_act="sigmoid", loss="bce", epochs=6):
    doc = json.loads(EXAMPLE.read_text())
    doc["graph"]["layers"][2]["params"]["activation"] = out_act
    doc["loss"] = {"type": loss, "params": {}}
    doc["training"]["epochs"] = epochs
    s = Session.from_dict(doc)
    run = Run(s, path="torch")
    run.fit()
    return run, s, run.save(str(tmp_path / "ml.nnp"))


def raw_rows(run):
    rng = np.random.default_rng(0)
    return np.concatenate([run.trainer.data.raw_x("test"), rng.uniform(-6, 6, (25, 2))]).astype(np.float32)


@pytest.mark.parametrize("out_act,loss", [("sigmoid", "bce"), ("identity", "bce_logits")])
def test_every_export_gives_the_label_probabilities_of_run_predict(tmp_path, out_act, loss):
    run, s, src = trained(tmp_path, out_act, loss)
    x = raw_rows(run)
    want = run.predict(x)
    assert want.shape == (len(x), 3) and not np.allclose(want.sum(axis=1), 1.0)  # independent labels
    for fmt, out in all_formats(src, s, tmp_path, x).items():
        got = out if loss == "bce" else 1 / (1 + np.exp(-out))
        np.testing.assert_allclose(got, want, atol=2e-5, err_msg=fmt)


def test_report_lists_the_multilabel_test_metrics(tmp_path):
    run, s, src = trained(tmp_path)
    html = Path(export_session(src, "report", tmp_path / "r.html")).read_text()
    d = run.trainer.data
    pred = (run.predict(d.raw_x("test")) >= 0.5).astype(int)
    y = d.y_test.astype(int)
    exact = np.mean([(pred[i] == y[i]).all() for i in range(len(y))])
    wrong = np.mean(pred != y)
    assert f'<td>test subset_accuracy</td><td class="num">{exact:.6g}</td>' in html
    assert f'<td>test hamming_loss</td><td class="num">{wrong:.6g}</td>' in html
