"""Training in the window: a thin Qt adapter over ``engine.Run``.

``state``      the controller's states and their transition table (no flags)
``worker``     a QObject on a QThread relaying a Run's events as coalesced progress signals
``controller`` what the Train menu drives: one Run at a time, earlier runs kept in ``past_runs``
``sync``       document edits -> ``run.request(...)``, or "this needs a new run" (asked, never silent)
``replay``     a reopened run's history as one progress batch, so the plots show it
``live_views`` the plots, progress and diagnostics docks and their menus
"""
