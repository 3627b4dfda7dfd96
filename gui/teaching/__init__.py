"""Teaching views: backprop step by step, the LR range test, the optimizer sandbox.

Each module is one view over an engine object (``engine.backprop_steps``, ``engine.lr_finder``,
``engine.sandbox``), runnable alone with ``python -m gui.teaching.<module>``; ``menu.py`` puts
them in the window's Teach menu. Nothing here trains the user's run: the LR test works on a copy.
"""
