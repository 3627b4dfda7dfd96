"""Data augmentation: artificially more training data by altering each batch's inputs, never its labels.

Lecture 000: "increase variation in inputs without changing the labels" -- for images
"rotation, scaling, pixel translation, flipping, noise injection, vignetting, color
casting, lens distortion, injection of random negatives". Each is a ``Regularizer``
whose ``transform_inputs(x, generator)`` hook the trainer calls on every training batch
before the forward pass; validation and test data are never augmented. Draws come from
the trainer's seeded regularizer generator, so a run is reproducible. torch is imported
lazily.

The geometric ones (rotation, scaling, lens distortion) resample the image through
``engine.augmentation_warp``; vignetting and the photographic negative change values
only. Colour casting needs colour channels and speed/vocal-tract perturbation needs
audio: the playground has neither (its images are the 1-channel 8×8 digits), so they
are not offered.
"""
from __future__ import annotations

from .errors import InvalidInput
from .params import Param, schema
from .regularizers import REGULARIZERS, Regularizer


def _device(generator, x):
    return generator.device if generator is not None else x.device


def _images(x, who, why=""):
    if x.dim() != 4:
        shape = "(" + ", ".join(map(str, tuple(x.shape[1:]))) + ("," if x.dim() == 2 else "") + ")"
        raise InvalidInput(f"{who} needs image inputs (channels, height, width); the samples have shape {shape}{why}")
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


_POINTS_WHY = ("; rotating 2-D points about the origin would change the class on most of the playground's tasks "
               "(XOR, spiral, Gaussians), so only images are rotated")


def _uniform(n, lo, hi, generator, x):
    """n draws from U(lo, hi) off the regularizer generator, on x's device (one torch.rand call)."""
    import torch

    u = torch.rand(n, generator=generator, device=_device(generator, x), dtype=x.dtype).to(x.device)
    return lo + (hi - lo) * u


class RandomRotation(Regularizer):
    """Rotate each image by an angle drawn uniformly from [−m, m] degrees (counter-clockwise positive)."""

    name = "random_rotation"

    def transform_inputs(self, x, generator):
        from .augmentation_warp import rotate

        _images(x, "random_rotation", _POINTS_WHY)
        m = self.params["max_degrees"]
        return x if m == 0 else rotate(x, _uniform(x.shape[0], -m, m, generator, x))


class RandomScale(Regularizer):
    """Zoom each image about its centre by a factor drawn uniformly from [1 − z, 1 + z]."""

    name = "random_scale"

    def transform_inputs(self, x, generator):
        from .augmentation_warp import zoom

        _images(x, "random_scale")
        z = self.params["max_zoom"]
        return x if z == 0 else zoom(x, _uniform(x.shape[0], 1.0 - z, 1.0 + z, generator, x))


class LensDistortion(Regularizer):
    """Radial distortion with k drawn uniformly from [−k_max, k_max]: barrel (k > 0) or pincushion (k < 0)."""

    name = "lens_distortion"

    def transform_inputs(self, x, generator):
        from .augmentation_warp import distort

        _images(x, "lens_distortion")
        k = self.params["max_k"]
        return x if k == 0 else distort(x, _uniform(x.shape[0], -k, k, generator, x))


class Vignetting(Regularizer):
    """Darken each image towards its corners by a strength drawn uniformly from [0, v_max]."""

    name = "vignetting"

    def transform_inputs(self, x, generator):
        from .augmentation_warp import vignette

        _images(x, "vignetting")
        v = self.params["max_strength"]
        return x if v == 0 else vignette(x, _uniform(x.shape[0], 0.0, v, generator, x))


class RandomNegative(Regularizer):
    """Replace each image by its photographic negative with probability p."""

    name = "random_negative"

    def transform_inputs(self, x, generator):
        import torch

        from .augmentation_warp import negative

        _images(x, "random_negative")
        p = self.params["p"]
        if p == 0:
            return x
        return negative(x, (torch.rand(x.shape[0], generator=generator, device=_device(generator, x)) < p).to(x.device))


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

_register("random_rotation", RandomRotation, "Data augmentation by rotation: each training image is turned about its "
          "centre by an angle drawn from −max_degrees..max_degrees (bilinear, zeros fill the corners). Images only; "
          "capped at 45°: the notes warn that a rotated 6 becomes a 9.",
          Param("max_degrees", "float", 15.0, min=0.0, max=45.0,
                max_why=" (lecture 000: careful when rotating digits, a 6 becomes a 9 and vice versa)",
                doc="Largest angle m in degrees; each image's angle is drawn uniformly from [−m, m]."))
_register("random_scale", RandomScale, "Data augmentation by scaling: each training image is zoomed about its centre "
          "by a factor drawn from 1−max_zoom..1+max_zoom (bilinear; a shrunk image gets a margin of zeros). Images only.",
          Param("max_zoom", "float", 0.1, min=0.0, max=0.5,
                max_why=" (a factor below 0.5 leaves an 8×8 digit a few pixels wide)",
                doc="Largest relative change z; each factor is drawn uniformly from [1 − z, 1 + z]."))
_register("lens_distortion", LensDistortion, "Data augmentation by lens distortion: each training image is bent "
          "radially, the pixel at distance r from the centre read from r·(1 + k·(r/R)²) with k drawn from "
          "−max_k..max_k (barrel for k > 0, pincushion for k < 0; R the half-diagonal). Images only.",
          Param("max_k", "float", 0.2, min=0.0, max=1.0, doc="Largest distortion coefficient |k|."))
_register("vignetting", Vignetting, "Data augmentation by vignetting: each training image is darkened towards its "
          "corners, every value times 1 − v·(r/R)² with v drawn from 0..max_strength (the corners get 1 − v). Images only.",
          Param("max_strength", "float", 0.5, min=0.0, max=1.0, doc="Largest darkening v of the corners (1 = black)."))
_register("random_negative", RandomNegative, "Data augmentation by random negatives: each training image is replaced "
          "by its photographic negative (lo + hi − x over its own value range; 1 − x on 0..1 digits) with probability "
          "p. Images only.",
          Param("p", "float", 0.5, min=0.0, max=1.0, doc="Probability of inverting each image."))


def augment(regs, x, generator):
    """Apply every regularizer's input transform in order (what the trainer does per training batch)."""
    for r in regs:
        x = r.transform_inputs(x, generator)
    return x
