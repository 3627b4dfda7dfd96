"""Sample data for running an analysis view alone (``python -m gui.analysis.<view>``): a small trained Run."""
from __future__ import annotations

SAMPLES = {
    "circle": ("circle", {"n": 300, "noise": 0.1}, "bce_logits", 1),
    "blobs": ("blobs", {"n": 300, "classes": 3}, "cross_entropy", 3),
    "plane": ("plane", {"n": 300, "noise": 0.1}, "mse", 1),
}


def sample_session(kind="circle", epochs=15):
    from engine import Session

    dataset, params, loss, out = SAMPLES[kind]
    return Session.from_dict({
        "name": f"sample {kind}", "seed": 1,
        "graph": {"layers": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
                             {"id": "hidden", "type": "Dense", "params": {"units": 8, "activation": "tanh"}},
                             {"id": "head", "type": "Dense", "params": {"units": out}}]},
        "dataset": {"type": dataset, "params": params, "split": {"train": 0.6, "val": 0.2, "test": 0.2}},
        "loss": loss, "optimizer": {"type": "adam", "params": {"lr": 0.03}},
        "training": {"epochs": epochs, "batch_size": 16}})


def sample_run(kind="circle", epochs=15):
    from engine import Run

    run = Run(sample_session(kind, epochs), path="torch")
    run.fit(epochs)
    return run


def show_alone(make_view, kind="circle"):
    """Open ``make_view(run_provider)`` on a trained sample run, press its Compute button, run the event loop."""
    import sys

    from PySide6.QtWidgets import QApplication

    kind = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in SAMPLES else kind
    app = QApplication.instance() or QApplication(sys.argv)
    run = sample_run(kind)
    view = make_view(lambda: run)
    view.resize(900, 520)
    view.setWindowTitle(f"{view.title} — {kind}")
    view.show()
    view.compute()
    code = app.exec()
    view.shutdown()
    return code
