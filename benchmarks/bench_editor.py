"""How the editor scales: move all nodes of a 200-node graph and repaint, against an empty scene.

Offscreen, single process: ``.venv/bin/python benchmarks/bench_editor.py [n_nodes]``.
Each frame = one MoveNodes command (document → scene sync of every node and
edge) plus rendering the view into a 1200×800 QImage. Reported as the median
over repeated frames, at "fit to view" zoom and at 100 %.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.graph import analyze  # noqa: E402
from engine.session import Session  # noqa: E402
from engine.spec import Edge, GraphSpec, Node  # noqa: E402
from gui.canvas import GraphScene, GraphView  # noqa: E402
from gui.document import Document  # noqa: E402

W, H = 1200, 800
FRAMES = 15


def chain(n: int) -> GraphSpec:
    """Input → (n−2) Dense layers with an Add skip every 10 layers → Output, on a 20-column grid."""
    nodes = [Node("input", "Input", {"shape": [8]})]
    edges = []
    for i in range(1, n - 1):
        typ = "Add" if i % 10 == 0 else "Dense"
        nodes.append(Node(f"n{i}", typ, {"units": 8} if typ == "Dense" else {}))
        edges.append(Edge(nodes[i - 1].id, nodes[i].id))
        if typ == "Add":
            edges.append(Edge(nodes[i - 5].id, nodes[i].id))
    nodes.append(Node("output", "Output"))
    edges.append(Edge(nodes[-2].id, "output"))
    for k, node in enumerate(nodes):
        node.pos = (float((k % 20) * 240), float((k // 20) * 140))
    return GraphSpec(nodes, edges)


def make(spec):
    s = Session()
    s.graph = spec
    doc = Document(s)
    scene = GraphScene(doc)
    view = GraphView(scene)
    view.resize(W, H)
    view.show()
    return doc, scene, view


def frame(doc, view, shift):
    if doc.graph.nodes:
        doc.move_nodes({n.id: (n.pos[0] + shift, n.pos[1]) for n in doc.graph.nodes})
    img = QImage(W, H, QImage.Format_ARGB32_Premultiplied)
    p = QPainter(img)
    view.render(p)
    p.end()


def time_frames(doc, view):
    frame(doc, view, 20.0)  # warm the item caches
    out = []
    for k in range(FRAMES):
        t = time.perf_counter()
        frame(doc, view, 20.0 if k % 2 else -20.0)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def main(n=200):
    app = QApplication.instance() or QApplication([])
    spec = chain(n)
    t = time.perf_counter()
    rep = analyze(spec)
    analyze_ms = (time.perf_counter() - t) * 1000
    assert rep.ok, rep.errors[:1]
    t = time.perf_counter()
    doc, scene, view = make(spec)
    build_ms = (time.perf_counter() - t) * 1000
    empty_doc, _, empty_view = make(GraphSpec())
    rows = []
    for label, zoom in (("fit to view", None), ("100 % zoom", 1.0)):
        for v in (view, empty_view):
            v.fit_to_view() if zoom is None else v.set_zoom(zoom)
        full = time_frames(doc, view)
        empty = time_frames(empty_doc, empty_view)
        rows.append((label, full, empty))
    t = time.perf_counter()
    doc.set_param("n1", "units", 9)  # one property edit: command + analyze + node text refresh
    edit_ms = (time.perf_counter() - t) * 1000
    print(f"editor benchmark: {n} nodes, {len(spec.edges)} edges, {W}x{H} view, median of {FRAMES} frames")
    print(f"  analyze(spec)            {analyze_ms:8.2f} ms")
    print(f"  build scene              {build_ms:8.2f} ms")
    print(f"  one property edit        {edit_ms:8.2f} ms")
    for label, full, empty in rows:
        print(f"  move all + repaint, {label:11s}: {full:8.2f} ms vs empty {empty:6.2f} ms  (ratio {full / empty:5.1f}x)")
    view.close()
    empty_view.close()
    del app
    return rows


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
