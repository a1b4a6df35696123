"""The Train page's image folders: which ones the images folder holds, an upload unpacked into a
new one, and what a folder holds before a run reads it (counts, sizes, modes, classes, what is
skipped and why, a grid of examples).

The survey reads each file's header only (size and mode), never its pixels, so a folder of
thousands is surveyed in a second and an image bomb is named, not decoded. It follows the folder
reader's rules (dataio/folder.py): hidden files and folders are ignored, linked folders not
entered, links leading out of the folder skipped; when every image sits in a first-level
subfolder and there are two or more, each is a class (deeper folders belong to theirs).
"""
from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from inference.images import on_checkerboard
from app.paths import images_dir, inside
from dataio.archive import Unpacked, unpack_images
from dataio.folder import EXTENSIONS
from dataio.image_file import ImageRefused, open_header
from inference import image_grid
from studio.files import regular_file

EXAMPLE_PX = 64      # each example in the preview grid: six a row fit the Train form
EXAMPLES = 24


@dataclass
class Survey:
    folder: Path
    images: list[str] = field(default_factory=list)                 # usable images, relative paths, sorted
    sizes: Counter = field(default_factory=Counter)                 # "64×64" -> how many
    modes: Counter = field(default_factory=Counter)                 # "RGBA" -> how many
    classes: dict[str, int] = field(default_factory=dict)           # first-level subfolder -> images ({}: unlabelled)
    unlabelled_because: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (relative path, why)
    transparent: int = 0                                            # images with an alpha channel or transparent colour


def folders() -> list[Path]:
    """The images folder's subfolders (not hidden), sorted by name; [] when it does not exist."""
    root = images_dir()
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def accept_upload(name: str, data: bytes | BinaryIO, size: int | None = None) -> Unpacked:
    """An uploaded zip unpacked into a new folder of the images folder (dataio.archive checks it
    first and writes nothing for a refused one)."""
    return unpack_images(data, images_dir(), name, size=size)


def stamp(folder: Path) -> tuple:
    """What changes when a file is added, removed, replaced or touched: the preview's cache key."""
    entries = []
    for where, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in sorted(files):
            try:
                info = os.stat(os.path.join(where, name))
            except OSError:
                continue
            entries.append((where, name, info.st_size, info.st_mtime_ns))
    return hash(tuple(entries)), len(entries)


def survey(folder: Path) -> Survey:
    folder = Path(folder)
    found = Survey(folder)
    groups = []
    for path, why in _files(folder):
        rel = path.relative_to(folder).as_posix()
        if why is None:
            why = _header_problem(path, found)
        if why is not None:
            found.skipped.append((rel, why))
            continue
        found.images.append(rel)
        groups.append(rel.split("/")[0] if "/" in rel else "")
    found.images.sort(key=lambda rel: rel.split("/"))   # the reader's order: sorted paths
    if found.images and "" in groups:
        found.unlabelled_because = "some images sit directly in the folder, not in a class subfolder"
    elif found.images and len(set(groups)) < 2:
        found.unlabelled_because = "the images are in one subfolder: a class needs company"
    else:
        found.classes = dict(sorted(Counter(groups).items()))
    return found


def examples(found: Survey, n: int = EXAMPLES) -> list[str]:
    """Up to ``n`` images spread over the classes (round robin) and evenly within each."""
    by_class: dict[str, list[str]] = {}
    for rel in found.images:
        by_class.setdefault(rel.split("/")[0] if found.classes else "", []).append(rel)
    spread = [paths[::max(1, len(paths) // n)] for paths in by_class.values()]
    return [p for row in itertools.zip_longest(*spread) for p in row if p][:n]


def example_grid(found: Survey, n: int = EXAMPLES, per_row: int = 6) -> np.ndarray | None:
    """The examples as one RGB grid, each fitted to EXAMPLE_PX, transparency over a checkerboard."""
    tiles = []
    for rel in examples(found, n):
        try:
            with Image.open(found.folder / rel) as image:
                image.draft("RGB", (EXAMPLE_PX, EXAMPLE_PX))
                # small pictures enlarged with crisp pixels, large ones shrunk smoothly
                method = Image.Resampling.NEAREST if min(image.size) <= EXAMPLE_PX else Image.Resampling.LANCZOS
                tile = ImageOps.fit(image.convert("RGBA"), (EXAMPLE_PX, EXAMPLE_PX), method)
                tiles.append(np.asarray(tile))
        except Exception:  # noqa: BLE001, S112 - a file changed since the survey: the grid shows the rest
            continue
    if not tiles:
        return None
    return image_grid(on_checkerboard(np.stack(tiles)), nrow=min(per_row, len(tiles)), padding=2)


def describe(counts: Counter, most: int = 4) -> str:
    """``64×64 (3,700), 32×32 (86)``: the commonest first, the rest counted."""
    shown = ", ".join(f"{key} ({n:,})" for key, n in counts.most_common(most))
    rest = len(counts) - most
    return shown + (f" and {rest} more" if rest > 0 else "")


def _files(folder: Path):
    """(path, None) for each candidate image below ``folder``, (path, why) for each file skipped."""
    for where, subfolders, files in os.walk(folder):   # linked folders are not entered, as in the reader
        subfolders.sort()
        for name in [s for s in subfolders if s.startswith(".")]:
            yield Path(where) / name, "hidden folder"
        subfolders[:] = [s for s in subfolders if not s.startswith(".")]
        for name in sorted(files):
            path = Path(where) / name
            if name.startswith("."):
                yield path, "hidden file"
            elif not name.lower().endswith(EXTENSIONS):
                yield path, f"not an image file ({path.suffix or 'no extension'})"
            elif not inside(path, folder):
                yield path, "a link leading out of the folder"
            elif not regular_file(path):  # opening a pipe to read its header would wait for a writer
                yield path, "not a regular file (a pipe or a device)"
            else:
                yield path, None


def _header_problem(path: Path, found: Survey) -> str | None:
    """Why the file is no usable image, or None after counting its size and mode."""
    try:
        with open_header(path) as image:
            width, height = image.size
            mode = image.mode
            transparent = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    except ImageRefused as refused:
        return str(refused)
    except Exception as error:  # noqa: BLE001 - Pillow's many ways of saying "not an image"
        return f"not a readable image ({type(error).__name__})"
    found.sizes[f"{width}×{height}"] += 1
    found.modes[mode] += 1
    found.transparent += transparent
    return None
