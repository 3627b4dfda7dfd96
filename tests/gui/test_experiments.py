"""The experiments in the window: runs recorded and compared, variants, cross-validation, search (issue 12)."""
import runpy

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from engine.runs import legend_labels
from tests.engine.experiments_helpers import tiny


def _train(qtbot, win):
    with qtbot.waitSignal(win.controller.finished, timeout=60000):
        win.controller.train()


def test_every_training_is_a_run_compared_restored_deleted_and_saved(window, qtbot, tmp_path):
    win = window
    win.load_session(tiny(epochs=2, lr=0.05))
    _train(qtbot, win)
    book = win.runs
    assert len(book.records) == 1
    first = book.records[0]
    run = win.controller.run
    np.testing.assert_array_equal(first.curves["train_loss"], run.history.epoch_array("train_loss"))
    assert first.metrics["val"]["accuracy"] == pytest.approx(run.evaluate("val")["accuracy"])
    # a structural edit starts a new run; the old one stays a record (and in the controller's past runs)
    win.controller.ask_structural_change = lambda: "new"
    win.doc.set_param("h", "units", 6)
    win.doc.set_session_field("optimizer", {"type": "sgd", "params": {"lr": 0.2}})
    _train(qtbot, win)
    assert len(book.records) == 2 and win.controller.past_runs == [run]
    panel = win.runs_panel
    assert panel.table.rowCount() == 2
    assert "h.units 4 (now 6)" in panel.table.item(0, 3).text() and "lr 0.05 (now 0.2)" in panel.table.item(0, 3).text()
    assert panel.table.item(1, 3).text() == "same settings"
    panel.table.selectAll()
    assert panel.labels == legend_labels(book.records) and panel.labels[0].startswith("h.units 4")
    assert len(panel.curves) == 2
    x, y = panel.curves[1].getData()
    np.testing.assert_allclose(y, book.records[1].curves["val_loss"])
    # restore run 1: one undoable edit
    panel.table.clearSelection()
    panel.table.selectRow(0)
    depth = win.doc.undo_stack.count()
    panel.restore_selected()
    assert win.doc.undo_stack.count() == depth + 1
    assert win.doc.session.optimizer["params"]["lr"] == 0.05 and win.doc.graph.node("h").params["units"] == 4
    win.doc.undo_stack.undo()
    assert win.doc.session.optimizer["params"]["lr"] == 0.2 and win.doc.graph.node("h").params["units"] == 6
    # saved in the .nnp, reopened with it
    path = str(tmp_path / "s.nnp")
    assert win.save_to(path)
    assert win.open_path(path)
    assert [r.name for r in book.records] == ["run 1", "run 2"]
    np.testing.assert_array_equal(book.records[0].curves["val_loss"], first.curves["val_loss"])
    # training on the reopened run updates its record instead of adding a twin
    win.controller.train()  # after the restore's replay: Train continues the saved run
    qtbot.waitUntil(lambda: book.records[-1].epochs == 4, timeout=60000)
    assert [r.name for r in book.records] == ["run 1", "run 2"]
    panel.table.selectRow(0)
    panel.delete_selected()
    assert [r.name for r in book.records] == ["run 2"] and panel.table.rowCount() == 1


def test_deleting_a_replaced_run_lets_the_controller_drop_it(window, qtbot):
    win = window
    win.load_session(tiny(epochs=1))
    _train(qtbot, win)
    first = win.controller.run
    win.controller.ask_structural_change = lambda: "new"
    win.doc.set_param("h", "units", 5)
    _train(qtbot, win)
    assert win.controller.past_runs == [first]
    win.runs.delete([0])
    assert win.controller.past_runs == [] and len(win.runs.records) == 1


def _wait_job(qtbot, view, timeout=120000):
    qtbot.waitUntil(lambda: not view.job.running and not view.job.timer.isActive(), timeout=timeout)


def test_variants_view_draws_each_runs_curve_and_boundary(qtbot):
    from engine.variants import boundary_grid
    from gui.experiments.runs import RunBook
    from gui.experiments.variants_view import VariantsView

    book = RunBook()
    view = VariantsView(lambda: tiny(epochs=3), book)
    qtbot.addWidget(view)
    view.path = "torch"
    view.epochs.setValue(3)
    view.values.setText("0.03, 0.3")
    assert view.start()
    _wait_job(qtbot, view)
    assert view.status.text().startswith("Done: 2 of 2")
    for i, run in enumerate(view.vs.runs):
        x, y = view.curve_items[i].getData()
        np.testing.assert_allclose(y, run.history.epoch_array("val_loss"))
        np.testing.assert_allclose(view.grids[i], boundary_grid(run, view.extent), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(view.images[i].image, view.grids[i])
    assert [r.name for r in book.records] == ["variant lr 0.03", "variant lr 0.3"]
    view.values.setText("0.1")
    assert not view.start() and "2 to 16 values" in view.status.text()


def test_variant_thumbnails_on_multi_label_data_draw_the_chosen_labels_probability(qtbot):
    """Multi-label: each thumbnail is P(label j) on the grid — the run's own prediction's column j — and the
    label combo switches every thumbnail at once (it used to show the first label only)."""
    from pathlib import Path

    from engine.session import load_session
    from engine.variants import GRID, boundary_grid
    from gui.experiments.variants_view import VariantsView

    s = load_session(Path(__file__).resolve().parents[2] / "resources" / "examples" / "multi_label_playground.json")
    s.training["epochs"] = 2
    view = VariantsView(lambda: s)
    qtbot.addWidget(view)
    view.path = "torch"
    view.epochs.setValue(2)
    view.values.setText("0.03, 0.3")
    assert view.start()
    _wait_job(qtbot, view)
    names = list(view.vs.runs[0].data.class_names)
    assert len(names) >= 2 and view.label_combo.isVisibleTo(view)
    assert [view.label_combo.itemText(i) for i in range(view.label_combo.count())] == [str(n) for n in names]
    x0, x1, y0, y1 = view.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    for j in (0, 1):
        view.label_combo.setCurrentIndex(j)
        for i, run in enumerate(view.vs.runs):
            expected = run.predict(pts)[:, j].reshape(GRID, GRID)
            np.testing.assert_allclose(boundary_grid(run, view.extent)[j], expected, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(view.images[i].image, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(view.images[0].image, view.vs.runs[0].predict(pts)[:, 0].reshape(GRID, GRID))


def test_crossval_view_table_matches_the_engines_crossval(qtbot):
    from engine.crossval import cross_validate
    from gui.experiments.crossval_view import CrossValView

    s = tiny(epochs=2)
    view = CrossValView(lambda: s)
    qtbot.addWidget(view)
    view.path = "torch"
    view.k.setValue(3)
    view.epochs.setValue(2)
    assert view.start()
    _wait_job(qtbot, view)
    ref = cross_validate(s, 3)
    assert view.table.rowCount() == 4  # three folds and mean ± std
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    col = headers.index("accuracy")
    for r in range(3):
        assert float(view.table.item(r, col).text()) == pytest.approx(ref["folds"][r]["accuracy"], abs=1e-4)
    mean, std = ref["mean"]["accuracy"], ref["std"]["accuracy"]
    assert view.table.item(3, col).text() == f"{mean:.4f} ± {std:.4f}"
    assert view.summary_label.text().startswith(f"accuracy {mean:.4f} ± {std:.4f} over 3 folds")
    assert all(len(c) == 2 for c in view.curves_data)


def test_search_view_runs_trials_shows_other_workers_and_applies_the_best(qtbot, tmp_path):
    pytest.importorskip("optuna")
    from engine import search
    from gui.document import Document
    from gui.experiments.sweep_view import SweepView

    doc = Document(tiny(epochs=1))
    view = SweepView(lambda: doc.session.copy(), doc)
    qtbot.addWidget(view)
    view.path = "torch"
    view.epochs.setValue(1)
    view.trials.setValue(3)
    view.sampler.setCurrentIndex(view.sampler.findData("random"))
    view.storage_edit.setText(str(tmp_path / "t.optuna.journal"))
    assert view.start()
    _wait_job(qtbot, view)
    assert view.table.rowCount() == 3 and view.status.text().startswith("Search done: best val_loss")
    # another worker (another machine, the same storage) adds two trials: they appear within a poll
    st = search.open_storage(str(tmp_path / "t.optuna.journal"))
    study, d = search.load_study(st, view.study_name(), seed=5)
    search.enqueue(study, 2)
    search.work(study, d)
    qtbot.waitUntil(lambda: view.table.rowCount() == 5, timeout=5000)
    best = search.best_row(view.study, view.definition)
    values = [r["value"] for r in search.trial_rows(study)]
    assert best["value"] == min(values)
    hx, hy = view.history.best.getData()
    assert hy[-1] == pytest.approx(min(values))
    depth = doc.undo_stack.count()
    assert view.apply_best()
    assert doc.undo_stack.count() == depth + 1
    assert doc.session.optimizer["params"]["lr"] == pytest.approx(best["params"]["optimizer.lr"])
    assert doc.graph.node("h").params["units"] == best["params"]["graph.units"]
    doc.undo_stack.undo()
    assert doc.session.optimizer["params"]["lr"] == 0.1 and doc.graph.node("h").params["units"] == 4


def test_search_form_refuses_nothing_checked_and_reversed_ranges(qtbot):
    from engine.errors import InvalidInput
    from gui.experiments.sweep_form import SearchForm

    form = SearchForm()
    qtbot.addWidget(form)
    space = form.space()
    assert space["optimizer.lr"] == {"type": "float", "low": 0.001, "high": 0.3, "log": True}
    box, _, _, widgets = form.rows["lr"]
    widgets[0].setValue(0.5)
    with pytest.raises(InvalidInput, match="above"):
        form.space()
    for key in form.rows:
        form.set_checked(key, False)
    with pytest.raises(InvalidInput, match="at least one"):
        form.space()


def test_the_experiments_menu_opens_each_view(window, qtbot):
    win = window
    acts = win.actions_by_name
    acts["experiments_runs"].trigger()
    assert win.runs_dock.isVisible() and win.tabifiedDockWidgets(win.runs_dock) == [win.docks["plotsDock"]]
    for name, page in (("experiments_variants", 0), ("experiments_crossval", 1), ("experiments_search", 2)):
        acts[name].trigger()
        assert win.experiments.isVisible() and win.experiments.tabs.currentIndex() == page


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("module", ["gui.experiments.runs_panel", "gui.experiments.variants_view",
                                    "gui.experiments.crossval_view", "gui.experiments.sweep_view",
                                    "gui.experiments.window"])
def test_each_view_runs_alone(qtbot, monkeypatch, module):
    import gui.panels

    monkeypatch.setattr(QApplication, "exec", lambda self=None: 0)
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit) as ex:
        runpy.run_module(module, run_name="__main__")
    assert ex.value.code == 0
    w = gui.panels.preview.widget
    assert w.isVisible()
    for job in [getattr(w, "job", None)] + [getattr(getattr(w, n, None), "job", None)
                                            for n in ("variants", "crossval", "search")]:
        if job is not None:
            job.stop()
    w.close()


def test_search_view_without_optuna_says_so_and_starts_nothing(qtbot, monkeypatch):
    import sys

    from gui.experiments.sweep_view import SweepView

    monkeypatch.setitem(sys.modules, "optuna", None)
    view = SweepView(lambda: tiny())
    qtbot.addWidget(view)
    assert not view.start()
    assert "needs Optuna" in view.status.text() and not view.job.running and view.study is None
