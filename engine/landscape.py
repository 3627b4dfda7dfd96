"""A 2-D slice of the loss around a network's weights, with the optimizer's path projected onto it.

Li et al. (2018), "Visualizing the Loss Landscape of Neural Nets": f(α, β) = L(θ* + α·d₁ + β·d₂).
Two kinds of direction:

- ``random``: Gaussian directions, *filter-normalised* — each filter (a row of a Dense weight,
  an output channel of a conv kernel) is rescaled to the norm of the same filter in θ*, so a step
  of 1 means "as large as the weights themselves" whatever a layer's scale; 1-D parameters
  (biases, norm scales) get no component, as in the paper.
- ``pca``: the two principal directions of the trajectory θ₀…θ_T − θ* (the plane that holds most of
  where the optimizer went); the path's coordinates are then its PCA scores.

The trajectory comes from training a copy of the session (``trajectory``), recorded at every epoch end;
the user's run is never touched.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidInput


@dataclass(frozen=True)
class Slice:
    alphas: np.ndarray  # (res,)
    betas: np.ndarray  # (res,)
    losses: np.ndarray  # (res_beta, res_alpha): losses[j, i] at (alphas[i], betas[j])
    path: np.ndarray  # (T, 2) the trajectory's coordinates in the plane (empty when none was given)
    kind: str
    explained: tuple | None  # PCA: fraction of the trajectory's variance along d₁ and d₂
    complete: bool  # False when stopped early (the rest is nan)
    others: dict = field(default_factory=dict)  # name → (T, 2): other optimizers' paths, and recorded runs' paths
    notes: tuple = ()  # recorded runs left out, and why


def _flat(weights: dict, keys) -> np.ndarray:
    return np.concatenate([np.asarray(weights[k], np.float64).ravel() for k in keys])


def _unflat(vec, like: dict, keys) -> dict:
    out, i = {}, 0
    for k in keys:
        shape = np.shape(like[k])
        n = int(np.prod(shape))
        out[k] = vec[i:i + n].reshape(shape)
        i += n
    return out


def filter_normalized(weights: dict, rng: np.random.Generator, keys=None) -> dict:
    """A random direction with each filter's norm equal to that filter's norm in ``weights``; 1-D parts are 0."""
    keys = list(keys or weights)
    out = {}
    for k in keys:
        w = np.asarray(weights[k], np.float64)
        if w.ndim < 2:
            out[k] = np.zeros_like(w)
            continue
        d = rng.standard_normal(w.shape)
        rows_w = np.linalg.norm(w.reshape(w.shape[0], -1), axis=1)
        rows_d = np.linalg.norm(d.reshape(d.shape[0], -1), axis=1)
        scale = rows_w / np.maximum(rows_d, 1e-30)
        out[k] = d * scale.reshape(-1, *([1] * (w.ndim - 1)))
    return out


def pca_directions(trajectory: list, center: dict, keys=None):
    """(d₁, d₂, explained ratios, scores (T, 2)) of the trajectory's differences from ``center``."""
    keys = list(keys or center)
    if len(trajectory) < 3:
        raise InvalidInput(f"PCA directions need a trajectory of at least 3 points, got {len(trajectory)}; "
                           f"train for more epochs")
    c = _flat(center, keys)
    M = np.stack([_flat(t, keys) - c for t in trajectory])
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    if len(s) < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise InvalidInput("the trajectory moved along a single direction only: PCA has no second direction")
    var = s ** 2
    explained = (float(var[0] / var.sum()), float(var[1] / var.sum()))
    d1, d2 = vt[0], vt[1]
    scores = M @ np.stack([d1, d2], axis=1)
    return _unflat(d1, center, keys), _unflat(d2, center, keys), explained, scores


def project(trajectory: list, center: dict, d1: dict, d2: dict, keys=None) -> np.ndarray:
    """Least-squares coordinates (α, β) of each θ_t − θ* in the plane of d₁, d₂ (they need not be orthogonal)."""
    keys = list(keys or center)
    if not trajectory:
        return np.zeros((0, 2))
    c = _flat(center, keys)
    A = np.stack([_flat(d1, keys), _flat(d2, keys)], axis=1)
    M = np.stack([_flat(t, keys) - c for t in trajectory])
    coords, *_ = np.linalg.lstsq(A, M.T, rcond=None)
    return coords.T


def trajectory(session, epochs: int, *, progress=None, stop: threading.Event | None = None, dataset=None):
    """(weights at epoch 0, 1, …, epochs) of a copy of the session trained from its initial weights."""
    from .events import EpochEnd
    from .run import Run

    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 2 <= epochs <= 10_000:
        raise InvalidInput(f"epochs must be a whole number from 2 to 10000, got {epochs!r}")
    s = session.copy().canonicalize()
    s.training = dict(s.training, epochs=epochs, early_stopping=None)
    run = Run(s, path="torch", dataset=dataset)
    points = [run.weights()]
    for ev in run.events(epochs):
        if isinstance(ev, EpochEnd):
            points.append(run.weights())
            if progress is not None:
                progress(len(points) - 1, epochs)
            if stop is not None and stop.is_set():
                run.stop()
    return points, run


def loss_slice(session, center: dict, d1: dict, d2: dict, *, span: float = 1.0, res: int = 25, split: str = "train",
               path=None, kind: str = "random", explained=None, progress=None, stop: threading.Event | None = None,
               dataset=None) -> Slice:
    """Evaluate the loss on the (α, β) grid over [−span, span]² (float64, eval mode, loss without regularizers)."""
    import torch

    from .builder import build_model
    from .data import make_dataset
    from .losses import LOSSES

    if isinstance(res, bool) or not isinstance(res, int) or not 3 <= res <= 201:
        raise InvalidInput(f"the resolution must be a whole number from 3 to 201, got {res!r}")
    if not (isinstance(span, (int, float)) and math.isfinite(span) and span > 0):
        raise InvalidInput(f"the range must be a number > 0, got {span!r}")
    s = session.copy().canonicalize()
    data = dataset if dataset is not None else make_dataset(s.dataset, seed=s.seed)
    x = torch.as_tensor(getattr(data, f"x_{split}"), dtype=torch.float64)
    if len(x) == 0:
        raise InvalidInput(f"the {split} split is empty; pick another split for the landscape")
    y = torch.as_tensor(getattr(data, f"y_{split}"))
    y = y.double() if y.is_floating_point() else y
    model = build_model(s.graph, seed=s.seed, dtype="float64")
    model.eval()
    loss_fn = LOSSES.create(s.loss)
    keys = [k for k in model.state_dict() if k in center]
    base = {k: torch.as_tensor(np.asarray(center[k]), dtype=torch.float64) for k in model.state_dict()}
    D1 = {k: torch.as_tensor(np.asarray(d1[k]), dtype=torch.float64) for k in keys}
    D2 = {k: torch.as_tensor(np.asarray(d2[k]), dtype=torch.float64) for k in keys}
    alphas = betas = np.linspace(-span, span, res)
    losses = np.full((res, res), np.nan)
    complete = True
    with torch.no_grad():
        for j, b in enumerate(betas):
            if stop is not None and stop.is_set():
                complete = False
                break
            for i, a in enumerate(alphas):
                state = dict(base)
                for k in keys:
                    state[k] = base[k] + float(a) * D1[k] + float(b) * D2[k]
                model.load_state_dict(state)
                losses[j, i] = float(loss_fn(model(x), y))
            if progress is not None:
                progress(j + 1, res)
    return Slice(alphas, betas, losses, np.zeros((0, 2)) if path is None else np.asarray(path), kind, explained,
                 complete)


def recorded_paths(runs: dict, center: dict, keys) -> tuple[dict, list]:
    """({name: [weights, ...]}, [one-line notes]) of recorded trajectories that fit ``center``'s network.

    ``runs`` maps a name to a list of weight dicts (e.g. a run's time-travel checkpoints, oldest first);
    a run of another network (other parameter names or shapes) is left out with a note.
    """
    kept, notes = {}, []
    for name, points in (runs or {}).items():
        pts = [dict(p) for p in points or []]
        if not pts:
            notes.append(f"{name}: no checkpoints to draw")
            continue
        if any(set(keys) - set(p) or any(np.shape(p[k]) != np.shape(center[k]) for k in keys) for p in pts):
            notes.append(f"{name}: a different network (its weights do not fit this slice)")
            continue
        kept[name] = [{k: np.asarray(p[k]) for k in keys} for p in pts]
    return kept, notes


def landscape(session, *, epochs: int = 20, kind: str = "random", span: float | None = None, res: int = 25, seed: int = 0,
              split: str = "train", compare: dict | None = None, runs: dict | None = None, progress=None, stop=None,
              dataset=None) -> Slice:
    """Train a copy for ``epochs`` (the path), then slice the loss around its final weights.

    ``compare`` ({name: optimizer spec}) trains one more copy per optimizer from the same initial
    weights and projects its path onto the same plane (PCA then uses every path's points). ``runs``
    ({name: [weights, ...]}) adds recorded trajectories — the window's runs of this network, from their
    checkpoints — projected the same way (see ``recorded_paths``; the notes say which were left out).
    ``progress(fraction, text)`` reports both phases; ``stop`` ends either early. ``span`` None: wide
    enough for every path (1.25 × its largest coordinate), at least 1 (random) or 0.5 (PCA).
    """
    if kind not in ("random", "pca"):
        raise InvalidInput(f"directions must be 'random' (filter-normalised) or 'pca' (of the trajectory), got {kind!r}")
    compare = dict(compare or {})
    say = progress or (lambda f, t: None)
    share = 0.3 / (1 + len(compare))
    points, run = trajectory(session, epochs, dataset=dataset, stop=stop,
                             progress=lambda e, n: say(share * e / n, f"training the copy: epoch {e}/{n}"))
    center = points[-1]
    keys = [k for k in center if np.issubdtype(np.asarray(center[k]).dtype, np.floating)]
    center = {k: center[k] for k in keys}
    traj = [{k: p[k] for k in keys} for p in points]
    others = {}
    for i, (name, spec) in enumerate(compare.items(), start=1):
        s2 = session.copy()
        s2.optimizer = spec
        pts, _ = trajectory(s2, epochs, dataset=run.data, stop=stop,
                            progress=lambda e, n, i=i, name=name: say(share * (i + e / n), f"training with {name}: epoch {e}/{n}"))
        others[name] = [{k: p[k] for k in keys} for p in pts]
    recorded, notes = recorded_paths(runs, center, keys)
    others.update(recorded)
    if kind == "pca":
        everything = traj + [p for t in others.values() for p in t]
        d1, d2, explained, _ = pca_directions(everything, center, keys)
    else:
        rng = np.random.default_rng(seed)
        d1, d2 = filter_normalized(center, rng, keys), filter_normalized(center, rng, keys)
        explained = None
    path = project(traj, center, d1, d2, keys)
    other_paths = {name: project(t, center, d1, d2, keys) for name, t in others.items()}
    if span is None:
        reach = max([float(np.max(np.abs(p))) for p in [path, *other_paths.values()] if len(p)] or [0.0])
        span = max(1.25 * reach, 1.0 if kind == "random" else 0.5)
    sl = loss_slice(run.session, center, d1, d2, span=span, res=res, split=split, path=path, kind=kind,
                    explained=explained, stop=stop, dataset=run.data,
                    progress=lambda j, n: say(0.3 + 0.7 * j / n, f"loss on the grid: row {j}/{n}"))
    return Slice(sl.alphas, sl.betas, sl.losses, sl.path, sl.kind, sl.explained, sl.complete, other_paths,
                 tuple(notes))
