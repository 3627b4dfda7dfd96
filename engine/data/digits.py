"""The 8x8 UCI handwritten digits, shipped in ``resources/data/digits.npz``.

Stored as uint8 (pixels 0..16) so the file stays small; loaded without pickle.
Source and licence: resources/data/README.md.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DataError

DATA_DIR = Path(__file__).resolve().parents[2] / "resources" / "data"
DIGITS_PATH = DATA_DIR / "digits.npz"
N_DIGITS = 1797


@lru_cache(maxsize=1)
def _load(path: str):
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"cannot read the bundled digits data ({e})", path=path) from None
    if images.shape != (N_DIGITS, 8, 8) or labels.shape != (N_DIGITS,):
        raise DataError(f"bundled digits data has shape {images.shape}/{labels.shape}, expected ({N_DIGITS}, 8, 8)", path=path)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_digits(path=DIGITS_PATH):
    """Return ``(images uint8 (1797, 8, 8) in 0..16, labels uint8 (1797,))``, read-only and cached."""
    return _load(str(path))
