"""The Sanity checks button (lecture 003): loss at initialisation vs ln C, overfitting a handful of samples,
and a gradient check against finite differences, each with a verdict and what to fix.

They judge the set-up (network, data, loss, optimizer), not a trained run: each builds its own fresh
network from the document's settings in the background (``engine.sanity_report``).
"""
from __future__ import annotations

from PySide6.QtWidgets import QHeaderView

from ..tables import add_row, cell, read_only_table
from .base import SettingsView

COLOURS = {"pass": "#1e7b34", "fail": "#b3261e", "warn": "#a15c00", "skipped": "#5b6573"}
MARKS = {"pass": "✓ pass", "fail": "✗ fail", "warn": "! check", "skipped": "– skipped"}


class SanityView(SettingsView):
    title = "Sanity checks"
    button_text = "Run Sanity Checks"
    export_kinds = ("csv",)  # a table, no plot
    needs = ("Checks the set-up before you tune anything: the loss of the untrained network against ln C, "
             "whether it can memorise 4 samples, and backprop's gradient against finite differences.")

    def __init__(self, run_provider=None, parent=None, session_provider=None):
        super().__init__(run_provider, parent, session_provider)
        self.button.setObjectName("sanityButton")
        self.finish_bar()
        self.table = read_only_table("sanityTable", ["check", "verdict", "measured", "what it means / what to fix"],
                                     stretch=(3,), word_wrap=True)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Interactive)  # long: a width to wrap in
        self.table.setColumnWidth(2, 260)
        self.body.addWidget(self.table, 1)
        self.checks: list = []

    def job(self, session):
        if session is None:
            return None
        from engine.sanity_report import run_checks

        s = session.copy()
        self.checks = []
        self.table.setRowCount(0)
        return lambda progress, stop: run_checks(s, should_stop=stop, on_check=progress)

    def on_progress(self, check):
        self._add(check)
        self.set_status(f"Running… {len(self.checks)} of 3 done")

    def _add(self, check):
        self.checks.append(check)
        verdict = cell(MARKS.get(check.verdict, check.verdict), foreground=COLOURS.get(check.verdict, "#000"))
        add_row(self.table, (check.name, verdict, check.value, check.advice), tooltips=True)
        self.table.resizeRowsToContents()

    def show_result(self, checks):
        if len(self.checks) != len(checks):  # progress was dropped (a fast job): show the final list
            self.checks = []
            self.table.setRowCount(0)
            for c in checks:
                self._add(c)
        failed = [c.name for c in checks if c.verdict == "fail"]
        self.set_status("All checks passed." if not failed else f"Failed: {', '.join(failed)} — see what to fix.")

    def export_item(self):
        return None

    def csv_table(self):
        return (["check", "verdict", "measured", "advice"],
                [[c.name for c in self.checks], [c.verdict for c in self.checks], [c.value for c in self.checks],
                 [c.advice for c in self.checks]])


if __name__ == "__main__":
    from .sample import show_alone

    raise SystemExit(show_alone(SanityView))
