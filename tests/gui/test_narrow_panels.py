"""At the docks' minimum width (1024×700 window) panels wrap: no sideways scrolling, nothing cut off."""
import pytest

from gui.window_layout import MIN_WIDTHS


@pytest.mark.parametrize("dock", ["inspectorDock", "datasetDock", "trainingDock"])
def test_right_column_panels_fit_their_minimum_width(qtbot, window, dock):
    from gui.panels.install import install_panels

    install_panels(window)
    panel = window.docks[dock].widget()
    for nid in [n.id for n in window.doc.graph.nodes]:  # every layer of the template in the inspector
        window.doc.set_selection([nid])
        body = panel.widget()
        room = MIN_WIDTHS[dock] - panel.verticalScrollBar().sizeHint().width() - 4
        assert body.minimumSizeHint().width() <= room, (dock, nid, body.minimumSizeHint().width())
        if dock != "inspectorDock":
            break


def test_csv_preview_shows_column_names_in_full(qtbot, tmp_path):
    from PySide6.QtGui import QFontMetrics

    from gui.panels.csv_dialog import CsvImportDialog

    path = tmp_path / "iris.csv"
    path.write_text("sepal length (cm),sepal width (cm),species\n5.1,3.5,setosa\n4.9,3.0,versicolor\n")
    dlg = CsvImportDialog()
    qtbot.addWidget(dlg)
    dlg.set_path(str(path))
    fm = QFontMetrics(dlg.grid.horizontalHeader().font())
    for j, name in enumerate(["sepal length (cm)", "sepal width (cm)", "species"]):
        assert dlg.grid.horizontalHeaderItem(j).text() == name
        assert dlg.grid.columnWidth(j) >= fm.horizontalAdvance(name) + 8, name  # not cut at either end


def test_every_plot_fits_the_plots_dock_of_a_1024_window(qtbot):
    """1024 − left column − right column − diagnostics − splitters: what the Plots dock gets at 1024×700."""
    import importlib
    import pkgutil

    import gui.plots as gp
    from gui.plots import LivePlot
    from tests.gui.test_plots import meta

    room = 1024 - 186 - MIN_WIDTHS["inspectorDock"] - MIN_WIDTHS["diagnosticsDock"] - 18
    seen = []
    for m in pkgutil.iter_modules(gp.__path__):
        mod = importlib.import_module(f"gui.plots.{m.name}")
        for cls in vars(mod).values():
            if isinstance(cls, type) and issubclass(cls, LivePlot) and cls is not LivePlot and cls.__module__ == mod.__name__:
                p = cls()
                qtbot.addWidget(p)
                p.show()
                p.set_meta(meta())
                if hasattr(p, "info"):
                    p.info.setText("after step 123,456")
                seen.append(cls.__name__)
                assert p.minimumSizeHint().width() <= room, (cls.__name__, p.minimumSizeHint().width(), room)
    assert {"BoundaryPlot", "LossPlot", "WeightsPlot"} <= set(seen)


def test_the_dataset_panel_fits_its_minimum_width_on_regression_data_too(qtbot, window):
    """A regression set shows a "y =" value box for painting in the preview's toolbar row."""
    from gui.panels.install import install_panels

    install_panels(window)
    window.doc.set_session_field("dataset", {"type": "plane", "params": {}})
    panel = window.docks["datasetDock"].widget()
    qtbot.waitUntil(lambda: panel.findChild(object, "paintValue").isVisibleTo(panel), timeout=5000)
    room = MIN_WIDTHS["datasetDock"] - panel.verticalScrollBar().sizeHint().width() - 4
    assert panel.widget().minimumSizeHint().width() <= room, panel.widget().minimumSizeHint().width()
