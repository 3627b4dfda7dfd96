"""Metrics against numbers worked out by hand (comments show the arithmetic)."""
import time

import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.metrics import (accuracy, auc, confusion_matrix, evaluate, mae, precision_recall_f1,
                            predictions, r2, rmse, roc_auc, roc_curve)


def mann_whitney_auc(y, s):
    """P(score of a random positive > random negative), ties count 1/2: the AUC definition."""
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


# ----------------------------------------------------------------- predictions
def test_predictions_binary_probabilities():
    pred, score = predictions(np.array([[0.2], [0.5], [0.9]]), "bce")
    assert pred.tolist() == [0, 1, 1]
    assert score.tolist() == [0.2, 0.5, 0.9]


@pytest.mark.parametrize("loss", ["bce_logits", "hinge"])
def test_predictions_binary_logits_threshold_zero(loss):
    pred, score = predictions(np.array([[-1.0], [0.0], [2.0], [-800.0]]), loss)
    assert pred.tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(score, [1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2.0)), 0.0], atol=1e-12)


def test_predictions_bce_probabilities_are_not_thresholded_at_zero():
    # 0.3 is a probability under bce (class 0) but a positive logit under bce_logits (class 1)
    assert predictions(np.array([[0.3]]), "bce")[0].tolist() == [0]
    assert predictions(np.array([[0.3]]), "bce_logits")[0].tolist() == [1]


def test_predictions_multiclass_softmax_of_logits():
    z = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 0.5]])
    pred, p = predictions(z, "cross_entropy")
    assert pred.tolist() == [1, 0]
    e = np.exp(z)
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True))


def test_predictions_multiclass_probabilities_kept_as_is():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
    pred, p = predictions(probs, "mse")
    assert pred.tolist() == [1, 0]
    np.testing.assert_array_equal(p, probs)
    # but a logit loss always softmaxes, even if the row happens to sum to 1
    assert not np.allclose(predictions(probs, "cross_entropy")[1], probs)


def test_predictions_unknown_loss_single_column_guesses_from_range():
    assert predictions(np.array([[0.4], [0.6]]), "mystery")[0].tolist() == [0, 1]
    assert predictions(np.array([[-0.4], [1.6]]), "mystery")[0].tolist() == [0, 1]
    assert predictions(np.array([[-0.4], [0.4]]), "mystery")[0].tolist() == [0, 1]  # logits


# ------------------------------------------------------- confusion / P / R / F1
Y6 = [0, 0, 1, 1, 2, 2]
P6 = [0, 1, 1, 1, 2, 0]


def test_confusion_matrix_six_samples():
    # true 0 -> predicted 0,1 ; true 1 -> 1,1 ; true 2 -> 2,0
    assert confusion_matrix(Y6, P6, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert accuracy(Y6, P6) == pytest.approx(4 / 6)


def test_precision_recall_f1_per_class_macro_micro():
    p, r, f = precision_recall_f1(Y6, P6, 3, average=None)
    # precision = diag / column sums [2, 3, 1]; recall = diag / row sums [2, 2, 2]
    np.testing.assert_allclose(p, [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(r, [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(f, [1 / 2, 0.8, 2 / 3])  # 2pr/(p+r)
    assert precision_recall_f1(Y6, P6, 3, "macro") == pytest.approx(
        ((0.5 + 2 / 3 + 1) / 3, (0.5 + 1 + 0.5) / 3, (0.5 + 0.8 + 2 / 3) / 3))
    assert precision_recall_f1(Y6, P6, 3, "micro") == pytest.approx((4 / 6,) * 3)


def test_binary_precision_recall_f1():
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [1, 0, 1, 0, 1, 1, 0, 1]  # TP=3 FN=1 FP=2 TN=2
    assert precision_recall_f1(y, p, 2) == pytest.approx((3 / 5, 3 / 4, 2 / 3))


def test_zero_division_gives_zero():
    # class 1 never predicted: precision 0/0 -> 0, recall 0/1 = 0, F1 -> 0
    assert precision_recall_f1([0, 0, 1], [0, 0, 0], 2) == (0.0, 0.0, 0.0)
    # macro ignores classes absent from both y_true and y_pred (class 2 here)
    _, r, _ = precision_recall_f1([0, 1], [0, 1], 3, "macro")
    assert r == 1.0


def test_quasar_example_from_the_notes():
    # 1000 quasars (class 1), 100000 stars: TP=900, FN=100, TN=99000, FP=1000
    y = np.r_[np.ones(1000, int), np.zeros(100_000, int)]
    p = np.r_[np.ones(900, int), np.zeros(100, int), np.zeros(99_000, int), np.ones(1000, int)]
    cm = confusion_matrix(y, p, 2)
    assert cm.tolist() == [[99_000, 1000], [100, 900]]
    prec, rec, _ = precision_recall_f1(y, p, 2)
    assert rec == pytest.approx(0.9)  # completeness / TPR
    assert 1 - prec == pytest.approx(1000 / 1900)  # contamination 0.53
    assert cm[0, 1] / cm[0].sum() == pytest.approx(0.01)  # FPR


def test_one_hot_labels_accepted():
    assert confusion_matrix(np.eye(3)[Y6], P6, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


@pytest.mark.parametrize("call, fragment", [
    (lambda: confusion_matrix([0, 3], [0, 1], 3), "label 3"),
    (lambda: confusion_matrix([0, 1.5], [0, 1], 3), "1.5"),
    (lambda: confusion_matrix([0, 1], [0], 3), "2 labels"),
    (lambda: confusion_matrix([0, 1], [0, 1], 1), "got 1"),
    (lambda: precision_recall_f1([0, 1], [0, 1], 2, "weighted"), "'weighted'"),
    (lambda: precision_recall_f1([0, 2], [0, 1], 3, "binary"), "got 3"),
])
def test_bad_classification_input(call, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        call()


# ---------------------------------------------------------------------- ROC
def test_roc_curve_without_ties():
    fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    # thresholds inf, .8, .4, .35, .1 -> (0,0) (0,.5) (.5,.5) (.5,1) (1,1)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thr.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    assert auc(fpr, tpr) == pytest.approx(0.75)


def test_roc_curve_with_ties_is_one_point_per_distinct_score():
    # negatives 0.5, 0.2; positives 0.5, 0.5. Pairs: two ties (1/2 each) + two wins -> 3/4
    y, s = [0, 1, 0, 1], [0.5, 0.5, 0.2, 0.5]
    fpr, tpr, thr = roc_curve(y, s)
    assert thr.tolist() == [np.inf, 0.5, 0.2]
    assert fpr.tolist() == [0, 0.5, 1]
    assert tpr.tolist() == [0, 1, 1]
    assert auc(fpr, tpr) == pytest.approx(0.75)
    # the order of tied samples must not matter
    assert roc_auc([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.2], 2) == pytest.approx(0.75)
    assert roc_auc([0, 0, 1, 1], [0.5, 0.2, 0.5, 0.5], 2) == pytest.approx(0.75)


def test_roc_auc_matches_pair_counting_with_many_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.random(400) * 0.6 + 0.4 * y, 1)  # 1 decimal -> heavy ties
    assert roc_auc(y, s, 2) == pytest.approx(mann_whitney_auc(y, s))


def test_auc_perfect_reversed_random():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 10_000)
    s = y + rng.random(10_000) * 0.5
    assert roc_auc(y, s, 2) == 1.0
    assert roc_auc(y, -s, 2) == 0.0
    assert roc_auc(y, rng.random(10_000), 2) == pytest.approx(0.5, abs=0.03)


def test_roc_auc_one_class_only_is_nan():
    assert np.isnan(roc_auc([1, 1, 1], [0.1, 0.5, 0.9], 2))
    fpr, tpr, _ = roc_curve([1, 1], [0.2, 0.3])
    assert np.isnan(fpr).all() and tpr.tolist() == [0, 0.5, 1]


def test_roc_auc_two_column_scores_use_column_one():
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc([0, 0, 1, 1], np.c_[1 - p1, p1], 2) == pytest.approx(0.75)


def test_multiclass_auc_is_macro_one_vs_rest():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    s = rng.random((300, 3)) + 0.5 * np.eye(3)[y]
    want = np.mean([mann_whitney_auc((y == c).astype(int), s[:, c]) for c in range(3)])
    assert roc_auc(y, s, 3) == pytest.approx(want)
    # a class absent from y_true is skipped rather than poisoning the mean with nan
    y2 = np.array([0, 0, 1, 1])
    s2 = np.array([[0.9, 0.1, 0], [0.8, 0.2, 0], [0.1, 0.9, 0], [0.3, 0.7, 0]])
    assert roc_auc(y2, s2, 3) == 1.0


def test_roc_rejects_nan_scores():
    with pytest.raises(InvalidInput, match="nan"):
        roc_curve([0, 1], [0.1, np.nan])


# --------------------------------------------------------------- regression
def test_regression_metrics_known_fit():
    y, p = [1, 2, 3, 4], [1.1, 1.9, 3.2, 3.8]
    # residuals .1 -.1 .2 -.2: SS_res = .10, SS_tot = 2.25+.25+.25+2.25 = 5
    assert mae(y, p) == pytest.approx(0.15)
    assert rmse(y, p) == pytest.approx(np.sqrt(0.10 / 4))
    assert r2(y, p) == pytest.approx(1 - 0.10 / 5)
    assert r2(y, [2.5] * 4) == pytest.approx(0.0)  # predicting the mean
    assert r2(y, [4, 3, 2, 1]) == pytest.approx(1 - 20 / 5)  # worse than the mean


def test_r2_of_least_squares_line_is_squared_correlation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = 2 * x + rng.normal(size=200)
    slope, intercept = np.polyfit(x, y, 1)
    assert r2(y, slope * x + intercept) == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2)


def test_multi_output_averages_per_output():
    y = np.array([[1, 0], [2, 0], [3, 0], [4, 0]], float)
    p = np.array([[1.1, 1], [1.9, 1], [3.2, 1], [3.8, 1]])
    assert mae(y, p) == pytest.approx((0.15 + 1.0) / 2)
    assert rmse(y, p) == pytest.approx((np.sqrt(0.025) + 1.0) / 2)
    assert r2(y, p) == pytest.approx(0.98)  # constant column 2 has no R² and is skipped
    assert np.isnan(r2([5, 5, 5], [5, 5, 4]))


def test_regression_shape_mismatch():
    with pytest.raises(InvalidInput, match=r"\(3, 1\)"):
        mae([1, 2, 3], [[1, 2], [3, 4], [5, 6]])


# ------------------------------------------------------------------ evaluate
def test_evaluate_binary_bce():
    out = np.array([[0.9], [0.4], [0.6], [0.2], [0.7], [0.1]])
    y = [1, 1, 1, 0, 0, 0]  # predictions 1 0 1 0 1 0 : TP=2 FN=1 FP=1 TN=2
    m = evaluate(out, y, "classification", "bce", 2)
    assert m["confusion"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # positives .9 .4 .6 vs negatives .2 .7 .1: .9 beats 3, .6 beats 2, .4 beats 2 -> 7 of 9 pairs
    assert m["auc"] == pytest.approx(7 / 9)
    assert all(type(m[k]) is float for k in ("accuracy", "precision", "recall", "f1", "auc"))


def test_evaluate_hinge_labels_minus_one():
    m = evaluate(np.array([[2.0], [-1.0], [0.5], [-3.0]]), [1, -1, -1, -1], "classification", "hinge", 2)
    assert m["confusion"] == [[2, 1], [0, 1]]
    assert m["auc"] == 1.0


def test_evaluate_multiclass_macro():
    logits = np.eye(3)[P6] * 3.0
    m = evaluate(logits, Y6, "classification", "cross_entropy", 3)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert isinstance(m["confusion"][0][0], int)


def test_evaluate_regression_and_nan_output():
    m = evaluate(np.array([[1.1], [1.9], [3.2], [3.8]]), [1, 2, 3, 4], "regression", "mse")
    assert m == pytest.approx({"mae": 0.15, "rmse": np.sqrt(0.025), "r2": 0.98})
    bad = evaluate(np.array([[np.nan], [0.2]]), [0, 1], "classification", "bce", 2)
    assert np.isnan(bad["accuracy"]) and bad["confusion"] is None


@pytest.mark.parametrize("args, fragment", [
    ((np.zeros((2, 1)), [0, 1], "clustering", "bce", 2), "'clustering'"),
    ((np.zeros((2, 3)), [0, 1], "classification", "cross_entropy", 4), "3 columns"),
    ((np.zeros((3, 1)), [0, 1], "classification", "bce", 2), "2 labels"),
    ((np.zeros((0, 2)), [], "classification", "cross_entropy", 2), r"\(0, 2\)"),
])
def test_evaluate_bad_input(args, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        evaluate(*args)


def test_evaluate_is_fast_enough_for_every_epoch():
    rng = np.random.default_rng(4)
    out, y = rng.normal(size=(5000, 10)), rng.integers(0, 10, 5000)
    evaluate(out, y, "classification", "cross_entropy", 10)
    t0 = time.perf_counter()
    for _ in range(5):
        evaluate(out, y, "classification", "cross_entropy", 10)
    assert (time.perf_counter() - t0) / 5 < 0.1


def test_rank_auc_is_the_roc_trapezoid_with_ties_and_a_hand_count():
    """Multi-class AUC ranks instead of drawing curves; it must equal the curve's trapezoid, ties included."""
    from engine.metrics import auc, rank_auc, roc_curve

    # by hand: positives 0.8, 0.4; negatives 0.4, 0.1 → pairs (0.8>0.4)=1, (0.8>0.1)=1, (0.4=0.4)=½, (0.4>0.1)=1
    assert rank_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(3.5 / 4, abs=1e-15)
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(3, 200))
        pos = rng.random(n) < 0.4
        pos[0], pos[1] = True, False
        s = rng.random(n)
        if trial % 2:
            s = np.round(s * 3) / 3  # heavy ties
        assert rank_auc(pos, s) == pytest.approx(auc(*roc_curve(pos, s)[:2]), abs=1e-12)
    assert np.isnan(rank_auc([1, 1], [0.2, 0.3])) and np.isnan(rank_auc([1, 0], [np.nan, 0.3]))
