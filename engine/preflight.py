"""Everything a training checks before its first step, in one function that ``validate`` runs too.

``validate`` used to check only the graph: 62 of 201 fuzzed sessions it accepted
were refused at once by ``train`` (input shape or output width against the data,
targets the loss cannot take, early-stopping settings that crashed). ``preflight``
runs the same checks in the same order as a training does, so "valid" means
"will start": the graph, every registry name, the early-stopping settings, the
memory estimate (before anything is allocated), then the dataset and the network
against each other. The command line, the trainer and ``engine.Run`` call it.
"""
from __future__ import annotations

from .errors import InvalidInput
from .graph import last_activation, output_width, validate
from .params import brief


def check_early_stopping(value):
    """``training.early_stopping`` is null or EarlyStopping's keyword arguments (``true`` crashed train at epoch one).

    Session files are checked when read (engine.session); this covers sessions built in code.
    """
    if value is None:
        return
    from .early_stopping import EarlyStopping

    if not isinstance(value, dict):
        raise InvalidInput(f'training.early_stopping must be null or an object like {{"patience": 10}}, got {brief(value)}')
    try:
        EarlyStopping(**value)
    except TypeError:
        raise InvalidInput(f"training.early_stopping needs a 'patience' and only the settings patience, min_delta, "
                           f"restore_best, monitor, mode; got {brief(value)}") from None


def preflight(session, *, dataset=None, available=None, device=None, build=True) -> list:
    """Raise ``InvalidInput`` for anything that would stop a training before its first step; return warnings.

    ``dataset``: an already built ``Dataset`` (else it is built from the spec, after the memory
    check). ``available``: bytes of free memory (else what the system reports). ``device``:
    overrides the session's. ``build=False`` skips building the network (its initial values and
    the loss's check of every target), for callers that only want the cheap checks.
    """
    from .losses import check_pairing
    from .memory import check_fits

    rep = validate(session.graph)
    canon = session.copy().canonicalize()  # every registry name and parameter, with defaults
    training = canon.training
    check_early_stopping(training.get("early_stopping"))
    from .optimizers import check_clipping

    check_clipping(canon.optimizer["type"], training["clip"])  # L-BFGS and second-order methods refuse clipping
    check_fits(canon, rep, available)  # before the dataset or a single weight is allocated

    from .data import make_dataset

    data = dataset if dataset is not None else make_dataset(canon.dataset, seed=canon.seed)
    _check_data(canon, rep, data)
    batch = _check_batches(canon, data)
    from .regularizers import regularizers_from

    regs = regularizers_from(canon.regularizers, canon.graph.nodes)
    if build:
        _check_build(canon, rep, data, device)
        _check_augmentation(regs, data)
    warnings = list(check_pairing(canon.loss, last_activation(canon.graph, rep), output_width(rep), data.task))
    es = training.get("early_stopping")
    if es and not len(data.y_val) and es.get("monitor", "val_loss").startswith("val_"):
        what = es.get("monitor", "val_loss")[4:].replace("_", " ")
        warnings.append(f"early stopping watches the validation {what}, but the validation split is empty; "
                        f"it will watch the training {what} instead, which rarely stops")
    if batch > len(data.y_train) and training["batch_size"] != 0:
        warnings.append(f"batch_size {training['batch_size']} is larger than the training split "
                        f"({len(data.y_train)} samples); each step uses the whole split")
    return warnings


def _check_data(canon, rep, data):
    want = tuple(rep.shapes[rep.input_id])
    if tuple(data.input_shape) != want:
        raise InvalidInput(f"the dataset's inputs have shape {tuple(data.input_shape)} but the Input node expects "
                           f"{want}; set the Input shape to {list(data.input_shape)}")
    width = rep.shapes.get(rep.output_id, ())
    if data.task == "classification" and len(width) == 1 and width[0] > 1 and width[0] != data.n_classes:
        raise InvalidInput(f"the output has {width[0]} units but the dataset has {data.n_classes} classes; "
                           f"give the last layer {data.n_classes} units (one per class), or 1 for a binary loss")
    if data.task == "multilabel" and len(width) == 1 and width[0] != data.n_outputs:
        raise InvalidInput(f"the dataset has {data.n_outputs} labels but the output has {width[0]} "
                           f"unit{'s' if width[0] != 1 else ''}; give the last layer {data.n_outputs} units "
                           f"(one sigmoid per label)")
    if data.task == "regression" and len(width) == 1 and width[0] != data.n_outputs:
        raise InvalidInput(f"the dataset has {data.n_outputs} regression target{'s' if data.n_outputs != 1 else ''} "
                           f"but the output has {width[0]} unit{'s' if width[0] != 1 else ''}; "
                           f"give the last layer {data.n_outputs}")
    n = sum(data.sizes.values())
    if canon.dataset["type"] == "csv":  # imported data: one sample or one class cannot teach anything
        if n < 2:
            raise InvalidInput(f"the imported dataset has {n} sample; training needs at least 2")
        if data.task == "classification" and len(set(data.y_train.tolist())) < 2:
            label = data.class_names[int(data.y_train[0])] if len(data.y_train) else "?"
            raise InvalidInput(f"the training split holds a single class ({label!r}); classification needs "
                               f"at least 2 classes (use task 'regression' or pick another target)")
    if not len(data.y_train):
        raise InvalidInput("the training split is empty; give it a larger share")


def _check_batches(canon, data) -> int:
    bs = canon.training["batch_size"]
    n = len(data.y_train)
    batch = n if bs == 0 or bs > n else bs
    if any(node.type == "BatchNorm" for node in canon.graph.nodes):
        if n < 2:
            raise InvalidInput(f"BatchNorm needs at least 2 samples per batch, but the training split has {n}")
        if batch == 1:
            raise InvalidInput("BatchNorm needs batches of at least 2 samples; raise the batch size")
    return batch


def _check_build(canon, rep, data, device):
    """Build the network (initializers run; the memory check passed), its optimizer and schedule, as train does."""
    from .builder import build_model
    from .device import select_device
    from .optimizers import OPTIMIZERS
    from .schedules import SCHEDULES

    select_device(device or canon.training["device"])
    model = build_model(canon.graph, seed=canon.seed)
    opt = canon.optimizer["type"]
    if opt in ("gauss_newton", "levenberg", "levenberg_marquardt") and canon.loss["type"] != "mse":
        raise InvalidInput(f"{opt} needs the squared-error loss 'mse' (it minimizes a sum of squared residuals); "
                           f"got {canon.loss['type']!r}")
    OPTIMIZERS.create(canon.optimizer, model.trainable_parameters())  # refuses e.g. Newton on a large network
    SCHEDULES.create(canon.schedule, float(canon.optimizer["params"]["lr"]))
    width = output_width(rep) or 1
    _check_targets(canon, data, width)
    _check_monitor(canon, data, width)


def _check_augmentation(regs, data):
    """Each input transform once on two training samples: an image augmentation on 2-D points is refused here."""
    import numpy as np
    import torch

    from .augmentation import augment

    x = torch.as_tensor(np.asarray(data.x_train[:2], dtype=np.float32))
    augment(regs, x, torch.Generator().manual_seed(0))


def _check_targets(canon, data, width):
    """The loss checks every target once (as the trainer does); label noise and smoothing check theirs."""
    import torch

    from .losses import LOSSES
    from .regularizers import apply_target_transforms, regularizers_from

    loss_fn = LOSSES.create(canon.loss)
    for split in ("train", "val", "test"):
        y = torch.as_tensor(data.split(split)[1])
        if len(y):
            loss_fn(torch.zeros((len(y), width)), y)
    regs = regularizers_from(canon.regularizers, canon.graph.nodes)
    y = torch.as_tensor(data.y_train[:8])  # label noise and smoothing refuse regression targets at the first step
    apply_target_transforms(regs, y, data.n_classes, torch.Generator().manual_seed(0))


def _check_monitor(canon, data, width):
    """Early stopping's metric must be one an epoch measures (val_acc on a regression is not)."""
    es = canon.training.get("early_stopping")
    if not es:
        return
    import numpy as np

    from .early_stopping import EarlyStopping
    from .metrics import evaluate

    measured = {"train_loss": 0.0}
    for split in ("train", "val"):
        y = data.split(split)[1]
        if len(y):
            measured[f"{split}_loss"] = 0.0
            names = evaluate(np.zeros((len(y), width), np.float32), y, data.task, canon.loss["type"], data.n_classes)
            measured.update({f"{split}_{k}": 0.0 for k, v in names.items() if isinstance(v, (int, float))})
            if f"{split}_accuracy" in measured:
                measured[f"{split}_acc"] = 0.0
    EarlyStopping(**es).pick(measured)
