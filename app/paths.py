"""Where the app finds things: the repository, the runs, models and images folders.

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


def images_dir() -> Path:
    """The folders of images the Train page offers, one per dataset; uploaded zips unpack here."""
    return Path(os.environ.get("GAN_STUDIO_IMAGES", "images")).absolute()


def launch_dir() -> Path:
    """Where the app keeps the output of the processes it starts (before their run folder exists)."""
    return runs_dir() / ".launch"


def inside(path: Path, *roots: Path) -> bool:
    """Whether ``path``, links followed, lies within one of ``roots``: a name read from a file
    (a launch log, a link in a run folder) must not lead the app to a file of someone else's."""
    try:
        resolved = Path(path).resolve()
        return any(resolved.is_relative_to(Path(root).resolve()) for root in roots)
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL in a name: not a file of ours
        return False


def refusal(path: Path, where: str) -> str:
    """The message for a file the app will not read, naming where its path really leads."""
    try:
        path = Path(path).resolve()
    except (OSError, RuntimeError):  # a link loop: name the path as it was given
        pass
    return f"refused: {path} lies outside {where}; the app reads only files inside its runs and models folders"


def mtime(path: Path) -> float:
    """A file's modification time, 0 for one deleted while the app looked at it."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
