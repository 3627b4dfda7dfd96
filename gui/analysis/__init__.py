"""Understanding a trained model in the window (issue 13): evaluation, explanations, learning curve, sanity checks,
transfer learning.

Each view is a thin widget over ``engine.evaluation`` / ``engine.explain`` / ``engine.sanity_report``: it asks a
``JobRunner`` (``jobs.py``) to compute off the GUI thread on a frozen copy of the current run, and draws the
result when it arrives. ``panel.AnalysisPanel`` puts them in the Plots dock's "Analyze" tab; ``transfer.py`` is
the Import Layers dialog. Every module runs alone: ``python -m gui.analysis.<module>``.
"""
