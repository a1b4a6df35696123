"""Hyperparameter search on Optuna: ``python -m training sweep`` (see docs/sweeps.md).

``space``: the search-space file (YAML), checked against the config's field table before any trial
starts. ``study``: Optuna storages and studies (SQLite under the runs folder, or a PostgreSQL/MySQL
URL shared by several machines) and what a study records. ``worker``: one worker process, a trial
at a time, each trial an ordinary run folder (torch, imported only by the command that trains).
``report``: the best trials as a table. Everything here but ``worker`` is torch-free: the app reads
studies through ``study``.
"""
