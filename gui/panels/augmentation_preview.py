"""Preview augmentation: eight training images beside what the session's augmentation makes of them.

Lecture 000 asks for variation "without changing the labels"; whether a setting still
does that (a 6 turned until it reads as a 9, a digit shrunk to a smudge) is best judged
by eye. The augmented row is computed by the engine's own ``transform_inputs`` chain
(``engine.augmentation.augment``) on the first eight training images, with a seeded
generator, so what is shown is what training does, draw for draw. "New draw" moves the
seed on. Nothing here edits the session.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from engine.errors import InvalidInput

N_SHOWN = 8
CELL = 64  # pixels per shown image: an 8×8 digit at 8 screen pixels per pixel


def augmentation_specs(session) -> list:
    """The session's global regularizer entries that are data augmentations (registry group "augmentation")."""
    from engine.regularizers import REGULARIZERS

    out = []
    for spec in session.regularizers:
        try:
            entry, _ = REGULARIZERS.resolve(spec)
        except InvalidInput:
            continue
        if entry.group == "augmentation":
            out.append(spec)
    return out


def describe(spec) -> str:
    from engine.regularizers import REGULARIZERS

    entry, params = REGULARIZERS.resolve(spec)
    return entry.name + " (" + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in params.items()) + ")"


def compute(session, draw: int = 0, dataset=None):
    """(originals, augmented, what was applied, class names) for the first N_SHOWN training images.

    Raises InvalidInput with the one-line reason when the data are not images or an augmentation refuses them.

    The generator is seeded with session.seed + 2 + draw: draw 0 uses the seed of the trainer's regularizer
    stream (the images differ from the first batch only because training shuffles).
    """
    import torch

    from engine.augmentation import augment
    from engine.data import make_dataset
    from engine.regularizers import regularizers_from

    specs = augmentation_specs(session)
    regs = regularizers_from(specs, session.graph.nodes)
    data = dataset if dataset is not None else make_dataset(session.dataset, seed=session.seed)
    x = np.asarray(data.x_train[:N_SHOWN], dtype=np.float32)
    if x.ndim != 4:
        shape = "(" + ", ".join(map(str, x.shape[1:])) + ("," if x.ndim == 2 else "") + ")"
        raise InvalidInput(f"the preview shows images (channels, height, width); this dataset's samples have shape "
                           f"{shape}")
    g = torch.Generator().manual_seed(int(session.seed) + 2 + int(draw))
    with torch.no_grad():
        out = augment(regs, torch.from_numpy(x), g).numpy()
    labels = data.y_train[:N_SHOWN]
    names = [data.class_names[int(c)] if data.task == "classification" and int(c) < len(data.class_names) else str(c)
             for c in labels]
    return x, out, [describe(s) for s in specs], names


def to_gray(img, lo, hi) -> np.ndarray:
    """Channel 0 of a (C, H, W) image as 0..255 bytes, lo black and hi white (one range for both rows)."""
    span = (hi - lo) or 1.0
    return np.ascontiguousarray(np.clip((img[0] - lo) / span * 255.0, 0, 255).round().astype(np.uint8))


def pixmap(gray: np.ndarray) -> QPixmap:
    h, w = gray.shape
    qimg = QImage(gray.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimg).scaled(CELL, CELL, Qt.KeepAspectRatio, Qt.FastTransformation)


class AugmentationPreview(QDialog):
    """Row 1: originals; row 2: the same images through the augmentation chain; one line says what was applied."""

    def __init__(self, session, parent=None, dataset=None):
        super().__init__(parent)
        self.setObjectName("augmentationPreview")
        self.setWindowTitle("Preview augmentation")
        self.session, self.dataset, self.draw = session, dataset, 0
        self.originals = self.augmented = self.range = None
        lay = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("augmentationSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(6)
        self.cells, self.classes = {}, []
        head = QLabel("class")
        head.setStyleSheet("color: #5b6573;")
        self.grid.addWidget(head, 0, 0, Qt.AlignRight | Qt.AlignVCenter)
        for c in range(N_SHOWN):  # the label each pair trains with: the same above both images
            name = QLabel()
            name.setAlignment(Qt.AlignCenter)
            self.grid.addWidget(name, 0, c + 1)
            self.classes.append(name)
        for r, title in enumerate(("original", "augmented")):
            head = QLabel(title)
            head.setStyleSheet("color: #5b6573;")
            self.grid.addWidget(head, r + 1, 0, Qt.AlignRight | Qt.AlignVCenter)
            for c in range(N_SHOWN):
                cell = QLabel()
                cell.setFixedSize(CELL, CELL)
                cell.setAlignment(Qt.AlignCenter)
                cell.setStyleSheet("border: 1px solid #d3d7dd;")
                self.grid.addWidget(cell, r + 1, c + 1)
                self.cells[r, c] = cell
        lay.addLayout(self.grid)
        self.note = QLabel("Validation and test images are never augmented; the labels stay as they are.")
        self.note.setStyleSheet("color: #5b6573;")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        row = QHBoxLayout()
        self.again = QPushButton("New draw")
        self.again.setObjectName("augmentationNewDraw")
        self.again.setToolTip("Draw new angles, factors and masks for the same eight images.")
        self.again.clicked.connect(self.new_draw)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addStretch(1)
        row.addWidget(self.again)
        row.addWidget(close)
        lay.addLayout(row)
        self.refresh()

    def new_draw(self):
        self.draw += 1
        self.refresh()

    def refresh(self):
        try:
            x, out, applied, names = compute(self.session, self.draw, self.dataset)
        except InvalidInput as e:
            self.originals = self.augmented = None
            self.summary.setText(f"Cannot preview: {e}")
            self.again.setEnabled(False)
            for cell in (*self.cells.values(), *self.classes):
                cell.clear()
            return
        self.originals, self.augmented = x, out
        self.again.setEnabled(bool(applied))
        what = " → ".join(applied) if applied else "no augmentation is set (the Training panel's augmentation rows)"
        self.summary.setText(f"The first {len(x)} training images; below, after {what}. Draw {self.draw + 1}, "
                             f"seed {int(self.session.seed) + 2 + self.draw}.")
        lo, hi = float(min(x.min(), out.min())), float(max(x.max(), out.max()))
        self.range = (lo, hi)
        for c in range(N_SHOWN):
            self.classes[c].setText(names[c] if c < len(names) else "")
            for r, imgs in ((0, x), (1, out)):
                cell = self.cells[r, c]
                if c < len(imgs):
                    cell.setPixmap(pixmap(to_gray(imgs[c], lo, hi)))
                    cell.setToolTip(f"class {names[c]}")
                else:
                    cell.clear()
