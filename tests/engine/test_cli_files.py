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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_helpers import assert_one_error, small_session  # noqa: E402


def digest(p: Path) -> bytes:
    return p.read_bytes()


# -- never over the user's files ------------------------------------------------------------------
def test_safetensors_export_never_replaces_a_users_json_beside_it(tmp_path, capsys):
    s = small_session(tmp_path)
    mine = small_session(tmp_path, "NAME.json", name="my other session")
    before = digest(mine)
    assert_one_error(capsys, ["export", s, "--format", "safetensors", "--out", tmp_path / "NAME.safetensors"],
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
    assert_one_error(capsys, ["export", src, "--format", "safetensors", "--out", tmp_path / "self.safetensors", "--force"],
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
    assert_one_error(capsys, ["train", s, "--out", s], "--out must name a .nnp file")
    assert digest(s) == before
    a = tmp_path / "a.nnp"
    assert run_cli(["train", str(s), "--out", str(a)]) == 0
    saved = digest(a)
    capsys.readouterr()
    assert_one_error(capsys, ["train", a, "--epochs", "3", "--out", a], "is the session being read", "--force")
    assert digest(a) == saved
    assert run_cli(["train", str(a), "--epochs", "3", "--out", str(a), "--force"]) == 0  # continue in place
    from engine.archive import load_archive

    assert load_archive(a).history.n_epochs == 3


def test_train_out_refuses_files_it_did_not_write_unless_forced(tmp_path, capsys):
    s = small_session(tmp_path)
    notes = tmp_path / "notes.nnp"
    notes.write_text("my notes, not an archive\n")
    assert_one_error(capsys, ["train", s, "--out", notes], "not a .nnp archive written by NN Playground", "--force")
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
        assert_one_error(capsys, ["train", s, "--out", target, "--force"], word, "refusing to write over it")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and folder.is_dir()
    from engine.errors import InvalidInput
    from engine.safe_io import atomic_write_bytes, check_output

    with pytest.raises(InvalidInput, match="a device"):
        check_output("/dev/null", "nnp", force=True)
    with pytest.raises(InvalidInput, match="a device"):
        atomic_write_bytes("/dev/null", b"x")  # the GUI's saves go through the same rule
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    out = assert_one_error(capsys, ["export", s, "--format", "onnx", "--out", tmp_path / "missing" / "x.onnx"])
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
        assert_one_error(capsys, [command, folder, *extra], "is a folder")


def test_device_and_fifo_sessions_are_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    signal.alarm(20)  # a blocking open would hang the suite: fail loudly instead
    try:
        assert_one_error(capsys, ["validate", "/dev/zero"], "/dev/zero is a device")
        assert_one_error(capsys, ["validate", fifo], "is a FIFO")
        assert_one_error(capsys, ["train", tmp_path / "none.nnp"], "cannot open")
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
    assert_one_error(capsys, ["validate", p], needle)


def test_early_stopping_true_is_refused_by_validate_and_train(tmp_path, capsys):
    s = small_session(tmp_path, training={"early_stopping": True})
    for cmd in ("validate", "train"):
        assert_one_error(capsys, [cmd, s], "training.early_stopping must be null or an object", "got true")
    s = small_session(tmp_path, training={"early_stopping": {"patience": 3, "restore": True}})
    assert_one_error(capsys, ["validate", s], "has no setting \"restore\"")


@pytest.mark.parametrize("argv, needle", [
    (["--seed", "18446744073709551616"], "--seed must be at most 9,223,372,036,854,775,807"),
    (["--seed", "-1"], "--seed must be at least 0"),
    (["--epochs", str(10**12)], "--epochs must be at most 1,000,000"),
    (["--epochs", "many"], "--epochs must be a whole number"),
])
def test_out_of_range_flags(tmp_path, capsys, argv, needle):
    assert_one_error(capsys, ["train", small_session(tmp_path), *argv], needle)


def test_a_huge_seed_in_the_file(tmp_path, capsys):
    assert_one_error(capsys, ["train", small_session(tmp_path, seed=2**64)], "'seed' must be between 0 and")


@pytest.mark.parametrize("changes, needle", [
    ({"optimizer": {"type": "adam", "params": {"lr": 1e300}}}, "lr"),
    ({"dataset": {"type": "inline", "params": {"x": [[0, 0], [0, 1], [1, 0], [10**400, 1]], "y": [0, 1, 1, 0]}}},
     "too large"),
])
def test_huge_numbers_are_one_line_not_a_traceback(tmp_path, capsys, changes, needle):
    line = assert_one_error(capsys, ["train", small_session(tmp_path, **changes), "--epochs", "1"], needle)
    assert len(line) < 300  # the 400-digit number is not echoed whole




@pytest.mark.parametrize("fmt, name", [("onnx", "m.onnx"), ("torchscript", "m.pt"), ("pytorch", "m.py"),
                                       ("report", "m.html"), ("safetensors", "m.safetensors")])
def test_every_export_recognises_its_own_earlier_file(tmp_path, capsys, fmt, name):
    from engine.safe_io import written_by_us

    s = small_session(tmp_path)
    out = tmp_path / name
    assert run_cli(["export", str(s), "--format", fmt, "--out", str(out)]) == 0
    assert written_by_us(out, fmt) and not written_by_us(s, fmt)  # ours; a session is not an export
    assert run_cli(["export", str(s), "--format", fmt, "--out", str(out)]) == 0  # replaced without --force
    stranger = tmp_path / f"other{out.suffix}"
    stranger.write_bytes(b"PK\x03\x04 someone else's file with pytorch and NN Playground far below" + b" " * 70000)
    capsys.readouterr()
    assert_one_error(capsys, ["export", s, "--format", fmt, "--out", stranger], "refusing to replace it")


def test_train_threads_overrides_the_thread_policy_and_bad_counts_exit_2(tmp_path, capsys):
    """A tiny model gets 1 thread by the policy; --threads 2 sets 2 for this training; 0 is refused."""
    import torch

    from tests.engine.cli_helpers import assert_one_error, small_session

    p = small_session(tmp_path)
    before = torch.get_num_threads()
    try:
        assert run_cli(["train", str(p), "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
        assert run_cli(["train", str(p)]) == 0
        assert torch.get_num_threads() == 1  # the policy again: a 2-4-1 net is overhead-bound
    finally:
        torch.set_num_threads(before)
    capsys.readouterr()
    assert_one_error(capsys, ["train", p, "--threads", "0"], "--threads")


def test_train_no_cache_frozen_computes_the_frozen_layers_every_step_and_trains_the_same(tmp_path, capsys):
    """Lecture 004's cache of frozen outputs is on by default; --no-cache-frozen turns it off for this run."""
    from tests.engine.cli_helpers import small_session

    p = small_session(tmp_path, graph={"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "h", "type": "Dense", "params": {"units": 16, "activation": "tanh"}, "trainable": False},
        {"id": "out", "type": "Dense", "params": {"units": 1}},
        {"id": "output", "type": "Output"}]}, training={"epochs": 2, "batch_size": 8, "device": "cpu"})
    capsys.readouterr()
    assert run_cli(["train", str(p), "--out", str(tmp_path / "on.nnp")]) == 0
    on = capsys.readouterr()
    assert "note: frozen layers' outputs cached: 1 frozen layer (input → h)" in on.err
    assert run_cli(["train", str(p), "--no-cache-frozen", "--out", str(tmp_path / "off.nnp")]) == 0
    off = capsys.readouterr()
    assert "note: frozen layers' outputs not cached (--no-cache-frozen)" in off.err
    def losses(err):  # "completed after 2 epochs in 0.0s: train_loss=…": the part after the timing
        return [ln.split(": ", 1)[1] for ln in err.splitlines() if ln.startswith("completed")]

    assert losses(on.err) and losses(on.err) == losses(off.err)  # the same training
    from engine.archive import load_archive

    for name in ("on.nnp", "off.nnp"):  # the flag is for this run: a saved session keeps its own setting
        assert load_archive(str(tmp_path / name)).session.training.get("cache_frozen", True) is True
    assert run_cli(["train", str(small_session(tmp_path, "plain.json"))]) == 0
    assert "frozen" not in capsys.readouterr().err  # no frozen layer: nothing to say
