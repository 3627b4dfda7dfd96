"""engine.data.export_csv: the dataset with its split, raw features and target as one CSV table."""
import csv

import numpy as np
import pytest

from engine.data import DATASETS, make_dataset
from engine.data.export_csv import dataset_csv_text, dataset_table, export_dataset_csv
from engine.errors import InvalidInput


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_hand_written_points_come_back_exactly():
    spec = {"type": "inline", "params": {"x": [[1, 0], [0, 1], [1, 1], [0, 0]], "y": [1, 1, 0, 0],
                                         "class_names": ["same", "different"], "feature_names": ["a", "b"]}}
    ds = make_dataset(spec, seed=3)
    text = dataset_csv_text(ds)
    lines = text.splitlines()
    assert lines[0] == "split,a,b,target"
    # every point is for training (inline data default to 1/0/0); the order follows the seeded split
    assert sorted(lines[1:]) == ["train,0,0,same", "train,0,1,different", "train,1,0,different", "train,1,1,same"]


def test_generated_data_keep_raw_features_split_and_class_names(tmp_path):
    spec = {"type": "circle", "params": {"n": 60, "noise": 0.1},
            "split": {"train": 0.5, "val": 0.25, "test": 0.25},
            "preprocess": {"scale": "standardize", "features": ["x1", "x2", "x1^2", "sin(x2)"]}}
    ds = make_dataset(spec, seed=7)
    path = export_dataset_csv(ds, tmp_path / "circle.csv")
    header, rows = _read(path)
    assert header == ["split", "x1", "x2", "target"]  # the raw inputs, not the four expanded features
    counts = {s: sum(r[0] == s for r in rows) for s in ("train", "val", "test")}
    assert counts == {"train": 30, "val": 15, "test": 15} == ds.sizes
    # independent check: the generator's own points and labels, before splitting and scaling
    g = DATASETS.create({"type": "circle", "params": {"n": 60, "noise": 0.1}}, np.random.default_rng([7, 0]))
    want = sorted((float(x1), float(x2), ["negative", "positive"][c]) for (x1, x2), c in zip(g.x, g.y))
    got = sorted((float(np.float32(r[1])), float(np.float32(r[2])), r[3]) for r in rows)
    assert got == want
    # the training rows are exactly the training split, in the same order, unscaled
    train = np.array([[float(r[1]), float(r[2])] for r in rows if r[0] == "train"], dtype=np.float32)
    np.testing.assert_array_equal(train, ds.raw["train"])
    assert not np.allclose(train, ds.x_train[:, :2])  # standardized values are not what was written
    assert [r[3] for r in rows if r[0] == "val"] == [["negative", "positive"][c] for c in ds.y_val]


def test_regression_targets_are_numbers_that_round_trip():
    ds = make_dataset({"type": "plane", "params": {"n": 40}}, seed=1)
    header, rows = dataset_table(ds)
    assert header == ["split", "x1", "x2", "target"]
    y = np.array([float(r[3]) for r in rows if r[0] == "test"], dtype=np.float32)
    np.testing.assert_array_equal(y, ds.y_test[:, 0])
    x = np.array([[float(r[1]), float(r[2])] for r in rows if r[0] == "test"], dtype=np.float32)
    np.testing.assert_array_equal(x, ds.raw["test"])


def test_several_targets_and_image_inputs_are_flattened():
    ds = make_dataset({"type": "inline", "params": {"x": [[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]],
                                                    "y": [[0.5, -1], [2, 3]], "task": "regression"}}, seed=0)
    header, rows = dataset_table(ds)
    assert header == ["split", "x1", "x2", "x3", "x4", "target1", "target2"]
    assert sorted(rows) == [["train", "1", "2", "3", "4", "0.5", "-1"], ["train", "5", "6", "7", "8.5", "2", "3"]]


def test_a_missing_folder_is_refused_with_the_path(tmp_path):
    ds = make_dataset({"type": "xor", "params": {"n": 10}}, seed=0)
    bad = tmp_path / "nowhere" / "x.csv"
    with pytest.raises(InvalidInput, match="nowhere"):
        export_dataset_csv(ds, bad)
    assert not bad.parent.exists()
