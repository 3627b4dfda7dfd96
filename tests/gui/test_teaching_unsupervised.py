"""Teach ▸ Unsupervised: the view on the example session, Lloyd's steps drawn as the engine computed them."""
import numpy as np
import pytest

from engine.session import load_session
from tests.gui.test_teaching_backprop import EX


def open_view(window, qtbot, name="blobs_softmax.json"):
    window.doc.set_session(load_session(EX / name))
    window.actions_by_name["teach_unsupervised"].trigger()
    view = window.teaching_views["unsupervised"]
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    return view


def test_view_clusters_the_example_and_steps_through_lloyd(qtbot, window):
    view = open_view(window, qtbot)
    assert view.isVisible() and view.k.value() == 3  # the blobs' three classes
    rep = view.result["report"]
    km, x = rep["_objects"]["kmeans"], view.result["inputs"].x
    s = window.doc.session
    from engine.data import make_dataset

    assert np.allclose(x, make_dataset(s.dataset, seed=s.seed).x_train)  # the session's own training inputs
    # the last step is drawn: the final centroids, points coloured by the final assignment
    assert view.slider.value() == len(km.steps) - 1
    assert np.allclose(view.drawn_centroids(), km.centroids)
    explicit = float(((x - km.centroids[km.labels]) ** 2).sum())
    assert rep["inertia"] == pytest.approx(explicit) and f"inertia {explicit:.4g}" in view.scores.text()
    # back to the start, then one step: the first assignment to the k-means++ seeds
    view.slider.setValue(0)
    assert "start" in view.phase.text() and np.allclose(view.drawn_centroids(), km.steps[0].centroids)
    view.forward.click()
    a = km.steps[1]
    assert a.phase == "assign" and "assign" in view.phase.text()
    assert np.allclose(view.drawn_centroids(), km.steps[0].centroids)  # assigning does not move the centroids
    d = ((x[:, None] - km.steps[0].centroids[None]) ** 2).sum(-1)
    assert np.array_equal(a.labels, d.argmin(1))
    view.forward.click()
    u = km.steps[2]
    means = np.array([x[a.labels == j].mean(0) for j in range(3)])
    assert u.phase == "update" and np.allclose(view.drawn_centroids(), means)  # the update: the means
    assert f"inertia {u.inertia:.4g}" in view.phase.text()
    # the labels: compared only afterwards
    table = rep["agreement"]["table"]
    assert view.table.rowCount() == 3 and view.table.item(0, 0).text() == str(table[0][0])
    assert "not</b> used" in view.agreement.text() and f"{rep['agreement']['ari']:.3f}" in view.agreement.text()
    assert rep["agreement"]["ari"] > 0.95
    # the elbow and PCA tabs
    ks, inertias = view.elbow_curve.getData()
    assert list(ks) == list(range(1, 11)) and inertias[0] == pytest.approx(float(((x - x.mean(0)) ** 2).sum()))
    bx = view.pca_tab.bars.opts["height"]
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
    assert np.allclose(bx, ev / ev.sum())
    assert "no bueno for interpretability" in view.pca_tab.caution.text()
    assert "does not train reinforcement-learning agents" in view.rl_note.text()
    view.close()


def test_wide_inputs_are_drawn_in_their_first_two_components(qtbot, window, session_of):
    s = load_session(EX / "blobs_softmax.json")
    s.dataset = {"type": "digits", "params": {}, "split": {"train": 0.3, "val": 0.35, "test": 0.35}}
    window.doc.set_session(s)
    window.actions_by_name["teach_unsupervised"].trigger()
    view = window.teaching_views["unsupervised"]
    view.k.setValue(4)
    view.n_init.setValue(2)
    qtbot.waitUntil(lambda: view.result is not None, timeout=30000)
    view.compute()  # again with k = 4
    qtbot.waitUntil(lambda: view.result is not None and view.result["report"]["k"] == 4, timeout=30000)
    rep = view.result["report"]
    x = view.result["inputs"].x
    assert x.shape[1] == 64
    vals, vecs = np.linalg.eigh(np.cov(x, rowvar=False))
    top = vecs[:, np.argsort(vals)[::-1][:2]]
    c = rep["_objects"]["kmeans"].centroids
    drawn = view.drawn_centroids()
    expected = (c - x.mean(0)) @ top
    assert np.allclose(np.abs(drawn), np.abs(expected), atol=1e-6)  # up to each component's sign
    assert "PC1" in view.scatter_pw.getPlotItem().getAxis("bottom").labelText
    assert view.pca_tab.table.rowCount() == 64 and view.pca_tab.table.columnCount() == 12
    view.close()


def test_a_k_larger_than_the_data_is_one_line(qtbot, window):
    view = open_view(window, qtbot)
    view.k.setValue(50)
    s = window.doc.session
    s.dataset = dict(s.dataset, params=dict(s.dataset["params"], n=40))
    before = view.result
    view.compute()
    qtbot.waitUntil(lambda: "more than the" in view.status.text(), timeout=20000)
    assert "k = 50 clusters is more than the 28 samples" in view.status.text()
    assert view.result is before and view.scatter_pw.isVisible()  # the last clustering stays on screen
    assert view.button.isEnabled()
    view.close()


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_the_view_runs_alone_on_the_blobs(qtbot, monkeypatch):
    """``python -m gui.teaching.unsupervised_view`` opens on the blobs example and clusters it."""
    from tests.gui.test_teaching_alone import _run

    (view,) = [w for w in _run(monkeypatch, "gui.teaching.unsupervised_view") if type(w).__name__ == "UnsupervisedView"]
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    assert view.result["report"]["k"] == 3 and view.result["inputs"].x.shape == (420, 2)
    header = view.pca_tab.table.horizontalHeaderItem(0).text()
    assert header == f"PC1 ({100 * view.result['report']['pca']['explained_variance_ratio'][0]:.1f} %)"
    view.close()


def test_a_regression_dataset_has_no_classes_to_compare(qtbot):
    """One input (the noisy sine): drawn on a line, one component, and no agreement table (no classes)."""
    from gui.teaching.unsupervised_view import UnsupervisedView

    s = load_session(EX / "sine_bias_variance.json")
    view = UnsupervisedView(lambda: s)
    qtbot.addWidget(view)
    view.compute()
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    rep = view.result["report"]
    assert "agreement" not in rep and view.table.rowCount() == 0 and "no classes" in view.agreement.text()
    x = view.result["inputs"].x
    px, py = view.points.getData()
    assert np.allclose(px, x[:, 0]) and np.allclose(py, 0.0)
    assert rep["pca"]["explained_variance_ratio"] == [1.0] and "one input: one component" in view.pca_tab.summary.text()
    view.close()
