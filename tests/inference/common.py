"""What several inference test modules share: the CLI run as a user runs it, and images as upload bytes."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from tests.helpers import REPO_ROOT


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """``python -m inference ARGS`` in a subprocess, from ``cwd`` (default the repository)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))  # so the package imports from any cwd
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=cwd or REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def png(array: np.ndarray) -> bytes:
    """A uint8 array as the bytes of a PNG file."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()
