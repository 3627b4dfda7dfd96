"""Left-to-right layered auto layout: a node's column is its longest path from a source.

Pure Python (no Qt) so templates and tests can place nodes without a scene.
An edge that skips columns reserves a free row in each column it crosses
(Sugiyama's dummy nodes), and the canvas routes it along that row
(``edge_item.route``), so a residual connection is never hidden behind the
layer it skips.
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


def _layers(spec, depth):
    """Columns of real ids plus one placeholder per column an edge skips (("~", src, dst, column) tuples).

    The placeholders are Sugiyama's dummy nodes: a skip connection keeps a free
    slot in every column it crosses, so it is drawn beside the layers it skips
    instead of behind them.
    """
    cols: dict[int, list] = {}
    for i in spec.ids():  # spec order as the tie-breaker keeps layouts stable
        cols.setdefault(depth[i], []).append(i)
    parents = {i: [] for i in spec.ids()}
    for e in spec.edges:
        if e.src not in parents or e.dst not in parents or e.src == e.dst:
            continue
        a, b = depth[e.src], depth[e.dst]
        prev = e.src
        for c in range(a + 1, b):  # forward edges only; a back-edge (cycle) keeps its curve
            dummy = ("~", e.src, e.dst, c)
            cols[c].append(dummy)
            parents[dummy] = [prev]
            prev = dummy
        parents[e.dst].append(prev)
    return cols, parents


def _lower_median(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2]


def auto_layout(spec, origin=ORIGIN, col_w=COL_W, row_h=ROW_H) -> dict:
    """Return ``{node id: (x, y)}``: columns by longest-path depth, rows by the parents' median row.

    Every column is placed after the one before it: each member asks for the
    (lower) median row of its parents; those whose row is free take it (real
    layers ahead of skip-edge placeholders), the others go to the next free
    row below. So a chain stays on one straight row, a branch goes beside it,
    and a skip edge gets its own free row through the columns it crosses.
    A graph with no edges is a single column centred on ``origin``.
    """
    depth = depths(spec)
    cols, parents = _layers(spec, depth)
    row: dict = {}
    for d in sorted(cols):
        members = cols[d]
        if d == 0 or all(not parents[m] for m in members):
            n = len(members)
            for k, m in enumerate(members):
                row[m] = k - (n - 1) / 2.0
            continue
        spec_rank = {m: k for k, m in enumerate(members)}
        want = {}
        for m in members:
            rows = [row[p] for p in parents[m] if p in row]
            want[m] = _lower_median(rows) if rows else None
        placed = [m for m in members if want[m] is not None]
        free = [m for m in members if want[m] is None]
        placed.sort(key=lambda m: (want[m], isinstance(m, tuple), spec_rank[m]))
        taken: list[float] = []

        def free_at(r):
            return all(abs(r - t) >= 1.0 - 1e-9 for t in taken)

        later = []
        for m in placed:  # first everyone whose own row is free (a skip edge keeps its straight row)
            if free_at(want[m]):
                row[m] = want[m]
                taken.append(want[m])
            else:
                later.append(m)
        for m in later:  # then the rest, each to the next free row below the one it asked for
            r = want[m]
            while not free_at(r):
                r += 1.0
            row[m] = r
            taken.append(r)
        bottom = max(taken, default=-1.0)
        for k, m in enumerate(free):  # a second source (a constant input) goes under everything
            row[m] = bottom + 1.0 + k
    return {i: (origin[0] + depth[i] * col_w, origin[1] + row[i] * row_h) for i in spec.ids()}


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
