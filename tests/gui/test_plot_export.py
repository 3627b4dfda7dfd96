"""Plot exports (issue #6): PNG at a chosen width, SVG that parses and holds the curve, CSV, history CSV."""
import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def loss_plot(qtbot):
    from types import SimpleNamespace

    from gui.plots.loss_plot import LossPlot

    p = LossPlot()
    qtbot.addWidget(p)
    p.resize(640, 320)
    p.show()
    qtbot.waitExposed(p)
    p.set_meta(SimpleNamespace(task="classification"))
    n = 50
    x = np.arange(1, n + 1) / 10
    p.ingest(SimpleNamespace(xs=x, steps=np.arange(1, n + 1), losses=1.0 / (1 + x), lrs=np.zeros(n), epochs=()))
    p.redraw()
    return p


def _points(el):
    if el.tag == SVG + "polyline":
        return len(el.get("points").split())
    return sum(1 for tok in el.get("d").split() if tok[:1] in "ML" or tok[:1].isdigit() or tok[:1] == "-")


def test_svg_exporter_patch_parses_qt_611_closepath_tokens():
    from gui.plots.plot_export import _explode_path

    tokens, closes = _explode_path("M0,0 L363.5,0 L363.5,278.5 Z M1,2 L3,4 C5,6 7,8 9,10 Z")
    assert tokens == ["M0,0", "L363.5,0", "L363.5,278.5", "L0,0", "M1,2", "L3,4", "C5,6", "7,8", "9,10", "L1,2"]
    assert closes == [3, 9]
    assert _explode_path("A 1 2 3") is None  # an unknown command is left to pyqtgraph unchanged


def test_svg_export_parses_and_contains_the_curve(loss_plot, tmp_path):
    import importlib

    from gui.plots.plot_export import export_svg

    mod = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    assert getattr(mod.correctCoordinates, "_nnp_patched", False)
    path = export_svg(loss_plot.export_item(), tmp_path / "loss.svg")
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag == SVG + "svg"
    shapes = [el for el in root.iter() if el.tag in (SVG + "path", SVG + "polyline")]
    counts = [_points(el) for el in shapes]
    assert any(45 <= c <= 55 for c in counts), counts  # the 50-point loss curve is in there as a vector
    texts = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    assert "epoch" in texts and "loss" in texts


def test_png_export_at_the_chosen_width(loss_plot, tmp_path):
    from PySide6.QtGui import QImage

    from gui.plots.plot_export import export_png

    item = loss_plot.export_item()
    rect = item.sceneBoundingRect()
    path = export_png(item, tmp_path / "loss.png", width=1600)
    img = QImage(path)
    assert img.width() == 1600
    assert abs(img.height() - round(1600 * rect.height() / rect.width())) <= 1
    # not blank: the curve's blue is somewhere in the picture
    rgb_img = img.convertToFormat(QImage.Format_RGB888)
    bpl = rgb_img.bytesPerLine()
    arr = np.frombuffer(rgb_img.constBits(), np.uint8)[: img.height() * bpl].reshape(img.height(), bpl)
    rgb = arr[:, : 3 * img.width()].reshape(img.height(), img.width(), 3)
    assert np.any((rgb[..., 2] > 180) & (rgb[..., 0] < 90))


def test_csv_export_of_a_plot(loss_plot, tmp_path):
    from gui.plots.plot_export import export_csv

    path = export_csv(loss_plot, tmp_path / "loss.csv")
    rows = list(csv.reader(open(path)))
    assert rows[0][:2] == ["epoch (fractional)", "train loss (step)"]
    assert len(rows) == 51
    assert float(rows[1][0]) == pytest.approx(0.1) and float(rows[1][1]) == pytest.approx(1 / 1.1)
    assert rows[1][3] == ""  # the (empty) per-epoch columns are padded


def test_interactive_export_uses_injected_dialogs(loss_plot, tmp_path):
    from gui.plots.plot_export import export_interactively

    class Dialogs:
        asked = []

        def ask_path(self, parent, title, default, filt):
            self.asked.append(default)
            return str(tmp_path / "chosen")

        def ask_width(self, parent, current):
            return 800

    d = Dialogs()
    png = export_interactively(loss_plot, "png", d)
    assert png.endswith("chosen.png") and d.asked == ["loss.png"]
    from PySide6.QtGui import QImage

    assert QImage(png).width() == 800
    assert export_interactively(loss_plot, "svg", d).endswith(".svg")
    assert export_interactively(loss_plot, "csv", d).endswith(".csv")
    menu_kinds = [a.objectName() for a in loss_plot.export_menu.actions() if a.objectName()]
    assert menu_kinds == ["export_png", "export_svg", "export_csv"]
    vb_actions = [a.objectName() for a in loss_plot.item.getViewBox().menu.actions()]
    assert "export_svg" not in vb_actions  # the window adds those (gui.training.live_views), not the plot


def test_history_csv_is_the_per_epoch_table(tmp_path):
    from engine.history import History
    from gui.plots.plot_export import export_history_csv

    h = History()
    h.add_epoch(train_loss=0.9, val_loss=1.0, train_acc=0.5, val_acc=0.4, lr=0.1, seconds=0.2,
                metrics={"accuracy": 0.4, "f1": 0.3, "confusion": [[1, 2], [3, 4]]})
    h.add_epoch(train_loss=0.7, val_loss=None, train_acc=0.6, val_acc=None, lr=0.05, seconds=0.25, metrics={})
    rows = list(csv.reader(open(export_history_csv(h, tmp_path / "h.csv"))))
    assert rows[0] == ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "seconds",
                       "val_accuracy", "val_f1"]
    assert rows[1] == ["1", "0.9", "1.0", "0.5", "0.4", "0.1", "0.2", "0.4", "0.3"]
    assert rows[2][:3] == ["2", "0.7", ""] and rows[2][-2:] == ["", ""]  # missing values stay empty
