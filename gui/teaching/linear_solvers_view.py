"""Linear-system solvers (lecture 003, §4.3.1): LU, QR, Cholesky, Jacobi, Gauss-Seidel, CG and PCG side by side.

Pick a system — the normal equations of a least-squares fit of this session's data, the Newton
step H·Δ = −g of this network at its current weights, or a seeded synthetic matrix — tick methods and
Solve. ``engine.linear_solvers.solve_all`` runs as a ``gui.analysis.jobs.JobRunner`` job (a Hessian or a
2000×2000 factorisation takes seconds); each method's result reaches the GUI thread as a queued signal
(a handful per solve), which fills the table and the residual plot (‖Ax_k − b‖ per iteration on a log scale; the direct methods, which
have no iterations, as stars at k = 0). The user's run is never touched: the Newton system is built on a
float64 copy of its network, read between two training steps. Stop keeps the methods done; closing the
view stops the job.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from engine.errors import InvalidInput
from engine.linear_solvers import MAX_N, METHODS, solve_all

from ..analysis.jobs import JobRunner
from ..tables import add_row, read_only_table
from ..tables import cell as table_cell  # the view has a cell() of its own: a cell's text, for tests

SYSTEMS = {
    "least_squares": "Least squares of this session's data: XᵀXθ = Xᵀy",
    "newton": "Newton step of this network: H·Δ = −g",
    "synthetic_spd": "Synthetic SPD matrix with condition number κ",
    "synthetic_scaled": "Synthetic badly scaled SPD (PCG helps)",
    "synthetic_nondominant": "Synthetic SPD, not diagonally dominant (Jacobi diverges)",
}
COLORS = {"lu": "#1f77b4", "qr": "#ff7f0e", "cholesky": "#2ca02c", "jacobi": "#d62728", "gauss_seidel": "#9467bd",
          "cg": "#8c564b", "pcg_jacobi": "#e377c2", "pcg_ic": "#17becf"}
COLUMNS = ("method", "iterations", "‖Ax − b‖", "error vs best direct", "time", "flops", "result")
GUIDE = (
    "<b>When to use which</b> (lecture 003 §4.3.1). <b>Direct</b> methods factor A once: <b>LU</b> with partial "
    "pivoting solves any non-singular A (2n³/3 flops); <b>QR</b> costs twice that but is the most stable; "
    "<b>Cholesky</b> A = LLᵀ needs a symmetric positive definite (SPD) A and costs half of LU (n³/3). "
    "<b>Iterative</b> methods only multiply by A: <b>Jacobi</b> and <b>Gauss-Seidel</b> converge exactly when the "
    "spectral radius ρ of their iteration matrix is &lt; 1 (strictly diagonally dominant A; Gauss-Seidel also any "
    "SPD A). <b>CG</b> needs SPD A; in exact arithmetic it is exact in ≤ n steps, and the fewer the smaller κ is "
    "(the error shrinks like ((√κ − 1)/(√κ + 1))ᵏ). <b>PCG</b> runs CG on M⁻¹A with M ≈ A cheap to invert "
    "(diag A, or an incomplete Cholesky factor), which reduces the effective κ. Newton's H is SPD only near a "
    "minimum; the normal equations XᵀX are SPD whenever X has full column rank, but κ(XᵀX) = κ(X)².")


def _fmt(v, spec=".3g"):
    return "—" if v is None else ("∞" if v == math.inf else format(v, spec))


class LinearSolversView(QWidget):
    finished = Signal(object)  # the list of engine.linear_solvers.Outcome (tests wait on it)

    def __init__(self, session=None, source=None, parent=None):
        """``session`` supplies the data for least squares; ``source`` (a Run or Trainer, or a callable returning
        one) the network for the Newton system — without one a Trainer is built at the initial weights."""
        super().__init__(parent)
        self.setWindowTitle("Linear-system solvers — NN Playground")
        self.session, self.source = session, source
        self.outcomes, self.system = [], None
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)
        self._rows: list = []  # each method's Outcome as it arrives
        self._shown = 0
        self.kind = QComboBox()
        self.kind.setObjectName("systemKind")
        self.kind.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(30)  # the long titles elide rather than widen the window
        for key, text in SYSTEMS.items():
            self.kind.addItem(text, key)
        self.n = QSpinBox(minimum=2, maximum=MAX_N, value=50)
        self.n.setObjectName("sizeN")
        self.n.setToolTip("Size of the synthetic matrix. The factorisations are O(n³) loops in numpy: at n = 2000 "
                          "QR takes about a minute, LU and Cholesky several seconds")
        self.kappa = QDoubleSpinBox(decimals=0, minimum=1.0, maximum=1e12, value=1e4)
        self.kappa.setObjectName("kappa")
        self.kappa.setToolTip("Condition number κ = λ_max/λ_min of the synthetic matrix")
        self.seed = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        self.seed.setObjectName("seed")
        self.lam = QDoubleSpinBox(decimals=4, minimum=0.0, maximum=1e6, value=0.0, singleStep=0.1)
        self.lam.setObjectName("lambda")
        self.lam.setToolTip("Least squares: ridge (XᵀX + λI)θ = Xᵀy, the intercept unpenalised. "
                            "Newton: damping (H + λI)Δ = −g, as in Levenberg")
        self.target = QSpinBox(minimum=-1, maximum=9999, value=-1)
        self.target.setObjectName("target")
        self.target.setSpecialValueText("auto")
        self.target.setToolTip("Least squares target: the class whose indicator (one-hot column) is fitted — auto is "
                               "class 1 for two classes, else class 0 — or the regression target's column")
        self.tol = QComboBox()
        self.tol.setObjectName("tolerance")
        for t in (1e-4, 1e-6, 1e-8, 1e-10, 1e-12):
            self.tol.addItem(f"‖r‖ ≤ {t:g}·‖b‖", t)
        self.tol.setCurrentIndex(3)
        self.max_iter = QSpinBox(minimum=1, maximum=100_000, value=1000)
        self.max_iter.setObjectName("maxIter")
        self.checks = {}
        boxes = QGridLayout()
        for i, (key, (title, kind, _)) in enumerate(METHODS.items()):
            box = QCheckBox(title)
            box.setObjectName(f"method_{key}")
            box.setChecked(True)
            box.setStyleSheet(f"QCheckBox {{ color: {COLORS[key]}; font-weight: bold; }}")
            box.setToolTip(f"{kind} method")
            self.checks[key] = box
            boxes.addWidget(box, i // 4, i % 4)
        self.solve_btn = QPushButton("Solve")
        self.solve_btn.setObjectName("solve")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        row1 = QHBoxLayout()
        for w in (QLabel("System"), self.kind, QLabel("n"), self.n, QLabel("κ"), self.kappa, QLabel("seed"),
                  self.seed, QLabel("λ"), self.lam, QLabel("target"), self.target):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addLayout(boxes)
        row2.addStretch(1)
        row3 = QHBoxLayout()
        for w in (QLabel("stop at"), self.tol, QLabel("max iterations"), self.max_iter, self.solve_btn, self.stop_btn):
            row3.addWidget(w)
        row3.addStretch(1)
        self.about = QLabel()
        self.about.setObjectName("systemAbout")
        self.about.setWordWrap(True)
        self.table = read_only_table("solverTable", COLUMNS, stretch=(-1,))
        self.pw = pg.PlotWidget()
        self.pw.setObjectName("residualPlot")
        self.pw.setBackground("w")
        self.plot = self.pw.getPlotItem()
        self.plot.setLogMode(y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "iteration k")
        self.plot.setLabel("left", "‖Ax_k − b‖")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # log axis: a "×1e+09" prefix would mislabel it
        self.plot.addLegend(offset=(-10, 10), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 210))
        self.curves = {}
        self.guide = QLabel(GUIDE)
        self.guide.setObjectName("solverGuide")
        self.guide.setWordWrap(True)
        self.guide.setTextFormat(Qt.RichText)
        self.status = QLabel("Choose a system and Solve.")
        self.status.setObjectName("solverStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #5b6573;")
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.pw)
        split.setSizes([220, 300])
        lay = QVBoxLayout(self)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addLayout(row3)
        lay.addWidget(self.about)
        lay.addWidget(split, 1)
        lay.addWidget(self.guide)
        lay.addWidget(self.status)
        self.kind.currentIndexChanged.connect(self._enable_fields)
        self.solve_btn.clicked.connect(self.solve)
        self.stop_btn.clicked.connect(self.runner.stop_early)  # the methods done so far still come back
        self._enable_fields()

    def set_system(self, key):
        self.kind.setCurrentIndex(list(SYSTEMS).index(key))

    def set_methods(self, keys):
        for k, box in self.checks.items():
            box.setChecked(k in keys)

    @Slot()
    def _enable_fields(self, *_):
        key = self.kind.currentData()
        synth = key.startswith("synthetic")
        for w in (self.n, self.seed):
            w.setEnabled(synth)
        self.kappa.setEnabled(key in ("synthetic_spd", "synthetic_scaled"))
        self.lam.setEnabled(not synth)
        self.target.setEnabled(key == "least_squares")

    # -- building the system (worker thread) -----------------------------------------------------
    def _build(self, key, args, src):
        from engine import linear_systems as ls

        if key.startswith("synthetic"):
            return ls.synthetic(key.split("_", 1)[1], args["n"], args["kappa"], args["seed"])
        if self.session is None and key == "least_squares":
            raise InvalidInput("there is no session: open or create one first")
        if key == "least_squares":
            from engine.data import make_dataset

            data = src.data if src is not None else make_dataset(self.session.dataset, seed=self.session.seed)
            return ls.least_squares(data, args["lam"], args["target"])
        if src is None:
            if self.session is None:
                raise InvalidInput("there is no network: open or create a session first")
            from engine.trainer import Trainer

            src = Trainer(self.session)  # the initial weights: no run has trained this network yet
        return ls.newton_system(src, args["lam"])

    def _source(self):
        return self.source() if callable(self.source) else self.source

    # -- solving ---------------------------------------------------------------------------------
    @Slot()
    def solve(self):
        if self.runner.busy:
            return False
        methods = [k for k, box in self.checks.items() if box.isChecked()]
        if not methods:
            self.status.setText("Tick at least one method.")
            return False
        self._rows = []
        key = self.kind.currentData()
        args = dict(n=self.n.value(), kappa=float(self.kappa.value()), seed=self.seed.value(),
                    lam=float(self.lam.value()), target=None if self.target.value() < 0 else self.target.value())
        tol, max_iter = float(self.tol.currentData()), self.max_iter.value()
        src = None if key.startswith("synthetic") else self._source()  # read here, on the GUI thread
        build = self._build

        def work(progress, should_stop):  # the worker thread: no widgets here
            system = build(key, args, src)
            progress(("system", system))
            return solve_all(system.a, system.b, methods, tol=tol, max_iter=max_iter, stop=should_stop,
                             on_result=lambda outcome: progress(("row", outcome)))

        self.table.setRowCount(0)
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.curves.clear()
        self.plot.legend.clear()
        self.outcomes, self.system = [], None
        self.solve_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.status.setText("Building the system…")
        self.runner.start(work)
        return True

    @Slot(object)
    def _on_progress(self, msg):
        kind, obj = msg
        if kind == "system":
            self.system = obj
            self.about.setText(obj.description)
            self.status.setText("Solving…")
        else:
            self._rows.append(obj)
            self._add_row(obj)

    def _ended(self):
        self.solve_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)

    @Slot(str)
    def _on_failed(self, text):
        self._ended()
        self.status.setText(f"Cannot solve: {text}")

    @Slot(object)
    def _on_done(self, rows):
        self._ended()
        self._finish(rows)

    def _add_row(self, o):
        s = o.solution
        method = table_cell(o.title, foreground=pg.mkColor(COLORS[o.method]))
        if s is None:
            cells = (method, "—", "—", "—", "—", "—", f"refused: {o.refused}")
        else:
            its = "direct" if s.kind == "direct" else str(s.iterations)
            cells = (method, its, _fmt(s.residual), "…", f"{s.seconds * 1000:.1f} ms",
                     f"{s.flops_formula} = {s.flops:.3g}", s.status)
        add_row(self.table, cells, right=(1, 2, 3, 4), tooltips=True)
        if s is None:
            return
        pen = pg.mkPen(COLORS[o.method], width=2)
        if s.kind == "direct":
            c = self.plot.plot([0.0], [max(s.residual, 1e-300)], pen=None, symbol="star", symbolSize=14,
                               symbolBrush=COLORS[o.method], symbolPen=None, name=f"{o.title} (direct)")
        else:
            h = np.maximum(np.nan_to_num(s.history, nan=1e300, posinf=1e300), 1e-300)
            c = self.plot.plot(np.arange(len(h), dtype=float), h, pen=pen, name=o.title)
        self.curves[o.method] = c

    def _finish(self, rows):
        self.outcomes = rows
        for i, o in enumerate(rows):
            item = self.table.item(i, 3)
            if item is not None:
                item.setText(_fmt(o.error, ".2e"))
        ok = [o for o in rows if o.solution is not None and o.solution.converged]
        refused = [o.title for o in rows if o.solution is None]
        text = f"{len(ok)} of {len(rows)} methods solved the system"
        if self.system is not None:
            text += f" (n = {self.system.n})"
        if refused:
            text += "; refused: " + ", ".join(refused)
        self.status.setText(text + (" (stopped)." if self.runner.stop_requested else "."))
        self.finished.emit(rows)

    def cell(self, method, column) -> str:
        """The table's text for ``method`` (its key) in ``column`` (a header), for tests and scripts."""
        i = [o.method for o in self._rows].index(method)
        return self.table.item(i, COLUMNS.index(column)).text()

    def wait(self, timeout=None):
        """Wait for the job to end (seconds; None: up to 30 s); its result then arrives as a queued signal."""
        return self.runner.wait(int(1000 * (30.0 if timeout is None else timeout)))

    def closeEvent(self, event):
        self.runner.shutdown(10000)  # stops the job at its next check and waits for it
        super().closeEvent(event)


def from_window(win) -> LinearSolversView:
    """On a copy of the window's session; the Newton system uses the current run when it trained this network."""
    view = LinearSolversView(win.doc.session.copy(), win.controller.document_run)
    view.setParent(win, Qt.Window)
    return view


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from engine.session import load_session

    app = QApplication.instance() or QApplication(sys.argv)
    path = sys.argv[1] if len(sys.argv) > 1 else str(
        Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor_playground.json")
    w = LinearSolversView(load_session(path))
    w.set_system("synthetic_scaled")
    w.resize(1100, 760)
    w.show()
    w.solve()
    sys.exit(app.exec())
