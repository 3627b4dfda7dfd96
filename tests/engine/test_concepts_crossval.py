"""k-fold cross-validation (lectures 000, 002): fold indices, per-fold preprocessing, averaged scores."""
import numpy as np
import pytest

from engine.crossval import cross_validate, fold_datasets, kfold_indices
from engine.errors import InvalidInput
from engine.session import Session


def test_kfold_indices_partition_and_stratify():
    y = np.array([0] * 10 + [1] * 5 + [2] * 6)
    folds = kfold_indices(y, 5, seed=3)
    vals = np.concatenate([va for _, va in folds])
    assert sorted(vals.tolist()) == list(range(21))  # every sample validated exactly once
    for tr, va in folds:
        assert sorted(np.r_[tr, va].tolist()) == list(range(21)) and not set(tr) & set(va)
    sizes = [len(va) for _, va in folds]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 21
    for c, total in ((0, 10), (1, 5), (2, 6)):
        per_fold = [int(np.sum(y[va] == c)) for _, va in folds]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == total
    assert [va.tolist() for _, va in kfold_indices(y, 5, seed=3)] == [va.tolist() for _, va in folds]
    assert [va.tolist() for _, va in kfold_indices(y, 5, seed=4)] != [va.tolist() for _, va in folds]


@pytest.mark.parametrize("k, frag", [(1, "got 1"), (2.5, "2.5"), (True, "True"), (30, "got 21")])
def test_kfold_rejects_bad_k(k, frag):
    with pytest.raises(InvalidInput, match=frag):
        kfold_indices(np.zeros(21), k)


def session(**training):
    return Session.from_dict({
        "seed": 4,
        "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                             {"type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
        "dataset": {"type": "xor", "params": {"n": 60}, "preprocess": {"scale": "standardize"}},
        "optimizer": {"type": "adam", "params": {"lr": 0.05}},
        "training": {"epochs": 2, "batch_size": 8, **training},
    })


def test_each_fold_refits_preprocessing_on_its_own_training_part():
    from engine.data import make_dataset

    full = make_dataset(session().dataset, seed=4)
    pool = np.concatenate([full.raw_x("train"), full.raw_x("val")])
    seen = []
    for i, ds in fold_datasets(session(), 3):
        np.testing.assert_allclose(ds.x_train.mean(0), 0.0, atol=1e-5)  # standardized with its own statistics
        np.testing.assert_allclose(ds.x_train.std(0), 1.0, atol=1e-4)
        mu, sd = ds.raw["train"].mean(0), ds.raw["train"].std(0)
        np.testing.assert_allclose(ds.x_val, (ds.raw["val"] - mu) / sd, atol=1e-5)
        np.testing.assert_array_equal(ds.raw["test"], full.raw_x("test"))  # the test split stays out
        seen.append(ds.raw["val"])
    assert sorted(map(tuple, np.concatenate(seen).tolist())) == sorted(map(tuple, pool.tolist()))


def test_cross_validate_trains_every_fold_and_averages():
    from engine.trainer import Trainer

    res = cross_validate(session(), 3)
    folds = res["folds"]
    assert res["k"] == 3 and [f["fold"] for f in folds] == [0, 1, 2]
    assert sum(f["n_val"] for f in folds) == 51 and all(f["n_train"] + f["n_val"] == 51 for f in folds)
    assert all(f["epochs"] == 2 and f["finished"] == "completed" for f in folds)
    for key in ("val_loss", "accuracy", "auc"):
        vals = [f[key] for f in folds]
        assert res["mean"][key] == pytest.approx(np.mean(vals)) and res["std"][key] == pytest.approx(np.std(vals))
    assert len({round(f["val_loss"], 9) for f in folds}) == 3  # three different held-out segments
    # fold 1 by hand: the same dataset through a plain Trainer gives the same validation loss
    ds = dict(fold_datasets(session(), 3))[1]
    tr = Trainer(session(), dataset=ds)
    list(tr.run())
    assert folds[1]["val_loss"] == pytest.approx(tr.evaluate_split("val")[0], abs=1e-7)
    assert cross_validate(session(), 3, epochs=1)["folds"][0]["epochs"] == 1
