"""``validate`` means what it says: what preflight refuses, the trainer refuses too, and the reverse."""
import copy
import json
from pathlib import Path

import pytest

from cli import run_cli
from engine.errors import InvalidInput
from engine.preflight import preflight
from engine.session import Session, load_session
from engine.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
CIRCLE = json.loads((ROOT / "resources" / "examples" / "circle_playground.json").read_text())


def variant(**changes) -> Session:
    d = copy.deepcopy(CIRCLE)
    d["dataset"]["params"]["n"] = 40
    for key, value in changes.items():
        if key == "training":
            d["training"] = dict(d.get("training", {}), **value)
        else:
            d[key] = value
    return Session.from_dict(d)


def layers(*items, inputs=2):
    return {"layers": [{"id": "input", "type": "Input", "params": {"shape": [inputs]}}, *items]}


def dense(units, act="identity", nid=None):
    return {"id": nid or f"d{units}", "type": "Dense", "params": {"units": units, "activation": act}}


# Each session here was accepted by `validate` and refused at once by `train` before preflight existed.
REFUSED = {
    "input shape against the data": (dict(graph=layers(dense(4, "tanh"), dense(1), inputs=3)),
                                     "the dataset's inputs have shape (2,) but the Input node expects (3,)"),
    "output width against the classes": (
        dict(graph=layers(dense(4, "tanh"), dense(2)), dataset={"type": "blobs", "params": {"n": 60, "classes": 3}},
             loss={"type": "cross_entropy"}), "the output has 2 units but the dataset has 3 classes"),
    "loss against the task": (dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "bce_logits"},
                                   graph=layers(dense(4, "tanh"), dense(1))), "targets must lie in [0, 1]"),
    "regression targets against the output": (
        dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "mse"}, graph=layers(dense(3))),
        "1 regression target but the output has 3 units"),
    "BatchNorm with single samples": (
        dict(graph=layers(dense(4), {"id": "bn", "type": "BatchNorm"}, dense(1)), training={"batch_size": 1}),
        "BatchNorm needs batches of at least 2"),
    "more output units than classes": (
        dict(graph=layers(dense(4, "tanh"), dense(3)), loss={"type": "cross_entropy"}),
        "the output has 3 units but the dataset has 2 classes"),
    "Levenberg-Marquardt without mse": (
        dict(optimizer={"type": "levenberg_marquardt"}, loss={"type": "bce_logits"}), "needs the squared-error loss"),
    "Newton on too many parameters": (
        dict(optimizer={"type": "newton"}, graph=layers(dense(64, "tanh", "h1"), dense(64, "tanh", "h2"), dense(1))),
        "2000"),
    "label noise on regression targets": (
        dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "mse"}, graph=layers(dense(1)),
             regularizers=[{"type": "label_noise"}]), "label noise needs class labels"),
    "early stopping on a metric never measured": (
        dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "mse"}, graph=layers(dense(1)),
             training={"early_stopping": {"patience": 2, "monitor": "val_acc"}}), "which this training does not measure"),
    "an initializer of the wrong shape": (
        dict(graph=layers({"id": "h", "type": "Dense", "params": {"units": 2},
                           "init": {"weight": {"type": "values", "params": {"values": [[1, 2, 3]]}}}}, dense(1))),
        "h"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_preflight_refuses_what_train_refuses(case):
    changes, needle = REFUSED[case]
    s = variant(**changes)
    with pytest.raises(InvalidInput) as pre:
        preflight(s)
    assert needle in str(pre.value)
    with pytest.raises(InvalidInput):  # the trainer agrees, at build or in its first epoch
        t = Trainer(s)
        for _ in t.run(1):
            pass


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_passes_preflight_and_trains(path):
    s = load_session(path)
    warnings = preflight(s)
    assert all(isinstance(w, str) and w for w in warnings)
    Trainer(s)  # and the trainer starts it


def test_the_worked_examples_are_not_refused_for_one_sample():
    # one hand-written sample of one class is the lecture's exact example, not an error
    for name in ("xor_worked_example", "three_four_one_worked_example"):
        s = load_session(ROOT / "resources" / "examples" / f"{name}.json")
        assert len(s.dataset["params"]["x"]) == 1
        assert not any("sample" in w or "class" in w for w in preflight(s))


def test_early_stopping_true_is_refused_before_training():
    s = variant()
    s.training = dict(s.training, early_stopping=True)  # set in code, past the file check
    with pytest.raises(InvalidInput, match="early_stopping must be null or an object"):
        preflight(s)
    s.training = dict(s.training, early_stopping={"patience": 3, "typo": 1})
    with pytest.raises(InvalidInput, match="typo"):
        preflight(s)
    s.training = dict(s.training, early_stopping={"patience": 3})
    assert preflight(s) == []


def test_early_stopping_without_a_validation_split_warns():
    s = variant(training={"early_stopping": {"patience": 3}})
    s.dataset = dict(s.dataset, split={"train": 0.8, "test": 0.2})
    assert any("validation split is empty" in w for w in preflight(s))


def csv_data(x, y, task="classification"):
    return {"type": "csv", "params": {"x": x, "y": y, "task": task, "source": "tiny.csv"}}


def test_imported_data_of_one_class_or_one_sample_is_refused():
    one_class = variant(dataset=csv_data([[0, 0], [1, 1], [2, 2]], [1, 1, 1]))
    one_class.dataset["split"] = {"train": 1.0}
    with pytest.raises(InvalidInput, match=r"single class \('1'\)"):
        preflight(one_class)
    one_sample = variant(dataset=csv_data([[0, 0]], [0]))
    with pytest.raises(InvalidInput, match="has 1 sample; training needs at least 2"):
        preflight(one_sample)
    fine = variant(dataset=csv_data([[0, 0], [1, 1], [2, 2], [3, 3]], [0, 1, 0, 1]))
    fine.dataset["split"] = {"train": 1.0}
    assert preflight(fine) == []


def test_validate_runs_preflight(tmp_path, capsys):
    d = copy.deepcopy(CIRCLE)
    d["graph"] = layers(dense(4, "tanh"), dense(1), inputs=3)
    p = tmp_path / "s.json"
    p.write_text(json.dumps(d))
    assert run_cli(["validate", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Input node expects (3,)" in err[0]


def test_validate_prints_the_memory_estimate(capsys):
    assert run_cli(["validate", str(ROOT / "resources" / "examples" / "circle_playground.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_params"] == 17 and out["memory_bytes"] > 0
    assert run_cli(["validate", str(ROOT / "resources" / "examples" / "circle_playground.json")]) == 0
    assert "memory to train: ~" in capsys.readouterr().out


def _mutations(rng):
    def last_dense(d):
        return [n for n in d["graph"]["layers"] if n["type"] == "Dense"][-1]["params"]

    return [
        lambda d: d["graph"]["layers"][0]["params"].update(shape=[rng.choice([1, 2, 3])]),
        lambda d: last_dense(d).update(units=rng.choice([1, 2, 3])),
        lambda d: d.update(loss={"type": rng.choice(["mse", "bce", "bce_logits", "cross_entropy", "hinge", "huber"])}),
        lambda d: d.update(dataset={"type": rng.choice(["circle", "plane", "blobs", "moons"]), "params": {"n": 40}}),
        lambda d: d["training"].update(batch_size=rng.choice([0, 1, 7, 10_000])),
        lambda d: d["training"].update(early_stopping=rng.choice([None, {"patience": 0}, {"patience": 2}])),
        lambda d: d.update(optimizer={"type": rng.choice(["sgd", "adam", "newton", "gauss_newton", "lbfgs"])}),
        lambda d: d["dataset"].update(split=rng.choice([{"train": 1.0}, {"train": 0.5, "test": 0.5}])),
        lambda d: d["graph"]["layers"].insert(1, {"id": "bn", "type": "BatchNorm"}),
    ]


def test_what_validate_accepts_trains_on_mutated_sessions(tmp_path, capsys):
    """Fixed seed: 30 mutated sessions; every one `validate` accepts trains an epoch (or diverges, reported)."""
    import random

    rng = random.Random(7)
    muts = _mutations(rng)
    accepted = 0
    for i in range(30):
        d = copy.deepcopy(CIRCLE)
        d["dataset"]["params"]["n"] = 40
        for m in rng.sample(muts, rng.randint(1, 3)):
            m(d)
        p = tmp_path / f"m{i}.json"
        p.write_text(json.dumps(d))
        if run_cli(["validate", str(p)]) != 0:
            continue
        accepted += 1
        code = run_cli(["train", str(p), "--epochs", "1"])
        err = capsys.readouterr().err
        assert code == 0 or "diverged" in err, (d, err)
    assert accepted >= 10  # the check is not vacuous
