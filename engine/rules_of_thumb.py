"""The notes' architecture rules of thumb, checked against one network: advice items, never refusals.

Lecture 002 ("Some thoughts", from astroML) and lecture 004 ("Rules of Thumb", from Vanhoucke's course) give
rules for how many layers and units a network should have. They are heuristics: the notes call them
"thoughts" and "suggestions", they pull in opposite directions (astroML keeps hidden layers narrower than
twice the inputs; "stretch pants" makes them wider than needed and regularizes), and lecture 002 adds "Add
flexibility if it improves the performance, up until overfitting occurs." So every item here says which rule
it reads, quotes it, says what this network has, and gives a verdict: ``ok`` (the network follows it),
``consider`` (it does not; a suggestion follows) or ``info`` (the rule says nothing definite here). Nothing
is ever blocked by them.

The rules read the dense part of the network: the Dense layers in the graph's order, the last one (the one
the output reads, through Dropout, Activation, normalisation, Flatten or Reshape) being the output layer and
the others hidden. "Inputs" is the width the first Dense layer reads (the features after crosses).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import InvalidInput

NOTE = ("Rules of thumb from the notes (lecture 002 “Some thoughts”, lecture 004 “Rules of Thumb”): heuristics, not "
        "laws; some pull against each other. Lecture 002: “Add flexibility if it improves the performance, up until "
        "overfitting occurs.”")
QUOTES = {
    "first_layer": ("002", "The number of neurons in the first hidden layer creates as many linear decision boundaries "
                           "to classify the original data. It is not helpful (in theory) to create a deeper neural "
                           "network if the first layer doesn't contain the necessary number of neurons."),
    "twice_inputs": ("002", "Suggestions on the number of neurons per layer (from astroML): number should be less than "
                            "twice the size of input nodes"),
    "between": ("002", "number should be between the number of input and output nodes"),
    "deep": ("004", "Deep > shallow: For the same number of parameters, more hidden layers is better than wider layers"),
    "funnel": ("004", "Funnel approach: make the network look like a funnel"),
    "stretch": ("004", "“Stretch pants” approach: make hidden layers wider than what you need and then regularize "
                       "(e.g., dropout)"),
}
TITLES = {"first_layer": "first hidden layer = linear boundaries", "twice_inputs": "fewer than twice the inputs",
          "between": "between input and output counts", "deep": "deep beats wide", "funnel": "funnel",
          "stretch": "stretch pants, then regularize"}
# The fewest straight lines that separate a built-in 2-D dataset's classes (raw x1, x2 inputs): two Gaussians
# one line; XOR's quadrants two; a disc inside a ring needs a closed region, and a closed region needs 3 lines.
MIN_BOUNDARIES = {"gauss": (1, "the two Gaussians are split by one line"),
                  "xor": (2, "XOR's quadrants need two lines (one line leaves two opposite quadrants apart)"),
                  "circle": (3, "the inner disc must be enclosed, and it takes at least 3 lines to enclose a region")}
PASS_THROUGH = ("Output", "Dropout", "Activation", "BatchNorm", "LayerNorm", "Flatten", "Reshape")
# what counts as "then regularize": any of these in the session
REGULARIZING = ("l1", "l2", "weight_decay", "weight_noise", "label_smoothing", "activity_l1", "label_noise",
                "input_noise", "random_shift", "random_flip")


@dataclass(frozen=True)
class Advice:
    """One rule read against the network: its key and title, the seed and exact quote, what the network has, the
    verdict (ok / consider / info) and, for ``consider``, what would follow the rule."""

    key: str
    title: str
    seed: str
    quote: str
    has: str
    verdict: str
    suggestion: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _item(key, has, verdict, suggestion=""):
    seed, quote = QUOTES[key]
    return Advice(key, TITLES[key], seed, quote, has, verdict, suggestion)


def dense_layers(graph, report) -> tuple[list, str | None]:
    """``([(id, units), ...] hidden Dense layers in order, id of the output Dense layer or None)``."""
    nodes = {n.id: n for n in graph.nodes}
    out_dense, nid, seen = None, report.output_id, set()
    while nid is not None and nid in nodes and nid not in seen:
        seen.add(nid)
        if nodes[nid].type == "Dense":
            out_dense = nid
            break
        srcs = graph.inputs_of(nid)
        nid = srcs[0] if len(srcs) == 1 and nodes[nid].type in PASS_THROUGH else None
    hidden = [(i, int(report.params[i]["units"])) for i in report.order
              if nodes[i].type == "Dense" and i != out_dense]
    return hidden, out_dense


def _feature_layers_before(graph, report, nid) -> list[str]:
    """Ids of the layers with weights of their own (not Dense: Conv, SimpleRNN, LSTM, Embedding...) upstream of
    ``nid``, in graph order."""
    nodes = {n.id: n for n in graph.nodes}
    seen, todo = set(), list(graph.inputs_of(nid))
    while todo:
        i = todo.pop()
        if i in seen or i not in nodes:
            continue
        seen.add(i)
        todo.extend(graph.inputs_of(i))
    return [i for i in report.order if i in seen and nodes[i].type != "Dense" and report.param_counts.get(i, 0) > 0]


def _width(shape) -> int:
    w = 1
    for d in shape:
        w *= int(d)
    return w


def chain_params(widths) -> int:
    """Weights and biases of a dense chain [inputs, h1, ..., outputs]: Σ (a·b + b)."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def deeper_equivalent(n_in: int, h: int, n_out: int) -> tuple[int, int]:
    """The width w of two hidden layers whose chain [n_in, w, w, n_out] has the parameter count closest to
    [n_in, h, n_out] (ties: the smaller w), and that count."""
    target = chain_params([n_in, h, n_out])
    best = min(range(1, max(h, 1) + 1), key=lambda w: (abs(chain_params([n_in, w, w, n_out]) - target), w))
    return best, chain_params([n_in, best, best, n_out])


def regularization(session) -> list[str]:
    """What in the session regularizes: Dropout layers, penalties, noise, max-norm, weight decay, early stopping."""
    found = [f"Dropout ({n.id})" for n in session.graph.nodes if n.type == "Dropout"]
    for r in session.regularizers or []:
        if isinstance(r, dict) and r.get("type") in REGULARIZING:
            found.append(str(r["type"]).replace("_", " "))
    for n in session.graph.nodes:
        for r in getattr(n, "regularizers", None) or []:
            if isinstance(r, dict) and r.get("type") in ("l1", "l2"):
                found.append(f"{r['type']} on {n.id}")
    opt = session.optimizer if isinstance(session.optimizer, dict) else {}
    if float((opt.get("params") or {}).get("weight_decay") or 0) > 0:
        found.append(f"{opt.get('type')} weight decay")
    training = session.training if isinstance(session.training, dict) else {}
    if training.get("max_norm"):
        found.append("max-norm")
    if training.get("early_stopping"):
        found.append("early stopping")
    return found


def _dataset_minimum(dataset):
    """(fewest lines, why, dataset type) for a built-in 2-D dataset fed its raw x1, x2; else (None, reason, type)."""
    from .data import dataset_canonical

    try:
        canon = dataset_canonical(dataset)
    except InvalidInput:
        return None, "", None
    t = canon["type"]
    if t not in MIN_BOUNDARIES:
        return None, "", t
    feats = canon["preprocess"].get("features")
    if feats and list(feats) != ["x1", "x2"]:
        return None, f"the inputs are the crossed features {', '.join(feats)}, not x1, x2", t
    return MIN_BOUNDARIES[t][0], MIN_BOUNDARIES[t][1], t


def _is_regression(dataset) -> bool:
    """Whether the session's data is a regression set (a built-in one's group, or a table's ``task``)."""
    from .data import DATASETS, REGRESSION, dataset_canonical

    try:
        canon = dataset_canonical(dataset)
        group = DATASETS.entry(canon["type"]).group
    except (InvalidInput, KeyError):
        return False
    return group == REGRESSION or canon.get("params", {}).get("task") == REGRESSION


def _plural(n, word):
    return f"{n} {word}{'s' * (n != 1)}"


def rules_of_thumb(session, report=None) -> list[Advice]:
    """Every rule of the notes read against ``session``'s network (and its dataset, for the first rule).

    A graph with errors is refused with the first one (fix it first); a network without Dense layers gets one
    ``info`` item saying the rules are about dense layers.
    """
    from .graph import analyze

    rep = report if report is not None else analyze(session.graph)
    if rep.errors:
        raise InvalidInput(f"fix the network first: {rep.errors[0]}")
    hidden, out_dense = dense_layers(session.graph, rep)
    if out_dense is None:
        return [Advice("dense", "dense layers", "002 004", "", "no Dense output layer: the rules of thumb count the "
                       "units of dense (fully connected) layers", "info")]
    first = hidden[0][0] if hidden else out_dense
    feature_layers = _feature_layers_before(session.graph, rep, first)
    if feature_layers:  # the first Dense reads learned features (conv maps, an RNN's state), not the inputs
        return [Advice("dense", "dense layers", "002 004", "", f"the first Dense layer ({first}) reads the outputs "
                       f"of {', '.join(feature_layers)}, not the inputs: the notes' rules of thumb are about dense "
                       "networks on the input features, so none is checked here", "info")]
    n_in = _width(rep.in_shapes[first][0])
    n_out = int(rep.params[out_dense]["units"])
    widths = [u for _, u in hidden]
    chain = " → ".join(map(str, [n_in, *widths, n_out]))
    items = [_first_layer(session, hidden, n_in, out_dense, n_out)]
    items += _astroml(hidden, n_in, n_out, chain)
    items.append(_deep(hidden, n_in, n_out, chain))
    items.append(_funnel(hidden, chain))
    items.append(_stretch(session, hidden, n_in))
    return items


def _first_layer(session, hidden, n_in, out_dense, n_out):
    space = {1: "points on the input line", 2: "lines in the input plane", 3: "planes in the input space"}.get(
        n_in, f"hyperplanes in the {n_in}-D input space")
    if _is_regression(session.dataset):  # the rule counts decision boundaries: a fitted surface has none
        if hidden:
            nid, units = hidden[0]
            has = (f"first hidden layer {nid}: {_plural(units, 'unit')} = {units} {space} across which the fit "
                   "can bend")
        else:
            has = f"no hidden layer: the output is a linear function of the {_plural(n_in, 'input')}"
        return _item("first_layer", has, "info", "the notes' rule counts a classifier's decision boundaries; for "
                     "regression read each unit of the first hidden layer as one place where the fitted function "
                     "can bend (a ReLU's crease, a tanh's step)")
    if hidden:
        nid, units = hidden[0]
        has = f"first hidden layer {nid}: {_plural(units, 'unit')} = {units} linear boundaries ({space})"
    else:
        nid, units = out_dense, n_out
        has = f"no hidden layer: the output layer's {_plural(units, 'unit')} draw {units} linear boundaries ({space})"
    need, why, kind = _dataset_minimum(session.dataset)
    if need is None:
        reason = why or (f"the notes give no number for the {kind} data" if kind else "the data is not a built-in set")
        return _item("first_layer", has, "info", f"{reason}; compare the neuron maps with the boundary it needs")
    if units >= need:
        return _item("first_layer", has + f"; {why}", "ok")
    return _item("first_layer", has + f"; {why}", "consider",
                 f"give {'the first hidden layer' if hidden else 'the network a hidden layer with'} at least {need} "
                 "units before adding depth")


def _astroml(hidden, n_in, n_out, chain):
    if not hidden:
        return [_item(k, f"no hidden layer ({chain})", "info", "the rule is about hidden layers") for k in
                ("twice_inputs", "between")]
    over = [f"{i} ({u})" for i, u in hidden if u >= 2 * n_in]
    lo, hi = min(n_in, n_out), max(n_in, n_out)
    outside = [f"{i} ({u})" for i, u in hidden if not lo <= u <= hi]
    a = _item("twice_inputs", f"{_plural(n_in, 'input')}, so fewer than {2 * n_in} units; this network: {chain}",
              "consider" if over else "ok",
              f"{', '.join(over)} {'has' if len(over) == 1 else 'have'} {2 * n_in} or more" if over else "")
    b = _item("between", f"between {lo} and {hi} units ({_plural(n_in, 'input')}, {_plural(n_out, 'output')}); "
                         f"this network: {chain}", "consider" if outside else "ok",
              f"{', '.join(outside)} {'lies' if len(outside) == 1 else 'lie'} outside {lo}..{hi}" if outside else "")
    return [a, b]


def _deep(hidden, n_in, n_out, chain):
    if not hidden:
        return _item("deep", f"no hidden layer ({chain}): a linear model", "info",
                     "depth starts with a first hidden layer")
    if len(hidden) >= 2:
        return _item("deep", f"{len(hidden)} hidden layers ({chain})", "ok")
    h = hidden[0][1]
    p = chain_params([n_in, h, n_out])
    w, q = deeper_equivalent(n_in, h, n_out)
    if w < 2:
        return _item("deep", f"one hidden layer of {h} ({chain}, {p:,} parameters): too few for two layers of the "
                             "same size", "info")
    return _item("deep", f"one hidden layer of {h} ({chain}, {p:,} dense parameters)", "consider",
                 f"two hidden layers of {w} ({n_in} → {w} → {w} → {n_out}) have {q:,} parameters, about as many")


def _funnel(hidden, chain):
    if len(hidden) < 2:
        return _item("funnel", f"{_plural(len(hidden), 'hidden layer')} ({chain})", "info",
                     "a funnel needs two or more hidden layers")
    wider = [f"{b[0]} ({b[1]}) after {a[0]} ({a[1]})" for a, b in zip(hidden, hidden[1:]) if b[1] > a[1]]
    return _item("funnel", f"hidden widths {chain}", "consider" if wider else "ok",
                 ("wider than the layer before: " + "; ".join(wider)) if wider else "")


def _stretch(session, hidden, n_in):
    regs = regularization(session)
    wide = [f"{i} ({u})" for i, u in hidden if u >= 2 * n_in]
    with_regs = f"regularized by {', '.join(regs)}" if regs else "no regularization"
    if not wide:
        return _item("stretch", f"no hidden layer as wide as twice the inputs; {with_regs}", "info",
                     "stretch pants would widen the hidden layers and regularize; astroML's rule keeps them narrow")
    if regs:
        return _item("stretch", f"wide hidden layers {', '.join(wide)}, {with_regs}", "ok")
    return _item("stretch", f"wide hidden layers {', '.join(wide)}, {with_regs}", "consider",
                 "add a Dropout layer after a wide hidden layer, or an L2 penalty, or early stopping")


def report_text(items) -> list[str]:
    """One line per item for the command line: verdict, title, what the network has, the suggestion."""
    mark = {"ok": "ok      ", "consider": "consider", "info": "info    "}
    return [f"{mark.get(a.verdict, a.verdict)}  {a.title} ({a.seed}): {a.has}" + (f" — {a.suggestion}" if a.suggestion
                                                                                   else "") for a in items]
