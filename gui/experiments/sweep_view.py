"""Hyperparameter search on Optuna in the window: the form, live results, history, parallel coordinates.

Trials live in an Optuna storage: by default a journal file beside the session (``<name>.optuna.journal``),
or any database URL Optuna accepts, so ``main.py sweep-worker --storage URL --study NAME`` on other
machines works on the same study and its trials appear here (the table re-reads the storage every
second). "Apply best" writes the best trial's settings into the document as one undoable edit.
Without Optuna installed, the view says how to install it and starts nothing.
"""
from __future__ import annotations

import os
import tempfile

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from engine.errors import InvalidInput

from ..tables import cell, read_only_table, set_rows
from .common import LiveView, set_running, start_stop_row
from .live import LiveJob
from .sweep_form import SearchForm

POLL_MS = 1000


class _Num(QTableWidgetItem):
    """A table cell that sorts by number."""

    def __init__(self, value, text=None):
        super().__init__(text if text is not None else ("—" if value is None else f"{value:.5g}"))
        self.value = value

    def __lt__(self, other):
        a, b = self.value, getattr(other, "value", None)
        if a is None or b is None:
            return b is not None
        return a < b


class SweepView(LiveView):
    def __init__(self, session_provider, document=None, path_provider=None, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepView")
        self.session_provider, self.doc = session_provider, document
        self.path_provider = path_provider or (lambda: document.path if document is not None else None)
        self.path = "auto"
        self.study = self.definition = self.storage = None
        self.rows: list = []
        self.job = LiveJob(self, self._on_items)
        lay = QVBoxLayout(self)
        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.form = SearchForm()
        ll.addWidget(self.form)
        opts = QFormLayout()
        self.sampler = QComboBox()
        self.sampler.setObjectName("sweepSampler")
        for text, key in (("TPE (Optuna's Bayesian)", "tpe"), ("Random", "random"), ("Grid", "grid")):
            self.sampler.addItem(text, key)
        self.trials = QSpinBox()
        self.trials.setObjectName("sweepTrials")
        self.trials.setRange(0, 10_000)
        self.trials.setValue(20)
        self.trials.setToolTip("Trials to add to the study's queue (0: only watch the study)")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(30)
        self.score = QComboBox()
        self.score.addItem("validation split", 0)
        for k in (3, 5, 10):
            self.score.addItem(f"{k}-fold cross-validation", k)
        self.metric_box = QComboBox()
        for m in ("val_loss", "accuracy", "r2", "f1", "rmse"):
            self.metric_box.addItem(m)
        self.prune = QCheckBox("Prune hopeless trials (median pruner)")
        self.storage_edit = QLineEdit()
        self.storage_edit.setObjectName("sweepStorage")
        self.storage_edit.setPlaceholderText("default: a journal file beside the session")
        self.storage_edit.setToolTip("A journal file, sqlite:///file.db, or any database URL Optuna accepts "
                                     "(postgresql://…): sweep-workers on other machines join the same study")
        self.study_edit = QLineEdit()
        self.study_edit.setPlaceholderText("default: the session's name")
        for label, w in (("Sampler", self.sampler), ("Trials", self.trials), ("Epochs per trial", self.epochs),
                         ("Score on", self.score), ("Metric", self.metric_box), ("", self.prune),
                         ("Storage", self.storage_edit), ("Study", self.study_edit)):
            opts.addRow(label, w)
        ll.addLayout(opts)
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setObjectName("sweepApply")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply_best)
        row, self.start_button, self.stop_button = start_stop_row("Search", "sweepStart", self.start, self.stop,
                                                                  extra=(self.apply_button,))
        ll.addLayout(row)
        self.status = QLabel("Choose what to search, then Search.")
        self.status.setWordWrap(True)
        ll.addWidget(self.status)
        ll.addStretch(1)
        split.addWidget(left)
        right = QSplitter(Qt.Vertical)
        self.table = read_only_table("sweepTable")
        right.addWidget(self.table)
        from .sweep_plots import HistoryPlot, ParallelPlot

        self.history, self.parallel = HistoryPlot(), ParallelPlot()
        right.addWidget(self.history.widget)
        right.addWidget(self.parallel.widget)
        self.table.setMinimumHeight(120)
        for i, stretch in enumerate((3, 2, 2)):  # the table gets the most room: it is what people sort and read
            right.setStretchFactor(i, stretch)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        lay.addWidget(split)
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh)

    # -- storage -----------------------------------------------------------------------------
    def storage_url(self) -> str:
        text = self.storage_edit.text().strip()
        if text:
            return text
        from engine.search import default_storage

        path = self.path_provider()
        return default_storage(path) if path else os.path.join(tempfile.gettempdir(), "nn-playground.optuna.journal")

    def study_name(self) -> str:
        text = self.study_edit.text().strip()
        if text:
            return text
        path = self.path_provider()
        s = self.session_provider()
        return os.path.splitext(os.path.basename(path))[0] if path else (s.name or "untitled")

    # -- running --------------------------------------------------------------------------------
    def start(self):
        try:
            from engine.search import create_study, enqueue, load_study, open_storage, require_optuna

            require_optuna()
            space = self.form.space()
            session = self.session_provider()
            storage = open_storage(self.storage_url())
            folds = self.score.currentData() or None
            name = self.study_name()
            study = create_study(storage, name, session, space, sampler=self.sampler.currentData(),
                                 metric=self.metric_box.currentText(), folds=folds, epochs=self.epochs.value(),
                                 pruner="median" if self.prune.isChecked() else None, path=self.path)
            queued = enqueue(study, self.trials.value(), space, self.sampler.currentData())
            study, definition = load_study(storage, name, seed=session.seed)
        except InvalidInput as e:
            self.status.setText(f"Cannot search: {e}")
            return False
        self.job.stop()
        self.storage, self.study, self.definition = storage, study, definition
        self.refresh()
        self.poll.start()
        if queued == 0:
            self.status.setText(f"Watching study {name!r} in {self.storage_url()}")
            return True
        set_running(self, True)
        self.status.setText(f"Searching: {queued} trials queued in study {name!r} ({self.storage_url()})")
        self.job.start(lambda put, stopped: self._work(study, definition, put))
        return True

    def _work(self, study, definition, put):
        import threading

        from engine.search import work

        stop = threading.Event()
        self.job.stoppers.append(stop.set)
        work(study, definition, None, on_trial=lambda t: put(("trial", t.number)), stop=stop)

    def stop(self):
        self.job.stop_event.set()
        for s in self.job.stoppers:
            s()
        self.status.setText("Stopping after the current trial…")

    def shutdown(self):
        self.poll.stop()
        super().shutdown()

    def _on_items(self, items):
        for item in items:
            if item[0] == "failed":
                self.status.setText(f"The search failed: {item[1]}")
            elif item[0] == "ended":
                set_running(self, False)
                self.refresh()
                best = self.best()
                self.status.setText("Search done" + (f": best {self.definition['metric']} {best['value']:.4g} "
                                                     f"(trial {best['number']})" if best else ""))
        self.refresh()

    # -- results --------------------------------------------------------------------------------
    def best(self):
        from engine.search import best_row

        return best_row(self.study, self.definition) if self.study is not None else None

    def refresh(self):
        """Re-read the study's trials from its storage (other workers' trials appear here)."""
        if self.study is None:
            return
        from engine.search import direction, trial_rows

        try:
            rows = trial_rows(self.study)
        except Exception as e:  # noqa: BLE001 - a storage that went away: say so, keep the last table
            self.status.setText(f"Cannot read the storage: {type(e).__name__}: {e}"[:200])
            return
        space = self.definition["space"]
        if rows != self.rows:
            self.rows = rows
            self._fill_table(rows, list(space))
            minimize = direction(self.definition["metric"]) == "minimize"
            self.history.update(rows, minimize, self.definition["metric"])
            self.parallel.update(rows, space, minimize)
        self.apply_button.setEnabled(self.best() is not None and self.doc is not None)

    def _fill_table(self, rows, paths):
        from .sweep_plots import _short

        headers = ["#", "state", self.definition["metric"]] + [_short(p) for p in paths] + ["seconds"]
        table_rows = []
        for row in rows:
            cells = [_Num(row["number"], str(row["number"])), cell(row["state"]), _Num(row["value"])]
            for p in paths:
                v = row["params"].get(p)
                cells.append(_Num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else cell(v))
            cells.append(_Num(row["seconds"], "—" if row["seconds"] is None else f"{row['seconds']:.1f}"))
            if row.get("error"):
                for item in cells:
                    item.setToolTip(row["error"])
            table_rows.append(cells)
        set_rows(self.table, table_rows, columns=headers)  # sorting is off while the rows go in
        self.table.setSortingEnabled(True)  # from the first trials on: a click on a header sorts by it

    def apply_best(self):
        from engine.search import apply_params

        from .runs import write_session

        best = self.best()
        if best is None or self.doc is None:
            return False
        try:
            s = apply_params(self.doc.session, best["params"])
        except InvalidInput as e:
            self.status.setText(f"Cannot apply trial {best['number']}: {e}")
            return False
        write_session(self.doc, s, f"Apply best trial {best['number']}")
        self.status.setText(f"Applied trial {best['number']} to the document (Edit ▸ Undo takes it back)")
        return True


if __name__ == "__main__":  # python -m gui.experiments.sweep_view: 12 TPE trials on the sample circle
    import sys

    from gui.panels import preview

    from .sample import sample_session

    def make():
        v = SweepView(lambda: sample_session(epochs=5, n=120))
        v.path = "torch"
        v.trials.setValue(12)
        v.epochs.setValue(5)
        v.storage_edit.setText(os.path.join(tempfile.mkdtemp(), "sample.optuna.journal"))
        v.start()
        return v

    sys.exit(preview(make, (1000, 680)))
