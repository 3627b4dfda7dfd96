"""One self-contained HTML page about a session: settings, network, final metrics and training curves.

Inline CSS and inline SVG only (no script, no external file), so it can be
mailed, archived or printed as is.
"""
from __future__ import annotations

import json
import math
from html import escape

from .. import __version__
from ..layers import shape_str
from . import write_bytes
from .svg_chart import Line, line_chart

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: bold; } .untrained { color: #a15c00; } .charts svg { margin: 0 12px 12px 0; }
code { background: #f4f4f4; padding: 0 3px; }
"""

KEY_METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "lr")


def _num(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.6g}"
    return escape(str(v))


def _brief(value):
    """Embedded data (CSV imports, inline samples) is summarized, not printed."""
    if isinstance(value, list) and len(value) > 12:
        return f"({len(value)} values embedded)"
    if isinstance(value, dict):
        return {k: _brief(v) for k, v in value.items()}
    return value


def _spec(spec) -> str:
    if isinstance(spec, str):
        return f"<code>{escape(spec)}</code>"
    if not isinstance(spec, dict):
        return escape(json.dumps(spec))
    params = spec.get("params") or {}
    inner = ", ".join(f"{escape(str(k))}={escape(json.dumps(_brief(v), default=str))}" for k, v in params.items())
    return f"<code>{escape(str(spec.get('type')))}</code>" + (f" ({inner})" if inner else "")


def _table(headers, rows, numeric=()) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"]
    for r in rows:
        cells = [f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _settings(s) -> str:
    ds = s.dataset
    rows = [
        ("seed", _num(s.seed)),
        ("dataset", _spec({"type": ds.get("type"), "params": ds.get("params", {})})),
        ("split", escape(json.dumps(ds.get("split")))) if ds.get("split") else None,
        ("preprocess", escape(json.dumps(ds.get("preprocess")))) if ds.get("preprocess") else None,
        ("loss", _spec(s.loss)),
        ("optimizer", _spec(s.optimizer)),
        ("schedule", _spec(s.schedule)),
        ("regularizers", ", ".join(_spec(r) for r in s.regularizers) or "none"),
    ]
    rows += [(f"training.{k}", escape(json.dumps(v))) for k, v in s.training.items()]
    return _table(("setting", "value"), [r for r in rows if r])


def _network(ex) -> str:
    rep, graph = ex.report, ex.session.graph
    rows = []
    for nid in rep.order:
        node = graph.node(nid)
        p = rep.params[nid]
        keys = [k for k in ("units", "filters", "kernel_size", "activation", "p", "shape", "pool_size", "axis") if k in p]
        detail = ", ".join(f"{k}={list(p[k]) if isinstance(p[k], tuple) else p[k]}" for k in keys)
        if not node.trainable:
            detail += (", " if detail else "") + "frozen"
        rows.append((escape(nid), escape(node.type), escape(detail), escape(shape_str(rep.shapes[nid])),
                     _num(rep.param_counts[nid])))
    rows.append(("<b>total</b>", "", "", "", f"<b>{_num(rep.total_params)}</b>"))
    return _table(("node", "type", "settings", "output shape", "params"), rows, numeric=(4,))


def _test_metrics(ex) -> tuple[str, dict | None]:
    """(sentence, metrics) of the exported weights on the test split, computed here from the data."""
    import numpy as np
    import torch

    from ..errors import InvalidInput
    from ..losses import LOSSES
    from ..metrics import evaluate

    try:
        data = ex.dataset()
    except InvalidInput as e:
        return f"Test metrics unavailable: {e}", None
    if len(data.x_test) == 0:
        return "No test split: give the test split a share to measure the model on unseen data.", None
    with torch.no_grad():
        x = torch.as_tensor(data.x_test, dtype=torch.float32)
        out = torch.cat([ex.model(x[i:i + 4096]) for i in range(0, len(x), 4096)])
        y = torch.as_tensor(data.y_test)
        loss = float(LOSSES.create(ex.session.loss)(out, y))
    metrics = evaluate(out.numpy(), np.asarray(data.y_test), data.task, ex.session.loss["type"], data.n_classes)
    return f"On the {len(data.x_test)} test samples, never used for training or for choosing settings:", \
        dict(metrics, loss=loss)


def _metrics(ex) -> str:
    h = ex.history
    if not ex.trained or h is None or h.n_epochs == 0:
        return '<p class="status untrained">Not trained yet: the weights are the initial ones.</p>'
    from ..archive import history_summary

    n = h.n_epochs
    planned = ex.session.training.get("epochs")
    rows = [("epochs trained", _num(n)), ("best epoch", _num(history_summary(h)["best_epoch"]))]
    rows += [(f"final {k.replace('_', ' ')}", _num(h.epochs[k][-1])) for k in KEY_METRICS]
    last = h.epoch_metrics[-1] if h.epoch_metrics else {}
    rows += [(f"validation {k}", _num(v)) for k, v in last.items() if not isinstance(v, (list, dict))]
    of = f" of the {planned} set in the training settings" if isinstance(planned, int) and planned != n else ""
    html = f'<p class="status">Trained for {n} epoch{"s" if n != 1 else ""}{of}.</p>\n'
    early = ex.early or {}
    if early.get("stopped_epoch"):
        es = ex.session.training.get("early_stopping") or {}
        kept = (f"; the exported weights are those of its best epoch, {early.get('best_epoch')}"
                if es.get("restore_best", True) and early.get("best_epoch") else "")
        html += (f"<p>Early stopping ended the run at epoch {early['stopped_epoch']} "
                 f"(watching {escape(str(es.get('monitor', 'val_loss')))}){kept}.</p>\n")
    html += _table(("metric", "value"), rows, (1,))
    html += _confusion("Validation confusion matrix", last.get("confusion"))
    sentence, test = _test_metrics(ex)
    html += f"\n<h3>Test metrics</h3>\n<p>{escape(sentence)}</p>"
    if test:
        html += "\n" + _table(("metric", "value"), [(f"test {k}", _num(v)) for k, v in test.items()
                                                     if not isinstance(v, (list, dict))], (1,))
        html += _confusion("Test confusion matrix", test.get("confusion"))
    return html


def _confusion(title, conf) -> str:
    if not (isinstance(conf, list) and conf and all(isinstance(r, list) for r in conf)):
        return ""
    head = ["true \\ predicted"] + [str(j) for j in range(len(conf[0]))]
    return f"\n<h3>{escape(title)}</h3>\n" + _table(
        head, [[str(i)] + [_num(c) for c in r] for i, r in enumerate(conf)], numeric=tuple(range(1, len(head))))


def _preprocessing(ex) -> str:
    """The fitted scaling and feature crosses: what the exported models apply to raw inputs first."""
    from ..errors import InvalidInput
    from .preprocess_module import describe

    try:
        info = describe(ex.preprocess_state)
    except InvalidInput as e:
        return f"<p>{escape(str(e))}</p>"
    if info is None:
        return "<p>None: the network takes the inputs as they are.</p>"
    html = [f"<p>Fitted on the training split; applied to every input before the network: "
            f"<code>{escape(info['formula'])}</code>"
            + (f" of the features {escape(', '.join(info['features']))}" if info["features"] else "")
            + ". ONNX, TorchScript and PyTorch exports include it unless exported bare.</p>"]
    cols = [k for k in ("mean", "std", "min", "range") if k in info]  # one value per input feature
    if cols:
        n = len(info[cols[0]])
        known = list(getattr(ex.data, "feature_names", None) or [])
        names = info["features"] or (known if len(known) == n else [f"input {i + 1}" for i in range(n)])
        rows = [[escape(str(nm))] + [_num(float(info[c][i])) for c in cols] for i, nm in enumerate(names)]
        html.append(_table(["feature"] + cols, rows[:64], numeric=tuple(range(1, len(cols) + 1))))
        if n > 64:
            html.append(f"<p>(the first 64 of {n} features; all are in the weights export's JSON)</p>")
    if "components" in info:  # one row per principal component: its scale 1/√eigenvalue and its direction
        comp, scales = info["components"], info["scales"]
        if len(comp) <= 8:
            html.append("<p>PCA components (rows, largest variance first) and their scales:</p>")
            html.append(_table(["", "scale"] + [f"in {j + 1}" for j in range(len(comp[0]))],
                               [[f"pc {i + 1}", _num(float(scales[i]))] + [_num(float(v)) for v in r]
                                for i, r in enumerate(comp)], numeric=tuple(range(1, len(comp[0]) + 2))))
        else:
            html.append(f"<p>PCA components and scales: a {len(comp)}×{len(comp[0])} matrix, listed in the "
                        f"weights export's JSON.</p>")
    return "\n".join(html)


def _charts(ex) -> str:
    h = ex.history
    if not ex.trained or h is None or h.n_epochs == 0:
        return ""
    epochs = list(range(1, h.n_epochs + 1))
    charts = [line_chart([Line("train", epochs, h.epochs["train_loss"]),
                          Line("validation", epochs, h.epochs["val_loss"], dashed=True)],
                         title="Loss", x_label="epoch", y_label="loss")]
    if any(v == v for v in h.epochs["train_acc"] + h.epochs["val_acc"]):
        charts.append(line_chart([Line("train", epochs, h.epochs["train_acc"]),
                                  Line("validation", epochs, h.epochs["val_acc"], dashed=True)],
                                 title="Accuracy", x_label="epoch", y_label="accuracy", y_range=(0.0, 1.0)))
    charts.append(line_chart([Line("learning rate", epochs, h.epochs["lr"], color="#9467bd")],
                             title="Learning rate", x_label="epoch", y_label="lr"))
    sx, sy = h.step_loss.data()
    if len(sx) > 1:
        charts.append(line_chart([Line("batch loss", sx.tolist(), sy.tolist(), color="#7f7f7f")],
                                 title="Loss per step", x_label="step", y_label="loss"))
    return '<h2>Training curves</h2>\n<div class="charts">\n' + "\n".join(charts) + "\n</div>"


def report_html(ex) -> str:
    s = ex.session
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{escape(ex.name or s.name)}: NN Playground report</title>", f"<style>{CSS}</style>", "</head>",
        "<body>", f"<h1>{escape(ex.name or s.name)}</h1>",
        f"<p>Report written by NN Playground {escape(__version__)}"
        + (f" from <code>{escape(ex.source)}</code>" if ex.source else "") + ".</p>",
        "<h2>Final metrics</h2>", _metrics(ex),
        _charts(ex),
        "<h2>Preprocessing</h2>", _preprocessing(ex),
        "<h2>Network</h2>", _network(ex),
        "<h2>Settings</h2>", _settings(s),
    ]
    if s.notes:
        parts += ["<h2>Notes</h2>", f"<p>{escape(s.notes)}</p>"]
    parts += ["</body>", "</html>", ""]
    return "\n".join(p for p in parts if p)


def export_report(ex, out_path) -> str:
    return write_bytes(out_path, report_html(ex).encode("utf-8"))
