"""The bias–variance decomposition of the expected test error (lecture 004), measured by training many networks.

The notes: generalization error = bias² + variance + irreducible error. At an input x, with h_D the network
trained on training set D and f(x) = E[y | x] the true function,

    E_D,ε[(y − h_D(x))²] = (E_D[h_D(x)] − f(x))²  +  E_D[(h_D(x) − E_D[h_D(x)])²]  +  Var[y | x]
                          =        bias²(x)        +           variance(x)          +     σ²(x).

``decompose`` estimates each term the textbook way: it draws ``n_sets`` fresh training sets from the
session's generator (the same size as its training split, other seeds), trains a fresh network of the
session on each (``engine.Run``, ``path="auto"``: small dense networks take the compiled path), and
evaluates all of them on a fixed grid of inputs covering the input box (every generator here draws x
uniformly from it, so the grid's mean is the average over test inputs). The average prediction gives
bias², the spread of the predictions the variance, and the generator's noise model (``engine.data.truth``)
σ². Independently, the expected test MSE is *measured* on fresh noisy targets drawn by the generator's own
noise at the same inputs; the sum of the three terms matches it up to Monte-Carlo error (``mc_se``).

``sampling="bootstrap"`` instead retrains on resamples (with replacement) of the session's own training
split: what one can do without a generator, an approximation (the resamples share their points, so the
one split's own deviation from f counts as bias², and the variance comes out smaller).
``vary_init=True`` also gives each network its own initial weights and batch order (then the variance
includes the optimisation's randomness, as in Neal et al. 2018); by default every network starts from the
session's seed, so the variance is the training data's alone.

``sweep`` repeats the decomposition over a model-size or regularization axis (the first hidden layer's
width, or an L2 λ): the U-shaped test error, bias² falling and variance rising as the model grows.

A 2-class dataset whose class probability is known (circle, xor, gauss) is decomposed by
``engine.bias_variance_classification`` instead (the Brier score the same way, the 0-1 loss as Domingos
states it); ``decompose`` and ``sweep`` hand it over, and ``train_networks`` is the loop both share.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import InvalidInput

SAMPLINGS = ("fresh", "bootstrap")
AXES = {"units": "width (first hidden layer's units)", "l2": "L2 λ"}
SHORT = {"units": "units", "l2": "L2 λ"}  # the table's row labels: "units 8", "L2 λ 0.01"
GRID = {1: 101, 2: 21}  # evaluation points per input axis (101 for 1-D inputs, 21 × 21 for 2-D)
SLICE_POINTS = 101
NOISE_DRAWS = 4  # fresh noisy targets per (network, input) for the measured test error
MAX_SETS = 500
NO_TRUTH = ("has no known true function, so its bias² cannot be measured: choose a generated dataset whose "
            "noise model is known — sine, plane or multi_gauss (regression), circle, xor or gauss (classification)")


class SquaredErrorSplit:
    """E[(h − y)²] = bias² + variance + noise per input, from ``predictions`` (K, M), the truth ``f`` and
    ``noise``: the regression split, and the Brier score's with f = η and noise = η(1 − η)."""

    @property
    def n_sets(self) -> int:
        return len(self.predictions)

    @property
    def mean(self) -> np.ndarray:
        return self.predictions.mean(axis=0)

    @property
    def slice_mean(self) -> np.ndarray:
        return self.slice_predictions.mean(axis=0)

    @property
    def bias2(self) -> np.ndarray:
        return (self.mean - self.f) ** 2

    @property
    def variance(self) -> np.ndarray:  # over the K networks, divided by K: bias² + variance = mean_k (h_k − f)²
        return self.predictions.var(axis=0)

    @property
    def total(self) -> np.ndarray:
        return self.bias2 + self.variance + self.noise


@dataclass(frozen=True, eq=False)
class Decomposition(SquaredErrorSplit):
    """One decomposition: per input on the grid and averaged over it (``summary``), plus the plotted slice."""

    x: np.ndarray  # (M, d) raw inputs of the evaluation grid
    predictions: np.ndarray  # (K, M) each network's prediction at each grid input
    f: np.ndarray  # (M,) true function E[y | x]
    noise: np.ndarray  # (M,) σ²(x)
    measured: np.ndarray  # (M,) mean squared error on fresh noisy targets, over networks and draws
    mc_se: float  # Monte-Carlo standard error of summary["measured"] − summary["total"]
    train_mse: np.ndarray  # (K,) each network's error on its own training set
    slice_t: np.ndarray  # (S,) the varied input along the plotted slice
    slice_predictions: np.ndarray  # (K, S)
    slice_f: np.ndarray  # (S,)
    slice_label: str
    n_train: int
    epochs: int
    sampling: str
    vary_init: bool
    engine_paths: tuple  # where the networks trained ("compiled", "torch cpu", ...)
    noise_text: str = ""
    label: str = ""
    task = "regression"  # engine.bias_variance_classification.ClassificationDecomposition says "classification"


    def summary(self) -> dict:
        """The terms averaged over the grid (the expected test error over inputs), and the training error."""
        return {"bias2": float(self.bias2.mean()), "variance": float(self.variance.mean()),
                "noise": float(self.noise.mean()), "total": float(self.total.mean()),
                "measured": float(self.measured.mean()), "mc_se": float(self.mc_se),
                "train_mse": float(self.train_mse.mean()), "n_sets": self.n_sets}


def _check_count(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise InvalidInput(f"{name} must be a whole number from {lo} to {hi:,}, got {v!r}")
    return int(v)


def _prepare(session):
    """The session (canonical, early stopping off: fresh sets have no validation split), its truth and data."""
    from .data import make_dataset
    from .data.truth import has_truth, true_function
    from .session import Session

    s = session.copy() if isinstance(session, Session) else Session.from_dict(session)
    s = s.canonicalize()
    if not has_truth(s.dataset):
        name = s.dataset if isinstance(s.dataset, str) else (s.dataset or {}).get("type")
        raise InvalidInput(f"dataset {name!r} {NO_TRUTH}")
    truth = true_function(s.dataset)
    s.training = dict(s.training or {}, early_stopping=None)
    data = make_dataset(s.dataset, seed=s.seed)
    if data.task != "regression" or data.n_outputs != 1:
        raise InvalidInput("the bias–variance decomposition needs a regression dataset with one target")
    return s, truth, data


def _training_set(s, data, k, seed, sampling, rng):
    """Training set number ``k``: a fresh draw from the generator, or a bootstrap resample of the session's."""
    if sampling == "bootstrap":
        idx = rng.integers(0, len(data.y_train), len(data.y_train))
        raw = dict(data.raw, train=data.raw_x("train")[idx])
        return replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx], raw=raw)
    from .data import make_dataset

    spec = dict(s.dataset, params=dict(s.dataset["params"], n=len(data.y_train)), split={"train": 1.0})
    return make_dataset(spec, seed=_set_seed(seed, k))  # its own preprocessing, fitted on it, as a new session would


def _set_seed(seed: int, k: int) -> int:
    return 1_000_003 * (int(seed) + 1) + int(k)  # distinct per (seed, k), and from small session seeds


def decompose(session, *, n_sets: int = 20, epochs: int | None = None, seed: int = 0, sampling: str = "fresh",
              vary_init: bool = False, path: str = "auto", device=None, should_stop=None, on_set=None,
              label: str = ""):
    """Train ``n_sets`` networks of ``session`` on as many training sets and decompose their test error.

    ``epochs``: per network (default the session's). ``seed`` picks the training sets (and, with
    ``vary_init``, the initial weights). ``should_stop()`` is checked before each network; a stop keeps the
    sets done so far (at least two are needed). ``on_set(info)`` sees each finished network: ``{"set",
    "of", "t", "prediction"}`` with its prediction along the plotted slice. A 2-class dataset whose class
    probability is known (circle, xor, gauss) gives an ``engine.bias_variance_classification``
    ``ClassificationDecomposition`` (Brier score and 0-1 loss) instead.
    """
    from .data.class_truth import has_class_truth

    spec = getattr(session, "dataset", None) if not isinstance(session, dict) else session.get("dataset")
    if has_class_truth(spec):
        from .bias_variance_classification import decompose_classification

        return decompose_classification(session, n_sets=n_sets, epochs=epochs, seed=seed, sampling=sampling,
                                        vary_init=vary_init, path=path, device=device, should_stop=should_stop,
                                        on_set=on_set, label=label)
    n_sets, epochs = check_counts(sampling, n_sets, epochs)
    s, truth, data = _prepare(session)
    epochs = epochs if epochs is not None else int(s.training.get("epochs") or 1)
    x = truth.grid(GRID[truth.dim])
    t, xs = truth.slice(SLICE_POINTS)
    p, slices, train_mse, paths = train_networks(
        s, data, x, xs, t, n_sets=n_sets, epochs=epochs, seed=seed, sampling=sampling, vary_init=vary_init,
        path=path, device=device, should_stop=should_stop, on_set=on_set, label=label,
        output=lambda out: out[:, 0], train_error=lambda fit, y: float(np.mean((fit - y[:, 0].astype(np.float64)) ** 2)))
    f, noise = truth.f(x), truth.noise_var(x)
    measured, se = _measure(p, x, f, noise, truth, np.random.default_rng([int(seed), 5]))
    return Decomposition(x=x, predictions=p, f=f, noise=noise, measured=measured, mc_se=se,
                         train_mse=np.asarray(train_mse), slice_t=t, slice_predictions=slices,
                         slice_f=truth.f(xs), slice_label=truth.slice_label(axis_names(data, truth.dim)),
                         n_train=len(data.y_train), epochs=epochs, sampling=sampling, vary_init=bool(vary_init),
                         engine_paths=tuple(sorted(set(paths))), noise_text=truth.noise_text, label=label)


def axis_names(data, dim) -> list:
    return list(data.feature_names) if len(data.feature_names) == dim else [f"x{j + 1}" for j in range(dim)]


def check_counts(sampling, n_sets, epochs):
    if sampling not in SAMPLINGS:
        raise InvalidInput(f"sampling must be one of {', '.join(SAMPLINGS)}; got {sampling!r}")
    n_sets = _check_count("n_sets", n_sets, 2, MAX_SETS)
    if epochs is not None:
        epochs = _check_count("epochs", epochs, 1, 100_000)
    return n_sets, epochs


def train_networks(s, data, x, xs, t, *, n_sets, epochs, seed, sampling, vary_init, path, device, should_stop,
                   on_set, label, output, train_error):
    """Train one network per training set; ``(predictions (K, M) at x, (K, S) along the slice xs, train errors,
    engine paths)``. ``output(run.predict(...))`` picks the column decomposed (the value, or P(class 1)),
    ``train_error(fit, y_train)`` each network's error on its own training set."""
    from .run import Run

    rng = np.random.default_rng([int(seed), 4])
    preds, slices, train_err, paths = [], [], [], []
    for k in range(n_sets):
        if should_stop is not None and should_stop():
            break
        d = _training_set(s, data, k, seed, sampling, rng)
        sk = s.copy()
        if vary_init:
            sk.seed = _set_seed(seed, k) % (2 ** 31)
        run = Run(sk, dataset=d, path=path, device=device)
        run.fit(epochs)
        both = output(run.predict(np.concatenate([x, xs]).astype(np.float32))).astype(np.float64)
        fit = output(run.predict(d.x_train, preprocessed=True)).astype(np.float64)
        if not (np.isfinite(both).all() and np.isfinite(fit).all()):
            raise InvalidInput(f"network {k + 1} diverged (outputs not finite); lower the learning rate or train "
                               "fewer epochs")
        preds.append(both[:len(x)])
        slices.append(both[len(x):])
        train_err.append(train_error(fit, d.y_train))
        paths.append(run.engine_path)
        if on_set is not None:
            on_set({"set": k + 1, "of": n_sets, "t": t, "prediction": slices[-1], "label": label})
    if len(preds) < 2:
        raise InvalidInput("stopped before two networks were trained: a variance needs at least two")
    return np.stack(preds), np.stack(slices), train_err, paths


def _measure(p, x, f, noise, truth, rng):
    """Mean squared error against fresh noisy targets (NOISE_DRAWS per network and input), per input.

    Also the Monte-Carlo standard error of (measured − bias² − variance − σ²) averaged over the grid: given
    the networks, that difference is the mean of ε² − σ² − 2ε(h − f) over independent noise draws ε.
    """
    k, m = p.shape
    xr = np.tile(np.repeat(x, NOISE_DRAWS, axis=0), (k, 1))  # network-major, then input, then draw
    y = truth.sample(xr, rng).reshape(k, m, NOISE_DRAWS)
    err = (y - p[:, :, None]) ** 2
    eps = y - f[None, :, None]
    terms = eps ** 2 - noise[None, :, None] - 2 * eps * (p - f[None, :])[:, :, None]
    return err.mean(axis=(0, 2)), float(terms.std() / np.sqrt(terms.size))


# ----------------------------------------------------------------------------- the sweep
def with_axis(session, axis: str, value):
    """A copy of ``session`` at ``value`` on ``axis``: "units" (the first hidden Dense layer's width, as
    ``engine.variants.with_variant``) or "l2" (one global L2 penalty of λ = value, replacing any other)."""
    if axis == "units":
        from .variants import with_variant

        return with_variant(session, "units", int(value))
    if axis == "l2":
        lam = float(value)
        if not np.isfinite(lam) or lam < 0:
            raise InvalidInput(f"an L2 λ must be a number ≥ 0, got {value!r}")
        s = session.copy()
        regs = [r for r in (s.regularizers or []) if (r if isinstance(r, str) else r.get("type")) != "l2"]
        s.regularizers = regs + ([{"type": "l2", "params": {"lambda": lam}}] if lam > 0 else [])
        return s
    raise InvalidInput(f"the sweep axis must be one of {', '.join(AXES)}; got {axis!r}")


def parse_values(axis: str, text: str) -> list:
    """The sweep's values typed as "1, 2, 4, 8": numbers, 2 to 16 of them, distinct."""
    if axis not in AXES:
        raise InvalidInput(f"the sweep axis must be one of {', '.join(AXES)}; got {axis!r}")
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    out = []
    for p in parts:
        try:
            v = int(p) if axis == "units" else float(p)
        except ValueError:
            what = "a whole number of units" if axis == "units" else "a number"
            raise InvalidInput(f"each sweep value must be {what}, got {p!r:.40}") from None
        if axis == "units" and v < 1 or axis == "l2" and not (np.isfinite(v) and v >= 0):
            raise InvalidInput(f"{AXES[axis]} values must be {'at least 1' if axis == 'units' else '≥ 0'}, got {p}")
        out.append(v)
    if not 2 <= len(out) <= 16 or len(set(out)) != len(out):
        raise InvalidInput(f"give 2 to 16 distinct {AXES[axis]} values separated by commas, got {str(text)[:60]!r}")
    return out


def sweep(session, axis: str, values, *, n_sets: int = 10, epochs: int | None = None, seed: int = 0,
          sampling: str = "fresh", vary_init: bool = False, path: str = "auto", device=None, should_stop=None,
          on_set=None, on_point=None) -> list:
    """``decompose`` at each value of ``axis``; a list of ``(value, Decomposition)``, same training sets for all.

    ``on_point(value, decomposition)`` sees each value as it is done; a stop ends after the current network
    (a value with fewer than two networks is dropped).
    """
    values = list(values)
    if not values:
        raise InvalidInput("give at least one sweep value")
    out = []
    for v in values:
        if should_stop is not None and should_stop():
            break
        sv = with_axis(session, axis, v)
        try:
            d = decompose(sv, n_sets=n_sets, epochs=epochs, seed=seed, sampling=sampling, vary_init=vary_init,
                          path=path, device=device, should_stop=should_stop, on_set=on_set,
                          label=f"{SHORT[axis]} {v:g}")
        except InvalidInput:
            if should_stop is not None and should_stop():
                break
            raise
        out.append((v, d))
        if on_point is not None:
            on_point(v, d)
    return out
