"""Experiments in the window: the runs of a session compared, side-by-side variants, cross-validation and
hyperparameter search on Optuna (issue 12).

``runs.RunBook`` records every training of the window's controller; ``runs_panel.RunsPanel`` (the Runs
dock) lists and overlays them. ``window.ExperimentsWindow`` holds the Variants, Cross-validation and
Search views, built on first use from the Experiments menu (``menu.build_experiments_menu``). Each view
module runs alone: ``python -m gui.experiments.<module>``.
"""
