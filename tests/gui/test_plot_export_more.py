"""PNG legends scale with the export like the axis labels; the export dialog opens in the session's folder."""
import numpy as np
from PySide6.QtWidgets import QMessageBox

from tests.gui.test_plots import batch, epoch_end, meta


def test_png_legend_text_is_scaled_with_the_export_and_put_back(qtbot, tmp_path, monkeypatch):
    from pyqtgraph.exporters import ImageExporter

    from gui.plots import plot_export
    from gui.plots.loss_plot import LossPlot

    p = LossPlot()
    qtbot.addWidget(p)
    p.resize(600, 300)
    p.show()
    qtbot.waitExposed(p)
    p.set_meta(meta())
    p.ingest(batch(xs=np.arange(1, 11) / 10, steps=np.arange(1, 11), losses=np.linspace(1, 0.5, 10),
                   epochs=(epoch_end(1, 0.8, 0.9),)))
    p.redraw()
    item = p.export_item()
    labels = [lab for leg in plot_export._legends(item) for _, lab in leg.items]
    assert labels
    on_screen = [plot_export._point_size(lab) for lab in labels]
    rect = item.sceneBoundingRect() if hasattr(item, "sceneBoundingRect") else item.sceneRect()
    seen = []
    real = ImageExporter.export
    monkeypatch.setattr(ImageExporter, "export", lambda self, *a, **k: (
        seen.append([plot_export._point_size(lab) for lab in labels]), real(self, *a, **k))[1])
    plot_export.export_png(item, tmp_path / "x.png", width=int(3 * rect.width()))
    assert seen[0] == [round(s * 3, 1) for s in on_screen]  # sized like the axes, which pyqtgraph scales
    assert [plot_export._point_size(lab) for lab in labels] == on_screen  # the window's legend is unchanged
    widths = [lab.boundingRect().width() for lab in labels]
    xs = sorted(lab.mapToScene(0, 0).x() for lab in labels)
    assert all(b - a >= w - 1 for a, b, w in zip(xs, xs[1:], widths))  # entries do not overlap


def test_plot_export_dialog_opens_in_the_session_folder(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QLabel

    from gui.plots.plot_export import DIALOGS, session_folder

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: asked.append(a[2]) or ("", "")))
    tab = QLabel("plot")
    window.add_plot_tab("Loss", tab)
    assert DIALOGS.ask_path(tab, "Export", "loss.png", "PNG (*.png)") is None  # cancelled
    assert asked[-1].startswith(session_folder(None))  # unsaved: the home folder, not the install folder
    folder = tmp_path / "sessions"
    folder.mkdir()
    window.files.ask_unsaved = lambda: QMessageBox.Discard
    assert window.save_to(folder / "mine.json")
    DIALOGS.ask_path(tab, "Export", "loss.png", "PNG (*.png)")
    assert asked[-1] == str(folder / "loss.png")
