"""Tooltips and What's-This texts for the dataset and training panels, from the lecture notes.

Plain data (no Qt): ``TIPS`` is the one-line hover text, ``MORE`` the longer
What's-This paragraph (Shift+F1). ``apply_help(widget, key)`` sets both, so
every control explains itself in the notes' own vocabulary.
"""
from __future__ import annotations

import html

TIPS = {
    # -- dataset -------------------------------------------------------------------
    "dataset.type": "Which data to learn from: a 2-D generator, the 8×8 digits, points you paint, or an imported CSV.",
    "dataset.n": "Number of points generated before the train/validation/test split.",
    "dataset.noise": "Noise 0–100 %: mislabelled or scattered points near the class borders (TF Playground's slider).",
    "dataset.classes": "Number of classes (one blob or spiral arm each).",
    "dataset.std": "Spread of each blob; larger values make the blobs overlap.",
    "dataset.flat": "Give the digits as 64-number vectors (for Dense layers) instead of 1×8×8 images (for Conv2d).",
    "dataset.split": "Share of the points used for training, validation and the final test; always sums to 100 %.",
    "dataset.split.train": "Training split: the only points the weights are fitted to.",
    "dataset.split.val": "Validation split: watched during training to pick hyperparameters and to stop early.",
    "dataset.split.test": "Test split: used once at the very end to estimate performance on unseen data.",
    "dataset.seed": "Random seed: the same seed rebuilds exactly the same points, split and initial weights.",
    "dataset.reseed": "Draw a new random seed: new points from the same generator (and new initial weights).",
    "dataset.scale": "Rescale the inputs, fitted on the training split only so no test information leaks in.",
    "dataset.features": "TF Playground's feature expansion: feed x1², x1·x2, sin(x1), ... instead of (or besides) x1, x2.",
    "dataset.paint": "Paint mode: left-click or drag adds points of the chosen class; right-click or drag removes them.",
    "dataset.erase": "Erase mode: click or drag to remove the points under the cursor.",
    "dataset.view": "Pan and zoom the preview (drag to pan, wheel to zoom, right-click for the menu).",
    "dataset.paint_class": "The class (or target value) new painted points get.",
    "dataset.csv": "Import a CSV file; its numbers are copied into the session, so it travels with the file.",
    "dataset.fix_input": "Set the Input node's shape to match the dataset, so the network accepts these samples.",
    "dataset.preview": "Training points are filled, validation points faded, test points hollow.",
    # -- training ------------------------------------------------------------------------
    "loss": "What the network minimises: the cost E = (1/N)·Σᵢ L(yᵢ, ŷᵢ), the mean of the per-sample losses over "
            "the batch (a class label counts as its one-hot target vector).",
    "optimizer": "The update rule that turns gradients into weight changes.",
    "schedule": "How the learning rate changes over the epochs: high at first, lower later.",
    "lr": "Learning rate η: the step size. Too high: the loss jumps or explodes; too low: it falls slowly and almost linearly.",
    "momentum": "Momentum: keeps ~90 % of the previous step's velocity, so steps speed up along steady slopes and oscillations cancel.",
    "beta1": "Adam's β1: decay of the running mean of gradients (momentum); 0.9 is the usual choice.",
    "beta2": "Adam's β2: decay of the running mean of squared gradients (per-weight step size); 0.999 usually.",
    "rho": "RMSProp's decay ρ of the running mean of squared gradients; 0.9 usually.",
    "eps": "δ: a tiny number that keeps divisions finite.",
    "weight_decay_opt": "AdamW's decoupled weight decay λ: shrinks every weight a little each step.",
    "batch_size": "Samples per update. Small: noisy but frequent steps; large: smooth but few steps per epoch. 0 = full batch.",
    "full_batch": "Full-batch gradient descent: one step per epoch over the whole training split (needed by L-BFGS).",
    "epochs": "Passes over the training split. Too few underfits; too many memorises the training data (use early stopping).",
    "shuffle": "Reshuffle the training split every epoch (seeded), so minibatches differ from epoch to epoch.",
    "l1": "L1 penalty λ·Σ|w|: pushes many weights to exactly zero (sparse, simpler models). 0 = off.",
    "l2": "L2 penalty λ·Σw²: keeps all weights small and similar (smoother functions). 0 = off.",
    "weight_decay": "Weight decay, the notes' update w ← w − lr·g − lr·λ·w (w before the step). Try 1e-4, 1e-5 or 0. 0 = off.",
    "dropout": "Dropout is a layer: add a Dropout layer from the palette after the hidden layers you want to regularise.",
    "weight_noise": "Weight noise: every training pass sees the weights plus Gaussian noise of this std. 0 = off.",
    "activity_l1": "Activity L1 λ·Σ|h|: penalises the hidden layers' outputs, not the weights, for a sparse "
                   "representation (few units active per sample). Empty = off.",
    "label_noise": "Label noise: each training label is flipped to another class with probability p, every epoch "
                   "anew; it stops the pursuit of hard probabilities. Empty = off.",
    "input_noise": "Data augmentation by noise injection: every training batch sees its inputs plus fresh Gaussian "
                   "noise of this std (scaled units); labels unchanged. Empty = off.",
    "random_shift": "Data augmentation by pixel translation: each training image moves up to this many pixels in "
                    "each direction. Images only. Empty = off.",
    "random_flip": "Data augmentation by flipping: each training image is mirrored left-right with this probability. "
                   "Not for digits or letters. Images only. Empty = off.",
    "random_rotation": "Data augmentation by rotation: each training image is turned about its centre by an angle drawn "
                       "from ± this many degrees (bilinear, zeros fill the corners). At most 45°: a rotated 6 is a 9. "
                       "Images only. Empty = off.",
    "random_scale": "Data augmentation by scaling: each training image is zoomed by a factor drawn from 1 ± this "
                    "fraction (0.1: 0.9–1.1), about its centre. Images only. Empty = off.",
    "lens_distortion": "Data augmentation by lens distortion: each training image is bent radially (barrel or "
                       "pincushion) with a coefficient drawn from ± this value. Images only. Empty = off.",
    "vignetting": "Data augmentation by vignetting: each training image is darkened towards its corners, by up to "
                  "this fraction (1 = black corners). Images only. Empty = off.",
    "random_negative": "Data augmentation by random negatives: each training image is replaced by its photographic "
                       "negative (1 − x on 0..1 digits) with this probability. Images only. Empty = off.",
    "preview_augmentation": "Show the first eight training images beside what the augmentation rows above make of "
                            "them, computed by the same code training uses.",
    "label_smoothing": "Label smoothing ε: train on (1−ε)·one-hot + ε/C, so the network stops chasing infinite logits. 0 = off.",
    "max_norm": "Max-norm r: after each step, rescale each unit's incoming weights to length ≤ r. Not part of the loss.",
    "clip": "Gradient clipping, against exploding gradients: rescale the whole gradient (norm) or clamp each component "
            "(value). L-BFGS and the second-order optimizers refuse it: their line search needs the true gradient.",
    "clip_value": "Clipping threshold: largest allowed gradient norm (norm) or component (value).",
    "early_stopping": "Stop once the monitored score (validation loss by default, or e.g. val_accuracy) has not "
                      "improved for 'patience' epochs, and keep the best weights.",
    "patience": "Epochs in a row without improvement that are tolerated before stopping (3–10 is typical).",
    "min_delta": "A new validation loss must beat the best by more than this to count as an improvement (e.g. 0.001).",
    "restore_best": "After stopping, put back the weights of the epoch with the best monitored score.",
    "early_monitor": "The score early stopping watches: the notes stop \u201cwhile validation set performance is "
                     "better\u201d. Losses and RMSE must fall, accuracy, F1, AUC and R\u00b2 must rise (mode auto). "
                     "Without a validation split a validation score is read on the training split.",
    "seed": "Random seed for the data, the initial weights and the shuffling: the same seed repeats a run exactly.",
    "device": "Where training runs: auto picks a GPU (CUDA or Apple MPS) when torch finds one, else the CPU.",
    "pairing": "Checks the loss against the last layer's activation, the number of output units and the task.",
    # -- initialization (used by the inspector's init editor, kept here with the rest) ---
    "init.he": "He (Kaiming) initialization: Var(w) = 2/n_in. Suits ReLU layers, which zero half of their inputs.",
    "init.xavier": "Xavier (Glorot) initialization: Var(w) = 1/n_in (or 2/(n_in+n_out)). Suits tanh and sigmoid layers.",
}

MORE = {
    "dataset.noise": "For the TF Playground sets noise flips labels near the border (circle, XOR) or scatters the points "
                     "(spiral, Gaussian); for the multi-label set it is the probability that each label of a point is "
                     "flipped. A model that fits noisy training points perfectly has memorised the noise: "
                     "watch the validation loss.",
    "dataset.split": "The notes split the data into training data (e.g. 60–80 %) to fit the weights, validation data "
                     "(10–20 %) to compare hyperparameters and stop early, and test data (10–20 %) used only once at the "
                     "end. The split is stratified: each part keeps the class proportions (multi-label data: the "
                     "proportions of each combination of labels).",
    "dataset.scale": "<b>standardize</b>: x' = (x − μ)/σ per feature, so all features have mean 0 and variance 1 — the "
                     "notes' feature normalization, which speeds up learning. <b>minmax</b> maps each feature to [0, 1]. "
                     "<b>pca_whiten</b> also decorrelates the features. Statistics come from the training split only.",
    "dataset.features": "A single layer can only draw straight boundaries in (x1, x2). Adding x1², x2² lets it draw "
                        "circles; x1·x2 solves XOR; sin(x1), sin(x2) help with spirals. The Input node's width becomes "
                        "the number of features you tick.",
    "dataset.paint": "Painting turns the dataset into a hand-written (inline) dataset stored in the session. "
                     "Left button: add points of the chosen class. Right button: remove points near the cursor.",
    "loss": "The notes' common choices: binary classification → sigmoid output + binary cross-entropy; "
            "one-of-many classes → softmax + categorical cross-entropy; several independent labels → sigmoid + binary "
            "cross-entropy; real values → no activation + MSE; values in [0, 1] → sigmoid + MSE or binary cross-entropy. "
            "Cross-entropy learns faster than MSE on classification because it cancels the sigmoid's flat slope. "
            "A classic mistake: passing softmax outputs to a loss that expects raw logits.",
    "lr": "The notes: find a learning rate that makes the loss drop significantly within 100 iterations; try 1e-1, "
          "1e-2, 1e-3, 1e-4. Too low: the loss curve decreases almost linearly. Too high: the loss drops very quickly "
          "at first and then sits on a plateau, jumps around, or becomes NaN.",
    "momentum": "Gradient descent with momentum adds an inertia term: v = βv − η∇L, w += v with β ≈ 0.9. Persistent "
                "small gradients add up to speed, oscillating ones cancel. Forms: classic (torch) b = βb + g, "
                "w −= η·b; velocity (seed 002) v = γv + η_k·g, w −= v, which differs once a schedule changes η; ema "
                "(seed 001) ν = αν + (1−α)g. Nesterov momentum first jumps along the accumulated direction, then "
                "measures the gradient there and corrects: form notes keeps θ as the weights you see, form torch "
                "stores the look-ahead point θ − γv instead.",
    "optimizer": "SGD takes plain gradient steps. Momentum and Nesterov add inertia. AdaGrad, RMSProp and Adam adapt "
                 "the step size per weight (Adam = momentum + RMSProp with bias correction, robust defaults). L-BFGS is "
                 "a second-order method and works best with full-batch training.",
    "schedule": "Goal from the notes: a high learning rate in the beginning, then a low one. inverse_time: "
                "α = α0/(1 + t·epoch); step: α ← α − t·α every few epochs (t = 0.5 halves it); exponential: "
                "α = t^epoch·α0; inverse_sqrt: α = t/√epoch·α0 (epochs from 0, epoch 0 as epoch 1); "
                "reduce_on_plateau lowers it when the validation loss stalls.",
    "batch_size": "One iteration processes one batch; with 2000 samples and batch size 20 an epoch is 100 iterations. "
                  "Smaller batches give more variance in the gradients (noisier, sometimes better generalisation); "
                  "larger ones smooth the gradient and use parallel hardware, but take fewer steps per epoch. "
                  "Batch size 1 is pure stochastic gradient descent; 0 here means full-batch gradient descent. "
                  "Lecture 002's rule of thumb, b ≈ 1.5 × the number of outliers, is computed from the training "
                  "data on the line under the batch size (Apply sets it).",
    "l1": "Adds λ·Σ|w| to the loss (biases excluded). L1 enforces sparsity: many weights become exactly 0.",
    "l2": "Adds λ·Σw² to the loss (biases excluded). L2 keeps the weights small and similar. Too strong regularization "
          "underfits; too weak lets the network fit noise.",
    "weight_decay": "Weight decay in the update rule, as the notes write it: w ← w − lr·g − lr·λ·w, with w the "
                    "weights before the step. For plain SGD this is exactly the L2 penalty (λ/2)·Σw² in the loss; for "
                    "momentum and adaptive optimizers (Adam) the decay stays outside their averaging (decoupled).",
    "dropout": "During training each unit is dropped with probability p, so units cannot co-adapt; it acts like "
               "averaging many sub-networks. Typical rates: 0.2 for inputs, 0.5 for hidden units. At test time nothing "
               "is dropped. Dropout is a layer in the graph: drag a Dropout layer from the palette.",
    "early_stopping": "The notes: stop once the validation loss is at its minimum, before it goes back up, and retrieve "
                      "the parameters of that best epoch. Use a patience of 3–10 epochs and a min_delta of about 0.001. "
                      "monitor picks the score (val_loss, val_accuracy, val_f1, val_r2...; mode auto knows which way is "
                      "better). Needs a validation split (else the training score is used).",
    "max_norm": "Max-norm regularization: ‖w‖₂ ≤ r for the weights entering each unit. It is not added to the loss; "
                "after each training step the weights are rescaled.",
    "clip": "Exploding gradients make the loss jump to huge values or NaN. Clipping by norm rescales the whole gradient "
            "so its length is at most the threshold (direction kept); clipping by value clamps each component.",
    "label_smoothing": "With hard 0/1 targets cross-entropy is only minimised by infinitely large logits. Smoothing the "
                       "targets to (1−ε)·one-hot + ε/C keeps the outputs calibrated and regularises.",
    "weight_noise": "Adding noise to the weights in each forward pass penalises functions that are sensitive to small "
                    "weight changes, so the network prefers smoother solutions.",
    "activity_l1": "Sparse representation (lecture 001): where L1 on the weights makes the weights sparse, a penalty "
                   "αΩ(h) on a hidden layer's outputs h makes the representation sparse: for each sample only a few "
                   "units are non-zero.",
    "label_noise": "Noise robustness (lecture 001): injecting noise in the output labels gives better convergence, "
                   "because the network no longer pursues hard probabilities of exactly 0 and 1.",
    "input_noise": "Dataset augmentation (lecture 000): artificially increase the training data by varying the inputs "
                   "without changing the labels. Validation and test data are never augmented.",
    "random_shift": "Dataset augmentation (lecture 000) by pixel translation: a digit moved by a pixel is still the "
                    "same digit, so the network learns to ignore small shifts.",
    "random_flip": "Dataset augmentation (lecture 000) by flipping: only for classes that look the same mirrored. The "
                   "notes warn for rotations: a rotated 6 becomes a 9.",
    "random_rotation": "Dataset augmentation (lecture 000) lists rotation for image recognition and warns: \u201ccareful "
                       "when rotating digits (6 will become 9 and vice versa)!\u201d Small angles keep the label; the "
                       "angle is capped at 45°.",
    "random_scale": "Dataset augmentation (lecture 000): \u201cincrease variation in inputs without changing the "
                    "labels\u201d; a digit written a little larger or smaller is the same digit.",
    "lens_distortion": "Dataset augmentation (lecture 000) lists lens distortion among the image augmentations (Wu et "
                       "al., 2015): the picture as a different lens would have taken it.",
    "vignetting": "Dataset augmentation (lecture 000) lists vignetting among the image augmentations: darker corners, "
                  "as many camera lenses produce.",
    "random_negative": "Dataset augmentation (lecture 000) lists \u201cinjection of random negatives\u201d; read here "
                       "as the photographic negative, so a white-on-black digit is still the same digit. (Colour "
                       "casting needs colour channels and the speech augmentations need audio: the playground has "
                       "neither.)",
    "init.he": "Xavier initialization draws weights with variance 1/n (n = inputs per unit) so activations keep unit "
               "variance. ReLU zeroes about half its inputs, so the notes recommend doubling it: Var(w) = 2/n (He). "
               "Too-large random weights saturate tanh/sigmoid units, too-small ones shrink the signal: both make "
               "gradients vanish. All-zero weights never break the symmetry between units.",
}


def tip(key: str) -> str:
    return TIPS.get(key, "")


def more(key: str) -> str:
    """What's-This HTML: the tooltip in bold, then the longer explanation if there is one."""
    head = html.escape(TIPS.get(key, ""))
    body = MORE.get(key, "")
    return f"<b>{head}</b>" + (f"<p>{body}</p>" if body else "") if head else body


def apply_help(widget, key: str, extra: str = ""):
    """Set ``widget``'s tooltip and What's-This from ``key`` (``extra`` is appended to the tooltip)."""
    text = TIPS.get(key, "")
    if extra:
        text = f"{text}\n{extra}" if text else extra
    if text:
        widget.setToolTip(text)
    w = more(key)
    if w:
        widget.setWhatsThis(w)
    return widget
