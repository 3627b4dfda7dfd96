"""Left-to-right auto layout: a node's column is its longest path from a source.

Pure Python (no Qt) so templates and tests can place nodes without a scene.
Within a column nodes are ordered by the mean row of their parents (the
barycenter heuristic), which removes most edge crossings in layer graphs.
"""
from __future__ import annotations

COL_W = 220.0  # horizontal distance between columns (node width 170; a multiple of the 20 px grid)
ROW_H = 120.0  # vertical distance between nodes in one column
ORIGIN = (0.0, 0.0)


def depths(spec) -> dict:
    """Longest-path depth of every node; nodes on a cycle go one column past the rest."""
    ids = spec.ids()
    parents = {i: [] for i in ids}
    children = {i: [] for i in ids}
    for e in spec.edges:
        if e.src in parents and e.dst in parents and e.src != e.dst:
            parents[e.dst].append(e.src)
            children[e.src].append(e.dst)
    indeg = {i: len(parents[i]) for i in ids}
    ready = [i for i in ids if indeg[i] == 0]
    depth = {i: 0 for i in ready}
    order = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for c in children[i]:
            depth[c] = max(depth.get(c, 0), depth[i] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    last = max(depth.values(), default=-1) + 1
    for i in ids:
        if i not in order:
            depth[i] = last
    # Sinks such as Output sit right after their deepest parent, which the loop already does.
    return depth


def auto_layout(spec, origin=ORIGIN, col_w=COL_W, row_h=ROW_H) -> dict:
    """Return ``{node id: (x, y)}`` for every node, columns by depth, rows centred on ``origin``."""
    depth = depths(spec)
    cols: dict[int, list] = {}
    for i in spec.ids():  # spec order as the tie-breaker keeps layouts stable
        cols.setdefault(depth[i], []).append(i)
    parents = {i: [] for i in spec.ids()}
    for e in spec.edges:
        if e.dst in parents:
            parents[e.dst].append(e.src)
    row = {}
    pos = {}
    for d in sorted(cols):
        members = cols[d]
        if d > 0:
            def bary(i):
                rows = [row[p] for p in parents[i] if p in row]
                return sum(rows) / len(rows) if rows else 0.0

            members = sorted(members, key=bary)  # stable: ties keep spec order
        n = len(members)
        for k, i in enumerate(members):
            r = k - (n - 1) / 2.0
            row[i] = r
            pos[i] = (origin[0] + d * col_w, origin[1] + r * row_h)
    return pos


def fill_missing_positions(spec) -> bool:
    """Give nodes without ``pos`` a laid-out position (all nodes if none has one). Returns whether any changed."""
    missing = [n for n in spec.nodes if n.pos is None]
    if not missing:
        return False
    pos = auto_layout(spec)
    if len(missing) == len(spec.nodes):
        for n in spec.nodes:
            n.pos = pos[n.id]
        return True
    # Keep placed nodes; put the others below everything already there.
    bottom = max(n.pos[1] for n in spec.nodes if n.pos is not None) + ROW_H
    for k, n in enumerate(missing):
        n.pos = (pos[n.id][0], bottom + k * ROW_H / 2)
    return True
