"""engine.runs: records of trainings, what differs between them, and their .nnp members."""
import io
import json
import zipfile

import numpy as np
import pytest

from engine import Run
from engine.archive import load_archive, save_archive
from engine.errors import SessionError
from engine.runs import RunRecord, diff_settings, differing_paths, legend_labels

from tests.engine.experiments_helpers import tiny


def test_diff_names_each_difference_with_both_values():
    a, b = tiny(lr=0.03).to_dict(), tiny(lr=0.1, seed=3).to_dict()
    assert sorted(diff_settings(a, b)) == ["lr 0.03 vs 0.1", "seed 0 vs 3"]
    assert diff_settings(a, a) == []


def test_a_default_spelled_out_is_no_difference():
    a = tiny().to_dict()
    b = tiny().to_dict()
    b["optimizer"] = {"type": "sgd", "params": {"lr": 0.1}}
    b["loss"] = {"type": "bce_logits", "params": {}}
    assert diff_settings(a, b) == []
    c = tiny().to_dict()
    c["optimizer"] = {"type": "sgd"}  # the default lr is 0.01, not the session's 0.1: a real difference
    assert diff_settings(a, c) == ["lr 0.1 vs 0.01"]


def test_graph_and_optimizer_type_differences_are_named():
    a, b = tiny(units=4).to_dict(), tiny(units=8).to_dict()
    b["optimizer"] = {"type": "adam", "params": {"lr": 0.1}}
    d = diff_settings(a, b)
    assert "h.units 4 vs 8" in d and "optimizer sgd vs adam" in d
    assert all("beta" not in x or "—" in x for x in d)


def test_legend_labels_name_only_what_differs():
    recs = [RunRecord("a", tiny(lr=0.03).to_dict()), RunRecord("b", tiny(lr=0.1).to_dict()),
            RunRecord("c", tiny(lr=0.3).to_dict())]
    assert legend_labels(recs) == ["lr 0.03", "lr 0.1", "lr 0.3"]
    same = [RunRecord("first", tiny().to_dict()), RunRecord("second", tiny().to_dict())]
    assert legend_labels(same) == ["first", "second"]  # identical settings: the names
    assert differing_paths([tiny().to_dict(), tiny(batch=10).to_dict()]) == ["training.batch_size"]


@pytest.fixture(scope="module")
def trained():
    run = Run(tiny(epochs=3), path="torch")
    run.fit()
    return run


def test_record_from_run_holds_its_curves_metrics_and_weights(trained):
    rec = RunRecord.from_run(trained, "first", keep_weights=True)
    h = trained.history
    for k in ("train_loss", "val_loss", "lr"):
        np.testing.assert_array_equal(rec.curves[k], h.epoch_array(k))
    assert len(rec.curves["train_loss"]) == 3 == rec.epochs
    assert rec.steps == trained.step == 3 * 3  # 42 training samples (70 % of 60), batch 20: 3 steps an epoch
    ev = trained.evaluate("val")
    assert rec.metrics["val"]["accuracy"] == pytest.approx(ev["accuracy"])
    assert rec.metrics["val"]["loss"] == pytest.approx(ev["loss"])
    w = trained.weights()
    assert set(rec.weights) == set(w) and all(np.array_equal(rec.weights[k], w[k]) for k in w)
    assert rec.score() == ("accuracy", pytest.approx(ev["accuracy"]))
    assert rec.session().optimizer["params"]["lr"] == 0.1


def test_runs_round_trip_through_the_archive(tmp_path, trained):
    recs = [RunRecord.from_run(trained, "kept", keep_weights=True), RunRecord("settings only", tiny(lr=0.3).to_dict())]
    path = str(tmp_path / "s.nnp")
    save_archive(path, tiny(), None, runs=recs)
    back = load_archive(path).runs
    assert [r.name for r in back] == ["kept", "settings only"]
    assert back[0].settings == recs[0].settings and back[0].epochs == 3 and back[0].steps == trained.step
    for k in recs[0].curves:
        np.testing.assert_array_equal(back[0].curves[k], recs[0].curves[k])
    assert all(np.array_equal(back[0].weights[k], recs[0].weights[k]) for k in recs[0].weights)
    assert back[0].metrics == recs[0].metrics
    assert back[1].weights is None and back[1].curves["train_loss"].size == 0
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert "runs/index.json" in names and "runs/0000-weights.safetensors" in names
    assert "runs/0001-weights.safetensors" not in names


def test_an_archive_without_runs_loads_with_none(tmp_path):
    path = str(tmp_path / "old.nnp")
    save_archive(path, tiny(), None)
    assert load_archive(path).runs == []


def _rewrite(path, name, data):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[name] = data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def test_damaged_run_members_are_refused_by_name(tmp_path):
    path = str(tmp_path / "s.nnp")
    save_archive(path, tiny(), None, runs=[RunRecord("a", tiny().to_dict())])
    _rewrite(path, "runs/index.json", b"{not json")
    with pytest.raises(SessionError, match="runs/index.json is not valid JSON"):
        load_archive(path)
    doc = {"runs": [{"name": "a", "settings": tiny().to_dict(), "curves": "../../etc/passwd"}]}
    _rewrite(path, "runs/index.json", json.dumps(doc).encode())
    with pytest.raises(SessionError, match="not allowed"):
        load_archive(path)


def test_runs_on_imported_data_share_the_data_member(tmp_path):
    from engine.data import csv_dataset_params, read_csv

    rows = "a,b,y\n" + "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(40)) + "\n"
    (tmp_path / "t.csv").write_text(rows)
    s = tiny()
    s.dataset = {"type": "csv", "params": csv_dataset_params(read_csv(str(tmp_path / "t.csv")))}
    path = str(tmp_path / "s.nnp")
    save_archive(path, s, None, runs=[RunRecord("a", s.to_dict()), RunRecord("b", s.to_dict())])
    with zipfile.ZipFile(path) as zf:
        data = [n for n in zf.namelist() if n.startswith("data/")]
    assert len(data) == 2  # x and y once, shared by the session and both runs
    back = load_archive(path).runs
    assert np.array_equal(np.asarray(back[1].settings["dataset"]["params"]["x"]), np.asarray(s.dataset["params"]["x"]))
