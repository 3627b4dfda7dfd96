"""Is the window responsive while it trains, and how much training speed do the live plots cost?

Two workloads: the spiral example (2-8-8-1 tanh, batch 10) and a 784-256-128-10
ReLU MLP on synthetic data (batch 64). For each, in one process:

* headless: ``Run.events`` on the main thread for ``--seconds``, no Qt at all;
* window: the same session trained through the main window (live controller,
  every plot tab live, or only the visible one with ``--visible-only``), while
  a 5 ms QTimer probe on the GUI thread records how late each tick fires.

Prints p50/p99/max lateness (targets p99 < 20 ms, max < 50 ms) and
throughput(window) / throughput(headless) (target >= 0.7). Headless and window
runs alternate (``--rounds``) so a noisy machine hurts both alike.

    python benchmarks/bench_ui.py [--seconds 6] [--rounds 2] [--visible-only] [--only spiral|mlp]
                                  [--path torch|compiled]   (compiled: the spiral on the numba path)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NNP_NO_PRELOAD"] = "1"

import numpy as np  # noqa: E402

PROBE_MS = 5


def spiral_session():
    from engine.session import load_session

    s = load_session(ROOT / "resources" / "examples" / "spiral_playground.json")
    s.training["epochs"] = 100_000
    return s, None


def mlp_session():
    from engine.data.dataset import Dataset
    from engine.session import Session
    from engine.spec import GraphSpec

    s = Session()
    s.name = "MLP 784-256-128-10"
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [784]}},
        {"id": "dense1", "type": "Dense", "params": {"units": 256, "activation": "relu"}},
        {"id": "dense2", "type": "Dense", "params": {"units": 128, "activation": "relu"}},
        {"id": "dense3", "type": "Dense", "params": {"units": 10}},
        {"id": "output", "type": "Output"}]})
    s.dataset = {"type": "blobs", "params": {"classes": 10}}  # placeholder: the synthetic set below is used
    s.loss = {"type": "cross_entropy", "params": {}}
    s.optimizer = {"type": "adam", "params": {"lr": 0.001}}
    s.training = {"epochs": 100_000, "batch_size": 64}

    def dataset():
        rng = np.random.default_rng(0)
        n = 6000
        x = rng.normal(size=(n, 784)).astype(np.float32)
        teacher = rng.normal(size=(784, 10))
        y = (x @ teacher).argmax(axis=1).astype(np.int64)
        tr, va = slice(0, 5000), slice(5000, 5500)
        te = slice(5500, n)
        return Dataset("synthetic", "classification", 10, (784,), [f"p{i}" for i in range(784)],
                       [str(i) for i in range(10)], x[tr], y[tr], x[va], y[va], x[te], y[te],
                       {"scale": "none", "features": None, "input_shape": [784]})

    return s, dataset


def headless(session, dataset_factory, seconds, path="torch"):
    from engine import Run
    from engine.events import Step, Steps

    run = Run(session, dataset=dataset_factory() if dataset_factory else None, path=path)
    gen = run.events(whole_epochs=True)  # as the window's worker
    t0 = s0 = None
    for ev in gen:
        if isinstance(ev, (Step, Steps)):
            step = ev.step if isinstance(ev, Step) else ev.first_step + len(ev) - 1
            if t0 is None and step >= 20:  # skip the first steps (allocations, caches)
                t0, s0 = time.perf_counter(), step
            if t0 is not None and time.perf_counter() - t0 >= seconds:
                rate = (step - s0) / (time.perf_counter() - t0)
                run.stop()
                for _ in gen:
                    pass
                return rate
    return float("nan")


class Probe:
    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self.tick)
        self.late, self.last = [], None

    def start(self):
        self.late, self.last = [], time.perf_counter()
        self.timer.start()

    def tick(self):
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self.last) * 1000 - PROBE_MS))
        self.last = now

    def stop(self):
        self.timer.stop()
        return np.asarray(self.late)


def windowed(app, session, dataset_factory, seconds, all_plots, path="torch"):
    from PySide6.QtCore import QEventLoop, QTimer

    from engine.device import configure_process
    from gui.main_window import MainWindow

    configure_process(gui=True)  # what gui.app does at start-up

    def wait(sec):
        loop = QEventLoop()
        QTimer.singleShot(int(sec * 1000), loop.quit)
        loop.exec()

    win = MainWindow(session)
    win.files.ask_unsaved = lambda: 0x00800000  # QMessageBox.Discard
    live = win.build_live_views()
    live.hub.draw_hidden = all_plots
    live.controller.dataset_factory = dataset_factory
    live.controller.engine_path = path
    live.controller.notify = lambda *a: None
    win.resize(1600, 1000)
    win.show()
    shown = live.plots["Loss"]
    win.plot_tabs.setCurrentWidget(shown)
    c = live.controller
    c.train()
    while c.trainer is None or c.trainer.step < 20:
        wait(0.05)
    wait(0.5)
    probe = Probe()
    probe.start()
    hub = live.hub
    k = hub.views.index(shown)
    s0, t0, f0 = c.trainer.step, time.perf_counter(), hub.counts.get(k, 0)
    wait(seconds)
    dt = time.perf_counter() - t0
    rate = (c.trainer.step - s0) / dt
    late = probe.stop()
    fps = (hub.counts.get(k, 0) - f0) / dt
    size = (shown.width(), shown.height())
    c.stop()
    wait(0.3)
    win.close()
    win.deleteLater()
    wait(0.1)
    return rate, late, fps, size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--visible-only", action="store_true", help="redraw only the visible plot tab")
    ap.add_argument("--only", choices=("spiral", "mlp"))
    ap.add_argument("--path", choices=("torch", "compiled"), default="torch",
                    help="the training path in both runs (compiled: small dense networks only)")
    args = ap.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from gui.style import apply_style

    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_style(app)
    import tempfile

    from PySide6.QtCore import QSettings

    # The default layout at 1600x1000, not whatever dock sizes this machine's settings last saved
    # (a plot half the size paints in half the time); the window's own saving goes there too.
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="nnp-bench-settings-"))
    from gui.gc_on_gui_thread import install

    install(app)  # what gui.app does at start-up
    import torch

    torch.set_num_threads(1)
    cases = {"spiral (2-8-8-1 tanh, batch 10)": spiral_session,
             "MLP 784-256-128-10 relu (synthetic, batch 64)": mlp_session}
    ok = True
    for name, make in cases.items():
        if args.only and not name.lower().startswith(args.only):
            continue
        heads, wins, lates, fps = [], [], [], []
        for _ in range(args.rounds):
            s, ds = make()
            heads.append(headless(s, ds, args.seconds, args.path))
            s, ds = make()
            r, late, f, size = windowed(app, s, ds, args.seconds, not args.visible_only, args.path)
            wins.append(r)
            lates.append(late)
            fps.append(f)
        late = np.concatenate(lates)
        h, w = float(np.mean(heads)), float(np.mean(wins))
        p50, p99, mx = np.percentile(late, 50), np.percentile(late, 99), late.max()
        ratio = w / h
        print(f"\n{name}  [{args.path} path]")
        print(f"  headless   {h:9.1f} steps/s   (rounds: {', '.join(f'{v:.0f}' for v in heads)})")
        print(f"  window     {w:9.1f} steps/s   (rounds: {', '.join(f'{v:.0f}' for v in wins)}; "
              f"{'all plots' if not args.visible_only else 'the visible plot'} live; "
              f"the visible plot, {size[0]}x{size[1]} px, redrawn {np.mean(fps):.1f} times/s)")
        print(f"  ratio      {ratio:9.2f}   (target >= 0.7)")
        print(f"  lateness   p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {mx:.1f} ms   "
              f"({len(late)} probes every {PROBE_MS} ms; targets p99 < 20, max < 50)")
        ok &= ratio >= 0.7 and p99 < 20 and mx < 50
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
