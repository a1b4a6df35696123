"""A file's SHA-256, read in 1 MiB blocks: what ties an encoder to its generator and names cached
evaluator outputs after the network that made them."""
from __future__ import annotations

import hashlib
import os

from studio.files import open_regular


def file_sha256(path: str | os.PathLike) -> str:
    """FileRefused for a pipe or a device (whose read would wait, or never end)."""
    digest = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
