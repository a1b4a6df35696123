"""A decoded image folder kept on disk, keyed by the folder's content and the read settings.

Decoding thousands of PNGs or photos takes seconds to minutes; reading them back from one
uncompressed ``.npz`` takes a fraction of a second. The key is a SHA-256 over every image file's
path (relative to the root: moving a file to another class folder changes its label) and the
SHA-256 of its bytes, plus the read settings (size, transparency, background). So a changed,
added, removed or renamed file means a new key and a fresh read, and an untouched folder, whatever
its files' times say, is never decoded twice. Hashing reads every byte once (about 0.1 s for the
3,786 emoji PNGs), still far cheaper than decoding.

Files live in ``$GAN_STUDIO_CACHE/folders/`` (default ``~/.cache/gan-studio/folders/``), named
``<folder and settings>-<content>.npz``: writing a folder's new entry removes its older ones, so an
edited folder does not pile up copies. A damaged entry is read as a miss and replaced.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_ENV = "GAN_STUDIO_CACHE"
_FORMAT = 1  # bump when what an entry holds changes: older entries are then misses
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReadSettings:
    size: int
    transparency: str
    background: str

    def as_key(self) -> str:
        return json.dumps({"format": _FORMAT, "size": self.size, "transparency": self.transparency,
                           "background": self.background.lower()}, sort_keys=True)


@dataclass
class DecodedFolder:
    images: np.ndarray  # uint8 [N, C, H, W]
    labels: np.ndarray  # int64 [N]
    class_names: list[str]
    failures: list[str]  # "path: why" for every file skipped
    files: int  # image files found, read or not


def cache_dir() -> Path:
    base = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "gan-studio")).expanduser()
    return base / "folders"


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes; FileNotFoundError when it vanished since it was listed."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def combine(digests: dict[str, str], settings: ReadSettings) -> str:
    """One key from {relative path: file digest} and the read settings."""
    total = hashlib.sha256(settings.as_key().encode())
    for name in sorted(digests):
        total.update(f"{name}\0{digests[name]}\n".encode())
    return total.hexdigest()


def _prefix(root: Path, settings: ReadSettings) -> str:
    return hashlib.sha256(f"{root.resolve()}\0{settings.as_key()}".encode()).hexdigest()[:16]


def entry_path(root: Path, settings: ReadSettings, key: str) -> Path:
    return cache_dir() / f"{_prefix(root, settings)}-{key[:32]}.npz"


def load(root: Path, settings: ReadSettings, key: str) -> DecodedFolder | None:
    path = entry_path(root, settings, key)
    try:
        with np.load(path, allow_pickle=False) as entry:
            return DecodedFolder(entry["images"], entry["labels"], entry["class_names"].tolist(),
                                 entry["failures"].tolist(), int(entry["files"]))
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or half-copied entry: a miss, rewritten by this read
        return None


def save(root: Path, settings: ReadSettings, key: str, decoded: DecodedFolder) -> Path | None:
    """Write the entry (whole, then renamed: a reader never sees half of one) and remove the
    folder's older entries; a cache that cannot be written costs only time, so no error."""
    path = entry_path(root, settings, key)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, images=decoded.images, labels=decoded.labels,
                 class_names=np.array(decoded.class_names, dtype=str),
                 failures=np.array(decoded.failures, dtype=str), files=np.int64(decoded.files))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    for older in path.parent.glob(f"{_prefix(root, settings)}-*.npz"):
        if older != path:
            older.unlink(missing_ok=True)
    return path
