"""Data augmentation: artificially more training data by altering each batch's inputs, never its labels.

Lecture 000: "increase variation in inputs without changing the labels" -- noise
injection, pixel translation, flipping (rotation is left out: a rotated 6 is a 9).
Each is a ``Regularizer`` whose ``transform_inputs(x, generator)`` hook the
trainer calls on every training batch before the forward pass; validation and
test data are never augmented. Draws come from the trainer's seeded regularizer
generator, so a run is reproducible. torch is imported lazily.
"""
from __future__ import annotations

from .errors import InvalidInput
from .params import Param, schema
from .regularizers import REGULARIZERS, Regularizer


def _device(generator, x):
    return generator.device if generator is not None else x.device


def _images(x, who):
    if x.dim() != 4:
        shape = "(" + ", ".join(map(str, tuple(x.shape[1:]))) + ("," if x.dim() == 2 else "") + ")"
        raise InvalidInput(f"{who} needs image inputs (channels, height, width); the samples have shape {shape}")
    return x


class InputNoise(Regularizer):
    """x + N(0, std²) for every input value: jitter for 2-D points, noise injection for images."""

    name = "input_noise"

    def transform_inputs(self, x, generator):
        import torch

        std = self.params["std"]
        if std == 0:
            return x
        noise = torch.randn(tuple(x.shape), generator=generator, device=_device(generator, x), dtype=x.dtype)
        return x + std * noise.to(x.device)


class RandomShift(Regularizer):
    """Pixel translation: each image moves by whole pixels (dy, dx) drawn uniformly from [−s, s]; the gap is 0."""

    name = "random_shift"

    def transform_inputs(self, x, generator):
        import torch
        import torch.nn.functional as F

        _images(x, "random_shift")
        s = self.params["max_shift"]
        n, _, h, w = x.shape
        dev = _device(generator, x)
        dy = torch.randint(-s, s + 1, (n,), generator=generator, device=dev).to(x.device)
        dx = torch.randint(-s, s + 1, (n,), generator=generator, device=dev).to(x.device)
        padded = F.pad(x, (s, s, s, s))
        out = torch.empty_like(x)
        for oy in range(-s, s + 1):  # (2s+1)² vectorised groups: out[i, j] = x[i − oy, j − ox]
            for ox in range(-s, s + 1):
                sel = (dy == oy) & (dx == ox)
                if bool(sel.any()):
                    out[sel] = padded[sel, :, s - oy:s - oy + h, s - ox:s - ox + w]
        return out


class RandomFlip(Regularizer):
    """Mirror each image with probability p (left-right, or top-bottom)."""

    name = "random_flip"

    def transform_inputs(self, x, generator):
        import torch

        _images(x, "random_flip")
        p = self.params["p"]
        if p == 0:
            return x
        flip = (torch.rand(x.shape[0], generator=generator, device=_device(generator, x)) < p).to(x.device)
        dim = 3 if self.params["axis"] == "horizontal" else 2
        return torch.where(flip.reshape(-1, 1, 1, 1), torch.flip(x, dims=(dim,)), x)


def _register(name, cls, doc, *params):
    REGULARIZERS.register(name, schema=schema(*params), doc=doc, group="augmentation")(lambda **p: cls(**p))


_register("input_noise", InputNoise, "Data augmentation by noise injection: every training batch sees its inputs plus "
          "fresh Gaussian noise N(0, std²) (jitter for 2-D points). Labels stay as they are.",
          Param("std", "float", 0.1, min=0.0, doc="Standard deviation of the noise, in the scaled input units."))
_register("random_shift", RandomShift, "Data augmentation by pixel translation: each training image is shifted by up "
          "to max_shift pixels in each direction (zeros fill the gap). Images only.",
          Param("max_shift", "int", 1, min=1, max=16, doc="Largest shift s in pixels; each of dy, dx is drawn from −s..s."))
_register("random_flip", RandomFlip, "Data augmentation by flipping: each training image is mirrored with probability p. "
          "Only for classes that look the same mirrored (not for digits or letters). Images only.",
          Param("p", "float", 0.5, min=0.0, max=1.0, doc="Probability of flipping each image."),
          Param("axis", "choice", "horizontal", choices=("horizontal", "vertical"), doc="Left-right or top-bottom."))


def augment(regs, x, generator):
    """Apply every regularizer's input transform in order (what the trainer does per training batch)."""
    for r in regs:
        x = r.transform_inputs(x, generator)
    return x
