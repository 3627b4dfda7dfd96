"""The command line's usage and output: mistyped commands, no display, strict JSON, resume, Ctrl-C, damaged state."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_helpers import ROOT, _strict_json, assert_one_error, small_session  # noqa: E402


# -- a mistyped command never opens the window -----------------------------------------------------
@pytest.fixture
def no_window(monkeypatch):
    import gui.app

    opened = []
    monkeypatch.setattr(gui.app, "main", lambda argv: opened.append(argv) or 0)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return opened


@pytest.mark.parametrize("argv, needle", [
    (["tran", "s.json", "--epochs", "2"], "unknown command 'tran' — did you mean 'train'?"),
    (["frobnicate", "--csv", "x.csv"], "unknown command 'frobnicate'; the commands are validate, train, trace, export"),
    (["valdiate", "s.json"], "did you mean 'validate'?"),
    (["s.txt"], "unknown command 's.txt'"),
])
def test_mistyped_commands_are_usage_errors(capsys, no_window, argv, needle):
    assert_one_error(capsys, argv, needle)
    assert no_window == []


def test_only_no_arguments_or_one_session_file_open_the_window(tmp_path, capsys, no_window):
    s = small_session(tmp_path)
    assert run_cli([]) == 0 and run_cli([str(s)]) == 0 and run_cli(["later.nnp"]) == 0
    assert no_window == [[], [str(s)], ["later.nnp"]]
    assert_one_error(capsys, [s, "--epochs", "2"], "no options", f"main.py train {s} --epochs 2")


def test_without_a_display_one_line_instead_of_qts_abort(capsys, monkeypatch, no_window):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert_one_error(capsys, [], "no display", "QT_QPA_PLATFORM=offscreen")
    assert no_window == []


def test_without_a_display_in_a_real_process():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: no display") and len(r.stderr.splitlines()) == 1


# -- honest output --------------------------------------------------------------------------------
def test_json_lines_are_valid_json_when_a_metric_is_undefined(tmp_path, capsys):
    # 4 points, a test split of one sample: one class, so AUC is undefined (NaN) -> null
    s = small_session(tmp_path, dataset={"type": "inline", "params": {"x": [[0, 0], [0, 1], [1, 0], [1, 1]],
                                                                      "y": [0, 1, 1, 0]},
                                         "split": {"train": 0.5, "val": 0.25, "test": 0.25}})
    assert run_cli(["train", str(s), "--epochs", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    lines = [_strict_json(ln) for ln in out.splitlines()]
    assert lines[-1]["event"] == "done" and lines[-1]["test"]["auc"] is None
    assert "RuntimeWarning" not in err and "Warning" not in err


def test_numpy_runtime_warnings_never_reach_stderr(tmp_path, capsys, monkeypatch):
    import warnings

    import numpy as np

    import cli.commands

    def noisy(args):
        with np.errstate(all="warn"):
            print(json.dumps({"mean": float(np.nan_to_num(np.mean(np.array([]))))}))  # "Mean of empty slice"
        return 0
    monkeypatch.setattr(cli.commands, "cmd_trace", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user's interpreter shows them
        assert run_cli(["trace", str(small_session(tmp_path))]) == 0
    assert capsys.readouterr().err == ""
    with warnings.catch_warnings(record=True) as seen:  # positive control: the command does warn
        warnings.simplefilter("always")
        noisy(None)
    assert any(issubclass(w.category, RuntimeWarning) for w in seen)


def test_resuming_with_another_seed_keeps_the_saved_split(tmp_path, capsys):
    from engine.archive import load_archive
    from engine.data import make_dataset

    s = small_session(tmp_path, training={"epochs": 2, "batch_size": 4, "shuffle": True})
    a = tmp_path / "a.nnp"
    assert run_cli(["train", str(s), "--out", str(a)]) == 0
    capsys.readouterr()
    same, other = tmp_path / "same.nnp", tmp_path / "other.nnp"
    assert run_cli(["train", str(a), "--epochs", "3", "--out", str(same)]) == 0
    assert run_cli(["train", str(a), "--epochs", "3", "--seed", "99", "--out", str(other)]) == 0
    err = capsys.readouterr().err
    assert "--seed 99 reseeds shuffling, dropout and noise" in err and "the data, its split and the weights" in err
    saved = load_archive(other)
    assert saved.session.seed == 3  # the split is rebuilt from the saved seed, so no test sample moves
    before = make_dataset(load_archive(a).session.dataset, seed=load_archive(a).session.seed)
    after = make_dataset(saved.session.dataset, seed=saved.session.seed)
    assert (before.x_test == after.x_test).all() and (before.x_train == after.x_train).all()
    h_same, h_other = load_archive(same).history, saved.history
    assert h_same.epochs["train_loss"][:2] == h_other.epochs["train_loss"][:2]  # the saved epochs, unchanged
    assert h_same.epochs["train_loss"][2] != h_other.epochs["train_loss"][2]  # epoch 3 drew another order


def test_a_failed_save_still_prints_done_and_exits_2(tmp_path, capsys, monkeypatch):
    import engine.safe_io

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(engine.safe_io.tempfile, "mkstemp", full)
    s = small_session(tmp_path)
    assert run_cli(["train", str(s), "--json", "--out", str(tmp_path / "a.nnp")]) == 2
    out, err = capsys.readouterr()
    done = _strict_json(out.splitlines()[-1])
    assert done["event"] == "done" and done["saved"] is None and "disk full" in done["error"]
    assert err.strip().splitlines()[-1].startswith("error: cannot save") and "disk full" in err


class _InterruptAfterFirstLine:
    """stdout that presses Ctrl-C (a real SIGINT to this process) once the first epoch line is written."""

    def __init__(self):
        self.text, self.sent = "", False

    def write(self, s):
        self.text += s
        if "\n" in self.text and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return len(s)

    def flush(self):
        pass


def test_ctrl_c_saves_the_trained_state_and_exits_130(tmp_path, capsys, monkeypatch):
    out = tmp_path / "a.nnp"
    s = small_session(tmp_path, dataset={"type": "xor", "params": {"n": 100}}, training={"epochs": 100000})
    fake = _InterruptAfterFirstLine()
    monkeypatch.setattr(sys, "stdout", fake)
    before = signal.getsignal(signal.SIGINT)
    assert run_cli(["train", str(s), "--json", "--out", str(out)]) == 130
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    err = capsys.readouterr().err
    lines = [_strict_json(ln) for ln in fake.text.splitlines()]
    done = lines[-1]
    assert done["event"] == "done" and done["stop_reason"] == "interrupted" and done["saved"] == str(out)
    assert "Traceback" not in err and "saved in" in err and len(lines) < 10  # stopped at once, not at the end
    from engine.archive import load_archive

    a = load_archive(out)
    assert a.trained and a.history.n_epochs == done["epochs_run"] >= 1


class _ClosedAfterFirstLine:
    """stdout whose reader went away after one line (``| head -1``): the next write is a broken pipe."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        if "\n" in self.text:
            raise BrokenPipeError(32, "Broken pipe")
        self.text += s
        return len(s)

    def flush(self):
        if self.text.count("\n") > 1:
            raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_stops_training_with_one_line(tmp_path, capsys, monkeypatch):
    s = small_session(tmp_path, dataset={"type": "xor", "params": {"n": 100}}, training={"epochs": 100000})
    fake = _ClosedAfterFirstLine()
    monkeypatch.setattr(sys, "stdout", fake)
    out = tmp_path / "a.nnp"
    assert run_cli(["train", str(s), "--json", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and _strict_json(fake.text.splitlines()[0])["epoch"] == 1
    assert err.strip().splitlines()[-1] == f"error: the output pipe was closed; training stopped and was saved to {out}"
    from engine.archive import load_archive

    # stopped at the first line it could not write: after the epoch of that line, or on the compiled path after
    # the chunk of epochs it was trained in (a few milliseconds, engine.compiled.epochs); every epoch trained is saved
    a = load_archive(out)
    assert 2 <= a.history.n_epochs <= 2 + 64 and a.history.n_epochs == a.meta["epoch"]


# -- damaged training state -------------------------------------------------------------------------
def _damaged(tmp_path, edit):
    s = small_session(tmp_path, optimizer={"type": "adam", "params": {"lr": 0.01}})
    good = tmp_path / "good.nnp"
    assert run_cli(["train", str(s), "--out", str(good)]) == 0
    bad = tmp_path / "bad.nnp"
    with zipfile.ZipFile(good) as zf, zipfile.ZipFile(bad, "w") as out:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename == "session.json":
                d = json.loads(data)
                edit(d["training_state"])
                data = json.dumps(d).encode()
            out.writestr(info.filename, data)
    return bad


@pytest.mark.parametrize("edit, needle", [
    (lambda m: m.update(lr=float("nan")), "training_state.lr must be a finite learning rate ≥ 0, got nan"),
    (lambda m: m.update(base_lr=-0.5), "training_state.base_lr must be a finite learning rate ≥ 0, got -0.5"),
    (lambda m: m["optimizer"]["param_groups"][0].update(lr=float("nan")), "param_groups[0].lr must be a finite"),
    (lambda m: m["optimizer"]["param_groups"][0].update(eps=None), "param_groups[0].eps must be a finite number"),
    (lambda m: m["optimizer"]["param_groups"][0].update(betas=[0.9]), "betas must be a list of 2"),
    (lambda m: m["optimizer"]["state"]["0"].pop("exp_avg_sq"), "the saved optimizer state is incomplete"),
    (lambda m: m.update(epoch=-1), "training_state.epoch must be a whole number ≥ 0"),
    (lambda m: m.update(epoch_loss="x"), "training_state.epoch_loss must be [sum, count]"),
    (lambda m: m.update(schedule=None), "training_state.schedule must be an object"),
])
def test_a_damaged_training_state_is_refused_not_trained(tmp_path, capsys, edit, needle):
    assert_one_error(capsys, ["train", _damaged(tmp_path, edit), "--epochs", "3"], needle)


def test_nan_weights_are_reported_as_damage_not_divergence(tmp_path, capsys):
    from safetensors.torch import load, save

    s = small_session(tmp_path)
    good = tmp_path / "good.nnp"
    assert run_cli(["train", str(s), "--out", str(good)]) == 0
    bad = tmp_path / "bad.nnp"
    with zipfile.ZipFile(good) as zf, zipfile.ZipFile(bad, "w") as out:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename == "weights.safetensors":
                t = load(data)
                t["model.layers.h.weight"][0, 0] = float("nan")
                data = save(t)
            out.writestr(info.filename, data)
    capsys.readouterr()
    line = assert_one_error(capsys, ["train", bad, "--epochs", "3"], "'model.layers.h.weight' holds NaN or infinity")
    assert "diverged" not in line.split("(")[0]
