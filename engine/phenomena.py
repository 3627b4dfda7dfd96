"""Phenomena presets: one-click sessions that show a training phenomenon, and the measurements behind them.

Each preset is a session file in ``resources/phenomena/`` whose ``name`` is the card's title and
whose ``notes`` is the card (what happens, why, what to watch, the cure). The functions here
measure each card's claim on a run, so the tests (and a curious student in a notebook) can check
that the preset really shows what its card says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InvalidInput

FOLDER = Path(__file__).resolve().parents[1] / "resources" / "phenomena"
ORDER = ("vanishing_gradients", "vanishing_gradients_relu", "batch_norm", "dead_relus", "symmetry", "overfitting",
         "overfitting_l2", "grokking", "double_descent")


@dataclass(frozen=True)
class Sweep:
    """Side-by-side variants a preset's card can start in one click: one setting at several values."""
    setting: str
    values: tuple
    epochs: int

    def text(self) -> str:
        return ", ".join(str(v) for v in self.values)


# Double descent is seen across widths, not in one run: its card starts this sweep (Experiments ▸ Variants).
# 60 training points: the peak is where the features first span 60 directions (about p = 70, see the card).
SWEEPS = {"double_descent": Sweep("units", (5, 10, 20, 40, 50, 60, 65, 70, 80, 100, 150, 300, 600, 1200), 5)}


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    card: str
    path: Path
    sweep: Sweep | None = field(default=None)


def presets() -> list[Preset]:
    """Every preset in ``ORDER`` (then any other file in the folder), read without running anything."""
    files = {p.stem: p for p in sorted(FOLDER.glob("*.json"))}
    keys = [k for k in ORDER if k in files] + [k for k in files if k not in ORDER]
    out = []
    for k in keys:
        doc = json.loads(files[k].read_text(encoding="utf-8"))
        out.append(Preset(k, doc.get("name", k), doc.get("notes", ""), files[k], SWEEPS.get(k)))
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


# -- double descent --------------------------------------------------------------------------------
def width_sweep(session, widths, *, epochs: int | None = None, path: str = "auto") -> dict:
    """``{width: run}``: the session trained at each width of its first hidden layer (``engine.variants``).

    The same machinery as Experiments ▸ Side-by-side variants with the setting "units"; each run keeps
    its history (``history.epoch_array("val_loss")[-1]`` is the held-out error at that width).
    """
    from .variants import VariantSet

    vs = VariantSet(session, "units", list(widths), path=path)
    for ev in vs.fit(epochs):
        if isinstance(ev, Exception):
            raise ev
    return dict(zip(widths, vs.runs))


def final_losses(runs: dict, key: str = "val_loss") -> dict:
    """``{width: last epoch's key}`` of a ``width_sweep``."""
    return {p: float(r.history.epoch_array(key)[-1]) for p, r in runs.items()}


def feature_rank(run) -> int:
    """Independent directions the head can use on the training split: rank of [features, 1].

    The head interpolates every training point once this reaches the number of points n. Random ReLU
    units that are zero on every training point, or positive on all of them (then only a linear
    function of the inputs, like the others of that kind), add nothing, so it lags behind the width p.
    """
    acts = hidden_activations(run)
    first = next(iter(acts.values()))
    f = np.c_[first.astype(np.float64), np.ones(len(first))]
    return int(np.linalg.matrix_rank(f))


def peak_ratios(losses: dict, n: int) -> tuple:
    """``(peak width, peak / best width ≤ n/2, peak / best width ≥ 4n)`` of ``{width: held-out loss}``.

    Double descent is the claim that both ratios are large: the error peaks near the interpolation
    threshold p ≈ n and is lower on *both* sides of it.
    """
    near = {p: v for p, v in losses.items() if n / 2 < p < 4 * n}
    small = [v for p, v in losses.items() if p <= n / 2]
    large = [v for p, v in losses.items() if p >= 4 * n]
    if not near or not small or not large:
        raise InvalidInput(f"a double-descent sweep needs widths ≤ {n // 2}, between {n // 2} and {4 * n}, and ≥ {4 * n}")
    peak = max(near, key=near.get)
    return peak, near[peak] / min(small), near[peak] / min(large)
