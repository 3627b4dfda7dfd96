"""The engine must stay free of Qt and pyqtgraph, so every feature works headless."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_imports_no_qt():
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import engine
        for m in pkgutil.walk_packages(engine.__path__, "engine."):
            importlib.import_module(m.name)
        bad = sorted(k for k in sys.modules if k.split(".")[0] in ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6", "gui"))
        print(len([k for k in sys.modules if k.startswith("engine.")]))
        assert not bad, bad
        """
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) >= 5  # it really imported the engine modules


def test_engine_core_does_not_import_torch():
    """Spec, graph and shape inference stay torch-free so the window can show before torch loads."""
    code = "import sys, engine.graph, engine.session, engine.layers; engine.layers.all_layers(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_thread_policy_leaves_a_core_free():
    from engine.device import choose_threads

    assert choose_threads(100, 10, cores=8) == 1  # tiny net: overhead-bound
    assert choose_threads(235_000, 128, cores=2) == 1  # big, but 2 cores: never oversubscribe
    assert choose_threads(235_000, 128, cores=4) == 3
    assert choose_threads(235_000, 128, cores=16) == 4
