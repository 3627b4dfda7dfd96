"""Sessions from the window (issue #6): save a trained .nnp, reopen it, continue the same curves; bad files; export."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from engine.archive import load_archive
from engine.session import load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
FIXTURES = ROOT / "tests" / "data" / "sessions"


def example(name, **training):
    s = load_session(EXAMPLES / f"{name}.json")
    s.training.update(training)
    return s


@pytest.fixture
def make_live(live_windows):
    """``make_live(session=None)``: a shown window with live training; notes collected in ``win.notes``."""
    return live_windows


def train(qtbot, win, timeout=15000):
    with qtbot.waitSignal(win.live.controller.finished, timeout=timeout) as fin:
        win.actions_by_name["train"].trigger()
    return fin.args[0]


def open_restored(qtbot, win, path):
    """Open ``path`` and wait for the restored trainer's snapshot (boundary, activations) to finish."""
    with qtbot.waitSignal(win.live.controller.finished, timeout=15000):
        assert win.files.open(str(path))
    return win.live.controller.trainer


def test_trained_session_reopens_with_its_curves_and_training_continues(make_live, qtbot, tmp_path):
    import torch

    a = make_live(example("circle_playground", epochs=3))
    assert train(qtbot, a).reason == "completed"
    tr_a = a.live.controller.trainer
    spe = tr_a.steps_per_epoch
    assert tr_a.epoch == 3 and tr_a.step == 3 * spe
    assert a.windowTitle() == "Circle* — NN Playground"  # trained, not saved yet
    a.files.ask_save_path = lambda: str(tmp_path / "circle")  # no extension: trained work goes to .nnp
    assert a.files.save_as()
    path = tmp_path / "circle.nnp"
    assert a.windowTitle() == "circle — NN Playground" and not a.has_unsaved_changes()
    saved = load_archive(path)
    assert saved.trained and saved.meta["step"] == 3 * spe and saved.history.n_epochs == 3
    thumb = QImage.fromData(saved.thumbnail, "PNG")
    assert thumb.width() == 320 and 40 < thumb.height() < 640

    b = make_live()
    tr_b = open_restored(qtbot, b, path)
    assert b.doc.path == str(path) and b.windowTitle() == "circle — NN Playground"
    assert b.statusBar().currentMessage() == f"Restored 3 epochs, {3 * spe} steps of training — Train continues"
    assert b.files.recent()[0] == str(path)
    assert tr_b is not tr_a and (tr_b.epoch, tr_b.step, tr_b.batch_in_epoch) == (3, 3 * spe, 0)
    assert tr_b.history.n_epochs == 3 and len(tr_b.history.step_loss) == 3 * spe
    np.testing.assert_array_equal(tr_b.history.epoch_array("train_loss"), tr_a.history.epoch_array("train_loss"))
    sa, sb = tr_a.model.state_dict(), tr_b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    # the plots show the saved history at once
    b.live.hub.flush()
    lp = b.live.plots["Loss"]
    assert list(lp.epochs.col(0)) == [1, 2, 3] and len(lp.steps) == 3 * spe
    np.testing.assert_allclose(lp.epochs.col(1), tr_a.history.epochs["train_loss"], rtol=1e-6)
    assert np.isclose(lp.steps.col(0)[-1], 3.0)
    assert b.live.progress_panel.labels["epoch"].text() == "3 / 3"
    assert b.live.plots["Boundary"].frame is not None and b.live.plots["Confusion"].matrix is not None
    # gradient norms per layer over time: sqrt(|grad W|^2 + |grad b|^2) at every saved statistics step
    gx, gw = tr_a.history.layer_stats["dense1.weight"].data()
    _, gb = tr_a.history.layer_stats["dense1.bias"].data()
    buf = b.live.plots["Gradients"].bufs["dense1"]
    np.testing.assert_allclose(buf.col(0), gx / spe)
    np.testing.assert_allclose(buf.col(1), np.hypot(gw[:, 3], gb[:, 3]), rtol=1e-6)
    assert b.live.plots["Weights"].latest["dense1.weight"].hist_counts == tuple(
        int(c) for c in tr_a.history.layer_hists["dense1.weight"].data()[1][-1])
    assert b.live.progress_panel.state.text() == f"Idle — 3 epochs, {3 * spe} steps trained (Train continues)"
    # Train continues the same curves: one more epoch is epoch 4, steps 3*spe+1 ... 4*spe
    for w in (a, b):
        w.doc.set_session_field("training", dict(w.doc.session.training, epochs=4))
        assert train(qtbot, w).reason == "completed"
    tr_a2 = a.live.controller.trainer
    assert tr_b is b.live.controller.trainer and (tr_b.epoch, tr_b.step) == (4, 4 * spe)
    x, _ = tr_b.history.step_loss.data()
    assert np.array_equal(x, np.arange(1, 4 * spe + 1))
    # ... and exactly as if the first window had never stopped (weights, optimizer and RNG were restored)
    np.testing.assert_allclose(tr_b.history.epoch_array("train_loss"), tr_a2.history.epoch_array("train_loss"),
                               rtol=1e-5)
    b.live.hub.flush()
    assert list(lp.epochs.col(0)) == [1, 2, 3, 4] and len(lp.steps) == 4 * spe
    assert b.windowTitle() == "circle* — NN Playground"


def test_saving_while_training_pauses_the_run_and_picks_it_up(make_live, qtbot, tmp_path, monkeypatch):
    import time

    import engine.archive

    real_save, during = engine.archive.save_archive, []

    def slow_save(path, session, trainer=None, **kw):  # no step may run while the state is read
        before = trainer.step
        time.sleep(0.08)
        during.append((before, trainer.step))
        return real_save(path, session, trainer, **kw)

    monkeypatch.setattr(engine.archive, "save_archive", slow_save)
    win = make_live(example("spiral_playground", epochs=10_000))
    c = win.live.controller
    steps = []
    c.progress.connect(lambda b: steps.extend(b.steps.tolist()))
    win.actions_by_name["train"].trigger()
    qtbot.waitUntil(lambda: c.trainer is not None and c.trainer.step >= 60, timeout=10000)
    ended = []
    c.finished.connect(ended.append)
    assert win.save_to(tmp_path / "running.nnp")
    assert c.state == "running" and not ended  # the pause was invisible: no finished signal, still running
    assert during[0][0] == during[0][1] >= 60
    saved = load_archive(tmp_path / "running.nnp")
    s = saved.meta["step"]
    assert s >= 60 and len(saved.history.step_loss) == s and saved.history.step_loss.data()[0][-1] == s
    qtbot.waitUntil(lambda: c.trainer.step >= s + 30, timeout=5000)
    c.pause()
    qtbot.wait(100)
    assert win.save_to(tmp_path / "paused.nnp")
    assert c.state == "paused"
    paused_step = load_archive(tmp_path / "paused.nnp").meta["step"]
    qtbot.wait(150)
    assert c.trainer.step == paused_step  # still paused after the save
    with qtbot.waitSignal(c.finished, timeout=3000):
        c.stop()
    assert steps == list(range(1, c.trainer.step + 1))  # one unbroken curve across both saves


@pytest.mark.parametrize("name, words", [
    ("not_a_zip.nnp", "not a valid .nnp archive"),
    ("truncated.nnp", "truncated"),
    ("future.nnp", "made by a newer version"),
    ("future_v99_session.json", "made by a newer version"),
    ("session_bad_json.nnp", "not valid JSON"),
    ("bad_shape.nnp", "has shape (2, 3) but the network needs (3, 2)"),
    ("unknown_layer.nnp", "unknown layer type 'Quantum'"),
    ("zip_bomb.nnp", "zip bomb"),
    ("corrupt_member.nnp", "damaged"),
])
def test_a_bad_file_is_explained_and_the_document_is_untouched(window, tmp_path, name, words):
    notes = []
    window.files.notify = lambda title, text: notes.append((title, text))
    window.doc.set_param("dense1", "units", 5)
    session, undo = window.doc.session, window.doc.undo_stack.count()
    digest = hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest()
    window.files.ask_unsaved = lambda: QMessageBox.Discard
    assert not window.files.open(str(FIXTURES / name))
    assert len(notes) == 1 and notes[0][0] == "Cannot open" and words in notes[0][1]
    assert window.doc.session is session and window.doc.undo_stack.count() == undo and window.doc.dirty
    assert window.doc.graph.node("dense1").params["units"] == 5 and window.doc.path is None
    assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest


def test_the_real_notifier_is_a_warning_box_with_the_engine_message(window, monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda parent, title, text, *a: shown.append((title, text))))
    assert not window.open_path(tmp_path / "missing.nnp")
    assert not window.open_path(tmp_path)  # a folder
    assert shown[0][0] == "Cannot open" and "missing.nnp" in shown[0][1] and "No such file" in shown[0][1]
    assert shown[1][0] == "Cannot open" and str(tmp_path) in shown[1][1]


def test_app_start_opens_the_file_argument_and_survives_a_bad_one(qtbot, tmp_path, monkeypatch):
    from gui import app

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a: shown.append(text)))
    bad = FIXTURES / "future.nnp"
    before = bad.read_bytes()
    win = app.start([str(bad)], recovery_folder=tmp_path / "rec")
    qtbot.addWidget(win)
    win.files.ask_unsaved = lambda: QMessageBox.Discard
    assert not shown  # the window paints first; the file is read right after
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=5000)
    assert "made by a newer version" in shown[0]
    assert win.doc.path is None and win.doc.session.name == "Playground" and not win.doc.dirty
    assert bad.read_bytes() == before
    qtbot.waitUntil(lambda: win.live is not None, timeout=5000)
    win.live.controller.shutdown()

    good = FIXTURES / "good.nnp"
    win2 = app.start([str(good)], recovery_folder=tmp_path / "rec")
    qtbot.addWidget(win2)
    win2.files.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.waitUntil(lambda: win2.doc.path == str(good), timeout=5000)
    assert win2.controller.run is not None
    qtbot.waitUntil(lambda: win2.controller.trainer is not None and win2.live is not None
                    and not win2.controller.busy, timeout=10000)
    tr = win2.live.controller.trainer
    assert tr.step == load_archive(good).meta["step"] and win2.controller.state == "finished"
    win2.live.controller.shutdown()
    assert len(shown) == 1


def test_json_is_settings_only_and_revert_reloads_the_trained_state(make_live, qtbot, tmp_path):
    from gui.file_actions import JSON_FILTER, NNP_FILTER, SAVE_FILTER

    assert "no weights" in JSON_FILTER and "weights" in NNP_FILTER and SAVE_FILTER.startswith(NNP_FILTER)
    win = make_live(example("gauss_playground", epochs=2))
    train(qtbot, win)
    spe = win.live.controller.trainer.steps_per_epoch
    assert win.save_to(tmp_path / "g.json")
    assert "settings only" in win.statusBar().currentMessage()
    assert load_session(tmp_path / "g.json").name == "Two Gaussians, one neuron"
    assert win.save_to(tmp_path / "g.nnp")
    win.doc.set_session_field("training", dict(win.doc.session.training, epochs=3))
    train(qtbot, win)
    assert win.live.controller.trainer.epoch == 3 and win.has_unsaved_changes()
    win.files.ask_revert = lambda: True
    with qtbot.waitSignal(win.live.controller.finished, timeout=10000):
        assert win.files.revert()
    tr = win.live.controller.trainer
    assert (tr.epoch, tr.step) == (2, 2 * spe) and win.doc.session.training["epochs"] == 2
    assert not win.has_unsaved_changes() and win.windowTitle() == "g — NN Playground"


def test_closing_with_unsaved_training_asks_and_save_keeps_it(make_live, qtbot, tmp_path):
    win = make_live(example("gauss_playground", epochs=1))
    train(qtbot, win)
    assert not win.doc.dirty and win.has_unsaved_changes()
    win.files.ask_unsaved = lambda: QMessageBox.Cancel
    assert not win.close() and win.isVisible()
    win.files.ask_unsaved = lambda: QMessageBox.Save
    win.files.ask_save_path = lambda: str(tmp_path / "kept.nnp")
    assert win.close()
    assert load_archive(tmp_path / "kept.nnp").history.n_epochs == 1


def test_saving_an_untrained_nnp_does_not_load_torch(tmp_path):
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
            "from gui.main_window import MainWindow; w = MainWindow(); w.show(); app.processEvents();"
            f"ok = w.save_to({str(tmp_path / 'plain.nnp')!r}); print(ok, 'torch' in sys.modules)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path),
               HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True False"
    a = load_archive(tmp_path / "plain.nnp")
    assert not a.trained and a.session.name == "Playground" and QImage.fromData(a.thumbnail, "PNG").width() == 320


def test_export_menu_writes_the_trained_model_data_and_history(make_live, qtbot, tmp_path):
    import onnxruntime as ort
    import torch
    from safetensors.torch import load_file

    win = make_live(example("circle_playground", epochs=2))
    train(qtbot, win)
    tr = win.live.controller.trainer
    menu = win.export_menu
    win.export.arrange()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["&Model", "Training &History (CSV)…", "&Dataset with Split (CSV)…", "&TensorBoard Log…",
                     "TensorBoard: Include the &Runs", "Current &Plot"]
    assert [a.text() for a in win.export.model_menu.actions() if not a.isSeparator()] == [
        "&ONNX…", "&TorchScript…", "&safetensors…", "PyTorch &Source…", "&HTML Report…",
        "Include the Data's &Scaling"]
    chosen = {}
    win.export.ask_path = lambda title, name, flt: chosen.setdefault(title, str(tmp_path / name))
    for fmt in ("onnx", "torchscript", "safetensors", "pytorch", "report"):
        win.export.actions[fmt].trigger()
    assert win.notes == []
    files = {Path(p).suffix: Path(p) for p in chosen.values()}
    assert set(files) == {".onnx", ".pt", ".safetensors", ".py", ".html"} and all(p.exists() for p in files.values())
    x = tr.data.x_val[:5]
    with torch.no_grad():
        want = tr.model.eval()(torch.as_tensor(x)).numpy()
    sess = ort.InferenceSession(str(files[".onnx"]))
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # the trained weights, not the initial ones
    ts = torch.jit.load(str(files[".pt"]))
    np.testing.assert_allclose(ts(torch.as_tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    weights = load_file(str(files[".safetensors"]))
    assert all(torch.equal(weights[k], v) for k, v in tr.model.state_dict().items())
    assert "<html" in files[".html"].read_text().lower()
    compile(files[".py"].read_text(), "model.py", "exec")
    win.export.actions["dataset"].trigger()
    rows = (tmp_path / "circle_data.csv").read_text().splitlines()
    assert rows[0] == "split,x1,x2,target" and len(rows) == 1 + sum(tr.data.sizes.values())
    assert sum(r.startswith("val,") for r in rows) == len(tr.data.y_val)
    # errors become a message, not a traceback
    win.export.ask_path = lambda *a: str(tmp_path / "nowhere" / "m.onnx")
    assert win.export.export_model("onnx") is None
    assert win.notes[-1][0] == "Export failed" and "does not exist" in win.notes[-1][1]


def test_export_before_training_uses_the_initial_weights(window, tmp_path):
    from safetensors.torch import load_file

    from engine.builder import build_model

    window.export.ask_path = lambda *a: str(tmp_path / "w")
    assert window.export.export_model("safetensors") == str(tmp_path / "w.safetensors")
    assert "untrained" in window.statusBar().currentMessage()
    init = build_model(window.doc.session.graph, seed=window.doc.session.seed).state_dict()
    got = load_file(str(tmp_path / "w.safetensors"))
    assert got.keys() == init.keys() and all(np.array_equal(got[k].numpy(), v.numpy()) for k, v in init.items())


def test_export_takes_raw_inputs_unless_the_bare_network_is_asked_for(make_live, qtbot, tmp_path):
    import torch

    from engine.data.preprocess import apply_preprocess

    s = example("circle_playground", epochs=2)
    s.dataset = dict(s.dataset, preprocess={"scale": "standardize"})
    win = make_live(s)
    train(qtbot, win)
    run = win.controller.run
    raw = run.data.raw_x("test")[:7] * 1.0
    scaled = apply_preprocess(raw, run.data.preprocess_state)
    assert np.abs(raw - scaled).max() > 0.1  # the scaling matters here
    want = run.predict(raw, logits=True)
    win.export.ask_path = lambda title, name, flt: str(tmp_path / "full.pt")
    win.export.actions["torchscript"].trigger()
    full = torch.jit.load(str(tmp_path / "full.pt"))
    np.testing.assert_allclose(full(torch.as_tensor(raw)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    win.export.actions["with_scaling"].setChecked(False)
    win.export.ask_path = lambda title, name, flt: str(tmp_path / "bare.pt")
    win.export.actions["torchscript"].trigger()
    bare = torch.jit.load(str(tmp_path / "bare.pt"))
    np.testing.assert_allclose(bare(torch.as_tensor(scaled)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert win.notes == []
