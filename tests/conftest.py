"""Fixtures shared by several test files."""
import os
from pathlib import Path

import pytest

# The offline MNIST copy lives beside the project, never inside it (see its README).
MNIST_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
# Training subprocesses started by tests find MNIST there too, with no set-up by the person testing.
os.environ.setdefault("GAN_STUDIO_DATA", str(MNIST_ROOT.parent))


@pytest.fixture
def mnist_root() -> Path:
    """The folder with the four MNIST IDX .gz files; skips the test where there is none."""
    if not (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST copy at {MNIST_ROOT}")
    return MNIST_ROOT
