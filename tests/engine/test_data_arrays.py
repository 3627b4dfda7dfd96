"""Imported data as arrays: shared by copies, hashed once, .npy members in .nnp, and CSV files named by path."""
import copy
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cli import run_cli
from engine.archive import load_archive, save_archive
from engine.data import DataArray, csv_dataset_params, make_dataset, read_csv
from engine.data.arrays import pack, unpack
from engine.errors import InvalidInput, SessionError
from engine.session import Session, load_session, save_session_json

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "tests" / "data" / "csv"


def test_a_data_array_is_immutable_shared_by_copies_and_hashed_by_content():
    a = DataArray(np.arange(6.0).reshape(3, 2))
    assert copy.deepcopy(a) is a and not a.array.flags.writeable
    assert a == DataArray(np.arange(6.0).reshape(3, 2)) and a == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert a != DataArray(np.arange(6.0).reshape(2, 3))  # same bytes, other shape
    assert a != DataArray(np.arange(6, dtype=np.float32).reshape(3, 2))  # same values, other dtype
    assert a.digest in str(a) and len(str(a)) < 200  # what a fingerprint sees: the hash, not the numbers
    src = np.zeros(3)
    DataArray(src)[0]
    src[0] = 5  # the caller's array stays theirs (copied, not frozen)
    with pytest.raises(InvalidInput, match="numbers only"):
        DataArray(np.array(["a"], dtype=object))


def big_session(rows=20_000, cols=10):
    rng = np.random.default_rng(0)
    s = Session()
    s.dataset = {"type": "csv", "params": {"x": DataArray(rng.normal(size=(rows, cols))),
                                           "y": DataArray(rng.integers(0, 3, rows)), "task": "classification",
                                           "source": "big.csv"}}
    return s


def test_copies_and_fingerprints_do_not_walk_the_data():
    s = big_session()
    s.dataset["params"]["x"].digest  # noqa: B018  hashed once
    t = time.perf_counter()
    for _ in range(20):
        c = s.copy()
        key = json.dumps(c.to_dict(), sort_keys=True, default=str)
    per = (time.perf_counter() - t) / 20
    assert c.dataset["params"]["x"] is s.dataset["params"]["x"]
    assert len(key) < 5000 and per < 0.05  # lists: ~0.2 s per copy and fingerprint at this size


def test_archive_stores_arrays_as_npy_members_and_reads_them_back(tmp_path):
    s = big_session(rows=500)
    path = tmp_path / "s.nnp"
    save_archive(path, s)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        doc = json.loads(zf.read("session.json"))
    x_ph = doc["dataset"]["params"]["x"]
    assert x_ph["$npy"] == f"data/{s.dataset['params']['x'].digest}.npy" and x_ph["$npy"] in names
    assert x_ph["shape"] == [500, 10] and len(json.dumps(doc)) < 5000  # no rows in the JSON
    back = load_archive(path).session
    assert back.dataset["params"]["x"] == s.dataset["params"]["x"]
    a, b = make_dataset(back.dataset, 3), make_dataset(s.dataset, 3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_a_damaged_data_member_is_refused(tmp_path):
    s = big_session(rows=50)
    good = tmp_path / "s.nnp"
    save_archive(good, s)
    bad = tmp_path / "bad.nnp"
    name = f"data/{s.dataset['params']['x'].digest}.npy"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == name:
                arr = np.load(__import__("io").BytesIO(data))
                arr[0, 0] += 1.0
                buf = __import__("io").BytesIO()
                np.save(buf, arr)
                data = buf.getvalue()
            dst.writestr(info, data)
    with pytest.raises(SessionError, match="does not match its recorded SHA-256"):
        load_archive(bad)


def test_placeholders_name_only_data_members():
    with pytest.raises(InvalidInput, match="not allowed"):
        unpack({"x": {"$npy": "../weights.safetensors"}}, lambda name: np.zeros(1))
    members = {}
    doc = pack({"x": DataArray([1, 2]), "y": [DataArray([1, 2])]}, members)
    assert len(members) == 1  # equal arrays are stored once
    assert unpack(doc, lambda name: np.load(__import__("io").BytesIO(members[name])))["y"][0] == [1, 2]


def test_json_sessions_write_lists_and_read_back_equal(tmp_path):
    table = read_csv(CSV / "good_string_classes.csv")
    s = Session()
    s.dataset = {"type": "csv", "params": csv_dataset_params(table)}
    path = tmp_path / "s.json"
    save_session_json(s, path)
    doc = json.loads(path.read_text())
    assert doc["dataset"]["params"]["x"][0] == [5.1, 3.5]  # readable by hand and by older builds
    back = load_session(path)
    np.testing.assert_array_equal(make_dataset(back.dataset, 0).x_train, make_dataset(s.dataset, 0).x_train)


# -- a CSV named by path ---------------------------------------------------------------------------
def path_session(tmp_path, csv_text, **params):
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / "data.csv").write_text(csv_text)
    d = json.loads((ROOT / "resources" / "examples" / "circle_playground.json").read_text())
    d["dataset"] = {"type": "csv", "params": {"path": "data.csv", **params}, "split": {"train": 1.0}}
    path = folder / "s.json"
    path.write_text(json.dumps(d))
    return path


IRIS_LIKE = "a,b,label\n" + "\n".join(f"{i % 7}.5,{i % 3}.25,{'yes' if i % 2 else 'no'}" for i in range(40)) + "\n"


def test_a_csv_path_is_read_relative_to_the_session_file(tmp_path, monkeypatch, capsys):
    path = path_session(tmp_path, IRIS_LIKE, target="label", delimiter=",", header=True)
    monkeypatch.chdir(tmp_path)  # not the session's folder
    s = load_session(path)
    p = s.dataset["params"]
    assert p["path"] == "data.csv" and p["task"] == "classification" and p["class_names"] == ["no", "yes"]
    assert p["feature_names"] == ["a", "b"] and p["x"].shape == (40, 2) and p["x"][1].tolist() == [1.5, 1.25]
    assert run_cli(["validate", str(path)]) == 0
    assert run_cli(["train", str(path), "--epochs", "2", "--json"]) == 0
    capsys.readouterr()


def test_a_json_save_keeps_the_path_not_the_rows(tmp_path):
    path = path_session(tmp_path, IRIS_LIKE, target="label")
    s = load_session(path)
    out = path.parent / "again.json"
    save_session_json(s, out)
    params = json.loads(out.read_text())["dataset"]["params"]
    assert params["path"] == "data.csv" and params["target"] == "label" and "x" not in params and "y" not in params
    assert load_session(out).dataset["params"]["x"] == s.dataset["params"]["x"]


def test_an_archive_embeds_the_data_read_from_a_path(tmp_path):
    path = path_session(tmp_path, IRIS_LIKE, target="label")
    s = load_session(path)
    save_archive(tmp_path / "s.nnp", s)
    (path.parent / "data.csv").unlink()  # opens on another machine, without the file
    assert load_archive(tmp_path / "s.nnp").session.dataset["params"]["x"] == s.dataset["params"]["x"]


def test_errors_in_a_csv_named_by_path_name_row_and_column(tmp_path, capsys):
    path = path_session(tmp_path, "a,b,label\n1,2,yes\n3,oops,no\n", target="label")
    assert run_cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "data.csv" in err and "row 3" in err and "column 'b'" in err
    assert "\n" not in err


def test_a_missing_csv_is_one_line(tmp_path, capsys):
    path = path_session(tmp_path, IRIS_LIKE)
    (path.parent / "data.csv").unlink()
    assert run_cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "data.csv" in err and "not found" in err and "\n" not in err


def test_regression_is_detected_from_a_path(tmp_path):
    rows = "\n".join(f"{i},{i * 0.37:.3f}" for i in range(30))
    s = load_session(path_session(tmp_path, "x,y\n" + rows + "\n"))
    assert s.dataset["params"]["task"] == "regression"
    d = make_dataset(s.dataset, 0)
    assert d.task == "regression" and d.y_train.shape == (30, 1)
    assert sorted(d.y_train[:, 0].tolist()) == pytest.approx(sorted(i * 0.37 for i in range(30)), abs=1e-6)


def test_session_keys_that_serialise_the_dataset_take_arrays():
    from engine.notes_figures import figures_for
    from engine.run import structure_key

    s = big_session(rows=30)
    assert figures_for(s) is None  # not a worked example, and no TypeError on the array
    key = structure_key(s)
    assert s.dataset["params"]["x"].digest in key and len(key) < 5000
    other = big_session(rows=31)
    assert structure_key(other) != key
