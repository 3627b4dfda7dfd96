"""The image transforms behind the augmentation regularizers, one value per sample, no randomness here.

Kept apart from the draws (engine/augmentation.py) so a test, the preview dialog or a
student can apply an exact angle, factor or strength and check it against a formula.

Geometry: offsets (dx, dy) are in pixels from the image centre ((W−1)/2, (H−1)/2 in
pixel indices), x to the right, y down the rows. Every output pixel is *pulled* from a
source position computed by the inverse map, then read with torch's
``grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)``: with
``align_corners=False`` the normalised coordinate of an offset is exactly 2·dx/W
(pixel centres at half-pixel positions, the image's outer edge at ±1), so a source
that falls on a pixel centre reads that pixel exactly and rotation by 90° of a square
image is a pure permutation. Sources outside the image read 0: on the digits (pixels
0..1, ink > 0, scaling "none") 0 is blank paper, and after standardisation it is the
training mean, the least informative value either way. torch is imported lazily.
"""
from __future__ import annotations

import math


def _offsets(h, w, like):
    """(dy, dx) of every pixel from the image centre, each (H, W), in x's dtype and device."""
    import torch

    ys = torch.arange(h, dtype=like.dtype, device=like.device) - (h - 1) / 2
    xs = torch.arange(w, dtype=like.dtype, device=like.device) - (w - 1) / 2
    return torch.meshgrid(ys, xs, indexing="ij")


def _sample(x, src_dx, src_dy):
    """Bilinear read of x (N, C, H, W) at source offsets (N, H, W) in pixels from the centre; 0 outside."""
    import torch
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    grid = torch.stack((2.0 * src_dx / w, 2.0 * src_dy / h), dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _per_sample(values, x):
    import torch

    v = torch.as_tensor(values, dtype=x.dtype, device=x.device).reshape(-1)
    if v.numel() == 1:
        v = v.expand(x.shape[0])
    return v.reshape(-1, 1, 1)


def rotate(x, degrees):
    """Rotate each image counter-clockwise (as displayed, rows downward) by its angle in degrees about the centre.

    A pixel at offset (dx, dy) goes to (dx·cosθ + dy·sinθ, −dx·sinθ + dy·cosθ); each output pixel reads
    the inverse of that, the source (dx'·cosθ − dy'·sinθ, dx'·sinθ + dy'·cosθ).
    """
    theta = _per_sample(degrees, x) * (math.pi / 180.0)
    dy, dx = _offsets(*x.shape[-2:], x)
    c, s = theta.cos(), theta.sin()
    return _sample(x, dx * c - dy * s, dx * s + dy * c)


def zoom(x, factors):
    """Magnify each image by its factor about the centre (> 1 zooms in and crops, < 1 shrinks with a 0 margin)."""
    f = _per_sample(factors, x)
    dy, dx = _offsets(*x.shape[-2:], x)
    return _sample(x, dx / f, dy / f)


def half_diagonal(h, w) -> float:
    """Distance from the centre to a corner pixel's centre: the radius R the radial transforms are scaled by."""
    return math.hypot((h - 1) / 2, (w - 1) / 2) or 1.0


def distort(x, k):
    """Radial lens distortion: output offset d reads the source d·(1 + k·(|d|/R)²), R the half-diagonal.

    k > 0 reads from further out, so the edges are squeezed towards the centre (barrel, a wide-angle lens);
    k < 0 stretches them outward (pincushion). The centre pixel never moves.
    """
    kk = _per_sample(k, x)
    h, w = x.shape[-2:]
    dy, dx = _offsets(h, w, x)
    gain = 1.0 + kk * (dx * dx + dy * dy) / half_diagonal(h, w) ** 2
    return _sample(x, dx * gain, dy * gain)


def vignette(x, strength):
    """Darken towards the corners: every value times 1 − v·(r/R)², r its distance from the centre (corners × (1 − v))."""
    v = _per_sample(strength, x)
    h, w = x.shape[-2:]
    dy, dx = _offsets(h, w, x)
    return x * (1.0 - v * (dx * dx + dy * dy) / half_diagonal(h, w) ** 2).unsqueeze(1)


def negative(x, mask):
    """The photographic negative of the images where mask is true: lo + hi − x, lo and hi that image's own range.

    On a digit whose pixels span 0..1 this is 1 − x (white on black becomes black on white); using the
    image's own range keeps the values where they were whatever scaling was applied to the whole set.
    """
    import torch

    flat = x.reshape(x.shape[0], -1)
    lo, hi = flat.min(1).values, flat.max(1).values
    neg = (lo + hi).reshape(-1, 1, 1, 1) - x
    m = torch.as_tensor(mask, device=x.device).reshape(-1, 1, 1, 1)
    return torch.where(m, neg, x)
