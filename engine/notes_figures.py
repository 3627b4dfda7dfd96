"""The lecture notes' printed worked-example figures, checked against the float64 computation.

The notes round as they go and slip in places. For each printed figure this module keeps where
it lives in a backprop ``Pass`` (which node or parameter, which element, after how many steps)
and, where the notes show their working, the value their own printed numbers give. ``verdicts``
then says for each figure: it *matches* the exact value at the printed precision; it is off in
the *last digit* (rounding of rounded inputs); it is a *slip* (the notes' own arithmetic does not
give what they print); it is *inherited* (follows from their printed inputs, but those were
already off); or it *differs* (downstream of a slip, no working shown).

The figures are matched to a session by its network and data (the example files in
``resources/examples``), not by name, so a renamed copy is still recognised and an edited one is not.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def _s(z):
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Figure:
    label: str  # as the notes write it
    kind: str  # z, a, dL_da, fprime, loss, grad, new, output_after, loss_after
    where: str  # node id or "node.param"
    index: tuple
    printed: str
    own: float | None = None  # the notes' formula applied to their own printed numbers (and the example's η)
    note: str = ""
    step: int = 0  # inspector updates taken before the pass this figure belongs to


@dataclass(frozen=True)
class Verdict:
    figure: Figure
    exact: float
    status: str  # matches, last digit, slip, inherited, differs
    decimals: int

    @property
    def sentence(self) -> str:
        f, d = self.figure, self.decimals
        ex = f"{self.exact:.{max(d, 4) + 2}f}".rstrip("0").rstrip(".")
        own = f"; their own figures give {f.own:.{d + 2}f}" if f.own is not None and self.status == "slip" else ""
        tail = f". {f.note}" if f.note and self.status != "matches" else ""
        return {"matches": f"{f.label}: the notes print {f.printed}, exactly {ex} — matches",
                "last digit": f"{f.label}: the notes print {f.printed}, exactly {ex} — off in the last digit",
                "slip": f"{f.label}: the notes print {f.printed}{own}, exactly {ex} — a slip in the notes",
                "inherited": f"{f.label}: the notes print {f.printed}, exactly {ex} — follows from their earlier figures",
                "differs": f"{f.label}: the notes print {f.printed}, exactly {ex} — differs"}[self.status] + tail


def _decimals(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def classify(fig: Figure, exact: float) -> Verdict:
    d = _decimals(fig.printed)
    p, half, ulp = float(fig.printed.replace("−", "-")), 0.5 * 10 ** -d + 1e-12, 10 ** -d
    if abs(p - exact) <= half:
        status = "matches"
    elif fig.own is not None and abs(fig.own - p) >= 1.5 * ulp:
        status = "slip"
    elif fig.own is not None and abs(fig.own - p) <= half:
        status = "inherited"
    elif abs(p - exact) < 1.5 * ulp:
        status = "last digit"
    else:
        status = "differs"
    return Verdict(fig, exact, status, d)


def value_of(pass_, fig: Figure) -> float:
    """The exact figure from a ``backprop_steps.Pass`` (its update previewed)."""
    import numpy as np

    k, i = fig.kind, tuple(fig.index)
    if k == "loss":
        return pass_.loss
    if k == "loss_after":
        return pass_.loss_after
    if k == "output_after":
        return float(np.asarray(pass_.output_after)[(0, *i)])
    if k == "grad":
        return float(np.asarray(pass_.grads[fig.where])[i])
    if k == "new":
        return float(np.asarray(pass_.updates[fig.where].new)[i])
    arr = getattr(pass_.nodes[fig.where], {"z": "z", "a": "a", "dL_da": "dL_da", "fprime": "fprime", "delta": "delta"}[k])
    return float(np.asarray(arr)[(0, *i)])


_SLIP_FIN = "Downstream of the f_in slip."
XOR_000 = (
    Figure("z₁,in", "z", "z", (0,), "-0.53", 1 * -0.07 + 0 * 0.22 - 0.46),
    Figure("z₁,out", "a", "z", (0,), "0.3705", _s(-0.53)),
    Figure("z₂,in", "z", "z", (1,), "1.04", 0.94 + 0.1),
    Figure("z₂,out", "a", "z", (1,), "0.7389", _s(1.04)),
    Figure("f_in", "z", "f", (0,), "1.1122", 0.3705 * -0.22 + 0.7389 * 0.58 + 0.78,
           "The terms 0.3705·(−0.22) + 0.7389·0.58 + 0.78 sum to 1.12705 (1.12702 unrounded)."),
    Figure("f_out", "a", "f", (0,), "0.7525", _s(1.1122), "σ(1.1122) is 0.7525; σ(1.12702) is 0.7553."),
    Figure("L", "loss", "", (), "0.0306", 0.5 * (1 - 0.7525) ** 2),
    Figure("∂L/∂f_out", "dL_da", "f", (0,), "-0.2475", -(1 - 0.7525)),
    Figure("∂f_out/∂f_in", "fprime", "f", (0,), "0.1862", 0.7525 * (1 - 0.7525)),
    Figure("∂L/∂u₁", "grad", "f.weight", (0, 0), "-0.0171", -0.2475 * 0.1862 * 0.3705),
    Figure("u₁ new", "new", "f.weight", (0, 0), "-0.2115", -0.22 - 0.5 * -0.0171),
    Figure("∂z₁,out/∂z₁,in", "fprime", "z", (0,), "0.2332", 0.3705 * (1 - 0.3705)),
    Figure("∂L/∂W₁₁", "grad", "z.weight", (0, 0), "0.0024", -0.2475 * 0.1862 * -0.22 * 0.2332 * 1),
    Figure("W₁₁ new", "new", "z.weight", (0, 0), "-0.0712", -0.07 - 0.5 * 0.0024),
    Figure("W₁₂ new", "new", "z.weight", (1, 0), "0.9426", note=_SLIP_FIN),
    Figure("W₂₁ new", "new", "z.weight", (0, 1), "0.22"),
    Figure("W₂₂ new", "new", "z.weight", (1, 1), "0.46"),
    Figure("b₁ new", "new", "z.bias", (0,), "-0.4612", note=_SLIP_FIN),
    Figure("b₂ new", "new", "z.bias", (1,), "0.1026", note=_SLIP_FIN),
    Figure("u₂ new", "new", "f.weight", (0, 1), "0.5970", note=_SLIP_FIN),
    Figure("c new", "new", "f.bias", (0,), "0.8030", note=_SLIP_FIN),
    Figure("f(x | θ_new)", "output_after", "", (0,), "0.7615", note=_SLIP_FIN),
    Figure("loss after", "loss_after", "", (), "0.0284", 0.5 * (1 - 0.7615) ** 2),
)

_ETA = ("The notes step with η = 0.05, but η is 0.5 in this example: 0 − 0.5 × (−0.000548) = 0.000274.")
THREE_FOUR_ONE_002 = (
    Figure("φ¹₁", "a", "hidden", (0,), "0.845"),
    Figure("φ¹₂", "a", "hidden", (1,), "0.132"),
    Figure("φ¹₃", "a", "hidden", (2,), "0.354"),
    Figure("φ¹₄", "a", "hidden", (3,), "0.377"),
    Figure("y", "a", "out", (0,), "0.521"),
    Figure("E", "loss", "", (), "0.652", -math.log(0.521)),
    Figure("∂E/∂w²₁₁", "grad", "out.weight", (0, 0), "-0.405", -0.479 * 0.845),
    Figure("∂E/∂w²₁₂", "grad", "out.weight", (0, 1), "-0.063", -0.479 * 0.132),
    Figure("∂E/∂w²₁₃", "grad", "out.weight", (0, 2), "-0.169", -0.479 * 0.354),
    Figure("∂E/∂w²₁₄", "grad", "out.weight", (0, 3), "-0.181", -0.479 * 0.377),
    Figure("∂E/∂b²₁", "grad", "out.bias", (0,), "-0.479", 0.521 - 1),
    Figure("∂E/∂w¹₁₃", "grad", "hidden.weight", (0, 2), "-0.055"),
    Figure("w¹₁₃ new", "new", "hidden.weight", (0, 2), "0.0375", 0.01 - 0.5 * -0.055,
           "The notes write η = 0.05 in the working but use η = 0.5 (0.01 + 0.05 × 0.055 would be 0.01275)."),
    Figure("∂E/∂b¹₃", "grad", "hidden.bias", (2,), "-0.001"),
    Figure("b¹₃ new", "new", "hidden.bias", (2,), "0.00005", 0 - 0.5 * -0.001, _ETA),
    Figure("∂E/∂w¹₄₃", "grad", "hidden.weight", (3, 2), "0.045", -0.479 * -0.04 * (1 - 0.377) * 0.377 * 10),
    *(Figure(f"y{'₁₂₃₄₅₆'[k - 1]}", "a", "out", (0,), v, step=k)
      for k, v in enumerate(("0.648", "0.758", "0.836", "0.881", "0.908", "0.925"), start=1)),
)

_E9 = math.exp(-9.0)
LOGISTIC_001 = (  # X = 3, y = 1, W = 3; the notes' ξ₁ = −WᵀX is the node's −z
    Figure("WᵀX = −ξ₁", "z", "p", (0,), "9", 3.0 * 3.0),
    Figure("∂L/∂W", "grad", "p.weight", (0, 0), "0.00037018372",
           # their derivative column, ∂L/∂ξ₅·∂ξ₅/∂ξ₄·∂ξ₄/∂ξ₃·∂ξ₃/∂ξ₂·∂ξ₂/∂ξ₁·∂ξ₁/∂W, with ∂ξ₄/∂ξ₃ = −1/ξ₃² as written
           (-1.0) * (1 + _E9) * (-1.0 / (1 + _E9) ** 2) * 1.0 * _E9 * (-3.0),
           "The value column prints ∂ξ₄/∂ξ₃ as (1/(1+e⁻⁹))², dropping the minus of −1/ξ₃² that the formula "
           "column has, so the product comes out positive: ∂L/∂W = −X·e⁻⁹/(1+e⁻⁹)."),
)

TABLES = {"xor_worked_example": ("Lecture 000, XOR example", XOR_000),
          "logistic_derivative_worked_example": ("Lecture 001, logistic derivative at X = 3, y = 1, W = 3",
                                                 LOGISTIC_001),
          "three_four_one_worked_example": ("Lecture 002, 3-4-1 example", THREE_FOUR_ONE_002)}


def _key(doc: dict) -> str:
    """What makes two sessions the same worked example: the network and the data (not where nodes sit)."""
    graph = dict(doc.get("graph") or {})
    for key in ("nodes", "layers"):
        if key in graph:
            graph[key] = [{k: v for k, v in n.items() if k != "pos"} for n in graph[key]]
    return json.dumps([graph, doc.get("dataset")], sort_keys=True, default=str)  # imported arrays by their hash


def figures_for(session) -> tuple[str, tuple] | None:
    """(title, figures) when the session is one of the notes' worked examples, else None."""
    mine = _key(session.copy().canonicalize().to_dict())
    from .session import Session

    for stem, table in TABLES.items():
        path = EXAMPLES / f"{stem}.json"
        if path.exists() and _key(Session.from_dict(json.loads(path.read_text())).canonicalize().to_dict()) == mine:
            return table
    return None


def verdicts(inspector, figures, *, step: int | None = None) -> list[Verdict]:
    """Verdicts for the figures of the inspector's current step (or of ``step``)."""
    p = inspector.preview_update()
    at = inspector.depth if step is None else step
    return [classify(f, value_of(p, f)) for f in figures if f.step == at]
