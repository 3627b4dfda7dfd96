"""Bias–variance for classification (lecture 004): the Brier score and the 0-1 loss of many networks, decomposed.

``engine.bias_variance`` decomposes the squared error of a regression. A classifier's predicted probability
p̂_D(x) = P̂(y = 1 | x) (network trained on training set D) has the same split under the **Brier score**
(p̂ − y)², y ∈ {0, 1}, because the Brier score *is* a squared error against a 0/1 target whose mean is the
true class probability η(x) = P(y = 1 | x) (``engine.data.class_truth``):

    E_D,y[(p̂_D − y)²] = (E_D[p̂_D] − η)²  +  E_D[(p̂_D − E_D[p̂_D])²]  +  η(1 − η)
                       =       bias²      +          variance          +    noise,      exactly, at every x.

The **0-1 loss** [ŷ ≠ y] of the hard prediction ŷ_D = [p̂_D ≥ ½] does not split into a sum like that. Its
decomposition (Domingos 2000, "A unified bias-variance decomposition", two classes) is stated in terms of:

* the optimal prediction y* = [η ≥ ½] and the noise N(x) = P(y ≠ y*) = min(η, 1 − η);
* the *main prediction* y_m(x), the class most networks predict (the majority vote over D);
* bias B(x) = [y_m ≠ y*] (0 or 1) and variance V(x) = P_D(ŷ_D ≠ y_m);

    E_D,y[ŷ_D ≠ y] = c₁·N  +  B  +  c₂·V,   c₁ = 2·P_D(ŷ_D = y*) − 1,   c₂ = +1 if B = 0, −1 if B = 1.

So variance *adds* error where the main prediction is right (unbiased points) and *removes* it where the main
prediction is wrong (biased points: a network that disagrees with a wrong majority is right). ``net_variance``
is c₂·V averaged over x (the unbiased variance minus the biased one). Both identities hold exactly over the
K networks trained here (the D distribution is their empirical one); the *measured* losses use fresh labels
drawn by the generator's own noise at the same test inputs, so they match the sums up to Monte-Carlo error
(``mc_se``: the standard error of measured − sum over the test inputs).

The test inputs are ``TEST_POINTS`` draws of the generator's own input distribution (fixed by the seed):
circle and gauss are not uniform on a box, so a grid would weigh the wrong inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bias_variance import SquaredErrorSplit
from .errors import InvalidInput

TEST_POINTS = 2000
LABEL_DRAWS = 4  # fresh labels per (network, test input) for the measured losses
NOT_PROBABILITIES = ("hinge", "multiclass_hinge")


@dataclass(frozen=True, eq=False)
class ClassificationDecomposition(SquaredErrorSplit):
    """Brier and 0-1 decompositions per test input and averaged (``summary``), plus the plotted slice."""

    x: np.ndarray  # (M, 2) raw test inputs from the generator's input distribution
    predictions: np.ndarray  # (K, M) each network's P̂(y = 1 | x)
    eta: np.ndarray  # (M,) the true P(y = 1 | x)
    measured: np.ndarray  # (M,) Brier score on fresh labels, mean over networks and draws
    mc_se: float
    measured_01: np.ndarray  # (M,) 0-1 loss on the same fresh labels
    mc_se_01: float
    train_brier: np.ndarray  # (K,) each network's Brier score on its own training set
    slice_t: np.ndarray
    slice_predictions: np.ndarray  # (K, S) P̂(y = 1) along the slice
    slice_f: np.ndarray  # (S,) η along the slice
    slice_label: str
    n_train: int
    epochs: int
    sampling: str
    vary_init: bool
    engine_paths: tuple
    noise_text: str = ""
    label: str = ""
    task = "classification"

    # -- Brier: the squared-error split with f = η ------------------------------------------------
    @property
    def f(self) -> np.ndarray:
        return self.eta

    @property
    def noise(self) -> np.ndarray:
        return self.eta * (1.0 - self.eta)

    # -- 0-1 loss: Domingos ---------------------------------------------------------------------
    @property
    def hard(self) -> np.ndarray:
        """(K, M) each network's class, [p̂ ≥ ½]."""
        return (self.predictions >= 0.5).astype(np.int64)

    @property
    def optimal(self) -> np.ndarray:
        return (self.eta >= 0.5).astype(np.int64)

    @property
    def main(self) -> np.ndarray:
        """The main prediction: the majority class over the networks (a tie goes to the optimal class, which
        leaves every term unchanged: with half the votes each way V = ½ whichever is called main)."""
        votes = self.hard.mean(axis=0)
        return np.where(votes > 0.5, 1, np.where(votes < 0.5, 0, self.optimal))

    @property
    def noise_01(self) -> np.ndarray:
        return np.minimum(self.eta, 1.0 - self.eta)

    @property
    def bias_01(self) -> np.ndarray:
        return (self.main != self.optimal).astype(np.float64)

    @property
    def variance_01(self) -> np.ndarray:
        return (self.hard != self.main[None, :]).mean(axis=0)

    @property
    def c1(self) -> np.ndarray:
        return 2.0 * (self.hard == self.optimal[None, :]).mean(axis=0) - 1.0

    @property
    def net_variance_01(self) -> np.ndarray:
        return (1.0 - 2.0 * self.bias_01) * self.variance_01

    @property
    def total_01(self) -> np.ndarray:
        return self.c1 * self.noise_01 + self.bias_01 + self.net_variance_01

    def summary(self) -> dict:
        """Averages over the test inputs. The Brier keys are those of the regression ``summary`` (bias2, variance,
        noise, total, measured, mc_se, train_mse = the training Brier score) so a sweep plots either."""
        b = self.bias_01
        return {"bias2": float(self.bias2.mean()), "variance": float(self.variance.mean()),
                "noise": float(self.noise.mean()), "total": float(self.total.mean()),
                "measured": float(self.measured.mean()), "mc_se": float(self.mc_se),
                "train_mse": float(self.train_brier.mean()), "n_sets": self.n_sets,
                "noise_01": float((self.c1 * self.noise_01).mean()), "bias_01": float(b.mean()),
                "net_variance_01": float(self.net_variance_01.mean()),
                "unbiased_variance_01": float((self.variance_01 * (1 - b)).mean()),
                "biased_variance_01": float((self.variance_01 * b).mean()),
                "total_01": float(self.total_01.mean()), "measured_01": float(self.measured_01.mean()),
                "mc_se_01": float(self.mc_se_01), "bayes_error": float(self.noise_01.mean())}


def _prepare(session):
    """The session (canonical, early stopping off), its ``ClassTruth`` and data; refusals in one line."""
    from .data import make_dataset
    from .data.class_truth import class_truth
    from .losses import LOSSES
    from .session import Session

    s = session.copy() if isinstance(session, Session) else Session.from_dict(session)
    s = s.canonicalize()
    truth = class_truth(s.dataset)
    s.training = dict(s.training or {}, early_stopping=None)
    data = make_dataset(s.dataset, seed=s.seed)
    loss = LOSSES.resolve(s.loss)[0].name
    if loss in NOT_PROBABILITIES:
        raise InvalidInput(f"{loss} gives margin scores, not probabilities, so there is no Brier score to decompose; "
                           "use bce, bce_logits or cross_entropy")
    if data.task != "classification" or data.n_classes != 2:
        raise InvalidInput("the classification bias–variance decomposition needs a 2-class dataset")
    return s, truth, data


def p_class1(out: np.ndarray) -> np.ndarray:
    """P̂(y = 1) from ``Run.predict``: the one column of a binary network, column 1 of a 2-way softmax."""
    if out.ndim != 2 or out.shape[1] not in (1, 2):
        raise InvalidInput(f"the network must output 1 or 2 values per sample for 2 classes, got shape {out.shape[1:]}")
    return out[:, 0] if out.shape[1] == 1 else out[:, 1]


def decompose_classification(session, *, n_sets: int = 20, epochs: int | None = None, seed: int = 0,
                             sampling: str = "fresh", vary_init: bool = False, path: str = "auto", device=None,
                             should_stop=None, on_set=None, label: str = "") -> ClassificationDecomposition:
    """``engine.bias_variance.decompose`` for a 2-class dataset with a known class probability (same arguments)."""
    from .bias_variance import SLICE_POINTS, axis_names, check_counts, train_networks

    n_sets, epochs = check_counts(sampling, n_sets, epochs)
    s, truth, data = _prepare(session)
    epochs = epochs if epochs is not None else int(s.training.get("epochs") or 1)
    x = truth.inputs(TEST_POINTS, np.random.default_rng([int(seed), 6]))
    t, xs = truth.slice(SLICE_POINTS)
    p, slices, train_brier, paths = train_networks(
        s, data, x, xs, t, n_sets=n_sets, epochs=epochs, seed=seed, sampling=sampling, vary_init=vary_init,
        path=path, device=device, should_stop=should_stop, on_set=on_set, label=label, output=p_class1,
        train_error=lambda fit, y: float(np.mean((fit - np.asarray(y, np.float64).reshape(-1)) ** 2)))
    eta = truth.p1(x)
    measured, se, measured_01, se_01 = measure(p, x, eta, truth, np.random.default_rng([int(seed), 7]))
    return ClassificationDecomposition(
        x=x, predictions=p, eta=eta, measured=measured, mc_se=se, measured_01=measured_01, mc_se_01=se_01,
        train_brier=np.asarray(train_brier), slice_t=t, slice_predictions=slices, slice_f=truth.p1(xs),
        slice_label=truth.slice_label(axis_names(data, 2)), n_train=len(data.y_train), epochs=epochs,
        sampling=sampling, vary_init=bool(vary_init), engine_paths=tuple(sorted(set(paths))),
        noise_text=truth.noise_text, label=label)


def measure(p, x, eta, truth, rng):
    """Brier score and 0-1 loss on ``LABEL_DRAWS`` fresh labels per test input (shared by the networks, as one
    test set is), per input; and the Monte-Carlo standard errors of measured − sum averaged over the inputs
    (given the networks the per-input differences are independent, mean 0)."""
    k, m = p.shape
    y = truth.sample(np.repeat(x, LABEL_DRAWS, axis=0), rng).reshape(m, LABEL_DRAWS).astype(np.float64)
    brier = ((p[:, :, None] - y[None, :, :]) ** 2).mean(axis=(0, 2))
    hard = (p >= 0.5).astype(np.float64)
    zero_one = (hard[:, :, None] != y[None, :, :]).mean(axis=(0, 2))
    # the exact expectations over y given the networks, to centre the differences
    exp_brier = ((p - eta[None, :]) ** 2 + (eta * (1 - eta))[None, :]).mean(axis=0)
    exp_01 = np.where(hard == 1, 1 - eta[None, :], eta[None, :]).mean(axis=0)
    se = float((brier - exp_brier).std() / np.sqrt(m))
    se_01 = float((zero_one - exp_01).std() / np.sqrt(m))
    return brier, se, zero_one, se_01
