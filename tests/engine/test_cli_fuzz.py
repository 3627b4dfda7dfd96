"""Fuzzing the command line with damaged sessions and archives: every case is exit 0, or exit 2 with one short line.

Each example session in resources/examples/ and a freshly saved archive are mutated the way careless
edits and broken tools damage files (a key dropped, a wrong type, NaN or Infinity, huge or negative
numbers, unknown names, deep nesting, long strings, duplicated ids, dangling edges, cycles, damaged
training state and tensors). The seed is fixed, so a failure here names a reproducible case; run
this file as a script (``python tests/engine/test_cli_fuzz.py 2000``) to try many more.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cli import run_cli  # noqa: E402

EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
SEED = 15
MAX_MESSAGE = 600  # characters: one readable line, not the file echoed back

NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 10**30, 2**64, -1, -(10**12), 0, 0.5, 1e-300]
NAMES = ["bogus", "Dense9", "", "sgd ", "ADAM", "softmax", "Input", "None", "x" * 300]
WRONG = [None, True, False, "ten", [], {}, [1, 2, 3], {"type": "bogus"}, [[]], 3.5]


def _paths(doc, prefix=()):
    """Every (path, value) in a JSON tree."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _delete(doc, path):
    node = doc
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


def _deep(depth):
    """A placeholder that ``_dump`` writes as ``depth`` nested lists (json itself would recurse too deep)."""
    return f"__DEEP_{depth}__"


def _graph_nodes(doc):
    g = doc.get("graph") if isinstance(doc, dict) else None
    if not isinstance(g, dict):
        return None, None
    key = "layers" if "layers" in g else "nodes"
    return g, key


def mutate(doc, rng: random.Random):
    """One random defect in a copy of ``doc``; returns (new doc, description). Never returns ``doc`` unchanged."""
    for _ in range(20):
        new, how = _mutate_once(doc, rng)
        if new != doc:
            return new, how
    raise AssertionError("the mutations failed to change the document")


def _mutate_once(doc, rng: random.Random):
    doc = copy.deepcopy(doc)
    paths = [p for p, _ in _paths(doc) if p]
    path = rng.choice(paths)
    op = rng.choice(["drop", "wrong", "number", "number", "name", "deep", "long", "dup_id", "dangling", "cycle",
                     "drop", "wrong"])
    g, key = _graph_nodes(doc)
    if op == "drop":
        _delete(doc, path)
    elif op == "wrong":
        _set(doc, path, copy.deepcopy(rng.choice(WRONG)))
    elif op == "number":
        numeric = [p for p, v in _paths(doc) if p and isinstance(v, (int, float)) and not isinstance(v, bool)]
        path = rng.choice(numeric or paths)
        _set(doc, path, rng.choice(NUMBERS))
    elif op == "name":
        strings = [p for p, v in _paths(doc) if p and isinstance(v, str)]
        path = rng.choice(strings or paths)
        _set(doc, path, rng.choice(NAMES))
    elif op == "deep":
        _set(doc, path, _deep(rng.choice([70, 1000, 5000])))
    elif op == "long":
        _set(doc, path, rng.choice(["é" * 200_000, [0.5] * 100_000, "a" * 1_000_000]))
    elif g is not None and isinstance(g.get(key), list) and len(g[key]) >= 2:
        nodes = [n for n in g[key] if isinstance(n, dict)]
        ids = [n.get("id") for n in nodes]
        if op == "dup_id" and len(nodes) >= 2:
            rng.choice(nodes)["id"] = rng.choice(ids)
        else:
            edges = g.setdefault("edges", [])
            if not isinstance(edges, list):
                g["edges"] = edges = []
            if op == "dangling":
                edges.append({"from": rng.choice(ids), "to": "nowhere"})
            else:  # a cycle: from a later node back to an earlier one
                i, j = sorted(rng.sample(range(len(ids)), 2))
                edges.append({"from": ids[j], "to": ids[i]})
    else:
        _delete(doc, path)
        op = "drop"
    return doc, f"{op} at {'/'.join(map(str, path))}"


def assert_exit_0_or_2(argv, capsys, what):
    """Exit 0, or 2 with one short error line and no traceback (pytest's capsys collects stderr)."""
    with _quiet_stdout():
        code = run_cli(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), f"{what}: exit {code}\n{err[-3000:]}"
    assert "Traceback" not in err, f"{what}:\n{err[-3000:]}"
    assert "RuntimeWarning" not in err, f"{what}: a warning leaked onto stderr:\n{err[-2000:]}"
    if code == 2:
        errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        diverged = not errors and "diverged" in err  # a run that diverged is exit 2 with its diagnosis
        assert errors or diverged, f"{what}: exit 2 without an error line:\n{err[-2000:]}"
        for ln in errors:
            assert len(ln) <= MAX_MESSAGE, f"{what}: a {len(ln)}-character message: {ln[:300]}…"
            assert "np.float64" not in ln, f"{what}: {ln}"
    return code


@contextlib.contextmanager
def _quiet_stdout():
    old, sys.stdout = sys.stdout, io.StringIO()
    try:
        yield
    finally:
        sys.stdout = old


def session_cases(per_example, seed=SEED):
    rng = random.Random(seed)
    for path in EXAMPLES:
        base = json.loads(path.read_text())
        for k in range(per_example):
            doc, how = mutate(base, rng)
            yield f"{path.name} #{k}: {how}", doc


def _dump(doc) -> str:
    text = json.dumps(doc, allow_nan=True)
    for depth in (70, 1000, 5000):
        text = text.replace(f'"__DEEP_{depth}__"', "[" * depth + "0" + "]" * depth)
    return text


def assert_session_case(tmp_path, capsys, name, doc):
    p = tmp_path / "s.json"
    p.write_text(_dump(doc))
    code = assert_exit_0_or_2(["validate", str(p)], capsys, f"validate {name}")
    if code == 0:
        assert_exit_0_or_2(["train", str(p), "--epochs", "1"], capsys, f"train {name}")
        assert_exit_0_or_2(["trace", str(p)], capsys, f"trace {name}")


# -- archives -----------------------------------------------------------------------------------------
def _saved_archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_archive")
    src = ROOT / "resources" / "examples" / "xor_playground.json"
    doc = json.loads(src.read_text())
    doc["dataset"]["params"]["n"] = 60  # small: every case trains one more epoch
    doc["training"]["early_stopping"] = {"patience": 5, "min_delta": 0.0, "restore_best": True}
    doc["optimizer"] = {"type": "adam", "params": {"lr": 0.01}}
    (folder / "s.json").write_text(json.dumps(doc))
    out = folder / "s.nnp"
    assert run_cli(["train", str(folder / "s.json"), "--epochs", "2", "--out", str(out)]) == 0
    return out


def _rewrite(src: Path, dst: Path, session=None, tensors=None, drop=None):
    from safetensors.torch import load as load_tensors, save as save_tensors

    with zipfile.ZipFile(src) as zf, zipfile.ZipFile(dst, "w") as out:
        for info in zf.infolist():
            if info.filename == drop:
                continue
            data = zf.read(info)
            if info.filename == "session.json" and session is not None:
                data = _dump(session).encode("utf-8")
            if info.filename == "weights.safetensors" and tensors is not None:
                data = save_tensors(tensors(load_tensors(data)))
            out.writestr(info.filename, data)


def _tensor_mutation(rng):
    import torch

    def fn(t):
        t = dict(t)
        key = rng.choice(sorted(t))
        how = rng.choice(["drop", "nan", "shape", "dtype", "empty", "extra"])
        if how == "drop":
            del t[key]
        elif how == "nan":
            t[key] = torch.full_like(t[key], float("nan")) if t[key].is_floating_point() else t[key][:0]
        elif how == "shape":
            t[key] = torch.zeros(3, 5)
        elif how == "dtype":
            t[key] = t[key].to(torch.float64 if not t[key].is_floating_point() else torch.int64)
        elif how == "empty":
            t[key] = t[key].flatten()[:0]
        else:
            t["optim.99.exp_avg"] = torch.zeros(2)
        return t, f"{how} {key}"
    return fn


def archive_cases(src: Path, folder: Path, n, seed=SEED):
    rng = random.Random(seed + 1)
    with zipfile.ZipFile(src) as zf:
        base = json.loads(zf.read("session.json"))
        members = zf.namelist()
    for k in range(n):
        dst = folder / f"a{k}.nnp"
        kind = rng.random()
        if kind < 0.6:  # the training state and the settings, as JSON
            state_paths = [p for p, _ in _paths(base) if p and p[0] in ("training_state", "history_files")]
            doc = copy.deepcopy(base)
            if rng.random() < 0.7 and state_paths:
                path = rng.choice(state_paths)
                op = rng.choice(["drop", "wrong", "number", "number", "name"])
                if op == "drop":
                    _delete(doc, path)
                elif op == "wrong":
                    _set(doc, path, copy.deepcopy(rng.choice(WRONG)))
                elif op == "number":
                    _set(doc, path, rng.choice(NUMBERS))
                else:
                    _set(doc, path, rng.choice(NAMES))
                how = f"{op} at {'/'.join(map(str, path))}"
            else:
                doc, how = mutate(base, rng)
            _rewrite(src, dst, session=doc)
        elif kind < 0.85:
            mutation = _tensor_mutation(rng)
            holder = {}

            def tensors(t, mutation=mutation, holder=holder):
                t, holder["how"] = mutation(t)
                return t
            _rewrite(src, dst, tensors=tensors)
            how = holder["how"]
        else:
            drop = rng.choice([m for m in members if m != "session.json"])
            _rewrite(src, dst, drop=drop)
            how = f"without {drop}"
        yield f"archive #{k}: {how}", dst


# -- the tests ----------------------------------------------------------------------------------------
SESSION_CASES = list(session_cases(per_example=12))


@pytest.fixture(scope="module")
def saved_archive(tmp_path_factory):
    return _saved_archive(tmp_path_factory)


def test_fuzzed_sessions_exit_0_or_2_with_one_line(tmp_path, capsys):
    for name, doc in SESSION_CASES:
        assert_session_case(tmp_path, capsys, name, doc)


def test_fuzzed_archives_exit_0_or_2_with_one_line(saved_archive, tmp_path, capsys):
    codes = []
    for name, path in archive_cases(saved_archive, tmp_path, 40):
        codes.append(assert_exit_0_or_2(["validate", str(path)], capsys, f"validate {name}"))
        codes.append(assert_exit_0_or_2(["train", str(path), "--epochs", "3"], capsys, f"train {name}"))
    assert codes.count(2) >= 10 and codes.count(0) >= 5  # the mutations do damage, and not everything is refused


def test_the_mutations_are_real():
    """The fuzzer must produce distinct, actually broken documents (a fuzzer that mutates nothing tests nothing)."""
    texts = {_dump(doc) for _, doc in SESSION_CASES}
    originals = {_dump(json.loads(p.read_text())) for p in EXAMPLES}
    assert len(texts) > 0.95 * len(SESSION_CASES) and not texts & originals
    ops = {name.split(": ", 1)[1].split(" at ")[0] for name, _ in SESSION_CASES}
    assert ops == {"drop", "wrong", "number", "name", "deep", "long", "dup_id", "dangling", "cycle"}, ops


if __name__ == "__main__":  # a longer run by hand: python tests/engine/test_cli_fuzz.py [cases per example]
    import tempfile

    per = int(sys.argv[1]) if len(sys.argv) > 1 else 100

    class _Cap:  # capsys stand-in
        def readouterr(self):
            text = self.buf.getvalue()
            self.buf.seek(0)
            self.buf.truncate()
            return type("R", (), {"err": text, "out": ""})

    cap = _Cap()
    cap.buf = io.StringIO()
    sys.stderr = cap.buf
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for name, doc in session_cases(per, seed=SEED + 1000):
            try:
                assert_session_case(Path(d), cap, name, doc)
            except AssertionError as e:
                failures += 1
                print(str(e)[:1500], file=sys.__stdout__)
    print(f"{failures} failures", file=sys.__stdout__)
