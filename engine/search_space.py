"""The search space of a hyperparameter search: SPACE documents checked, and trial values applied.

A SPACE maps a setting's path to a distribution (``engine.search`` explains the format and the
shorthands). Everything here is plain Python: a bad space is refused before Optuna is even imported,
and ``apply_params`` is what "apply best" writes into the document.
"""
from __future__ import annotations

import json
import math

from .errors import InvalidInput

GRID_POINTS = 5  # a float range in a grid search: this many points (log-spaced when log is true)
_REGS = ("l1", "l2", "weight_decay")


# -- the space -----------------------------------------------------------------------------------
def _path(path: str) -> str:
    parts = path.split(".")
    if len(parts) == 2 and parts[0] in ("optimizer", "schedule", "loss") and parts[1] not in ("type", "params"):
        return f"{parts[0]}.params.{parts[1]}"
    return path


def _hidden_chain(session):
    """The hidden Dense nodes of a plain stack Input → Dense… → (Dense | Output), in order; else refuse."""
    g = session.graph
    nodes = {n.id: n for n in g.nodes}
    out_edges = {}
    for e in g.edges:
        out_edges.setdefault(e.src, []).append(e)
    start = next((n.id for n in g.nodes if n.type == "Input"), None)
    chain, cur = [], start
    while cur is not None:
        nxt = out_edges.get(cur, [])
        if len(nxt) > 1:
            raise InvalidInput("graph.hidden_layers needs a plain stack of layers (this graph branches)")
        cur = nxt[0].dst if nxt else None
        if cur is not None:
            chain.append(cur)
    if len(chain) != len(nodes) - 1:
        raise InvalidInput("graph.hidden_layers needs a plain stack of layers (some layers are not on one chain)")
    last = chain[-1] if chain else None
    body = chain[:-1] if last and nodes[last].type == "Output" else chain
    body = body[:-1]  # the output layer itself
    dense = [nid for nid in body if nodes[nid].type == "Dense"]
    if not dense or len(dense) != len(body):
        raise InvalidInput("graph.hidden_layers needs a stack of hidden Dense layers")
    return start, dense, chain


def _set_hidden_layers(session, k: int):
    from .spec import Edge, Node

    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 64:
        raise InvalidInput(f"graph.hidden_layers must be a whole number from 1 to 64, got {k!r}")
    start, dense, chain = _hidden_chain(session)
    g = session.graph
    after = chain[len(dense)]  # the first node after the hidden stack
    template = g.node(dense[-1])
    keep = dense[:k]
    ids = list(keep)
    while len(ids) < k:
        nid = g.new_id("Dense")
        at = [n.id for n in g.nodes].index(after)  # the stack stays in order in the node list
        g.nodes.insert(at, Node(nid, "Dense", dict(template.params), init=dict(template.init or {}),
                                pos=None if template.pos is None else (template.pos[0] + 60 * len(ids), template.pos[1])))
        ids.append(nid)
    for nid in dense[k:]:
        g.nodes.remove(g.node(nid))
    seq = [start] + ids + [after] + chain[len(dense) + 1:]
    g.edges[:] = [Edge(a, b, "in") for a, b in zip(seq, seq[1:])]
    return session


def apply_params(session, params: dict):
    """A copy of ``session`` with every ``{path: value}`` of a trial applied (what "apply best" writes)."""
    from .tuning import with_setting

    s = session.copy()
    for path, value in params.items():
        if path.startswith("regularizers.") and path.split(".", 1)[1] in _REGS:
            kind = path.split(".", 1)[1]
            regs = [r for r in s.regularizers if (r.get("type") if isinstance(r, dict) else r) != kind]
            s.regularizers = regs + [{"type": kind, "params": {"lambda": float(value)}}]
        elif path == "graph.hidden_layers":
            s = _set_hidden_layers(s, int(value))
        elif path in ("graph.units", "graph.activation"):
            _, dense, _ = _hidden_chain(s)
            for nid in dense:
                s.graph.node(nid).params[path.split(".")[1]] = int(value) if path == "graph.units" else str(value)
        elif path == "graph.dropout":
            drops = [n for n in s.graph.nodes if n.type == "Dropout"]
            if not drops:
                raise InvalidInput("graph.dropout needs a Dropout layer in the network (add one first)")
            for n in drops:
                n.params["p"] = float(value)
        else:
            s = with_setting(s, _path(path), value)
    return s


def _num(spec, key, path, integer=False):
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (integer and v != int(v)):
        raise InvalidInput(f"space {path!r}: {key!r} must be a {'whole ' if integer else ''}number, got {v!r}")
    return int(v) if integer else float(v)


def parse_space(doc) -> dict:
    """Check a SPACE document (dict) and return ``{path: normalised spec}``; one clear error per defect."""
    if not isinstance(doc, dict) or not doc:
        raise InvalidInput("a search space must be a JSON object mapping setting paths to distributions")
    out = {}
    for path, spec in doc.items():
        if not isinstance(spec, dict) or spec.get("type") not in ("float", "int", "categorical"):
            raise InvalidInput(f"space {path!r}: needs a 'type' of float, int or categorical, got {spec!r:.80}")
        kind = spec["type"]
        unknown = set(spec) - {"type", "low", "high", "log", "step", "choices", "n"}
        if unknown:
            raise InvalidInput(f"space {path!r}: unknown key {sorted(unknown)[0]!r} "
                               "(known: type, low, high, log, step, choices, n)")
        if kind == "categorical":
            ch = spec.get("choices")
            if not isinstance(ch, list) or not ch or not all(isinstance(c, (str, int, float, bool)) or c is None
                                                                for c in ch):
                raise InvalidInput(f"space {path!r}: 'choices' must be a non-empty list of numbers or names")
            out[path] = {"type": kind, "choices": list(ch)}
            continue
        integer = kind == "int"
        lo, hi = _num(spec, "low", path, integer), _num(spec, "high", path, integer)
        if lo > hi:
            raise InvalidInput(f"space {path!r}: low {lo} is above high {hi}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise InvalidInput(f"space {path!r}: 'log' must be true or false")
        if log and lo <= 0:
            raise InvalidInput(f"space {path!r}: a log range needs low > 0, got {lo}")
        d = {"type": kind, "low": lo, "high": hi, "log": log}
        if "step" in spec:
            d["step"] = _num(spec, "step", path, integer)
            if d["step"] <= 0 or log:
                raise InvalidInput(f"space {path!r}: 'step' must be positive and cannot go with log")
        if "n" in spec:
            d["n"] = _num(spec, "n", path, True)
            if not 2 <= d["n"] <= 100:
                raise InvalidInput(f"space {path!r}: 'n' (grid points) must be 2 to 100")
        out[path] = d
    return out


def load_space(path) -> dict:
    """Read and check a SPACE file (JSON)."""
    from .safe_io import read_bytes_limited  # a regular file only: a FIFO or /dev/zero is refused, not read

    data = read_bytes_limited(path, 1 << 20, what="search space file (JSON)")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(f"the space file {path} is not valid JSON ({e})") from None
    return parse_space(doc)


def _example(spec):
    if spec["type"] == "categorical":
        return spec["choices"][0]
    return spec["low"]


def check_space(session, space: dict):
    """Refuse a space that names an unknown setting or a value the network cannot take, before any trial."""
    from .graph import analyze

    for path, spec in space.items():
        values = spec["choices"] if spec["type"] == "categorical" else [spec["low"], spec["high"]]
        for v in values:
            try:
                s = apply_params(session, {path: v})
                rep = analyze(s.graph)
                if rep.errors:
                    raise InvalidInput(str(rep.errors[0]))
                s.canonicalize()
            except InvalidInput as e:
                raise InvalidInput(f"space {path!r} = {v!r}: {e}") from None


def grid_values(spec) -> list:
    """The values a grid search tries for one spec."""
    import numpy as np

    if spec["type"] == "categorical":
        return list(spec["choices"])
    lo, hi = spec["low"], spec["high"]
    if spec["type"] == "int":
        step = spec.get("step", 1)
        vals = list(range(lo, hi + 1, step))
        if len(vals) > 100 or "n" in spec:
            n = spec.get("n", GRID_POINTS)
            vals = sorted({int(round(v)) for v in (np.geomspace(lo, hi, n) if spec["log"] else np.linspace(lo, hi, n))})
        return vals
    if "step" in spec:
        return [float(v) for v in np.arange(lo, hi + spec["step"] / 2, spec["step"])]
    n = spec.get("n", GRID_POINTS)
    return [float(v) for v in (np.geomspace(lo, hi, n) if spec["log"] else np.linspace(lo, hi, n))]


def suggest(trial, space: dict) -> dict:
    params = {}
    for path, spec in space.items():
        if spec["type"] == "categorical":
            params[path] = trial.suggest_categorical(path, spec["choices"])
        elif spec["type"] == "int":
            params[path] = trial.suggest_int(path, spec["low"], spec["high"], step=spec.get("step", 1), log=spec["log"])
        else:
            params[path] = trial.suggest_float(path, spec["low"], spec["high"], step=spec.get("step"), log=spec["log"])
    return params
