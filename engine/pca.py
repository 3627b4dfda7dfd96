"""Principal component analysis (lectures 003 §1.1 and 001): the directions of largest variance in the inputs.

Unsupervised like k-means: no label is used. The components are the right singular vectors of the centred
data (the eigenvectors of its covariance), ordered by the variance along them. They are good for a picture
(the first two components of a 64-pixel digit are a scatter you can look at) and for compression (the
reconstruction error falls as components are added), but lecture 001 warns they are "no bueno for
interpretability": every component mixes every input, so "component 1 goes up" names no input the user can
act on — the loadings show how much of each input a component carries. Signs are arbitrary (v and −v span
the same axis); here each component is flipped so its largest-magnitude coefficient is positive, so two runs
agree. Not to be confused with the ``pca_whiten`` input scaling, which rotates *and* rescales for training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .kmeans import as_points


@dataclass(frozen=True)
class PCAResult:
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (m, d), unit rows, largest variance first
    explained_variance: np.ndarray  # (m,), variance along each component (divisor n − 1, as np.cov)
    total_variance: float  # trace of the covariance: the sum over all components
    n_samples: int

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """Share of the total variance along each component; over all min(n − 1, d) components they sum to 1."""
        return self.explained_variance / self.total_variance

    @property
    def cumulative_ratio(self) -> np.ndarray:
        return np.cumsum(self.explained_variance_ratio)

    @property
    def loadings(self) -> np.ndarray:
        """(d, m): coefficient × √variance, the covariance of each input with the component's unit-variance
        score — how strongly each input moves with the component (on standardised inputs: their correlation)."""
        return (self.components * np.sqrt(self.explained_variance)[:, None]).T

    def transform(self, x, m=None) -> np.ndarray:
        """Scores: the centred inputs projected on the first ``m`` components (all by default)."""
        m = self._m(m)
        return (as_points(x) - self.mean) @ self.components[:m].T

    def reconstruct(self, x, m=None) -> np.ndarray:
        """Back in input space from the first ``m`` components: mean + scores · components."""
        m = self._m(m)
        return self.mean + self.transform(x, m) @ self.components[:m]

    def reconstruction_error(self, x, m) -> float:
        """Mean over samples of ‖x − x̂‖² with ``m`` components."""
        x = as_points(x)
        r = x - self.reconstruct(x, m) if m else x - self.mean
        return float((r * r).sum(1).mean())

    def error_curve(self, x) -> list:
        """Reconstruction error for m = 0 (the mean alone) … all components; on the fitted data it equals the
        variance left out, (n − 1)/n · Σ_{i>m} λᵢ."""
        return [self.reconstruction_error(x, m) for m in range(len(self.components) + 1)]

    def _m(self, m):
        if m is None:
            return len(self.components)
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 <= m <= len(self.components):
            raise InvalidInput(f"the number of components must be 0 to {len(self.components)}, got {m!r:.40}")
        return int(m)


def pca(x, n_components=None) -> PCAResult:
    """Fit PCA by the SVD of the centred inputs; ``n_components`` keeps the first ones (default all,
    min(n, d))."""
    x = as_points(x)
    n, d = x.shape
    mean = x.mean(0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    ev = s * s / (n - 1)
    total = float((xc * xc).sum() / (n - 1))
    if total <= 0.0 or not np.isfinite(total):
        raise InvalidInput("all samples are the same point: there is no variance for PCA to explain")
    top = np.abs(vt).argmax(1)
    vt = vt * np.where(vt[np.arange(len(vt)), top] < 0, -1.0, 1.0)[:, None]
    m = len(vt) if n_components is None else n_components
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= len(vt):
        raise InvalidInput(f"PCA can keep 1 to {len(vt)} components of these {n}×{d} inputs, got {m!r:.40}")
    return PCAResult(mean, vt[:m].copy(), ev[:m].copy(), total, n)
