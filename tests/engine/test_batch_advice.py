"""engine.batch_advice: outliers counted by the stated rule on data with planted outliers, the notes' b ≈ 1.5 × n."""
import numpy as np
import pytest

from engine.batch_advice import advise_session, count_outliers, suggestion
from engine.errors import InvalidInput
from engine.session import Session


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def outliers_by_hand(rows):
    """Rows where some column has 0.6745·|x − median|/MAD > 3.5, with plain loops (MAD = 0 columns skipped)."""
    out = set()
    for j in range(len(rows[0])):
        col = [r[j] for r in rows]
        med = median(col)
        mad = median([abs(v - med) for v in col])
        if mad == 0:
            continue
        out |= {i for i, v in enumerate(col) if 0.6745 * abs(v - med) / mad > 3.5}
    return sorted(out)


def planted(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n, 2))
    x[[3, 17, 40, 41, 77, 90, 101], 0] = [15, -12, 20, 14, -30, 11, 16]  # 7 far outliers in x1
    x[5, 1] = 2.0  # inside the rule: about 2 standard deviations, not an outlier
    return x


def test_planted_outliers_are_counted_and_the_suggestion_is_the_notes_rule():
    x = planted()
    adv = count_outliers(x)
    assert adv.indices == outliers_by_hand(x.tolist())
    assert {3, 17, 40, 41, 77, 90, 101} <= set(adv.indices) and 5 not in adv.indices
    assert adv.n_outliers == len(adv.indices) and adv.n_train == 120
    assert adv.suggested == int(1.5 * adv.n_outliers + 0.5)
    assert adv.per_feature["x1"] >= 7


def test_the_brief_example_seven_outliers_give_eleven():
    x = np.linspace(-1.0, 1.0, 100)[:, None].repeat(2, axis=1)  # evenly spread: no outlier of its own
    x[[2, 11, 23, 35, 50, 64, 88], 1] = [9, -8, 12, 7, -20, 6.5, 30]
    adv = count_outliers(x)
    assert adv.indices == [2, 11, 23, 35, 50, 64, 88] == outliers_by_hand(x.tolist())
    assert adv.per_feature == {"x2": 7} and adv.suggested == 11
    adv.current = 10
    assert "1.5 × 7 outliers ≈ 11; current 10" in adv.text()
    assert suggestion(7, 500) == 11  # 10.5 rounds up, not to the even 10
    assert suggestion(1, 500) == 2  # the notes' 1 < b
    assert suggestion(0, 500) is None and suggestion(400, 100) == 100
    assert suggestion(3, 500) == 5 and suggestion(4, 500) == 6


def test_a_constant_majority_feature_is_skipped_and_targets_count_for_regression():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=60), np.where(np.arange(60) < 50, 0.0, 9.0)])  # MAD of x2 is 0
    y = rng.normal(size=(60, 1))
    y[[7, 8]] = 40.0
    adv = count_outliers(x, y)
    assert adv.skipped == ["x2"]
    assert {7, 8} <= set(adv.indices)
    assert adv.indices == outliers_by_hand(np.column_stack([x, y]).tolist())
    assert count_outliers(x).indices == outliers_by_hand(x.tolist())  # without the targets: 7 and 8 are normal
    assert 7 not in count_outliers(x).indices


def test_no_outliers_sets_no_size_and_says_so():
    x = np.linspace(-1, 1, 50)[:, None]
    adv = count_outliers(x)
    assert adv.n_outliers == 0 and adv.suggested is None
    assert "no outliers in the 50 training samples" in adv.text()


def test_bad_data_is_refused_in_one_line():
    with pytest.raises(InvalidInput, match="empty"):
        count_outliers(np.zeros((0, 2)))
    with pytest.raises(InvalidInput, match="NaN"):
        count_outliers(np.array([[1.0], [np.nan]]))


def test_a_session_counts_its_training_split_in_raw_units():
    x = planted(120, seed=4)
    y = (x[:, 1] > 0).astype(int)
    s = Session.from_dict({
        "graph": {"layers": [{"id": "in", "type": "Input", "params": {"shape": [2]}},
                             {"id": "out", "type": "Dense", "params": {"units": 1, "activation": "sigmoid"}}]},
        "dataset": {"type": "inline", "params": {"x": x.tolist(), "y": y.tolist()},
                    "split": {"train": 0.75, "val": 0.0, "test": 0.25}, "preprocess": {"scale": "minmax"}},
        "loss": "bce", "training": {"batch_size": 10}})
    adv = advise_session(s)
    from engine.data import make_dataset

    raw = make_dataset(s.dataset, seed=s.seed).raw_x("train")
    assert adv.n_train == 90 and adv.indices == outliers_by_hand(raw.tolist())
    assert adv.n_outliers >= 3 and adv.current == 10
    assert adv.to_dict()["suggested"] == int(1.5 * adv.n_outliers + 0.5)
