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
             loss={"type": "cross_entropy"}), "out of range for 2 output units"),
    "loss against the task": (dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "bce_logits"},
                                   graph=layers(dense(4, "tanh"), dense(1))), "targets must lie in [0, 1]"),
    "regression targets against the output": (
        dict(dataset={"type": "plane", "params": {"n": 40}}, loss={"type": "mse"}, graph=layers(dense(3))),
        "1 regression target but the output has 3 units"),
    "BatchNorm with single samples": (
        dict(graph=layers(dense(4), {"id": "bn", "type": "BatchNorm"}, dense(1)), training={"batch_size": 1}),
        "BatchNorm needs batches of at least 2"),
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
    with pytest.raises(InvalidInput):  # the trainer agrees: it was never a validate-only worry
        Trainer(s)


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
