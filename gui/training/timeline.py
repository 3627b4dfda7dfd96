"""The timeline under the curves: scrub the current run's checkpoints and the whole window shows that moment.

Every training in the window keeps checkpoints (``time_travel.py``). The bar under the plot tabs has a
slider over them, Play/Pause at a chosen speed, **Live** (back to the present) and **Branch from
here**. Moving the slider shows the checkpoint everywhere: decision boundary, neuron maps, weight
histogram, the canvas's edge colours, the loss/accuracy at that checkpoint (in the bar) and a marker
on the loss and accuracy curves. The numbers come from ``engine.time_travel_views.PastViews`` (a copy of
the network with the checkpoint's weights) on a thread of this module; the result is applied on the
GUI thread. The live run is never touched.

While a training runs the bar only counts checkpoints: scrubbing is enabled when the training is
paused, stopped or finished, and Train/Resume first returns the window to Live, so the past never
fights the live updates.
"""
from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from ..elided_label import ElidedLabel
from .state import TrainState
from .time_travel import MiB

S = TrainState
NARROW_WIDTH = 240  # px the bar needs at least (controls on one row, branch and budget on the next)


def _num(v, fmt=".3f"):
    return "—" if v is None or v != v else format(v, fmt)


def moment_text(m, epochs: int) -> str:
    """'Viewing step 120 · epoch 3 of 40 — Live returns · train loss 0.412, acc 0.830 · val …' (the moment first:
    on a narrow dock the numbers wrap to the next line, the words saying it is the past never do)."""
    parts = [f"Viewing step {m.step:,} · epoch {m.epoch} of {epochs} — Live returns"]
    mt = m.metrics
    for split in ("train", "val"):
        loss, acc = mt.get(f"{split}_loss"), mt.get(f"{split}_acc")
        if loss is None:
            continue
        parts.append(f"{split} loss {_num(loss, '.4g')}" + (f", acc {_num(acc)}" if acc is not None else ""))
    return " · ".join(parts)


class TimelineBar(QWidget):
    """The widgets: one row of controls and a line of text when the dock is wide; the branch and budget
    controls move to a row of their own when it is narrow (~340 px in a 1024 px window)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("timeline")
        self.play = QPushButton("Play")
        self.play.setObjectName("timelinePlay")
        self.play.setToolTip("Play the checkpoints from here (Pause stops)")
        self.speed = QSpinBox(minimum=1, maximum=60, value=8, suffix="/s")
        self.speed.setObjectName("timelineSpeed")
        self.speed.setToolTip("Checkpoints shown per second while playing")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("timelineSlider")
        self.slider.setToolTip("The run's checkpoints: dense early, log-spaced later, every epoch end")
        self.slider.setMinimumWidth(40)
        self.live = QPushButton("Live")
        self.live.setObjectName("timelineLive")
        self.live.setToolTip("Show the present again")
        self.branch = QPushButton("Branch")
        self.branch.setObjectName("timelineBranch")
        self.branch.setToolTip("Branch from here: a new run from this checkpoint with the current settings (the old run "
                               "is kept)")
        self.budget = QSpinBox(minimum=1, maximum=4096, value=64, suffix=" MB")
        self.budget.setObjectName("timelineBudget")
        self.budget.setToolTip("Memory the checkpoints of one run may take; older ones are thinned out past it")
        self.text = ElidedLabel()
        self.text.setObjectName("timelineText")
        self.tools = QWidget()
        tl = QHBoxLayout(self.tools)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.branch)
        tl.addWidget(QLabel("keep"))
        tl.addWidget(self.budget)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 2)
        lay.setSpacing(2)
        self.row1, self.row2 = QHBoxLayout(), QHBoxLayout()
        for w in (self.play, self.speed):
            self.row1.addWidget(w)
        self.row1.addWidget(self.slider, 1)
        self.row1.addWidget(self.live)
        self.row2.addWidget(self.tools)
        self.row2.addStretch(1)
        lay.addLayout(self.row1)
        lay.addLayout(self.row2)
        lay.addWidget(self.text)
        lay.setSizeConstraint(QLayout.SetNoConstraint)  # the wide arrangement must not hold the dock wide
        self.wide = False

    def resizeEvent(self, event):
        super().resizeEvent(event)
        controls = sum(w.sizeHint().width() for w in (self.play, self.speed, self.live)) + 110
        wide = self.width() >= controls + self.tools.sizeHint().width()
        if wide != self.wide:
            self.wide = wide
            (self.row2 if wide else self.row1).removeWidget(self.tools)
            (self.row1 if wide else self.row2).insertWidget(-1 if wide else 0, self.tools)

    def minimumSizeHint(self):
        """The narrow arrangement's width: what the bar needs from the dock."""
        hint = super().minimumSizeHint()
        return QSize(NARROW_WIDTH, hint.height())

    def set_text(self, text):
        self.text.setText(text)
        self.text.setToolTip(text)


class _Results(QObject):
    """Lives on the GUI thread; the computing thread emits ``done`` and Qt queues it here."""

    done = Signal(int, object)  # (request number, Moment or an error text)


class _Mailbox:
    """Requests and the cached PastViews shared by the window and the computing thread.

    The thread gets this and the results signal, never the Timeline: a thread holding the last
    reference to a Qt object frees it on the wrong thread, and Qt then crashes (gc_on_gui_thread).
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.want = None  # (request number, run, meta, checkpoint) for the thread
        self.views = None  # (run, PastViews) of the current run's network
        self.thread = None


def _compute_moments(box: _Mailbox, emit):
    """The computing thread: the latest request's Moment, until 30 s pass with none (a new one starts it again)."""
    from engine.time_travel_views import PastViews

    while True:
        with box.cond:
            while box.want is None:
                if not box.cond.wait(30.0) and box.want is None:
                    box.thread = None
                    return
            serial, run, meta, cp = box.want
            box.want = None
        try:
            views = box.views
            if views is None or views[0] is not run:
                with run.snapshot() as tr:  # the copy is taken between two steps
                    views = box.views = (run, PastViews(tr, meta))
            out = views[1].moment(cp)
        except Exception as e:  # noqa: BLE001 - say what went wrong in the bar, never a dead thread
            traceback.print_exc()  # a bug: its traceback on stderr, its one line in the bar
            out = f"Cannot show this checkpoint: {type(e).__name__}: {e}"
        try:
            emit(serial, (cp, out))
        except RuntimeError:  # the window was closed meanwhile: nobody is waiting for it
            return


class Timeline(QObject):
    """The bar's behaviour: which checkpoints, what the window shows, Play, Live and Branch."""

    moment_shown = Signal(object)  # engine.time_travel_views.Moment, once applied to the window

    def __init__(self, live, controller, parent=None):
        super().__init__(parent)
        self.live, self.c = live, controller
        self.bar = TimelineBar()
        self.bar.budget.setValue(controller.checkpoint_budget // MiB)
        self.index = None  # the checkpoint shown (its slider position), None while the window is live
        self.moment = None  # the Moment shown
        self.shown_checkpoint = None
        self._saved = None  # what the views showed live before the first look back
        self._box = _Mailbox()  # what the computing thread shares with the window (never the window itself)
        self._serial = 0
        self.busy = False  # a checkpoint is being computed
        self._results = _Results(self)
        self._results.done.connect(self._on_done)
        self.player = QTimer(self)
        self.player.timeout.connect(self._advance)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(500)
        self._count_timer.timeout.connect(self.refresh)
        b = self.bar
        b.slider.valueChanged.connect(self.show_index)
        b.play.clicked.connect(self.toggle_play)
        b.live.clicked.connect(self.go_live)
        b.branch.clicked.connect(self.branch_here)
        b.budget.valueChanged.connect(self._budget_changed)
        b.speed.valueChanged.connect(lambda v: self.player.setInterval(int(1000 / v)))
        controller.ready.connect(self._on_ready)
        controller.stateChanged.connect(self._on_state)
        controller.progress.connect(self._on_progress)
        controller.finished.connect(lambda _ev: self.refresh())
        self.refresh()

    # -- what can be shown -----------------------------------------------------------------
    def checkpoints(self) -> list:
        rec = self.c.recorder
        return list(rec.checkpoints) if rec is not None else []

    def can_scrub(self) -> bool:
        c = self.c
        return bool(self.checkpoints()) and c.meta is not None and (c.state == S.PAUSED or not c.busy)

    def refresh(self):
        """Slider range, enabled state and the line of text (after a job, a new run, a budget change)."""
        cps, b, c = self.checkpoints(), self.bar, self.c
        ok = self.can_scrub()
        for w in (b.slider, b.play, b.branch):
            w.setEnabled(ok)
        b.live.setEnabled(self.index is not None)
        b.slider.blockSignals(True)
        b.slider.setRange(0, max(len(cps) - 1, 0))
        if self.index is None:
            b.slider.setValue(b.slider.maximum())
        b.slider.blockSignals(False)
        if self.index is not None and self.moment is not None:
            return  # the bar says which moment is shown
        rec = c.recorder
        if rec is not None and rec.note:
            b.set_text(rec.note)
        elif not cps:
            b.set_text(c.checkpoint_note or "Time travel: training keeps checkpoints here; scrub them when paused or "
                       "finished")
        else:
            where = ("scrub when paused or finished" if c.state in (S.RUNNING, S.BUILDING) else
                     "move the slider to look back")
            used = f"{rec.nbytes / MiB:.1f} MB" if rec.nbytes >= 0.1 * MiB else f"{rec.nbytes / 1024:.0f} KB"
            b.set_text(f"Live — time travel: {len(cps)} checkpoints, {used} of {rec.budget / MiB:.0f} MB; {where}")

    @Slot(object)
    def _on_progress(self, _batch):
        if not self._count_timer.isActive():
            self._count_timer.start()  # the count, twice a second at most

    @Slot(object)
    def _on_ready(self, _meta):
        """A new run, reset weights or another document: the views started over, nothing to restore."""
        self.player.stop()
        self.bar.play.setText("Play")
        self._box.views = None
        self._saved, self.index, self.moment, self.shown_checkpoint = None, None, None, None
        self.live.progress_panel.show_present()
        self._markers(None)
        self.refresh()

    @Slot(str)
    def _on_state(self, state):
        if state in (S.RUNNING, S.BUILDING) and self.index is not None:
            self.go_live()  # the live updates take over again
        self.refresh()

    @Slot(int)
    def _budget_changed(self, mb):
        if self.index is not None:
            self.go_live()  # thinning renumbers the checkpoints under the slider
        self.c.set_checkpoint_budget(mb)
        self.refresh()

    # -- looking back --------------------------------------------------------------------------
    @Slot(int)
    def show_index(self, i):
        cps = self.checkpoints()
        if not self.can_scrub() or not 0 <= i < len(cps):
            return
        self.index = i
        self.bar.live.setEnabled(True)
        self.request(cps[i])

    def request(self, cp):
        """Compute ``cp``'s moment on the thread (only the latest request counts)."""
        run, meta, box = self.c.run, self.c.meta, self._box
        with box.cond:
            self._serial += 1
            box.want = (self._serial, run, meta, cp)
            box.cond.notify()
            self.busy = True
            if box.thread is None or not box.thread.is_alive():
                box.thread = threading.Thread(target=_compute_moments, args=(box, self._results.done.emit),
                                              name="time-travel-views", daemon=True)
                box.thread.start()

    @Slot(int, object)
    def _on_done(self, serial, result):
        if serial != self._serial:
            return  # a later request is on its way
        self.busy = False
        cp, m = result
        if isinstance(m, str):
            self.bar.set_text(m)
            return
        if self.index is None or not self.can_scrub():
            return  # Live was pressed, or training resumed, meanwhile
        self._apply(cp, m)

    def _apply(self, cp, m):
        plots, edges = self.live.plots, self.live.edges
        boundary, neurons, weights = plots["Boundary"], plots["Neurons"], plots["Weights"]
        if self._saved is None:
            self._saved = (boundary.frame, neurons.frame, dict(weights.latest), edges.stats)
        if m.boundary is not None:
            boundary.frame = neurons.frame = m.boundary
            boundary.dirty = neurons.dirty = True
        weights.latest = {f"{ls.node}.{ls.param}": ls for ls in m.stats.layers}
        weights.dirty = True
        edges.stats, edges.dirty = m.stats, True
        spe = max(self.c.trainer.steps_per_epoch, 1) if self.c.trainer is not None else 1
        self._markers(m.step / spe)
        self.moment, self.shown_checkpoint = m, cp
        self.bar.set_text(moment_text(m, self.c.run.epoch))
        self.live.progress_panel.show_past(m.step, m.epoch, self.c.run.epoch)
        self.live.hub.wake()
        self.moment_shown.emit(m)

    def _markers(self, x):
        for title in ("Loss", "Accuracy"):
            self.live.plots[title].marker.set(x)

    @Slot()
    def go_live(self):
        """Back to the present: the live views' own last frame, histogram and edge colours again."""
        self.player.stop()
        self.bar.play.setText("Play")
        with self._box.cond:
            self._serial += 1  # a result still on its way is dropped
            self._box.want = None
        self.busy = False
        if self._saved is not None:
            plots, edges = self.live.plots, self.live.edges
            frame, nframe, latest, stats = self._saved
            plots["Boundary"].frame, plots["Neurons"].frame = frame, nframe
            plots["Weights"].latest = latest
            edges.stats = stats
            for v in (plots["Boundary"], plots["Neurons"], plots["Weights"], edges):
                v.dirty = True
            if stats is None:
                self.live.win.scene.clear_edge_styles()
            self.live.hub.wake()
        self._saved, self.index, self.moment, self.shown_checkpoint = None, None, None, None
        self.live.progress_panel.show_present()
        self._markers(None)
        self.refresh()

    # -- play -------------------------------------------------------------------------------
    @Slot()
    def toggle_play(self):
        if self.player.isActive():
            self.player.stop()
            self.bar.play.setText("Play")
            return
        if not self.can_scrub():
            return
        s = self.bar.slider
        if self.index is None or s.value() >= s.maximum():
            s.setValue(0)
            self.show_index(0)
        self.player.start(int(1000 / self.bar.speed.value()))
        self.bar.play.setText("Pause")

    @Slot()
    def _advance(self):
        s = self.bar.slider
        if self.busy:
            return  # the previous checkpoint is still being drawn: no backlog
        if s.value() >= s.maximum() or not self.can_scrub():
            self.toggle_play()
            return
        s.setValue(s.value() + 1)

    # -- branch -----------------------------------------------------------------------------
    @Slot()
    def branch_here(self):
        cps = self.checkpoints()
        if not cps:
            return False
        i = self.index if self.index is not None else len(cps) - 1
        return self.c.branch_from(cps[min(i, len(cps) - 1)])

    def focus(self):
        """Teach ▸ Time Travel: show the plots dock and put the keyboard on the slider."""
        win = self.live.win
        dock = win.docks["plotsDock"]
        dock.show()
        dock.raise_()
        self.bar.slider.setFocus()
        if not self.checkpoints():
            win.statusBar().showMessage("Time travel: press Train — every training keeps checkpoints on the timeline "
                                        "under the curves; scrub it when paused or finished", 10000)
        return self
