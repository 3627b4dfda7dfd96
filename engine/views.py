"""What the live views show, computed from a training without any GUI: a notebook wants these too.

``describe(trainer)`` gives the static facts a view needs once (task, classes, which layers have
weights, the raw 2-D data and the boundary grid's extent). ``ViewComputer`` evaluates, off the GUI
thread and between two steps, the decision boundary on a grid in raw input space, every hidden
unit's map on that grid, the activation statistics of a fixed batch and regression predictions.
A multi-label network's frame holds P(label j) for every label; the view shows the one chosen.
Everything is plain numpy in frozen dataclasses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GRID = 60  # boundary grid resolution (GRID x GRID points)
ACT_BATCH = 256  # fixed training batch for activation statistics
PRED_LIMIT = 1000  # validation points in the predicted-vs-true plot
MAX_MAP_UNITS = 64  # neuron maps shipped at most


@dataclass(frozen=True)
class TrainingMeta:
    """What the views need to know about a freshly built trainer (sent once, on the GUI thread)."""

    trainer: object
    task: str
    n_classes: int
    n_outputs: int
    class_names: list
    feature_names: list
    loss_name: str
    layer_keys: list  # "node.param" of every parameter, graph order
    weight_nodes: list  # trainable nodes with parameters, input side first
    activations: dict  # node -> activation name (relu/sigmoid/tanh family only)
    hidden_maps: list  # (node, units) shown as neuron maps
    raw: dict = field(default_factory=dict)  # split -> (raw 2-D x, y) for scatter plots; empty if not 2-D
    extent: tuple | None = None  # (x0, x1, y0, y1) of the boundary grid, raw input space
    y_range: tuple | None = None  # regression: fixed colour levels from the training targets
    epochs: int = 0


@dataclass(frozen=True)
class BoundaryFrame:
    kind: str  # "binary" (P(class 1)), "multiclass" (G, G, k probabilities), "multilabel" or "regression"
    values: np.ndarray  # multilabel: (G, G, k), P(label j) in [..., j] -- independent, they need not sum to 1
    extent: tuple
    neurons: dict  # node -> (units, G, G) post-activation values
    step: int

    def label_map(self, j: int) -> np.ndarray:
        """P(label j) on the grid, (G, G): what the boundary shows for the label chosen in its combo."""
        if self.kind != "multilabel":
            raise ValueError(f"a {self.kind} frame has no per-label maps")
        return self.values[..., int(j)]


def _activation_name(act):
    if isinstance(act, dict):
        act = act.get("type")
    return str(act).lower() if act else None


def describe(trainer) -> TrainingMeta:
    """Static facts about ``trainer`` (a Run's ``trainer``) for the views."""
    from .diagnostics import RELU_FAMILY, SATURATING

    data, model = trainer.data, trainer.model
    spec = model.spec
    frozen = {n.id for n in spec.nodes if not n.trainable}
    keys, weight_nodes, acts = [], [], {}
    for nid in model.order:
        names = [p for p, _ in model.layers[nid].named_parameters(recurse=True)]
        keys += [f"{nid}.{p}" for p in names]
        if names and nid not in frozen:
            weight_nodes.append(nid)
        act = _activation_name(model.report.params.get(nid, {}).get("activation"))
        if act in RELU_FAMILY or act in SATURATING:
            acts[nid] = act
    raw, extent, maps = {}, None, []
    x_tr = data.raw_x("train")
    if x_tr.ndim == 2 and x_tr.shape[1] == 2:
        for s in ("train", "test", "val"):
            raw[s] = (np.asarray(data.raw_x(s), dtype=np.float32), np.asarray(data.split(s)[1]))
        allx = np.concatenate([r[0] for r in raw.values()])
        lo, hi = allx.min(axis=0), allx.max(axis=0)
        pad = np.maximum((hi - lo) * 0.08, 1e-3)
        extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))
        feeds_output = set(spec.inputs_of(model.output_id))
        shapes = model.report.shapes
        total = 0
        for nid in model.order:
            if nid in (model.input_id, model.output_id) or nid in feeds_output:
                continue
            shp = shapes.get(nid)
            if shp is not None and len(shp) == 1 and total + shp[0] <= MAX_MAP_UNITS:
                maps.append((nid, int(shp[0])))
                total += shp[0]
    y_range = None
    if data.task == "regression" and len(data.y_train):
        y0 = data.y_train[:, 0]
        y_range = (float(y0.min()), float(y0.max()))
    return TrainingMeta(trainer, data.task, data.n_classes, data.n_outputs, list(data.class_names),
                        list(data.feature_names), trainer.loss_name, keys, weight_nodes, acts, maps, raw,
                        extent, y_range, trainer.training["epochs"])


class ViewComputer:
    """Boundary grid, neuron maps, activation statistics and predictions, computed off the GUI thread."""

    def __init__(self, trainer, meta: TrainingMeta):
        import torch

        self.torch, self.tr, self.meta = torch, trainer, meta
        dev = trainer.device
        n = min(ACT_BATCH, len(trainer.x["train"]))
        self.act_x = trainer.x["train"][:n]
        self.grid = None
        if meta.extent is not None:
            from .data.preprocess import apply_preprocess

            x0, x1, y0, y1 = meta.extent
            gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
            pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
            state = trainer.data.preprocess_state
            xs = apply_preprocess(pts, state) if state else pts
            self.grid = torch.as_tensor(xs, dtype=torch.float32, device=dev)
        split = "val" if len(trainer.x["val"]) else "train"
        self.pred_x = trainer.x[split][:PRED_LIMIT]
        self.pred_y = trainer.y[split][:PRED_LIMIT]

    def _eval(self, fn):
        """``fn(model)`` in eval mode, between two steps (the step lock is re-entrant for the training thread)."""
        model = self.tr.model
        with self.tr.step_lock:
            was = model.training
            model.eval()
            try:
                with self.torch.no_grad():
                    return fn(model)
            finally:
                model.train(was)

    def activations(self):
        from .diagnostics import activation_stats

        if not self.meta.activations or len(self.act_x) == 0:
            return None

        def run(model):
            _, rec = model.forward_record(self.act_x)
            out = {}
            for nid, act in self.meta.activations.items():
                post = rec[nid]["post"].float().cpu().numpy()
                if np.all(np.isfinite(post)):
                    out[nid] = activation_stats(post, act)
            return out

        return self._eval(run)

    def boundary(self, step) -> BoundaryFrame | None:
        if self.grid is None:
            return None
        from .metrics import predictions

        def run(model):
            out, rec = model.forward_record(self.grid)
            neurons = {nid: rec[nid]["post"].float().cpu().numpy().T.reshape(units, GRID, GRID)
                       for nid, units in self.meta.hidden_maps}
            return out.float().cpu().numpy(), neurons

        out, neurons = self._eval(run)
        meta = self.meta
        if meta.task == "regression":
            kind, values = "regression", out[:, 0].reshape(GRID, GRID)
        elif meta.task == "multilabel":  # every label's P(label j), so switching labels needs no new frame
            from .multilabel_metrics import label_probabilities

            probs = label_probabilities(out, meta.loss_name) if np.all(np.isfinite(out)) else np.full(out.shape, np.nan)
            kind, values = "multilabel", probs.reshape(GRID, GRID, -1)
        elif not np.all(np.isfinite(out)):
            kind, values = ("binary", np.full((GRID, GRID), np.nan, np.float32))
        else:
            _, scores = predictions(out, meta.loss_name)
            if scores.ndim == 1:
                kind, values = "binary", scores.reshape(GRID, GRID)
            else:
                kind, values = "multiclass", scores.reshape(GRID, GRID, -1)
        return BoundaryFrame(kind, values.astype(np.float32), meta.extent,
                             {k: v.astype(np.float32) for k, v in neurons.items()}, step)

    def predictions(self):
        if self.meta.task != "regression" or len(self.pred_x) == 0:
            return None
        out = self._eval(lambda model: model(self.pred_x))
        return (self.pred_y[:, 0].float().cpu().numpy(), out[:, 0].float().cpu().numpy())


