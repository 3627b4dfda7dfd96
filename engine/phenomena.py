"""Phenomena presets: one-click sessions that show a training phenomenon, and the measurements behind them.

Each preset is a session file in ``resources/phenomena/`` whose ``name`` is the card's title and
whose ``notes`` is the card (what happens, why, what to watch, the cure). The functions here
measure each card's claim on a run, so the tests (and a curious student in a notebook) can check
that the preset really shows what its card says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InvalidInput

FOLDER = Path(__file__).resolve().parents[1] / "resources" / "phenomena"
ORDER = ("vanishing_gradients", "vanishing_gradients_relu", "batch_norm", "dead_relus", "symmetry", "overfitting",
         "overfitting_l2", "grokking")


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    card: str
    path: Path


def presets() -> list[Preset]:
    """Every preset in ``ORDER`` (then any other file in the folder), read without running anything."""
    files = {p.stem: p for p in sorted(FOLDER.glob("*.json"))}
    keys = [k for k in ORDER if k in files] + [k for k in files if k not in ORDER]
    out = []
    for k in keys:
        doc = json.loads(files[k].read_text(encoding="utf-8"))
        out.append(Preset(k, doc.get("name", k), doc.get("notes", ""), files[k]))
    return out


def load(key: str):
    from .session import load_session

    path = FOLDER / f"{key}.json"
    if not path.exists():
        raise InvalidInput(f"no phenomenon preset {key!r}; presets: {', '.join(p.key for p in presets())}")
    return load_session(path)


def weight_gradient_norms(session, weights: dict | None = None) -> dict:
    """{node id: ‖∂L/∂W‖} of every Dense weight on the whole training split (float64, eval mode)."""
    from .backprop_steps import Inspector

    insp = Inspector(session, weights=weights, samples=0)
    insp.set_samples(list(range(len(insp.data.x_train))))
    grads = insp.current().grads
    return {k.rsplit(".", 1)[0]: float(np.linalg.norm(g)) for k, g in grads.items() if k.endswith(".weight")}


def first_last_ratio(session, weights=None) -> float:
    """‖∂L/∂W_last‖ / ‖∂L/∂W_first‖ over the Dense layers in network order."""
    norms = weight_gradient_norms(session, weights)
    vals = list(norms.values())
    return vals[-1] / max(vals[0], 1e-300)


def hidden_activations(run) -> dict:
    """{node id: activations (N, units)} of every hidden Dense layer on the training split, from a run."""
    import torch

    with run.snapshot() as tr:
        model = tr.model
        was = model.training
        model.eval()
        with torch.no_grad():
            _, rec = model.forward_record(tr.x["train"])
        model.train(was)
        out_id = model.order[-2] if model.types[model.order[-1]].name == "Output" else model.order[-1]
        return {nid: r["post"].cpu().numpy().copy() for nid, r in rec.items()
                if model.types[nid].name == "Dense" and nid != out_id}


def dead_fraction(run) -> float:
    """Share of hidden ReLU units whose output is 0 on every training input."""
    acts = hidden_activations(run)
    dead = sum(int(np.sum(np.all(a <= 0, axis=0))) for a in acts.values())
    total = sum(a.shape[1] for a in acts.values())
    return dead / max(total, 1)


def units_identical(run) -> bool:
    """True when, in every hidden Dense layer, all units have the same incoming weights and bias."""
    w = run.weights()
    acts = hidden_activations(run)
    for nid in acts:
        W, b = w[f"layers.{nid}.weight"], w.get(f"layers.{nid}.bias")
        if not np.all(W == W[0]) or (b is not None and not np.all(b == b[0])):
            return False
    return True


def first_epoch(history, key: str, at: float):
    """0-based index of the first epoch whose ``key`` (e.g. "train_acc") reached ``at``; None if none did.

    Grokking is measured with it: the epoch training accuracy hits 100 % against where validation is then.
    """
    vals = history.epoch_array(key)
    hit = np.flatnonzero(vals >= at)
    return int(hit[0]) if len(hit) else None
