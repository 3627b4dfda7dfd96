"""Side-by-side variants: one setting, 2–16 values, trained together; overlaid curves and a grid of boundaries.

The classic teaching view ("which learning rate?"): the same network at 0.003, 0.03 and 0.3, watched
as their losses and decision boundaries diverge. For a number (learning rate, batch size, width) a
second plot draws each variant's final loss against the value on log scales: the width sweep of
double descent is read there (its peak at the number of training points, marked). The runs are ``engine.variants.VariantSet``'s (each
its own generators; small dense networks take the compiled path), driven by a plain thread; the
view redraws on its own ~30 Hz timer. Finished variants are added to the session's runs.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout

from engine.errors import InvalidInput
from engine.variants import LABELS, SETTINGS, parse_value

from .common import LiveView, series_curves, set_running, start_stop_row
from .live import LiveJob

DEFAULT_VALUES = {"lr": "0.003, 0.03, 0.3", "optimizer": "sgd, momentum, adam", "seed": "0, 1, 2, 3",
                  "initializer": "xavier_uniform, he_normal, normal", "batch_size": "1, 10, 50",
                  "activation": "relu, tanh, sigmoid", "units": "4, 16, 64, 256"}
SWEEP_PLOT = ("lr", "batch_size", "units")  # numbers: final loss against the value (log x) makes sense
AXIS = {"units": "width p (units of the first hidden layer)"}


def parse_values(setting: str, text: str) -> list:
    parts = [p for p in (x.strip() for x in str(text).replace(";", ",").split(",")) if p]
    return [parse_value(setting, p) for p in parts]


class VariantsView(LiveView):
    def __init__(self, session_provider, book=None, parent=None):
        super().__init__(parent)
        self.setObjectName("variantsView")
        self.session_provider, self.book = session_provider, book
        self.path = "auto"  # tests: "torch" (no compile wait)
        self.vs = None
        self.curves_data: list = []  # per variant: list of (epoch, train_loss, val_loss)
        self.grids: list = []
        self.extent = None
        self.levels = None  # regression thumbnails: (lo, hi) from the training targets, the same for every variant
        self.n_train = None
        self.sweep_values: list = []  # the values of the variants being trained, in their order
        self._dirty = False
        self.job = LiveJob(self, self._on_items)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.setting = QComboBox()
        self.setting.setObjectName("variantSetting")
        for s in SETTINGS:
            self.setting.addItem(LABELS[s].capitalize(), s)
        self.values = QLineEdit(DEFAULT_VALUES["lr"])
        self.values.setObjectName("variantValues")
        self.values.setToolTip("2 to 16 values, separated by commas")
        self.setting.currentIndexChanged.connect(self._setting_changed)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(30)
        form.addRow("Vary", self.setting)
        form.addRow("Values", self.values)
        form.addRow("Epochs", self.epochs)
        lay.addLayout(form)
        self.curve_key = QComboBox()
        self.curve_key.addItem("Validation loss", 2)
        self.curve_key.addItem("Training loss", 1)
        self.curve_key.currentIndexChanged.connect(self._mark)
        self.label_combo = QComboBox()  # multi-label data: whose P(label) the thumbnails draw
        self.label_combo.setObjectName("variantLabel")
        self.label_combo.setToolTip("Multi-label data: the label whose probability P(label) every thumbnail draws")
        self.label_combo.setVisible(False)
        self.label_combo.currentIndexChanged.connect(self._mark)
        row, self.start_button, self.stop_button = start_stop_row("Train variants", "variantsStart", self.start,
                                                                  self.stop, extra=(self.curve_key, self.label_combo))
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("Pick a setting and its values, then Train variants.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        import pyqtgraph as pg
        from PySide6.QtCore import Qt

        from gui.plots import layout_widget, legend_above, plot_widget

        self.plot = plot_widget(x="epoch", y="loss")
        self.legend = legend_above(self.plot, columns=4)
        self.plot.setMinimumHeight(160)
        plots = QHBoxLayout()
        plots.addWidget(self.plot, 3)
        self.sweep_plot = plot_widget(x=LABELS["lr"], y="final loss (log)")
        self.sweep_plot.setObjectName("variantSweepPlot")
        self.sweep_plot.getPlotItem().setLogMode(x=True, y=True)
        self.sweep_curve = self.sweep_plot.plot([], [], pen=pg.mkPen("#0877bd", width=2), symbol="o", symbolSize=6,
                                                symbolBrush="#0877bd", symbolPen=None)
        self.n_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=1.5, style=Qt.DashLine),
                                      label="n", labelOpts={"position": 0.08, "color": "#d62728"})
        self.n_line.setVisible(False)
        self.sweep_plot.addItem(self.n_line)
        plots.addWidget(self.sweep_plot, 2)
        lay.addLayout(plots, 2)
        self.grid_widget = layout_widget()
        self.grid_widget.setObjectName("variantBoundaries")
        self.grid_widget.setMinimumHeight(160)
        lay.addWidget(self.grid_widget, 3)
        self.curve_items: list = []
        self.images: list = []
        self.titles: list = []
        self.redraw_timer_frames = 0
        self._setting_changed()

    def _setting_changed(self, *_):
        setting = self.setting.currentData()
        self.values.setText(DEFAULT_VALUES[setting])
        self.sweep_plot.setVisible(setting in SWEEP_PLOT)
        self.sweep_plot.getPlotItem().setLabel("bottom", AXIS.get(setting, LABELS[setting]) + " (log)")

    def configure(self, setting: str, values: str, epochs: int | None = None):
        """Fill the form (a phenomenon card's one-click sweep): the setting, its values, the epochs."""
        self.setting.setCurrentIndex(SETTINGS.index(setting))
        self.values.setText(values)
        if epochs is not None:
            self.epochs.setValue(int(epochs))

    # -- running ---------------------------------------------------------------------------------
    def start(self):
        from engine.variants import VariantSet

        setting = self.setting.currentData()
        try:
            values = parse_values(setting, self.values.text())
            vs = VariantSet(self.session_provider(), setting, values, path=self.path)
        except InvalidInput as e:
            self.status.setText(f"Cannot train the variants: {e}")
            return False
        self.job.stop()
        self.vs = vs
        self.curves_data = [[] for _ in vs.runs]
        self.grids = [None] * len(vs.runs)
        self.extent = self.levels = self.n_train = None
        self.sweep_values = list(values)
        self._build_items(vs.labels)
        epochs = self.epochs.value()
        set_running(self, True)
        self.status.setText(f"Training {len(vs)} variants of the {LABELS[setting]}… (small dense networks take "
                            "the compiled path, which compiles once on first use)")
        self.job.start(lambda put, stopped: self._work(vs, epochs, put))
        self.job.stoppers.append(vs.stop)
        return True

    @staticmethod
    def _work(vs, epochs, put):
        """Worker thread: train, and after each variant's epoch send its losses and boundary grid."""
        from engine.events import EpochEnd, Finished
        from engine.variants import boundary_grid, data_extent

        extent = None
        import os

        for i, ev in vs.events(epochs, threads=min(4, os.cpu_count() or 1)):  # compiled kernels release the GIL
            if isinstance(ev, Exception):
                put(("variant_failed", i, str(ev)))
            elif isinstance(ev, EpochEnd):
                if extent is None:
                    extent = data_extent(vs.runs[i])
                    put(("extent", extent))
                    put(("data", *_data_facts(vs.runs[i])))
                put(("epoch", i, ev.epoch, ev.train_loss, ev.val_loss))
                grid = boundary_grid(vs.runs[i], extent) if extent is not None else None
                if grid is not None:
                    put(("grid", i, grid))
            elif isinstance(ev, Finished):
                put(("finished", i, ev.reason))

    def stop(self):
        if self.vs is not None:
            self.vs.stop()
        self.status.setText("Stopping…")

    # -- what the worker sent (GUI thread) ------------------------------------------------------------
    def _on_items(self, items):
        for item in items:
            kind = item[0]
            if kind == "epoch":
                _, i, epoch, tl, vl = item
                self.curves_data[i].append((epoch, tl, np.nan if vl is None else vl))
            elif kind == "grid":
                self.grids[item[1]] = item[2]
            elif kind == "extent":
                self.extent = item[1]
            elif kind == "data":
                self.n_train, self.levels = item[1], item[2]
                self._set_labels(item[3])
            elif kind == "variant_failed":
                self.titles[item[1]].setText(f"{self.vs.labels[item[1]]}: failed", color="#b00020")
                self.status.setText(f"{self.vs.labels[item[1]]} failed: {item[2]}")
            elif kind == "failed":
                self.status.setText(f"Variants failed: {item[1]}")
            elif kind == "ended":
                self._ended()
        self._dirty = True
        self.redraw()

    def _ended(self):
        set_running(self, False)
        done = [i for i, c in enumerate(self.curves_data) if c]
        best = None
        if done:
            k = 2 if all(np.isfinite(c[-1][2]) for c in (self.curves_data[i] for i in done)) else 1
            best = min(done, key=lambda i: self.curves_data[i][-1][k])
        if self.book is not None and self.vs is not None:
            for i in done:
                self.book.record(self.vs.runs[i], f"variant {self.vs.labels[i]}")
        text = f"Done: {len(done)} of {len(self.vs.runs)} variants trained"
        if best is not None:
            text += f"; lowest final loss: {self.vs.labels[best]}"
            worst = max(done, key=lambda i: self.curves_data[i][-1][k])
            low, high = self.curves_data[best][-1][k], self.curves_data[worst][-1][k]
            if self.vs.setting in SWEEP_PLOT and low > 0 and high >= 10 * low:
                text += f", highest: {self.vs.labels[worst]} ({high / low:,.0f}× the lowest)"
        self.status.setText(text + (" (added to the Runs panel)" if self.book is not None and done else ""))

    def _set_labels(self, names):
        """Show the label combo for multi-label data (names), hide it otherwise (None)."""
        self.label_combo.blockSignals(True)
        keep = self.label_combo.currentIndex()
        self.label_combo.clear()
        if names:
            self.label_combo.addItems([str(n) for n in names])
            self.label_combo.setCurrentIndex(keep if 0 <= keep < len(names) else 0)
        self.label_combo.setVisible(bool(names))
        self.label_combo.blockSignals(False)

    def shown_grid(self, i: int):
        """The (G, G) image of variant ``i`` as drawn: for multi-label data P(the chosen label)."""
        grid = self.grids[i]
        if grid is not None and grid.ndim == 3:
            return grid[min(max(self.label_combo.currentIndex(), 0), len(grid) - 1)]
        return grid

    def _mark(self, *_):
        self._dirty = True
        self.redraw()

    # -- drawing ---------------------------------------------------------------------------------
    def _build_items(self, labels):
        import pyqtgraph as pg

        from gui.plots import SERIES, diverging_cmap

        self.curve_items = series_curves(self.plot, self.legend, self.curve_items, labels)
        self.grid_widget.clear()
        self.images, self.titles = [], []
        aspect = max(self.grid_widget.width(), 1) / max(self.grid_widget.height(), 1)  # wide: more columns
        cols = max(1, min(len(labels), int(np.ceil(np.sqrt(len(labels) * min(max(aspect, 1.0), 4.0))))))
        for k, label in enumerate(labels):
            r, col = divmod(k, cols)
            cell = self.grid_widget.addLayout(row=r, col=col)
            title = cell.addLabel(label, row=0, col=0, color=SERIES[k % len(SERIES)], size="9pt")
            vb = cell.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False)
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(diverging_cmap())
            img.setLevels((0.0, 1.0))
            vb.addItem(img)
            self.images.append(img)
            self.titles.append(title)

    def redraw(self):
        if not self._dirty:
            return
        self._dirty = False
        col = self.curve_key.currentData()
        for c, data in zip(self.curve_items, self.curves_data):
            if data:
                arr = np.asarray(data, dtype=float)
                c.setData(arr[:, 0], arr[:, col])
        self.plot.getPlotItem().setLabel("left", self.curve_key.currentText())
        from PySide6.QtCore import QRectF

        self._redraw_sweep(col)
        for i, img in enumerate(self.images):
            grid = self.shown_grid(i) if i < len(self.grids) else None
            if grid is not None:
                if self.grids[i].ndim == 3:  # P(label): probabilities, one fixed scale
                    img.setImage(grid, autoLevels=False, levels=(0.0, 1.0))
                elif self.levels is not None:  # regression: one colour scale for all, so wild fits stand out
                    img.setImage(grid, autoLevels=False, levels=self.levels)
                else:
                    img.setImage(grid, autoLevels=grid.max() > 1.0)
                if self.extent is not None:
                    x0, x1, y0, y1 = self.extent
                    rect = QRectF(x0, y0, x1 - x0, y1 - y0)
                    if img.boundingRect() != rect or img.mapRectToParent(img.boundingRect()) != rect:
                        img.setRect(rect)
                        img.getViewBox().setRange(rect, padding=0)  # else the box keeps the 40-pixel first range

    def sweep_points(self, col: int | None = None) -> list:
        """``[(value, last loss)]`` of every variant with an epoch, sorted by value (what the sweep plot draws)."""
        col = self.curve_key.currentData() if col is None else col
        if self.vs is None or self.vs.setting not in SWEEP_PLOT:
            return []
        pts = [(float(v), data[-1][col]) for v, data in zip(self.sweep_values, self.curves_data) if data]
        return sorted(p for p in pts if np.isfinite(p[1]))

    def _redraw_sweep(self, col):
        pts = [(x, max(y, 1e-12)) for x, y in self.sweep_points(col) if x > 0]
        arr = np.asarray(pts, dtype=float).reshape(-1, 2)
        self.sweep_curve.setData(arr[:, 0], arr[:, 1])
        if len(arr):  # decades only: pyqtgraph's log axis labels every minor tick when there is room
            lo, hi = np.floor(np.log10(arr[:, 0].min())), np.ceil(np.log10(arr[:, 0].max()))
            ticks = [(k, f"{10.0 ** k:g}") for k in np.arange(lo, hi + 1)]
            self.sweep_plot.getPlotItem().getAxis("bottom").setTicks([ticks, []])
        self.sweep_plot.getPlotItem().setLabel("left", f"final {self.curve_key.currentText().lower()} (log)")
        show_n = self.vs is not None and self.vs.setting == "units" and self.n_train
        if show_n:
            self.n_line.setValue(np.log10(self.n_train))
            self.n_line.label.setFormat(f"n = {self.n_train}")
        self.n_line.setVisible(bool(show_n))


def _data_facts(run):
    """(training points, colour levels for regression thumbnails or None, label names for multi-label data or
    None): what every variant shares."""
    d = run.data
    levels = None
    if d.task == "regression":
        m = float(np.max(np.abs(d.y_train))) if len(d.y_train) else 1.0
        levels = (-max(m, 1e-6), max(m, 1e-6))
    names = list(d.class_names) if d.task == "multilabel" else None
    return len(d.x_train), levels, names


if __name__ == "__main__":  # python -m gui.experiments.variants_view: three learning rates on the circle
    from .common import run_alone

    run_alone(VariantsView, 20, (760, 640))
