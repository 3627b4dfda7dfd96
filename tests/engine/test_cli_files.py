"""The command line and the user's files: never overwrite their work, never hang on a path, never lie in its output."""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
XOR = ROOT / "resources" / "examples" / "xor_playground.json"


def small_session(tmp_path, filename="s.json", **changes):
    """A plain 2-input classifier on 40 XOR points: every run here trains in a blink."""
    d = {"name": "files", "seed": 3,
         "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                              {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                              {"id": "out", "type": "Dense", "params": {"units": 1}},
                              {"id": "output", "type": "Output"}]},
         "dataset": {"type": "xor", "params": {"n": 40}}, "loss": "bce_logits",
         "optimizer": {"type": "sgd", "params": {"lr": 0.1}}, "training": {"epochs": 2, "batch_size": 8}}
    d.update(changes)
    p = tmp_path / filename
    p.write_text(json.dumps(d))
    return p


def one_error(capsys, argv, *needles, code=2):
    assert run_cli([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def digest(p: Path) -> bytes:
    return p.read_bytes()


# -- never over the user's files ------------------------------------------------------------------
def test_safetensors_export_never_replaces_a_users_json_beside_it(tmp_path, capsys):
    s = small_session(tmp_path)
    mine = small_session(tmp_path, "NAME.json", name="my other session")
    before = digest(mine)
    one_error(capsys, ["export", s, "--format", "safetensors", "--out", tmp_path / "NAME.safetensors"],
              "NAME.json", "not an architecture file written by NN Playground", "--force")
    assert digest(mine) == before and not (tmp_path / "NAME.safetensors").exists()  # nothing written at all
    # an architecture file we wrote earlier is ours to replace
    assert run_cli(["export", str(s), "--format", "safetensors", "--out", str(tmp_path / "net.safetensors")]) == 0
    assert run_cli(["export", str(s), "--format", "safetensors", "--out", str(tmp_path / "net.safetensors")]) == 0
    assert json.loads((tmp_path / "net.json").read_text())["format"] == "nn-playground-weights"
    # --force replaces a stranger's file, but never the session being exported
    assert run_cli(["export", str(s), "--format", "safetensors", "--out", str(tmp_path / "NAME.safetensors"),
                    "--force"]) == 0
    assert json.loads(mine.read_text())["format"] == "nn-playground-weights"
    capsys.readouterr()
    src = small_session(tmp_path, "self.json")
    one_error(capsys, ["export", src, "--format", "safetensors", "--out", tmp_path / "self.safetensors", "--force"],
              "self.json is the session being exported")
    assert json.loads(src.read_text())["name"] == "files"


def test_companion_paths_are_the_files_the_exporters_write(tmp_path):
    from engine.export import companion_paths

    s = small_session(tmp_path)
    for fmt in ("safetensors", "pytorch", "onnx"):
        out = tmp_path / fmt / f"net.{'py' if fmt == 'pytorch' else fmt}"
        out.parent.mkdir()
        assert run_cli(["export", str(s), "--format", fmt, "--out", str(out)]) == 0
        written = sorted(p.name for p in out.parent.iterdir())
        assert written == sorted(os.path.basename(p) for p, _, _ in companion_paths(fmt, str(out)))


def test_train_out_refuses_the_input_and_non_archives(tmp_path, capsys):
    s = small_session(tmp_path)
    before = digest(s)
    one_error(capsys, ["train", s, "--out", s], "--out must name a .nnp file")
    assert digest(s) == before
    a = tmp_path / "a.nnp"
    assert run_cli(["train", str(s), "--out", str(a)]) == 0
    saved = digest(a)
    capsys.readouterr()
    one_error(capsys, ["train", a, "--epochs", "3", "--out", a], "is the session being read", "--force")
    assert digest(a) == saved
    assert run_cli(["train", str(a), "--epochs", "3", "--out", str(a), "--force"]) == 0  # continue in place
    from engine.archive import load_archive

    assert load_archive(a).history.n_epochs == 3


def test_train_out_refuses_files_it_did_not_write_unless_forced(tmp_path, capsys):
    s = small_session(tmp_path)
    notes = tmp_path / "notes.nnp"
    notes.write_text("my notes, not an archive\n")
    one_error(capsys, ["train", s, "--out", notes], "not a .nnp archive written by NN Playground", "--force")
    assert notes.read_text() == "my notes, not an archive\n"
    assert run_cli(["train", str(s), "--out", str(notes), "--force"]) == 0
    assert zipfile.is_zipfile(notes)
    empty = tmp_path / "empty.nnp"
    empty.touch()  # an empty file holds nothing to lose
    assert run_cli(["train", str(s), "--out", str(empty)]) == 0


def test_out_writes_through_a_symlink_and_keeps_the_link(tmp_path):
    s = small_session(tmp_path)
    real = tmp_path / "real.nnp"
    assert run_cli(["train", str(s), "--out", str(real)]) == 0
    link = tmp_path / "link.nnp"
    link.symlink_to(real.name)
    assert run_cli(["train", str(s), "--epochs", "3", "--out", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "real.nnp"
    from engine.archive import load_archive

    assert load_archive(real).history.n_epochs == 3


def test_out_refuses_devices_fifos_and_folders_even_with_force(tmp_path, capsys):
    s = small_session(tmp_path)
    fifo = tmp_path / "pipe.nnp"
    os.mkfifo(fifo)
    folder = tmp_path / "dir.nnp"
    folder.mkdir()
    for target, word in ((fifo, "FIFO"), (folder, "folder"), ("/dev/null.nnp", None)):
        if word is None:
            continue
        one_error(capsys, ["train", s, "--out", target, "--force"], word, "refusing to write over it")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and folder.is_dir()
    from engine.errors import InvalidInput
    from engine.safe_io import atomic_write_bytes, check_output

    with pytest.raises(InvalidInput, match="a device"):
        check_output("/dev/null", "nnp", force=True)
    with pytest.raises(InvalidInput, match="a device"):
        atomic_write_bytes("/dev/null", b"x")  # the GUI's saves go through the same rule
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    out = one_error(capsys, ["export", s, "--format", "onnx", "--out", tmp_path / "missing" / "x.onnx"])
    assert "does not exist" in out


def test_stale_temporaries_of_ours_are_cleaned_on_the_next_save(tmp_path):
    from engine.safe_io import atomic_write_bytes

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is no longer running
    target = tmp_path / "s.nnp"
    stale = tmp_path / f".tmp-{dead.pid}-abcd1234-s.nnp"
    stale.write_bytes(b"half a save")
    live = tmp_path / f".tmp-{os.getpid()}-efgh5678-s.nnp"  # ours, maybe a save in progress: kept while young
    live.write_bytes(b"in progress")
    old_live = tmp_path / f".tmp-{os.getpid()}-ijkl9012-s.nnp"
    old_live.write_bytes(b"left long ago")
    os.utime(old_live, (time.time() - 7200, time.time() - 7200))
    other = tmp_path / f".tmp-{dead.pid}-abcd1234-other.nnp"  # another file's: not this save's business
    other.write_bytes(b"x")
    users = tmp_path / ".tmp-notes"  # not ours at all
    users.write_bytes(b"x")
    atomic_write_bytes(target, b"data")
    assert target.read_bytes() == b"data"
    assert not stale.exists() and not old_live.exists()
    assert live.exists() and other.exists() and users.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-") and "-s.nnp" in p.name) == [live.name]


def test_a_failed_write_leaves_no_temporary_and_the_old_file(tmp_path, monkeypatch):
    from engine.safe_io import atomic_write_bytes

    target = tmp_path / "s.nnp"
    target.write_bytes(b"old")

    def fail(*a):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["s.nnp"]


def test_modes_follow_the_umask_and_survive_a_resave(tmp_path):
    from engine.safe_io import atomic_write_bytes

    old = os.umask(0o022)
    try:
        new = tmp_path / "new.nnp"
        atomic_write_bytes(new, b"a")
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o644  # not mkstemp's 0600
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "private.nnp", b"a")
        assert stat.S_IMODE(os.stat(tmp_path / "private.nnp").st_mode) == 0o600
        os.chmod(new, 0o640)
        atomic_write_bytes(new, b"b")
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o640 and new.read_bytes() == b"b"
    finally:
        os.umask(old)


# -- bad input is one line, never a traceback -------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "train", "trace", "export"])
def test_a_folder_given_as_the_session(tmp_path, capsys, command):
    extra = ["--format", "onnx", "--out", str(tmp_path / "x.onnx")] if command == "export" else []
    for folder in (tmp_path, tmp_path / "d.nnp"):
        folder.mkdir(exist_ok=True)
        one_error(capsys, [command, folder, *extra], "is a folder")


def test_device_and_fifo_sessions_are_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    signal.alarm(20)  # a blocking open would hang the suite: fail loudly instead
    try:
        one_error(capsys, ["validate", "/dev/zero"], "/dev/zero is a device")
        one_error(capsys, ["validate", fifo], "is a FIFO")
        one_error(capsys, ["train", tmp_path / "none.nnp"], "cannot open")
    finally:
        signal.alarm(0)


def test_read_limit_holds_whatever_stat_says(tmp_path, monkeypatch):
    from engine.errors import SessionError
    from engine.safe_io import read_bytes_limited

    p = tmp_path / "s.json"
    p.write_bytes(b"x" * 5000)
    real_stat = os.stat

    class Zero:  # a file that reports size 0, as /proc and devices do
        def __init__(self, st):
            self.st_mode, self.st_size, self.st_mtime = st.st_mode, 0, st.st_mtime

    monkeypatch.setattr(os, "stat", lambda path, *a, **k: Zero(real_stat(path, *a, **k)))
    with pytest.raises(SessionError, match="over the 1,000-byte limit"):
        read_bytes_limited(p, 1000, error=SessionError)


@pytest.mark.parametrize("doc, needle", [
    ('{"graph": ' + "[" * 1000 + "]" * 1000 + "}", "nested"),
    ('{"graph": ' + "[" * 100000 + "]" * 100000 + "}", "nested too deeply"),
])
def test_deep_nesting_is_refused(tmp_path, capsys, doc, needle):
    p = tmp_path / "deep.json"
    p.write_text(doc)
    one_error(capsys, ["validate", p], needle)


def test_early_stopping_true_is_refused_by_validate_and_train(tmp_path, capsys):
    s = small_session(tmp_path, training={"early_stopping": True})
    for cmd in ("validate", "train"):
        one_error(capsys, [cmd, s], "training.early_stopping must be null or an object", "got true")
    s = small_session(tmp_path, training={"early_stopping": {"patience": 3, "restore": True}})
    one_error(capsys, ["validate", s], "has no setting \"restore\"")


@pytest.mark.parametrize("argv, needle", [
    (["--seed", "18446744073709551616"], "--seed must be at most 9,223,372,036,854,775,807"),
    (["--seed", "-1"], "--seed must be at least 0"),
    (["--epochs", str(10**12)], "--epochs must be at most 1,000,000"),
    (["--epochs", "many"], "--epochs must be a whole number"),
])
def test_out_of_range_flags(tmp_path, capsys, argv, needle):
    one_error(capsys, ["train", small_session(tmp_path), *argv], needle)


def test_a_huge_seed_in_the_file(tmp_path, capsys):
    one_error(capsys, ["train", small_session(tmp_path, seed=2**64)], "'seed' must be between 0 and")


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
    one_error(capsys, argv, needle)
    assert no_window == []


def test_only_no_arguments_or_one_session_file_open_the_window(tmp_path, capsys, no_window):
    s = small_session(tmp_path)
    assert run_cli([]) == 0 and run_cli([str(s)]) == 0 and run_cli(["later.nnp"]) == 0
    assert no_window == [[], [str(s)], ["later.nnp"]]
    one_error(capsys, [s, "--epochs", "2"], "no options", f"main.py train {s} --epochs 2")


def test_without_a_display_one_line_instead_of_qts_abort(capsys, monkeypatch, no_window):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    one_error(capsys, [], "no display", "QT_QPA_PLATFORM=offscreen")
    assert no_window == []


def test_without_a_display_in_a_real_process():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: no display") and len(r.stderr.splitlines()) == 1


# -- honest output --------------------------------------------------------------------------------
def _strict_json(line):
    def refuse(name):
        raise AssertionError(f"{name} in a JSON line: {line}")
    return json.loads(line, parse_constant=refuse)


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

    assert load_archive(out).history.n_epochs == 2  # stopped at the first line it could not write


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
    one_error(capsys, ["train", _damaged(tmp_path, edit), "--epochs", "3"], needle)


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
    line = one_error(capsys, ["train", bad, "--epochs", "3"], "'model.layers.h.weight' holds NaN or infinity")
    assert "diverged" not in line.split("(")[0]
