"""Where the app finds things: the repository, the runs folder and the models folder.

Read at call time, so tests (and a user's environment) can point them at other folders.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def runs_dir() -> Path:
    return Path(os.environ.get("GAN_STUDIO_RUNS", "runs")).absolute()


def models_dir() -> Path:
    return Path(os.environ.get("GAN_STUDIO_MODELS", REPO / "exported")).absolute()
