"""The live plots on hand-made progress batches: numbers in, the right numbers drawn.

The batches and metas are the worker's real frozen dataclasses (``live_types``), so a renamed or
missing field fails here instead of passing against a stand-in.
"""
import numpy as np
import pytest
from PySide6.QtWidgets import QTabWidget

from engine.diagnostics import Diagnosis
from engine.events import EpochEnd, LayerStats, Stats
from tests.gui.live_types import BoundaryFrame, ProgressBatch, TrainingMeta


def meta(**kw):
    base = dict(task="classification", n_classes=2, n_outputs=1, class_names=["negative", "positive"],
                feature_names=["x1", "x2"], loss_name="bce_logits", layer_keys=["d1.weight", "d1.bias"],
                weight_nodes=["d1", "d2"], activations={"d1": "relu", "d2": "tanh"}, hidden_maps=[("d1", 3)],
                raw={"train": (np.array([[0, 0], [1, 1.0]], np.float32), np.array([0, 1])),
                     "test": (np.array([[0.5, 0.5]], np.float32), np.array([1])),
                     "val": (np.zeros((0, 2), np.float32), np.zeros(0, np.int64))},
                extent=(-1.0, 2.0, -1.0, 2.0), y_range=None, epochs=10, trainer=None)
    base.update(kw)
    return TrainingMeta(**base)


def batch(**kw):
    base = dict(xs=np.zeros(0), steps=np.zeros(0, np.int64), losses=np.zeros(0), lrs=np.zeros(0), stats=None,
                grad_x=np.zeros(0), grad_norms={}, epochs=(), activations=None, boundary=None, predictions=None,
                epoch=0, step=0, total_epochs=10, steps_per_epoch=5, speed=0.0, eta=None, position=0.0)
    base.update(kw)
    return ProgressBatch(**base)


def epoch_end(e, train, val, cm=None):
    return EpochEnd(e, train, val, {"accuracy": 0.5}, {"accuracy": 0.75, **({"confusion": cm} if cm else {})},
                    0.1, 1.0, 5.0, ())


@pytest.fixture
def shown(qtbot):
    def show(widget):
        qtbot.addWidget(widget)
        widget.resize(700, 350)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return show


def test_ema_matches_a_plain_loop_and_continues_across_chunks():
    from gui.plots.loss_plot import ema

    rng = np.random.default_rng(1)
    x = rng.normal(size=700)
    a = 0.9
    want = np.empty_like(x)
    s = x[0]
    for i, v in enumerate(x):
        s = a * s + (1 - a) * v
        want[i] = s
    np.testing.assert_allclose(ema(x, a), want, rtol=1e-10)
    np.testing.assert_allclose(np.concatenate([ema(x[:300], a), ema(x[300:], a, carry=want[299])]), want, rtol=1e-10)
    np.testing.assert_array_equal(ema(x, 0.0), x)


def test_growbuf_doubles_then_thins_to_a_fixed_budget():
    from gui.plots import GrowBuf

    b = GrowBuf(2, capacity=4, cap=100)
    for i in range(0, 1000, 10):
        b.extend(np.arange(i, i + 10), np.arange(i, i + 10) * 2.0)
    assert len(b) <= 100 and len(b.a) <= 200
    x, y = b.col(0), b.col(1)
    assert np.all(np.diff(x) > 0) and np.array_equal(y, 2 * x) and x[-1] == 999


def test_rebin_keeps_the_total_and_splits_bins_by_overlap():
    from gui.plots.weights_plot import rebin

    out = rebin([4, 2], [0.0, 1.0, 2.0], np.array([-1.0, 0.5, 1.5, 3.0]))
    np.testing.assert_allclose(out, [2.0, 3.0, 1.0])  # half of bin 0, the other half + half of bin 1, the rest


def test_loss_plot_draws_steps_smoothed_and_epochs(shown):
    from gui.plots.loss_plot import LossPlot, ema

    p = shown(LossPlot())
    p.set_meta(meta())
    losses = np.linspace(1.0, 0.5, 20)
    p.ingest(batch(xs=np.arange(1, 21) / 10, steps=np.arange(1, 21), losses=losses,
                   epochs=(epoch_end(1, 0.8, 0.9), epoch_end(2, 0.6, None))))
    p.redraw()
    x, y = p.smooth.getData()
    np.testing.assert_allclose(p.steps.col(2), ema(losses, 0.9))  # the default smoothing
    assert p.raw.getData()[1] is not None and len(p.steps) == 20
    vx, vy = p.val_ep.getData()
    assert list(vx) == [1.0] and list(vy) == [0.9]  # the epoch without validation is left out
    p.slider.setValue(0)
    p.redraw()
    np.testing.assert_allclose(p.steps.col(2), losses)
    p.log_box.setChecked(True)
    p.redraw()
    (x0, x1), (y0, y1) = p.item.viewRange()
    assert y0 <= np.log10(0.5) and y1 >= np.log10(1.0)  # the view is in log10 units and holds the curve
    header, cols = p.csv_table()
    assert header[:3] == ["epoch (fractional)", "train loss (step)", "train loss (smoothed 0.00)"]
    np.testing.assert_allclose(cols[1], losses)


def test_loss_plot_smooths_every_step_even_those_the_buffer_thins_out(shown):
    """The EMA runs as batches arrive, so the smoothed curve is the EMA of every step, not of the points kept."""
    from gui.plots import GrowBuf
    from gui.plots.loss_plot import LossPlot, ema

    p = shown(LossPlot())
    p.set_meta(meta())
    p.steps = GrowBuf(3, capacity=16, cap=100)  # thins out many times below
    losses = np.random.default_rng(3).uniform(0.5, 1.5, size=1000)
    for s in range(0, 1000, 37):
        k = np.arange(s, min(s + 37, 1000))
        p.ingest(batch(xs=k.astype(float), steps=k + 1, losses=losses[k]))
        if s % 111 == 0:
            p.redraw()
    kept = p.steps.col(0).astype(int)
    assert len(kept) <= 100 and kept[-1] == 999
    np.testing.assert_allclose(p.steps.col(2), ema(losses, 0.9)[kept], rtol=1e-12)
    np.testing.assert_allclose(p.steps.col(1), losses[kept])
    p.slider.setValue(50)  # a new smoothing value can only use the kept steps
    np.testing.assert_allclose(p.steps.col(2), ema(losses[kept], 0.5), rtol=1e-12)


def test_loss_legend_fits_a_narrow_plot_so_the_plot_keeps_its_width(qtbot):
    """At 1024x700 the plots are ~300 px wide: a three-entry legend row pushed the plot past the widget."""
    from gui.plots.loss_plot import LossPlot

    p = LossPlot()
    qtbot.addWidget(p)
    p.set_meta(meta())
    p.show()
    texts = lambda: [label.text for _, label in p.legend.items]  # noqa: E731
    for width, columns, names in ((300, 2, ["train/step", "train/epoch", "validation"]),
                                  (1200, 3, ["train, per step (smoothed)", "train, per epoch", "validation, per epoch"])):
        p.resize(width, 320)
        qtbot.waitUntil(lambda: p.legend.columnCount == columns)
        assert texts() == names
        vb = p.item.getViewBox()
        right = vb.mapRectToScene(vb.boundingRect()).right()
        qtbot.waitUntil(lambda: vb.mapRectToScene(vb.boundingRect()).right() <= p.pw.width())
        assert right > 0.6 * width
        moves = []
        p.legend.geometryChanged.connect(lambda: moves.append(1))
        qtbot.wait(200)
        assert not moves  # settled: a fit that changed the legend on every move would re-lay it for ever


def test_a_legend_widened_again_gets_back_the_names_it_was_given(qtbot):
    """Regression's "train RMSE" and classification's "train accuracy" share the short name "train"."""
    from gui.plots.metric_plot import MetricPlot

    p = MetricPlot()
    qtbot.addWidget(p)
    p.set_meta(meta(task="regression"))
    p.show()
    texts = lambda: [label.text for _, label in p.legend.items]  # noqa: E731
    p.resize(300, 320)  # two short names a row, against one full name a row
    qtbot.waitUntil(lambda: texts()[0] == "train")
    assert p.pw.legend_fitter.names() == ["train RMSE", "validation RMSE", "validation MAE"]
    p.resize(1200, 320)
    qtbot.waitUntil(lambda: texts()[0] != "train")
    assert texts() == ["train RMSE", "validation RMSE", "validation MAE"]


def test_range_keeper_only_moves_when_data_leave_the_view(shown):
    from gui.plots import RangeKeeper, plot_widget

    pw = shown(plot_widget())
    rk = RangeKeeper(pw.getPlotItem())
    rk.update([[0, 10]], [[1.0, 2.0]])
    first = rk.x
    rk.update([[0, 10.5]], [[1.1, 1.9]])
    assert rk.x == first  # inside: no change, no axis re-layout
    rk.update([[0, 20]], [[1.0, 2.0]])
    assert rk.x[1] > 20


def test_weights_plot_histogram_and_fixed_level_heatmap(shown):
    from gui.plots.weights_plot import VALUE_BINS, WeightsPlot

    p = shown(WeightsPlot())
    p.set_meta(meta())
    assert p.selector.currentText() == "d1.weight"
    for k in range(3):
        counts = (1, 2, 3) if k < 2 else (3, 2, 1)
        ls = LayerStats("d1", "weight", 0.0, 1.0, 1.0, 0.1, counts, (-1.0 - k, 0.0, 1.0, 2.0 + k))
        p.ingest(batch(stats=Stats(10 * k, 0, (ls,), 0.1), grad_x=np.array([k / 5])))
    p.redraw()
    hx, hy = p.hist_curve.getData()
    assert list(hy) == [3, 2, 1] and list(hx) == [-3.0, 0.0, 1.0, 4.0]
    img = p.image.image
    assert img.shape == (VALUE_BINS, 3) and p.image.levels is not None and list(p.image.levels) == [0, 1]
    assert np.allclose(img.max(axis=0), 1.0)  # each column scaled to its densest bin
    # the value axis covers every histogram seen, with margin
    assert p.hists["d1.weight"].lo < -3.0 and p.hists["d1.weight"].hi > 4.0


def test_boundary_binary_multiclass_and_points(shown):
    from gui.plots.boundary_plot import UPSAMPLE, BoundaryPlot, class_rgb, upsample

    p = shown(BoundaryPlot())
    p.set_meta(meta())
    assert p.train_pts.data["x"].tolist() == [0.0, 1.0] and len(p.test_pts.data) == 1
    vals = np.linspace(0, 1, 60 * 60, dtype=np.float32).reshape(60, 60)  # (60 r + c) / 3599: linear in r, c
    p.ingest(batch(boundary=BoundaryFrame("binary", vals, (-1.0, 2.0, -1.0, 2.0), {}, 7)))
    p.redraw()
    img = p.image.image
    k = UPSAMPLE
    assert img.shape == (59 * k + 1, 59 * k + 1)  # finer than the worker's 60 x 60 grid
    np.testing.assert_array_equal(img[::k, ::k], vals)  # grid points are drawn exactly
    i, j = np.meshgrid(np.arange(img.shape[0]), np.arange(img.shape[1]), indexing="ij")
    np.testing.assert_allclose(img, (60 * i / k + j / k) / 3599, atol=2e-6)  # bilinear: exact for a linear map
    r = p.image.mapRectToParent(p.image.boundingRect())  # pixel centres sit on the grid points
    step = 3.0 / (img.shape[0] - 1)
    assert r.left() == pytest.approx(-1.0 - step / 2) and r.right() == pytest.approx(2.0 + step / 2)
    assert list(p.image.levels) == [0, 1] and p.image.isVisible() and p.info.text() == "after step 7"
    p.discrete_box.setChecked(True)
    p.redraw()
    img = p.image.image
    fine = upsample(vals)
    assert np.allclose(img[fine >= 0.5], 0.85) and np.allclose(img[fine < 0.5], 0.15)
    rgb = class_rgb(np.array([[[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]]))
    assert rgb[0, 0].tolist() == [245, 147, 34] and rgb[0, 1].tolist() == [255, 255, 255]  # sure: class colour; unsure: white
    p.test_box.setChecked(False)
    assert len(p.test_pts.data) == 0
    p.set_meta(meta(extent=None, feature_names=["a", "b", "c"]))
    assert not p.active and "2-D inputs only" in p._message.text()


def test_confusion_plot_counts_and_row_shares(shown):
    from gui.plots.confusion_plot import ConfusionPlot

    p = shown(ConfusionPlot())
    p.set_meta(meta())
    p.ingest(batch(epochs=(epoch_end(3, 0.5, 0.6, cm=[[8, 2], [1, 9]]),)))
    p.redraw()
    assert [t.toPlainText() for t in p.texts] == ["8", "2", "1", "9"]
    np.testing.assert_allclose(p.image.image, [[0.8, 0.2], [0.1, 0.9]])
    assert "accuracy 0.850" in p.info.text()
    p.set_meta(meta(task="regression"))
    assert not p.active


def test_gradients_plot_flags_a_vanishing_layer(shown):
    from gui.plots.gradients_plot import FLAG_PEN, GradientsPlot

    p = shown(GradientsPlot())
    p.set_meta(meta())
    n = 12
    p.ingest(batch(grad_x=np.arange(n) / 10, grad_norms={"d1": np.full(n, 1e-6), "d2": np.full(n, 1.0)}))
    p._next = 0
    p.redraw()
    assert p.flags == {"d1": "vanishing"}
    assert p.curves["d1"].opts["pen"].color().getRgb()[:3] == FLAG_PEN
    assert "d1" in p.flag_label.text()


def test_activation_plot_bars(shown):
    from gui.plots.activation_plot import ActivationPlot

    p = shown(ActivationPlot())
    p.set_meta(meta())
    p.ingest(batch(activations={"d1": {"dead_fraction": 0.75, "saturated_fraction": 0.0, "activation": "relu"},
                                "d2": {"dead_fraction": 0.0, "saturated_fraction": 0.4, "activation": "tanh"}}))
    p.redraw()
    assert list(p.dead.opts["height"]) == [0.75] and list(p.sat.opts["height"]) == [0.4]
    p.set_meta(meta(activations={}))
    assert not p.active


def test_hub_redraws_only_visible_dirty_views(qtbot):
    from gui.plots import PlotHub
    from gui.plots.loss_plot import LossPlot
    from gui.plots.lr_plot import LRPlot

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    a, b = LossPlot(), LRPlot()
    tabs.addTab(a, "a")
    tabs.addTab(b, "b")
    tabs.show()
    qtbot.waitExposed(tabs)
    hub = PlotHub([a, b])
    hub.set_meta(meta())
    hub.ingest(batch(xs=np.array([0.1]), steps=np.array([1]), losses=np.array([0.5]), lrs=np.array([0.1])))
    assert a.dirty and b.dirty
    hub._tick()
    assert not a.dirty and b.dirty  # the hidden tab waits
    tabs.setCurrentWidget(b)
    hub._tick()
    assert not b.dirty and b.curve.getData()[1].tolist() == [0.1]
    hub._tick()  # nothing dirty: the timer goes idle
    assert not hub.timer.isActive()


def test_hub_leaves_a_view_for_the_next_tick_when_its_last_redraw_would_pass_the_budget(qtbot):
    from gui.plots import PlotHub

    now = [0.0]

    class View:  # costs a fixed time per redraw on the hub's clock
        def __init__(self, name, cost):
            self.name, self.cost, self.dirty, self.drawn = name, cost, False, 0

        def set_meta(self, meta):
            pass

        def ingest(self, batch):
            self.dirty = True

        def isVisible(self):
            return True

        def redraw(self):
            now[0] += self.cost
            self.drawn += 1

    small, big = View("diagnostics", 0.005), View("loss", 0.010)
    hub = PlotHub([small, big])
    hub.clock = lambda: now[0]
    assert small.cost < hub.BUDGET_S and big.cost > hub.BUDGET_S - small.cost
    hub.ingest(None)
    hub._tick()  # costs not known yet: both drawn
    assert (small.drawn, big.drawn) == (1, 1)
    ticks = []
    for _ in range(6):
        hub.ingest(None)
        before = (small.drawn, big.drawn)
        hub._tick()
        ticks.append((small.drawn - before[0], big.drawn - before[1]))
    assert all(sum(t) == 1 for t in ticks)  # one view a tick now: never 5 + 10 ms back to back
    assert small.drawn == big.drawn == 4  # and each gets its turn


def test_diagnostics_panel_collects_sources():
    from engine.diagnostics import Diagnosis
    from engine.events import Finished
    from gui.panels.diagnostics_panel import DiagnosticsPanel

    p = DiagnosticsPanel()
    p.set_meta(meta())
    p.redraw(force=True)
    assert "appear after 5 epochs" in p.texts()[0] and "0 epochs have been seen" in p.texts()[0]
    p.epochs_seen = 1
    p.redraw(force=True)
    assert "1 epoch has been seen" in p.texts()[0]
    p.epochs_seen = 0
    d = Diagnosis("overfitting", "warning", "Validation rose.", "Use early stopping.")
    ev = EpochEnd(6, 0.1, 0.5, {}, {}, 0.1, 1.0, 5.0, (d,))
    p.ingest(batch(epochs=(ev,), grad_norms={"d1": np.full(6, 1e-7), "d2": np.ones(6)},
                   activations={"d1": {"dead_fraction": 0.9, "saturated_fraction": 0.0, "activation": "relu"}}))
    p.redraw(force=True)
    codes = [x.code for x in p.diagnoses()]
    assert codes == ["overfitting", "vanishing", "dead_relu"]
    assert p.texts()[0] == "Validation rose. Use early stopping."
    p.finished(Finished("diverged", 6, 2, 1.0, "The loss became NaN. Lower the learning rate."))
    p.redraw(force=True)
    assert p.texts()[0].startswith("Training stopped by the NaN guard. The loss became NaN.")


def test_boundary_keeps_x1_and_x2_on_one_scale(shown):
    """A circle dataset must look like a circle: the boundary plot locks its aspect ratio to 1."""
    from gui.plots.boundary_plot import BoundaryPlot

    p = shown(BoundaryPlot())
    vb = p.item.getViewBox()
    assert vb.state["aspectLocked"] == 1.0


def test_boundary_axes_show_the_data_range_even_in_a_wide_plot(qtbot):
    """A 1000 px wide, 330 px high tab used to stretch x1 to about ±20 for data within ±6.5."""
    from gui.plots.boundary_plot import BoundaryPlot

    p = BoundaryPlot()
    qtbot.addWidget(p)
    p.resize(1000, 330)
    p.show()
    qtbot.waitExposed(p)
    p.set_meta(meta(extent=(-6.5, 6.5, -6.5, 6.5)))
    qtbot.wait(20)
    p.fit_width()
    qtbot.wait(20)
    (x0, x1), (y0, y1) = p.item.viewRange()
    assert x1 - x0 < 1.25 * 13.0 and y1 - y0 < 1.25 * 13.0  # the data's span with its margin, not 3x that
    assert x0 <= -6.5 + 1e-6 and x1 >= 6.5 - 1e-6 and y0 <= -6.5 + 1e-6 and y1 >= 6.5 - 1e-6
    assert p.pw.width() < 0.7 * p.width()  # the rest of the tab stays blank instead


def test_progress_panel_reset_and_never_past_the_total(shown):
    from gui.panels.progress_panel import IDLE_TEXT, ProgressPanel

    p = shown(ProgressPanel())
    p.ingest(batch(epoch=200, step=7000, total_epochs=100, position=200.0, speed=900.0, eta=26.0))
    p.redraw()
    assert p.labels["epoch"].text() == "100 / 100" and p.bar.format() == "100% of 100 epochs"
    p.ingest(batch(epoch=1, step=35, total_epochs=1, position=0.5, speed=900.0, eta=2.0))
    p.redraw()
    assert p.bar.format() == "50% of 1 epoch" and p.labels["eta"].text() == "0:02"
    p.stopped("Stopped")
    assert p.labels["eta"].text() == "–" and p.labels["speed"].text() == "–" and p.labels["step"].text() == "35"
    p.redraw()  # nothing new arrived: the stopped run's time left does not come back
    assert p.labels["eta"].text() == "–"
    p.set_state("Idle — 1000 epochs trained (Train continues)")
    p.reset()
    assert p.state.text() == IDLE_TEXT and p.bar.value() == 0
    assert all(v.text() == "–" for v in p.labels.values())


def test_diagnostics_panel_reset_drops_the_old_networks_sentences(shown):
    from gui.panels.diagnostics_panel import DiagnosticsPanel

    p = shown(DiagnosticsPanel())
    p.set_meta(meta())
    ev = EpochEnd(12, 0.2, 0.5, {}, {}, 0.03, 0.1, 100.0, (Diagnosis(
        "overfitting", "warning", "The validation loss has risen.", "Use early stopping."),))
    p.ingest(batch(epochs=(ev,)))
    p.redraw(force=True)
    assert p.texts() == ["The validation loss has risen. Use early stopping."]
    p.reset()
    assert len(p.texts()) == 1 and p.texts()[0].startswith("Not trained yet.")
    p.set_meta(meta())
    p.redraw(force=True)
    assert p.texts()[0].startswith("Diagnoses appear after")  # a new run: the running text, not "not trained"


@pytest.mark.parametrize("g", [60, 7])  # the engine's grid, and any other (the maps are placed again)
def test_neuron_maps_draw_each_units_whole_map_in_its_box(shown, g):
    from gui.plots.neuron_maps import NeuronMaps

    p = shown(NeuronMaps())
    p.set_meta(meta())
    maps = np.random.default_rng(0).uniform(-1, 1, (3, g, g))
    vals = np.zeros((g, g))
    for _ in range(2):  # the first frame and a later one
        p.ingest(batch(boundary=BoundaryFrame("binary", vals, (-1.0, 2.0, -1.0, 2.0), {"d1": maps}, 7)))
        p.redraw()
        for u, (vb, im) in enumerate(p.images["d1"]):
            np.testing.assert_array_equal(im.image, maps[u])
            r = im.mapRectToParent(im.boundingRect())
            assert (r.x(), r.y(), r.width(), r.height()) == (0, 0, g, g)  # the whole map fills the box
            (x0, x1), (y0, y1) = vb.viewRange()
            assert (x0, x1, y0, y1) == pytest.approx((0, g, 0, g))
