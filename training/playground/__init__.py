"""The 2-D playground: a small MLP GAN on a 2-D target, trained live in its own run folder.

``targets`` (numpy), ``settings`` and ``files`` (the run folder's control and snapshot files) are
torch-free, for the app; ``nets`` and ``loop`` train; ``cli`` is ``python -m training playground``.
"""
