"""make_dataset: canonical specs, seeded stratified splits, train-only preprocessing fits."""
import json
from pathlib import Path

import numpy as np
import pytest

from engine.data import DATASETS, csv_dataset_params, dataset_canonical, make_dataset, read_csv
from engine.data.arrays import json_default
from engine.errors import InvalidInput

CSV = Path(__file__).resolve().parents[1] / "data" / "csv"
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _rows(x):
    return sorted(map(tuple, x.reshape(len(x), -1).tolist()))


def test_canonical_fills_defaults_and_is_idempotent():
    c = dataset_canonical("spiral")
    assert c == {"type": "spiral", "params": {"n": 500, "noise": 0.0},
                 "split": {"train": 0.7, "val": 0.15, "test": 0.15},
                 "preprocess": {"scale": "none", "features": None}}
    assert dataset_canonical(c) == c
    assert json.loads(json.dumps(c)) == c
    assert dataset_canonical({"type": "inline", "params": {"x": [[1, 0]], "y": [1]}})["split"] == {"train": 1.0, "val": 0.0, "test": 0.0}
    assert dataset_canonical({"type": "xor", "split": {"train": 0.8, "val": 0.2}})["split"]["test"] == 0.0


@pytest.mark.parametrize("spec, quoted", [
    ({"type": "xor", "split": {"train": 0.7, "val": 0.2, "test": 0.2}}, "sum to 1"),
    ({"type": "xor", "split": {"train": 0.5, "validation": 0.5}}, "'validation'"),
    ({"type": "xor", "split": {"train": 1.5, "val": -0.5}}, "1.5"),
    ({"type": "xor", "split": {"train": 0.0, "val": 0.5, "test": 0.5}}, "split.train"),
    ({"type": "xor", "shuffle": True}, "'shuffle'"),
    ({"params": {"n": 3}}, "needs a 'type'"),
    ({"type": "xor", "preprocess": {"scale": "robust"}}, "'robust'"),
    ({"type": "xor", "preprocess": {"features": ["x1", "cos(x1)"]}}, "'cos(x1)'"),
])
def test_bad_specs_raise_invalid_input(spec, quoted):
    with pytest.raises(InvalidInput) as e:
        dataset_canonical(spec)
    assert quoted in str(e.value)


def test_split_tolerance_is_one_in_a_million():
    dataset_canonical({"type": "xor", "split": {"train": 0.7, "val": 0.15, "test": 0.1500005}})
    with pytest.raises(InvalidInput):
        dataset_canonical({"type": "xor", "split": {"train": 0.7, "val": 0.15, "test": 0.150002}})


def test_same_spec_and_seed_give_identical_bits():
    spec = {"type": "spiral", "params": {"noise": 0.3}, "preprocess": {"scale": "pca_whiten", "features": ["x1", "x2", "x1*x2"]}}
    a, b, c = make_dataset(spec, 5), make_dataset(spec, 5), make_dataset(spec, 6)
    for name in ARRAYS:
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert a.preprocess_state == b.preprocess_state
    assert not np.array_equal(a.x_train, c.x_train)


def test_splits_partition_the_generated_points():
    d = make_dataset({"type": "gauss", "params": {"n": 500, "noise": 0.2}}, 11)
    assert d.sizes == {"train": 350, "val": 75, "test": 75}
    g = DATASETS.create({"type": "gauss", "params": {"n": 500, "noise": 0.2}}, np.random.default_rng([11, 0]))
    together = np.concatenate([d.x_train, d.x_val, d.x_test])
    assert _rows(together) == _rows(g.x)  # every point exactly once, none invented
    labels = np.concatenate([d.y_train, d.y_val, d.y_test])
    assert np.bincount(labels).tolist() == np.bincount(g.y).tolist()


def test_changing_the_split_does_not_change_the_points():
    a = make_dataset({"type": "xor", "params": {"noise": 0.1}}, 3)
    b = make_dataset({"type": "xor", "params": {"noise": 0.1}, "split": {"train": 0.5, "val": 0.5}}, 3)
    rows = lambda d: _rows(np.concatenate([d.x_train, d.x_val, d.x_test]))  # noqa: E731
    assert rows(a) == rows(b) and b.sizes == {"train": 250, "val": 250, "test": 0}


def test_stratified_split_keeps_class_shares():
    d = make_dataset({"type": "blobs", "params": {"n": 600, "classes": 3}, "split": {"train": 0.6, "val": 0.2, "test": 0.2}}, 0)
    assert d.class_counts("train") == [120, 120, 120]
    assert d.class_counts("val") == [40, 40, 40] and d.class_counts("test") == [40, 40, 40]
    xor = make_dataset({"type": "xor", "params": {"n": 1000}}, 1)  # unequal classes stay in proportion
    share = np.bincount(np.concatenate([xor.y_train, xor.y_val, xor.y_test]), minlength=2) / 1000
    for split in ("train", "val", "test"):
        counts = np.array(xor.class_counts(split))
        assert np.all(np.abs(counts - share * counts.sum()) <= 1)


def test_preprocessing_is_fitted_on_the_training_split_only():
    spec = {"type": "gauss", "params": {"noise": 0.4}, "preprocess": {"scale": "standardize"}}
    d = make_dataset(spec, 2)
    raw = d.raw_x("train").astype(np.float64)
    assert np.allclose(d.preprocess_state["mean"], raw.mean(0)) and np.allclose(d.preprocess_state["std"], raw.std(0))
    assert np.allclose(d.x_train.mean(0), 0, atol=1e-5) and np.allclose(d.x_train.std(0), 1, atol=1e-5)
    expected_val = (d.raw_x("val") - raw.mean(0)) / raw.std(0)
    assert np.allclose(d.x_val, expected_val, atol=1e-5)
    assert np.abs(d.x_val.mean(0)).max() > 1e-4  # validation statistics did not leak into the fit


def test_feature_expansion_changes_names_and_shape():
    d = make_dataset({"type": "circle", "preprocess": {"features": ["x1^2", "x2^2"]}}, 0)
    assert d.input_shape == (2,) and d.feature_names == ["x1^2", "x2^2"]
    assert np.allclose(d.x_train, d.raw_x("train") ** 2, rtol=1e-6)
    with pytest.raises(InvalidInput, match=r"\(1, 8, 8\)"):
        make_dataset({"type": "digits", "preprocess": {"features": ["x1"]}}, 0)


def test_inline_lecture_example_one_sample():
    d = make_dataset({"type": "inline", "params": {"x": [[1, 0]], "y": [1]}}, 0)
    assert d.x_train.tolist() == [[1.0, 0.0]] and d.y_train.tolist() == [1]
    assert d.sizes == {"train": 1, "val": 0, "test": 0} and d.x_val.shape == (0, 2) and d.y_test.shape == (0,)
    one = make_dataset({"type": "inline", "params": {"x": [[1, 0]], "y": [1]}, "split": {"train": 0.7, "val": 0.15, "test": 0.15}}, 0)
    assert one.sizes == {"train": 1, "val": 0, "test": 0}
    order = make_dataset({"type": "inline", "params": {"x": [[0], [1], [2], [3]], "y": [0, 1, 0, 1]}}, 9)
    assert order.x_train[:, 0].tolist() == [0, 1, 2, 3]  # a train-only split keeps the written order
    for scale in ("standardize", "minmax", "pca_whiten"):  # one sample: zero spread must not divide by zero
        single = make_dataset({"type": "inline", "params": {"x": [[1, 0]], "y": [1]}, "preprocess": scale}, 0)
        assert single.x_train.tolist() == [[0.0, 0.0]]


def test_digits_dataset():
    d = make_dataset({"type": "digits", "preprocess": "minmax"}, 0)
    assert d.input_shape == (1, 8, 8) and d.n_classes == 10 and d.n_outputs == 10
    assert sum(d.sizes.values()) == 1797 and d.x_train.min() >= 0 and d.x_train.max() <= 1


def test_dataset_accessors_and_summary():
    d = make_dataset({"type": "multi_gauss", "params": {"n": 200}}, 0)
    assert d.task == "regression" and d.n_outputs == 1 and d.y_train.shape == (140, 1)
    x, y = d.split("val")
    assert x is d.x_val and y is d.y_val
    with pytest.raises(InvalidInput, match="'validation'"):
        d.split("validation")
    assert d.summary() == "multi_gauss: regression, 1 target; inputs (2,) [x1, x2]; train 140 / val 30 / test 30; scaling none"
    with pytest.raises(InvalidInput, match="-1"):
        make_dataset("xor", -1)


def test_csv_spec_rebuilds_the_imported_arrays():
    table = read_csv(CSV / "good_string_classes.csv")
    params = csv_dataset_params(table)
    d = make_dataset({"type": "csv", "params": json.loads(json.dumps(params, default=json_default))}, 0)  # as a .json file holds it
    x, y, task, n_classes, features, classes = table.to_xy()
    assert d.name == "csv (good_string_classes.csv)" and d.class_names == classes and d.feature_names == features
    got = np.concatenate([d.x_train, d.x_val, d.x_test])
    assert _rows(got) == _rows(x)
    assert sorted(np.concatenate([d.y_train, d.y_val, d.y_test]).tolist()) == sorted(y.tolist())
