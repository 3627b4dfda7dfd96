"""docs/session-format.md lists every name a session may use: each registry entry, alias and parameter."""
import re
from pathlib import Path

import engine.augmentation  # noqa: F401  registers the augmentation regularizers
from engine.activations import ACTIVATIONS
from engine.data.generators import DATASETS
from engine.initializers import INITIALIZERS
from engine.layers import all_layers
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZERS
from engine.regularizers import REGULARIZERS
from engine.schedules import SCHEDULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "session-format.md"


def section():
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Registered names")
    nxt = text.find("\n## ", start + 5)
    return text[start:nxt if nxt > 0 else len(text)]


def bullet(sec, title):
    m = re.search(r"^- \*\*" + re.escape(title) + r"\*\*.*?(?=^- \*\*|\Z)", sec, re.S | re.M)
    assert m, f"no '{title}' bullet"
    return " ".join(m.group(0).split())


def words(text):
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


REGISTRIES = [("Activations", ACTIVATIONS), ("Initializers", INITIALIZERS), ("Losses", LOSSES),
              ("Optimizers", OPTIMIZERS), ("Schedules", SCHEDULES), ("Regularizers", REGULARIZERS),
              ("Datasets", DATASETS)]


def missing(sec) -> list:
    """Every registered name, alias or parameter that the section does not mention."""
    out = []
    for title, reg in REGISTRIES:
        text = bullet(sec, title)
        w = words(text)
        for e in reg.entries():
            if e.name not in w:
                out.append(f"{title}: {e.name}")
            out += [f"{title}: alias {a} of {e.name}" for a in e.aliases if a not in w]
            m = re.search(r"(?<![A-Za-z0-9_])" + re.escape(e.name) + r" \(([^)]*)\)", text)
            listed = words(m.group(1)) if m else set()
            out += [f"{title}: parameter {p} of {e.name}" for p in e.schema.names() if p not in listed]
    layers = words(bullet(sec, "Layer types"))
    out += [f"layer type {t}" for t in sorted(set(all_layers()) - layers)]
    return out


def test_every_registered_name_alias_and_parameter_is_listed():
    assert missing(section()) == []


def test_the_check_notices_a_missing_name_or_parameter():
    sec = section()
    assert missing(sec.replace("levenberg_marquardt (", "lm ("))[0] == "Optimizers: levenberg_marquardt"
    assert missing(sec.replace("step (`every`, `t`)", "step (`every`)")) == ["Schedules: parameter t of step"]


def test_every_test_named_in_concepts_md_exists():
    """docs/concepts.md cites tests as `file.py::test_name`: each must be a test function in that file."""
    root = DOC.parents[1]
    text = (root / "docs" / "concepts.md").read_text(encoding="utf-8")
    refs = set(re.findall(r"`((?:tests/[\w/]+/)?\w+\.py)::(\w+)`", text))
    assert len(refs) > 100
    stale = []
    for path, name in sorted(refs):
        f = root / path if path.startswith("tests/") else root / "tests" / "engine" / path
        if not f.exists() or not re.search(rf"^def {name}\(", f.read_text(encoding="utf-8"), re.M):
            stale.append(f"{path}::{name}")
    assert stale == []
