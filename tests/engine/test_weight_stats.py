"""The CPU statistics pass gives the numbers torch gives, computed independently here."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.compiled.step import tensor_stats
from engine.weight_stats import HIST_SAMPLE, cpu_stats_kernel, layer_stats


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    big = torch.nn.Parameter(torch.randn(300, 120, generator=g) * 0.3 + 0.05)  # 36,000 > HIST_SAMPLE: sampled
    small = torch.nn.Parameter(torch.randn(7, generator=g))
    flat = torch.nn.Parameter(torch.full((4,), 0.25))  # min == max: the histogram range widens by ±0.5
    (big.sum() * 2 + (small ** 2).sum()).backward()  # gradients: 2 everywhere, 2·small; flat has none
    return [("a", "weight", big), ("b", "bias", small), ("c", "bias", flat)]


def test_the_cpu_pass_is_used_on_the_cpu_and_not_elsewhere():
    assert cpu_stats_kernel("cpu") is tensor_stats
    assert cpu_stats_kernel(torch.device("meta")) is False


def test_cpu_pass_equals_torch_and_an_independent_computation():
    params = _params()
    fast = layer_stats(params, 7, 2, cpu_stats_kernel("cpu"))
    slow = layer_stats(params, 7, 2, False)
    assert (fast.step, fast.epoch) == (slow.step, slow.epoch) == (7, 2)
    for f, s, (_, _, p) in zip(fast.layers, slow.layers, params):
        w = p.detach().double().reshape(-1).numpy()
        g = np.zeros_like(w) if p.grad is None else p.grad.double().reshape(-1).numpy()
        assert f.mean == pytest.approx(w.mean(), rel=1e-9, abs=1e-12)  # float64 sums: better than torch's float32
        assert f.std == pytest.approx(w.std(), rel=1e-9, abs=1e-12)
        assert f.norm == pytest.approx(np.linalg.norm(w), rel=1e-9)
        assert f.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-7, abs=1e-12)  # float32 squares, float64 sum
        assert (f.mean, f.std, f.norm, f.grad_norm) == pytest.approx((s.mean, s.std, s.norm, s.grad_norm), rel=1e-5,
                                                                      abs=1e-7)
        assert f.hist_edges == pytest.approx(s.hist_edges, rel=1e-6, abs=1e-7)
        # bins as torch.histc bins the same (strided) sample, scaled to the whole tensor
        stride = -(-w.size // HIST_SAMPLE)
        lo, hi = f.hist_edges[0], f.hist_edges[-1]
        sample = w[::stride]
        idx = np.minimum(((sample - lo) * 30 / (hi - lo)).astype(np.int64), 29)
        expect = np.rint(np.bincount(idx, minlength=30) * (w.size / len(sample))).astype(int)
        assert list(f.hist_counts) == expect.tolist()
        assert np.abs(np.subtract(f.hist_counts, s.hist_counts)).sum() <= 2 * stride  # a value on a bin edge at most
    big, _, flat = fast.layers
    assert abs(sum(big.hist_counts) - 36_000) <= 30 and len(set(big.hist_counts)) > 5  # sampled, a real shape
    assert flat.hist_edges[0] == pytest.approx(-0.25) and flat.hist_counts[15] == 4  # the widened range's middle bin
    assert fast.grad_norm == pytest.approx(math.sqrt(sum(layer.grad_norm ** 2 for layer in fast.layers)))


@pytest.mark.parametrize("values", [[1.0, float("inf"), -2.0], [float("nan"), 1.0], [1e20, 1e20, 1e20]])
def test_blown_up_weights_give_an_empty_histogram_not_an_error(values):
    """A diverged run's last statistics: infinite, NaN, or equal weights so large that ±0.5 leaves them equal."""
    p = torch.nn.Parameter(torch.tensor(values))
    st = layer_stats([("x", "weight", p)], 1, 0, cpu_stats_kernel("cpu"))
    assert st.layers[0].hist_counts == (0,) * 30


def test_huge_equal_weights_do_not_divide_by_a_zero_range():
    """At 1e20 the ±0.5 widening is lost to rounding (hi − lo stays 0): a diverging run used to raise here."""
    huge = torch.nn.Parameter(torch.full((1,), 1e20, dtype=torch.float64))
    pair = torch.nn.Parameter(torch.tensor([3e19, 3e19], dtype=torch.float32))
    st = layer_stats([("o", "bias", huge), ("p", "bias", pair)], 1, 0, cpu_stats_kernel("cpu"))
    assert [sum(layer.hist_counts) for layer in st.layers] == [0, 0] and st.layers[0].mean == 1e20


def test_a_half_precision_tensor_falls_back_to_torch():
    p = torch.nn.Parameter(torch.linspace(-1, 1, 11, dtype=torch.bfloat16))
    st = layer_stats([("x", "weight", p)], 1, 0, cpu_stats_kernel("cpu"))
    assert st.layers[0].mean == pytest.approx(0.0, abs=1e-6) and sum(st.layers[0].hist_counts) == 11
