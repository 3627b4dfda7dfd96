"""Teach ▸ Unsupervised: k-means and PCA on this session's training inputs (lectures 003 §1.1, 002, 001).

Unsupervised learning has "no label or target class" and looks for "properties of the structure of the data"
(lecture 003). The view clusters the session dataset's training inputs with k-means
(``engine.unsupervised.analyse``, run off the GUI thread by the shared JobRunner) and lets you step through
Lloyd's algorithm phase by phase — *assign* each point to its nearest centroid, *update* each centroid to
its points' mean — beside the elbow plot (inertia against k) and the silhouette. 2-D data are drawn as they
are, wider data in their first two principal components (the PCA tab). The true classes, when the dataset
has them, never reach k-means; they are only compared with the clusters afterwards (contingency table,
adjusted Rand index). The view holds no training state and never touches the user's run.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from ..analysis.base import SettingsView
from ..tables import read_only_table, set_rows
from .unsupervised_pca import PCATab

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
PHASES = {
    "init": "start: k-means++ seeded the centroids (far apart, probability ∝ D²); nothing assigned yet",
    "assign": "assign: every point goes to its nearest centroid",
    "update": "update: every centroid moves to the mean of its points",
}
RL_NOTE = (
    "Reinforcement learning, the third kind in lecture 003 §1.1, learns from rewards instead of labels: "
    "lecture 002 puts it as weighting the network “to perform actions that minimize long-term (expected "
    "cumulative) cost”. The playground does not train reinforcement-learning agents.")


def colour(j) -> str:
    return PALETTE[j % len(PALETTE)] if j < len(PALETTE) else pg.intColor(j, hues=max(j + 1, 12)).name()


class UnsupervisedView(SettingsView):
    title = "Unsupervised"
    button_text = "Cluster"
    needs = "Open or create a session first; then press Cluster."

    def __init__(self, session_provider=None, parent=None):
        super().__init__(None, parent, session_provider=session_provider or (lambda: None))
        self.setWindowTitle("Unsupervised learning: k-means & PCA — NN Playground")
        self.k = self.add_control(QSpinBox(minimum=1, maximum=50, value=3), "k")
        self.k.setObjectName("kClusters")
        self.k.setToolTip("Number of clusters. k-means needs it given; the elbow plot helps choose it")
        self.n_init = self.add_control(QSpinBox(minimum=1, maximum=100, value=10), "restarts")
        self.n_init.setObjectName("nInit")
        self.n_init.setToolTip("k-means++ restarts; the one with the lowest inertia is kept (Lloyd finds a local "
                               "minimum that depends on the start)")
        self.seed = self.add_control(QSpinBox(minimum=0, maximum=1_000_000, value=0), "seed")
        self.seed.setObjectName("seed")
        self.source = self.add_control(QComboBox(), "inputs")
        self.source.setObjectName("inputSource")
        self.source.addItem("as the network sees them (scaled)", "scaled")
        self.source.addItem("raw (before scaling)", "raw")
        self.source.setToolTip("k-means and PCA measure distance and variance, so the scaling changes both")
        self.finish_bar()
        self.inputs_line = QLabel()
        self.inputs_line.setObjectName("inputsLine")
        self.inputs_line.setWordWrap(True)
        self.body.addWidget(self.inputs_line)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("unsupervisedTabs")
        self.tabs.addTab(self._kmeans_tab(), "k-means")
        self.pca_tab = PCATab()
        self.tabs.addTab(self.pca_tab, "PCA")
        self.body.addWidget(self.tabs, 1)
        self.rl_note = QLabel(RL_NOTE)
        self.rl_note.setObjectName("rlNote")
        self.rl_note.setWordWrap(True)
        self.rl_note.setStyleSheet("color: #5b6573;")
        self.body.addWidget(self.rl_note)
        self.step_index = 0

    # -- building ------------------------------------------------------------------------------
    def _kmeans_tab(self):
        self.scatter_pw = pg.PlotWidget()
        self.scatter_pw.setObjectName("clusterScatter")
        self.scatter_pw.setBackground("w")
        sp = self.scatter_pw.getPlotItem()
        sp.showGrid(x=True, y=True, alpha=0.2)
        self.points = pg.ScatterPlotItem(size=6, pen=None)
        self.centres = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("k", width=1.5))
        self.centres.setZValue(10)
        sp.addItem(self.points)
        sp.addItem(self.centres)
        self.back = QPushButton("◀ Step")
        self.back.setObjectName("stepBack")
        self.forward = QPushButton("Step ▶")
        self.forward.setObjectName("stepForward")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("stepSlider")
        self.slider.setEnabled(False)
        self.back.clicked.connect(lambda: self.slider.setValue(self.slider.value() - 1))
        self.forward.clicked.connect(lambda: self.slider.setValue(self.slider.value() + 1))
        self.slider.valueChanged.connect(self.show_step)
        steps = QHBoxLayout()
        for w in (self.back, self.slider, self.forward):
            steps.addWidget(w)
        steps.setStretch(1, 1)
        self.phase = QLabel("Press Cluster.")
        self.phase.setObjectName("phaseLine")
        self.phase.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.scatter_pw, 1)
        ll.addLayout(steps)
        ll.addWidget(self.phase)
        self.elbow_pw = pg.PlotWidget()
        self.elbow_pw.setObjectName("elbowPlot")
        self.elbow_pw.setBackground("w")
        ep = self.elbow_pw.getPlotItem()
        ep.showGrid(x=True, y=True, alpha=0.25)
        ep.setLabel("bottom", "k (clusters)")
        ep.setLabel("left", "inertia Σ‖x − c‖²")
        ep.getAxis("left").enableAutoSIPrefix(False)
        self.elbow_curve = ep.plot([], [], pen=pg.mkPen("#4c78a8", width=2), symbol="o", symbolSize=7,
                                   symbolBrush="#4c78a8")
        self.elbow_mark = pg.ScatterPlotItem(size=14, symbol="o", pen=pg.mkPen("#d62728", width=2), brush=None)
        ep.addItem(self.elbow_mark)
        self.scores = QLabel()
        self.scores.setObjectName("scoresLine")
        self.scores.setWordWrap(True)
        self.agreement = QLabel()
        self.agreement.setObjectName("agreementLine")
        self.agreement.setWordWrap(True)
        self.table = read_only_table("contingencyTable")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.elbow_pw, 3)
        rl.addWidget(self.scores)
        rl.addWidget(self.agreement)
        rl.addWidget(self.table, 2)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([560, 400])
        return split

    # -- computing (the job runs on the runner's thread: no widgets there) ----------------------
    def job(self, session):
        if session is None:
            return None
        from engine.unsupervised import analyse, session_inputs

        k, n_init, seed, source = self.k.value(), self.n_init.value(), self.seed.value(), self.source.currentData()

        def work(progress, should_stop):
            inputs = session_inputs(session, source)
            rep = analyse(inputs, k, n_init=n_init, seed=seed, progress=progress, should_stop=should_stop)
            return {"inputs": inputs, "report": rep}

        return work

    def on_progress(self, text):
        self.set_status(str(text))

    # -- drawing -----------------------------------------------------------------------------
    def project(self, a):
        """Plot coordinates of points ``a`` (N, d): themselves for 2-D, (x, 0) for 1-D, else their first two PCs."""
        a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
        if a.shape[1] == 2:
            return a
        if a.shape[1] == 1:
            return np.column_stack([a[:, 0], np.zeros(len(a))])
        return self.result["report"]["_objects"]["pca"].transform(a, 2)

    def show_result(self, result):
        inputs, rep = result["inputs"], result["report"]
        km, fitted = rep["_objects"]["kmeans"], rep["_objects"]["pca"]
        self.inputs_line.setText(inputs.description + ". k-means sees only these inputs, never the labels.")
        self.xy = self.project(inputs.x)
        sp = self.scatter_pw.getPlotItem()
        d = inputs.x.shape[1]
        if d == 2:
            sp.setLabel("bottom", inputs.feature_names[0])
            sp.setLabel("left", inputs.feature_names[1])
            sp.setTitle("the training inputs")
        elif d == 1:
            sp.setLabel("bottom", inputs.feature_names[0])
            sp.setLabel("left", "")
            sp.setTitle("the training inputs (one feature)")
        else:
            r = fitted.explained_variance_ratio
            sp.setLabel("bottom", f"PC1 ({100 * r[0]:.1f} % of the variance)")
            sp.setLabel("left", f"PC2 ({100 * r[1]:.1f} %)")
            sp.setTitle(f"{d} inputs drawn in their first two principal components")
        ks = [e["k"] for e in rep["elbow"]]
        self.elbow_curve.setData(ks, [e["inertia"] for e in rep["elbow"]])
        self.elbow_mark.setData([rep["k"]], [rep["inertia"]])
        self.elbow_pw.getPlotItem().getAxis("bottom").setTicks([[(float(k), str(k)) for k in ks]])
        sil = rep["silhouette"]
        sweep = ", ".join(f"k={e['k']}: {e['silhouette']:.2f}" for e in rep["elbow"] if e["silhouette"] is not None)
        self.scores.setText(
            f"k = {rep['k']}: inertia {rep['inertia']:.4g}, sizes {', '.join(map(str, rep['sizes']))}, "
            f"{rep['iterations']} iterations; silhouette "
            f"{'undefined for k = 1 or k = n' if sil is None else format(sil, '.3f')} (1 = tight and apart, "
            f"0 = on a border). Look for the elbow, where more clusters stop paying. Silhouette by k: {sweep}.")
        self._show_agreement(rep)
        self.pca_tab.show_pca(fitted, inputs.feature_names, rep["pca"]["reconstruction_error"])
        steps = km.steps
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(steps) - 1)
        self.slider.setValue(len(steps) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self.show_step(len(steps) - 1)
        self.scatter_pw.getPlotItem().autoRange()

    def _show_agreement(self, rep):
        a = rep.get("agreement")
        if a is None:
            self.agreement.setText("This dataset has no classes to compare with (regression or multi-label): the "
                                   "clusters are all there is.")
            set_rows(self.table, [], columns=[])
            return
        self.agreement.setText(
            f"Agreement with the true classes — the labels were <b>not</b> used to cluster, only compared "
            f"afterwards: adjusted Rand index <b>{a['ari']:.3f}</b> (1 = the same partition, ≈ 0 = chance). "
            f"Rows: true class; columns: cluster.")
        set_rows(self.table, a["table"], columns=[f"cluster {c}" for c in a["clusters"]], row_labels=a["classes"],
                 right=True)

    @Slot(int)
    def show_step(self, i):
        """Draw Lloyd's step ``i``: the points coloured by that step's assignment and its centroids."""
        if self.result is None:
            return
        steps = self.result["report"]["_objects"]["kmeans"].steps
        i = max(0, min(int(i), len(steps) - 1))
        self.step_index = i
        s = steps[i]
        if s.labels is None:
            brushes = [pg.mkBrush(160, 160, 160, 160)] * len(self.xy)
        else:
            cache = {}
            brushes = [cache.setdefault(int(j), pg.mkBrush(pg.mkColor(colour(int(j))).lighter(115)))
                       for j in s.labels]
        self.points.setData(self.xy[:, 0], self.xy[:, 1], brush=brushes)
        cxy = self.project(s.centroids)
        self.centres.setData(cxy[:, 0], cxy[:, 1], brush=[pg.mkBrush(colour(j)) for j in range(len(cxy))])
        text = PHASES[s.phase]
        if s.phase == "assign":
            text += f" ({s.moved} point{'s' if s.moved != 1 else ''} changed cluster)"
        elif s.phase == "update" and s.moved:
            text += f" ({s.moved} empty cluster{'s' if s.moved != 1 else ''} restarted at the farthest point)"
        inertia = "" if s.inertia is None else f" · inertia {s.inertia:.4g}"
        last = " · converged: the next assignment changes nothing" if i == len(steps) - 1 and \
            self.result["report"]["converged"] else ""
        self.phase.setText(f"Step {i} of {len(steps) - 1}, iteration {s.iteration} — {text}{inertia}{last}")
        self.back.setEnabled(i > 0)
        self.forward.setEnabled(i < len(steps) - 1)

    def closeEvent(self, event):
        self.runner.cancel()  # a clustering still running is dropped; its thread ends on its own
        super().closeEvent(event)

    def drawn_centroids(self):
        """The centroid marks as drawn (plot coordinates), for tests and scripts."""
        x, y = self.centres.getData()
        return np.column_stack([x, y])

    # -- export ------------------------------------------------------------------------------
    def export_item(self):
        return (self.scatter_pw if self.tabs.currentIndex() == 0 else self.pca_tab.pw).getPlotItem()

    def csv_table(self):
        if self.result is None:
            return [], []
        rep = self.result["report"]
        if self.tabs.currentIndex() == 0:
            return (["k", "inertia", "silhouette"],
                    [[e["k"] for e in rep["elbow"]], [e["inertia"] for e in rep["elbow"]],
                     [e["silhouette"] for e in rep["elbow"]]])
        p = rep["pca"]
        return (["component", "explained_variance", "ratio", "cumulative"],
                [list(range(1, p["components"] + 1)), p["explained_variance"], p["explained_variance_ratio"],
                 p["cumulative_ratio"]])


def _class_count(session):
    """The dataset's number of classes (a starting k that the agreement table can be read against), or None."""
    from engine.data import make_dataset
    from engine.errors import InvalidInput

    try:
        data = make_dataset(session.dataset, seed=session.seed)
    except InvalidInput:  # Cluster will say what is wrong with it
        return None
    return data.n_classes if data.task == "classification" and 1 <= data.n_classes <= 50 else None


def from_window(win) -> UnsupervisedView:
    """On a copy of the window's current session (its dataset and seed; no network is needed), clustering at once;
    k starts at the dataset's number of classes when it has classes."""
    view = UnsupervisedView(lambda: win.doc.session.copy())  # read on the GUI thread at each Cluster
    view.k.setValue(_class_count(win.doc.session) or 3)
    view.setParent(win, Qt.Window)
    view.compute()
    return view


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(
        Path(__file__).resolve().parents[2] / "resources" / "examples" / "blobs_softmax.json")
    s = load_session(path)
    w = UnsupervisedView(lambda: s)
    w.resize(1100, 720)
    w.show()
    w.compute()
    sys.exit(app.exec())
