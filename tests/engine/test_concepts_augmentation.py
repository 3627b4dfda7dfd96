"""Data augmentation (lectures 000, 001, 002): noise injection, pixel translation and flips, against numpy."""
import numpy as np
import pytest
import torch

from engine.augmentation import augment
from engine.errors import InvalidInput
from engine.regularizers import REGULARIZERS, Regularizer, regularizers_from


def gen(seed=5):
    return torch.Generator().manual_seed(seed)


def images(n=6, h=4, w=5):
    return torch.arange(n * 2 * h * w, dtype=torch.float32).reshape(n, 2, h, w) + 1.0


def test_base_hook_is_a_no_op_and_entries_are_registered():
    x = torch.ones(3, 2)
    assert Regularizer().transform_inputs(x, gen()) is x
    assert REGULARIZERS.create("l2").transform_inputs(x, gen()) is x
    for name in ("input_noise", "random_shift", "random_flip"):
        e = REGULARIZERS.entry(name)
        assert e.group == "augmentation" and "augmentation" in e.doc.lower()


def test_input_noise_adds_seeded_gaussian_jitter():
    x = torch.tensor([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]])
    out = REGULARIZERS.create({"type": "input_noise", "params": {"std": 0.3}}).transform_inputs(x, gen())
    noise = torch.randn((3, 2), generator=gen())
    np.testing.assert_allclose(out.numpy(), x.numpy() + 0.3 * noise.numpy(), rtol=0, atol=1e-7)
    big = REGULARIZERS.create({"type": "input_noise", "params": {"std": 0.5}}).transform_inputs(torch.zeros(20000, 2), gen())
    assert float(big.std()) == pytest.approx(0.5, rel=0.02) and abs(float(big.mean())) < 0.01
    assert REGULARIZERS.create({"type": "input_noise", "params": {"std": 0.0}}).transform_inputs(x, gen()) is x


def numpy_shift(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[..., i, j] = img[..., i - dy, j - dx]
    return out


def test_random_shift_moves_each_image_by_its_drawn_offset_with_zero_fill():
    x = images()
    out = REGULARIZERS.create({"type": "random_shift", "params": {"max_shift": 2}}).transform_inputs(x, gen())
    g = gen()
    dy = torch.randint(-2, 3, (6,), generator=g).numpy()
    dx = torch.randint(-2, 3, (6,), generator=g).numpy()
    assert len(set(zip(dy, dx))) > 2  # several different offsets were exercised
    for k in range(6):
        np.testing.assert_array_equal(out[k].numpy(), numpy_shift(x[k].numpy(), dy[k], dx[k]))


def test_random_flip_mirrors_the_drawn_subset():
    x = images()
    flip = REGULARIZERS.create({"type": "random_flip", "params": {"p": 0.5}})
    out = flip.transform_inputs(x, gen(11))
    mask = (torch.rand(6, generator=gen(11)) < 0.5).numpy()
    assert 0 < mask.sum() < 6
    for k in range(6):
        want = x[k].numpy()[:, :, ::-1] if mask[k] else x[k].numpy()
        np.testing.assert_array_equal(out[k].numpy(), want)
    up = REGULARIZERS.create({"type": "random_flip", "params": {"p": 1.0, "axis": "vertical"}})
    np.testing.assert_array_equal(up.transform_inputs(x, gen()).numpy(), x.numpy()[:, :, ::-1, :])
    assert REGULARIZERS.create({"type": "random_flip", "params": {"p": 0.0}}).transform_inputs(x, gen()) is x


def test_image_augmentations_refuse_flat_inputs_and_bad_params():
    with pytest.raises(InvalidInput, match=r"\(2,\)"):
        REGULARIZERS.create("random_shift").transform_inputs(torch.zeros(4, 2), gen())
    with pytest.raises(InvalidInput, match=r"\(3, 8\)"):
        REGULARIZERS.create("random_flip").transform_inputs(torch.zeros(4, 3, 8), gen())
    with pytest.raises(InvalidInput, match="'diagonal'"):
        REGULARIZERS.create({"type": "random_flip", "params": {"axis": "diagonal"}})
    with pytest.raises(InvalidInput, match="-1"):
        REGULARIZERS.create({"type": "input_noise", "params": {"std": -1}})


def test_augment_chains_in_order_and_only_global_entries_are_allowed():
    x = images(3)
    regs = regularizers_from([{"type": "random_flip", "params": {"p": 1.0}}, {"type": "input_noise", "params": {"std": 0.1}}], [])
    out = augment(regs, x, gen())
    g = gen()
    torch.rand(3, generator=g)  # the flip's draw comes first
    want = x.numpy()[:, :, :, ::-1] + 0.1 * torch.randn((3, 2, 4, 5), generator=g).numpy()
    np.testing.assert_allclose(out.numpy(), want, atol=1e-6)
    from engine.spec import Node

    with pytest.raises(Exception, match="training settings"):
        regularizers_from([], [Node("d", "Dense", {"units": 2}, regularizers=["input_noise"])])


def test_trainer_batches_are_jittered_and_zero_noise_changes_nothing():
    """Through the trainer, which calls r.transform_inputs(xb, reg_gen) before each forward pass."""
    from engine.session import Session
    from engine.trainer import Trainer

    def run(regs):
        s = Session.from_dict({
            "seed": 2, "graph": {"layers": [{"type": "Input", "params": {"shape": [2]}},
                                            {"type": "Dense", "params": {"units": 16, "activation": "tanh"}},
                                            {"type": "Dense", "params": {"units": 1}}, {"type": "Output"}]},
            "dataset": {"type": "circle", "params": {"n": 80}}, "regularizers": regs,
            "optimizer": {"type": "adam", "params": {"lr": 0.02}}, "training": {"epochs": 3, "batch_size": 16}})
        tr = Trainer(s, device="cpu")
        plain = tr._forward_backward
        seen = []

        def fb(xb, yb):  # the trainer has already applied transform_inputs
            seen.append(xb)
            return plain(xb, yb)

        tr._forward_backward = fb
        losses = [ev.train_loss for ev in tr.run() if type(ev).__name__ == "EpochEnd"]
        return tr, losses, seen

    base, l0, x0 = run([])
    zero, l1, _ = run([{"type": "input_noise", "params": {"std": 0.0}}])
    assert l0 == l1
    noisy, l2, x2 = run([{"type": "input_noise", "params": {"std": 0.5}}])
    assert l2 != l0
    # the model saw jittered copies of the same batches (same shuffling stream), not new labels
    diff = (x2[0] - x0[0]).numpy()
    assert diff.std() == pytest.approx(0.5, rel=0.25) and abs(diff.mean()) < 0.2
