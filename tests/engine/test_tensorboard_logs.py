"""engine.tensorboard_export's folder rule and kept-run logs: a new folder every time, curves read back."""
import numpy as np
import pytest

from engine.errors import InvalidInput
from engine.runs import RunRecord
from engine.tensorboard_export import capture_record, export_logs, new_folder, slug

pytest.importorskip("tensorboard")


def test_new_folder_never_reuses_an_existing_one(tmp_path):
    (tmp_path / "spiral-tensorboard").mkdir()
    (tmp_path / "spiral-tensorboard" / "events.out.tfevents.mine").write_text("keep")
    assert new_folder(tmp_path, "spiral-tensorboard") == str(tmp_path / "spiral-tensorboard-2")
    assert new_folder(tmp_path, "spiral-tensorboard") == str(tmp_path / "spiral-tensorboard-3")
    assert (tmp_path / "spiral-tensorboard" / "events.out.tfevents.mine").read_text() == "keep"
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InvalidInput, match="is not a folder"):
        new_folder(f, "a")
    assert slug("Run 3: lr 0.1") == "run_3_lr_0_1" and slug("***") == "run"


def test_kept_runs_are_written_with_their_curves_and_settings(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recs = [RunRecord(f"run {i}", {"seed": i}, curves={"train_loss": np.array([1.0, 0.5, 0.25]) * i,
                                                       "val_loss": np.array([np.nan, 0.7, 0.6])}, epochs=3, steps=30)
            for i in (1, 2)]
    out = export_logs(tmp_path, None, [(r.name, capture_record(r)) for r in recs])
    assert [sub for sub, _ in out] == ["01-run_1", "02-run_2"]
    acc = EventAccumulator(str(tmp_path / "02-run_2"))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("epoch/train_loss")] == [(1, 2.0), (2, 1.0), (3, 0.5)]
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("epoch/val_loss")] == [(2, 0.7), (3, 0.6)]  # NaN skipped
    assert "settings/text_summary" in acc.Tags()["tensors"]
    with pytest.raises(InvalidInput, match="cannot create|is not a folder"):
        export_logs(tmp_path / "nowhere", None, [("run 1", capture_record(recs[0]))])
