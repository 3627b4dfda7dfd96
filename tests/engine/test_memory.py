"""The memory estimate (engine/memory.py) against hand computations, and refusals before anything is allocated."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli import run_cli
from engine.errors import InvalidInput
from engine.memory import EVAL_CHUNK, FLOAT, available_bytes, check_fits, estimate, human_bytes
from engine.session import Session
from engine.spec import GraphSpec

ROOT = Path(__file__).resolve().parents[2]


def net(*units, inputs=3, optimizer="adam", batch=4, n=100, split=None):
    s = Session()
    layers = [{"id": "input", "type": "Input", "params": {"shape": [inputs]}}]
    layers += [{"id": f"dense{i + 1}", "type": "Dense", "params": {"units": u}} for i, u in enumerate(units)]
    s.graph = GraphSpec.from_dict({"layers": layers})
    s.optimizer = {"type": optimizer, "params": {"lr": 0.01}}
    s.training = {"batch_size": batch}
    s.dataset = {"type": "circle", "params": {"n": n}, **({"split": split} if split else {})}
    return s


def hand_estimate(widths, counts, slots, batch, n_eval, n, per_sample):
    """Independent: per node p·4·(3 + slots) + max(batch·w·4·3, chunk·w·4); plus the data held 3 times."""
    nodes = [p * 4 * (3 + slots) + max(batch * w * 4 * 3, min(EVAL_CHUNK, n_eval) * w * 4) for w, p in zip(widths, counts)]
    return nodes, sum(nodes) + n * per_sample * 4 * 3


def test_estimate_matches_the_hand_computation_for_adam():
    e = estimate(net(5, 2, batch=4, n=100))
    # input (3,), dense1 (5,) with 3·5+5 = 20 params, dense2 (2,) with 5·2+2 = 12 params; Adam keeps 2 slots
    nodes, total = hand_estimate([3, 5, 2], [0, 20, 12], 2, 4, 100, 100, 3 + 2)
    assert [e.by_node[k] for k in ("input", "dense1", "dense2")] == nodes
    assert e.total_bytes == total and e.batch == 4 and e.samples == 100


@pytest.mark.parametrize("optimizer,slots", [("sgd", 0), ("momentum", 1), ("rmsprop", 1), ("adagrad", 1),
                                              ("adam", 2), ("adamw", 2)])
def test_optimizer_state_is_counted_per_type(optimizer, slots):
    # a layer wide enough that its weights dominate; SGD holds value, gradient and a transient copy, Adam two more
    base = estimate(net(1000, inputs=1000, optimizer="sgd", batch=1, n=10)).by_node["dense1"]
    e = estimate(net(1000, inputs=1000, optimizer=optimizer, batch=1, n=10)).by_node["dense1"]
    params = 1000 * 1000 + 1000
    assert e - base == slots * params * FLOAT


def test_full_batch_counts_the_whole_training_split():
    e = estimate(net(4, batch=0, n=1000, split={"train": 0.5, "val": 0.5}))
    assert e.batch == 500  # batch_size 0 = one step over the 500 training samples
    # 2000 units: the 500-sample training batch (×3) outweighs the 1000-sample evaluation chunk
    e = estimate(net(2000, batch=0, n=1000, split={"train": 0.5, "val": 0.5}))
    assert e.by_node["dense1"] == (3 * 2000 + 2000) * FLOAT * 5 + 500 * 2000 * FLOAT * 3


def test_four_hundred_million_parameters_are_refused_when_they_cannot_fit():
    s = net(20_000, 1, inputs=20_000, optimizer="adam")  # 400,020,000 parameters in dense1
    with pytest.raises(InvalidInput) as e:
        check_fits(s, available=int(2.5e9))
    msg = str(e.value)
    # 400M × 4 bytes × (value, gradient, a transient copy, Adam's two moments) = 8.0 GB
    assert msg.startswith("dense1 needs ~8.0 GB") and "this machine has 2.5 GB free" in msg
    assert check_fits(s, available=10 ** 12).total_bytes > 8.0e9  # a big machine takes it


def test_the_dataset_is_named_when_it_is_the_biggest_part():
    s = net(1, inputs=2, n=200_000)
    with pytest.raises(InvalidInput, match=r"^the dataset needs ~"):
        check_fits(s, available=100_000)


def test_available_memory_is_read_from_the_system():
    free = available_bytes()
    assert free is None or free > 0
    if Path("/proc/meminfo").exists():
        total = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                         if ln.startswith("MemTotal:")).split()[1]) * 1024
        assert 0 < free <= total


@pytest.mark.parametrize("n,text", [(0, "0 bytes"), (999, "999 bytes"), (1_500, "1.5 kB"), (44_000_000_000, "44 GB"),
                                    (1_640_000_000, "1.6 GB"), (300_000_000, "300 MB")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_describe_names_the_largest_node_and_the_data():
    text = estimate(net(50, 2, inputs=40)).describe()
    assert text.startswith("~") and "largest node dense1" in text and "dataset ~" in text


def _session_file(tmp_path, units, inputs=2):
    d = json.loads((ROOT / "resources" / "examples" / "circle_playground.json").read_text())
    d["graph"] = {"layers": [{"id": "input", "type": "Input", "params": {"shape": [inputs]}},
                             {"id": "dense1", "type": "Dense", "params": {"units": units}},
                             {"id": "dense2", "type": "Dense", "params": {"units": 1}}]}
    p = tmp_path / "big.json"
    p.write_text(json.dumps(d))
    return p


MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(p.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(p.stderr)
"""


def test_validate_refuses_a_billion_units_fast_and_small(tmp_path):
    path = _session_file(tmp_path, 10 ** 9)
    # a fresh parent, so the peak is validate's own and not that of an earlier test's child
    proc = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, str(ROOT / "main.py"), "validate", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    code, seconds, peak_kb = proc.stdout.split()
    assert int(code) == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "dense1" in lines[0] and "1,000,000" in lines[0], proc.stderr
    assert float(seconds) < 5
    if sys.platform.startswith("linux"):  # ru_maxrss is in kB on Linux
        assert int(peak_kb) < 1024 * 1024


def test_validate_refuses_what_does_not_fit_this_machine(tmp_path, capsys, monkeypatch):
    import engine.memory

    monkeypatch.setattr(engine.memory, "available_bytes", lambda: int(2.5e9))
    path = _session_file(tmp_path, 20_000, inputs=20_000)  # SGD: 400M params × 4 bytes × 3 = 4.8 GB
    assert run_cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: dense1 needs ~4.8 GB; this machine has 2.5 GB free; use fewer units or a smaller batch"


def test_the_torch_runtime_counts_when_torch_is_not_loaded_yet(monkeypatch):
    import sys as _sys

    import engine.memory as memory

    s = net(4)
    need = estimate(s).total_bytes
    monkeypatch.delitem(_sys.modules, "torch", raising=False)  # a fresh command line, before the import
    with pytest.raises(InvalidInput):
        check_fits(s, available=need + memory.TORCH_RUNTIME // 2)
    assert check_fits(s, available=need + memory.TORCH_RUNTIME).total_bytes == need


def test_on_a_gpu_the_network_must_fit_the_gpu_and_the_data_the_host():
    s = net(20_000, 1, inputs=20_000, optimizer="sgd")  # 400M params: 4.8 GB for the network
    with pytest.raises(InvalidInput, match=r"^dense1 needs ~4\.8 GB; the GPU has 4\.0 GB free"):
        check_fits(s, available=10 ** 12, gpu_available=4 * 10 ** 9)
    assert check_fits(s, available=10 ** 9, gpu_available=10 ** 10)  # the host holds only the data: 24 MB
    big_data = net(4, inputs=2, n=200_000)
    with pytest.raises(InvalidInput, match="^the dataset needs"):
        check_fits(big_data, available=1_000_000, gpu_available=10 ** 12)


def test_without_torch_loaded_no_gpu_is_asked(monkeypatch):
    import sys as _sys

    from engine.memory import gpu_free_bytes

    monkeypatch.delitem(_sys.modules, "torch", raising=False)
    assert gpu_free_bytes(net(4)) is None
    s = net(4)
    s.training = {"device": "cpu"}
    assert gpu_free_bytes(s) is None


@pytest.mark.parametrize("kind,states", [("SimpleRNN", 1), ("LSTM", 6)])
def test_a_recurrent_layer_counts_every_time_steps_states_though_it_outputs_one(kind, states):
    """return_sequences off: the output is (units,), but backward keeps T·units·states values a sample
    (SimpleRNN hₜ; LSTM four gates, cₜ and hₜ)."""
    s = Session()
    s.graph = GraphSpec.from_dict({"layers": [
        {"id": "input", "type": "Input", "params": {"shape": [20, 1]}},
        {"id": "rnn", "type": kind, "params": {"units": 8}},
        {"id": "out", "type": "Dense", "params": {"units": 1}}]})
    s.optimizer = {"type": "sgd", "params": {"lr": 0.01}}
    s.training = {"batch_size": 4}
    s.dataset = {"type": "sine_next", "params": {"n": 100}}
    e = estimate(s)
    params = (4 if kind == "LSTM" else 1) * 8 * (1 + 8 + 1)
    width = 20 * 8 * states
    assert e.by_node["rnn"] == params * 4 * 3 + max(4 * width * 4 * 3, min(EVAL_CHUNK, e.samples) * width * 4)
