"""An imported CSV held as a DataArray behaves in the dataset panel as the old lists did (2-D features allowed)."""
import numpy as np

from engine.data import DataArray
from tests.gui.test_dataset_panel import make_panel


def test_two_feature_csv_array_enables_feature_expansion(qtbot):
    x = DataArray(np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]]))
    ds = {"type": "csv", "params": {"x": x, "y": DataArray(np.array([0, 1, 0, 1])), "task": "classification"},
          "split": {"train": 1.0}}
    doc, panel = make_panel(qtbot, ds)
    assert panel._two_d() and panel.prep.features_box.isEnabled()
    assert not {"x", "y", "path", "target", "delimiter", "header"} & set(panel.form.editors)  # no raw data or file options
    three = dict(ds, params=dict(ds["params"], x=DataArray(np.zeros((4, 3)))))
    doc2, panel2 = make_panel(qtbot, three)
    assert not panel2._two_d() and not panel2.prep.features_box.isEnabled()
