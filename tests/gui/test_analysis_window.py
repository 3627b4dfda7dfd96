"""The Analyze menu in the main window, and transfer learning on the canvas end to end."""
from __future__ import annotations

import itertools

import pytest

from engine import Run, Session


def auc_by_pairs(y, s):
    pos, neg = s[y == 1], s[y == 0]
    return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg)) / (len(pos) * len(neg))


def circle_session(epochs=3):
    return Session.from_dict({
        "name": "circle", "seed": 4,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "h1", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "h2", "type": "Dense", "params": {"units": 6, "activation": "tanh"}},
                             {"id": "out", "type": "Dense", "params": {"units": 1}},
                             {"id": "output", "type": "Output"}]},
        "dataset": {"type": "circle", "params": {"n": 150}},
        "loss": "bce_logits", "optimizer": {"type": "sgd", "params": {"lr": 0.3}},
        "training": {"epochs": epochs, "batch_size": 16}})


def train_in(win, qtbot):
    c = win.controller
    with qtbot.waitSignal(c.finished, timeout=60000):
        c.train()
    assert c.document_run() is not None
    return c.document_run()


def test_analyze_menu_opens_the_views_on_the_trained_run(live_windows, qtbot):
    win = live_windows(circle_session(), strict=True)
    names = [a.text().replace("&", "") for a in win.analyze_menu.actions() if a.text()]
    assert names[:7] == ["Evaluation…", "Explanations…", "Surrogate Tree…", "Learning Curve…", "Sanity Checks…",
                         "Curvature (Hessian)…", "Bias–Variance…"]
    assert "Import Layers from .nnp…" in names
    # before training: the view says what to do
    win.actions_by_name["analyze_evaluate"].trigger()
    view = win.analysis.views["evaluation"]
    assert win.analysis.isVisible() and "Train the network first" in view.status.text()
    run = train_in(win, qtbot)
    with qtbot.waitSignal(view.computed, timeout=30000):
        win.actions_by_name["analyze_evaluate"].trigger()
    s = run.predict(run.data.raw_x("test"))[:, 0]
    assert view.result["auc"] == pytest.approx(auc_by_pairs(run.data.y_test, s), abs=1e-9)
    # training on recomputes a shown evaluation when it stops
    win.doc.set_session_field("training", dict(win.doc.session.training, epochs=5))
    with qtbot.waitSignal(view.computed, timeout=60000):
        win.controller.train()
    assert run.epoch == 5
    s = run.predict(run.data.raw_x("test"))[:, 0]
    assert view.result["auc"] == pytest.approx(auc_by_pairs(run.data.y_test, s), abs=1e-9)
    with qtbot.waitSignal(win.analysis.views["explain"].computed, timeout=30000):
        win.actions_by_name["analyze_explain"].trigger()
    assert win.analysis.tabs.currentWidget() is win.analysis.views["explain"]
    win.analysis.close()


class FakeDialogs:
    def __init__(self, path, **opts):
        self.path, self.opts, self.asked = path, opts, None

    def ask_source(self, parent):
        return self.path

    def ask_options(self, parent, layers, head_units, source_name):
        self.asked = (layers, head_units, source_name)
        return self.opts


def test_transfer_import_freeze_new_head_train_fine_tune(live_windows, qtbot, tmp_path):
    from gui.analysis.transfer import fine_tune, import_layers, toggle_freeze

    src = Run(circle_session(), path="torch")
    src.fit(3)
    path = str(tmp_path / "source.nnp")
    src.save(path)
    w_src = src.weights()
    target = Session.from_dict({
        "name": "target", "seed": 11,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "output", "type": "Output"}]},
        "dataset": {"type": "blobs", "params": {"n": 150, "classes": 3}},
        "loss": "cross_entropy", "optimizer": {"type": "momentum", "params": {"lr": 0.1}},
        "training": {"epochs": 3, "batch_size": 16}})
    win = live_windows(target, strict=True)
    doc = win.doc
    d = FakeDialogs(path, ids=["h1", "h2"], freeze=True, head=3, wire=True)
    res = import_layers(win, dialogs=d)
    layers, head_units, name = d.asked
    assert [r["id"] for r in layers] == ["h1", "h2", "out", "output"] and head_units == 3 and name == "source.nnp"
    new = res["ids"]
    assert len(new) == 2 and res["head"] and not res["notes"]
    g = doc.graph
    assert [g.node(i).trainable for i in new] == [False, False] and g.node(res["head"]).params["units"] == 3
    assert g.inputs_of(new[0]) == ["input"] and g.inputs_of(new[1]) == [new[0]]
    assert g.inputs_of(res["head"]) == [new[1]] and g.inputs_of("output") == [res["head"]]
    assert doc.report.ok
    item = win.scene.nodes[new[0]]
    assert "frozen" in item.lines[2] and not item.trainable  # visible on the node
    # one undo takes the whole import back, redo brings it again
    doc.undo_stack.undo()
    assert doc.graph.ids() == ["input", "output"]
    doc.undo_stack.redo()
    assert set(doc.graph.ids()) == {"input", "output", *new, res["head"]}
    run = train_in(win, qtbot)
    w = run.weights()
    for nid, sid in zip(new, ["h1", "h2"]):
        for p in ("weight", "bias"):
            assert w[f"layers.{nid}.{p}"].tobytes() == w_src[f"layers.{sid}.{p}"].tobytes()
    assert run.epoch == 3 and run.history.n_epochs == 3
    # freeze toggle on a selection, and fine-tuning: everything trainable, lr × 0.1, one undo step each
    doc.set_selection([res["head"]])
    assert toggle_freeze(win) == [res["head"]] and not doc.graph.node(res["head"]).trainable
    doc.undo_stack.undo()
    assert doc.graph.node(res["head"]).trainable
    opt = fine_tune(win)
    assert opt["params"]["lr"] == pytest.approx(0.01) and doc.session.optimizer["params"]["lr"] == pytest.approx(0.01)
    assert all(doc.graph.node(i).trainable for i in new)
    doc.undo_stack.undo()
    assert not doc.graph.node(new[0]).trainable and doc.session.optimizer["params"]["lr"] == pytest.approx(0.1)


def test_import_refusals_are_one_line_in_the_status_bar(live_windows, tmp_path):
    from gui.analysis.transfer import import_layers

    win = live_windows(circle_session(), strict=True)
    untrained = str(tmp_path / "u.nnp")
    Run(circle_session(), build=False).save(untrained)
    before = win.doc.graph.ids()
    assert import_layers(win, dialogs=FakeDialogs(untrained)) is None
    assert "no weights to import" in win.statusBar().currentMessage()
    bad = tmp_path / "bad.nnp"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert import_layers(win, dialogs=FakeDialogs(str(bad))) is None
    assert win.statusBar().currentMessage().startswith("Cannot import layers:")
    assert win.doc.graph.ids() == before


def test_curvature_page_shows_the_hessian_of_the_trained_run(live_windows, qtbot):
    """Analyze ▸ Curvature: the table, spectrum and profiles equal an independent float64 Hessian of the run."""
    import numpy as np
    import torch

    win = live_windows(circle_session(epochs=2), strict=True)
    run = train_in(win, qtbot)
    view = win.analysis_window().views["curvature"]
    view.radius.setValue(0.5)
    with qtbot.waitSignal(view.computed, timeout=60000):
        win.actions_by_name["analyze_curvature"].trigger()
    assert win.analysis.tabs.currentWidget() is view
    # independently: autograd's Hessian of the mean BCE over the training split, parameter by parameter
    with run.snapshot() as tr:
        model = __import__("copy").deepcopy(tr.model).double().eval()
        x = torch.as_tensor(tr.data.x_train, dtype=torch.float64)
        y = torch.as_tensor(tr.data.y_train).double()
    params = [p for p in model.parameters() if p.requires_grad]
    flat0 = torch.cat([p.detach().reshape(-1) for p in params])

    def loss_of(theta):
        off, out = 0, x
        chunks = []
        for p in params:
            chunks.append(theta[off: off + p.numel()].reshape(p.shape))
            off += p.numel()
        w1, b1, w2, b2, w3, b3 = chunks
        out = torch.tanh(out @ w1.T + b1)
        out = torch.tanh(out @ w2.T + b2)
        z = (out @ w3.T + b3).reshape(-1)
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y)

    h = torch.autograd.functional.hessian(loss_of, flat0).numpy()
    expected = np.linalg.eigvalsh(h)
    c, profiles = view.result
    np.testing.assert_allclose(c.eigenvalues, expected, rtol=1e-7, atol=1e-10)
    rows = {view.table.item(r, 0).text(): view.table.item(r, 1).text() for r in range(view.table.rowCount())}
    assert rows["parameters n"] == f"{len(flat0):,}" and rows["λ_max"] == f"{expected[-1]:.4g}"
    assert rows["GD limit 2/λ_max"] == f"{2 / expected[-1]:.4g}" and rows["optimizer η"] == "0.3"
    neg = int((expected < -1e-7 * abs(expected).max()).sum())
    assert rows["negative / zero / positive"].startswith(f"{neg} / ")
    xs, ys = view.steep_curve.getData()
    assert xs[0] == pytest.approx(-0.5) and xs[-1] == pytest.approx(0.5)
    v = c.eigenvectors[:, -1]
    assert ys[0] == pytest.approx(float(loss_of(flat0 - 0.5 * torch.as_tensor(v))), rel=1e-9)
    assert view.verdict.text().startswith("‖∇L‖ = ")
    view.log_scale.setChecked(True)  # the spectrum over its decades
    np.testing.assert_allclose(view.spectrum.getData()[1], np.log10(np.abs(expected)), rtol=1e-6)


def test_surrogate_tree_page_fits_trees_to_the_networks_predictions(live_windows, qtbot):
    """Analyze ▸ Surrogate Tree: bars = each depth's impurity-decrease importance, legend = fidelity (R²)."""
    import numpy as np

    from engine.surrogate import fit_tree

    win = live_windows(circle_session(epochs=2), strict=True)
    run = train_in(win, qtbot)
    view = win.analysis_window().views["surrogate"]
    view.depth_a.setValue(2)
    view.depth_b.setValue(5)
    with qtbot.waitSignal(view.computed, timeout=60000):
        win.actions_by_name["analyze_surrogate"].trigger()
    x = run.data.raw_x("train")
    p = run.predict(x)[:, 0]
    for bar, depth, t in zip(view.bars, (2, 5), view.result["trees"]):
        independent = fit_tree(x, p, max_depth=depth)  # the same CART on the network's P(class 1)
        np.testing.assert_allclose(bar.opts["height"], independent.importances, rtol=1e-6, atol=1e-9)
        pred = independent.predict(x)[:, 0]
        r2 = 1 - ((p - pred) ** 2).sum() / ((p - p.mean()) ** 2).sum()
        assert t["fidelity"] == pytest.approx(r2, rel=1e-5)
    assert view.result["trees"][1]["fidelity"] > view.result["trees"][0]["fidelity"]
    text = view.rules.toPlainText()
    assert text.startswith("depth-2 tree on P(class 1) (train, n = ") and "≤" in text
    assert "Fidelity is the R² to the network's outputs" in view.reading.text()
