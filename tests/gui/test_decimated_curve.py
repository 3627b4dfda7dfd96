"""DecimatedCurve: a long series drawn from min/max (or first) points of each pixel column, re-cut on zoom."""
import numpy as np
import pytest

from gui.plots.decimated_curve import decimate


def loop_peaks(x, y, lo, hi, bins):
    """The same decimation written as a plain loop over the visible points."""
    idx = [i for i in range(len(x)) if lo <= x[i] <= hi]
    i0, i1 = max(idx[0] - 1, 0), min(idx[-1] + 2, len(x))
    xs, ys = list(x[i0:i1]), list(y[i0:i1])
    ds = len(xs) // bins
    out_x, out_y = [], []
    for b in range(0, len(xs), ds):
        run = [v for v in ys[b:b + ds] if not np.isnan(v)]
        out_x += [xs[b]] * 2
        out_y += [min(run), max(run)]
    return np.array(out_x + xs[-1:]), np.array(out_y + ys[-1:])


def test_peaks_are_the_min_and_max_of_each_run_of_the_visible_points():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 100, 5003))
    y = rng.normal(size=5003)
    y[[17, 2500]] = np.nan  # ignored, not propagated
    for lo, hi, bins in ((-1, 101, 100), (20.0, 40.0, 30), (0.0, 100.0, 7)):
        got_x, got_y = decimate(x, y, lo, hi, bins)
        want_x, want_y = loop_peaks(x, y, lo, hi, bins)
        np.testing.assert_array_equal(got_x, want_x)
        np.testing.assert_array_equal(got_y, want_y)
        assert len(got_x) <= 4 * bins + 1  # at most 2 bins runs of 2 points, and the last point
    # the spike at one point survives decimation 50:1
    y2 = np.zeros(5003)
    y2[1234] = 9.0
    assert decimate(x, y2, -1, 101, 100)[1].max() == 9.0


def test_few_points_come_back_as_they_are_and_subsample_keeps_the_last():
    x = np.arange(50.0)
    y = x ** 2
    got = decimate(x, y, 10.0, 20.0, 30)
    np.testing.assert_array_equal(got[0], np.arange(9.0, 22.0))  # one point beyond each side of the view
    sx, sy = decimate(np.arange(1000.0), np.arange(1000.0) * 2, 0, 999, 10, method="subsample")
    np.testing.assert_array_equal(sx, [*range(0, 1000, 100), 999])  # each run's first point, then the last
    np.testing.assert_array_equal(sy, 2 * sx)


@pytest.fixture
def plot(qtbot):
    from gui.plots import fast_curve, plot_widget

    pw = plot_widget()
    qtbot.addWidget(pw)
    pw.resize(600, 300)
    pw.show()
    qtbot.waitExposed(pw)
    item = pw.getPlotItem()
    item.disableAutoRange()
    return item, fast_curve(item, per_pixel=0.5), pw


def test_a_long_series_is_drawn_from_about_a_point_per_pixel_and_zooming_recuts_it(plot):
    item, c, _pw = plot
    n = 200_000
    x = np.arange(n) / 100.0
    y = np.sin(x) + np.random.default_rng(1).normal(scale=0.1, size=n)
    item.setXRange(0, x[-1], padding=0)
    c.setData(x, y)
    width = item.getViewBox().width()
    shown_x, shown_y = c.getData()
    assert len(c.series()[0]) == n
    assert 0.8 * width < len(shown_x) <= width + 4  # 0.5 pairs per pixel
    assert shown_y.max() == y.max() and shown_y.min() == y.min()
    item.setXRange(100.0, 101.0, padding=0)  # 100 points in view: all of them, exactly
    zx, zy = c.getData()
    np.testing.assert_array_equal(zx, x[9999:10102])
    np.testing.assert_array_equal(zy, y[9999:10102])


def test_a_series_set_before_a_range_change_is_shown_by_it(plot):
    item, c, _pw = plot
    item.setXRange(0, 10, padding=0)
    c.setData(np.arange(11.0), np.zeros(11))
    c.set_series(np.arange(21.0), np.ones(21))
    assert c.getData()[1].max() == 0.0  # not shown yet
    item.setXRange(0, 20, padding=0)
    assert len(c.getData()[0]) == 21 and c.getData()[1].min() == 1.0
    c.set_series(np.arange(5.0), np.full(5, 2.0))
    c.show_stale()  # no range change: shown here
    assert c.getData()[1].tolist() == [2.0] * 5
