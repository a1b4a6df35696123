"""Your own images: any folder, searched recursively, decoded once and cached.

When the images sit in two or more of the root's immediate subfolders (and none directly in the
root), each first-level subfolder is a class, in sorted order (deeper folders belong to their
first-level one); otherwise the set is unlabelled. Every image is scaled so that its short side is
``image_size`` (64 when not given) and centre-cropped while it is read, so a folder of large
photos never sits in memory at full size; transparency is blended over a background colour or
kept as a 4th channel (``dataio.image_file`` says how each kind of file is read). A folder has
no splits: every split returns all its images.

A folder of ``CACHE_MIN_FILES`` images or more is decoded once and kept in the cache
(``dataio.folder_cache``), keyed by its files' content and the read settings: ``fingerprint``
gives that key, for anything else computed from a folder (its reference statistics).

Hidden files and folders (``.ipynb_checkpoints``...) are ignored; symlinked folders are not
entered, and linked files that resolve outside the root are skipped, so a dataset cannot read
beyond the folder it was pointed at. A file that cannot be read (not an image, an image bomb, a
file that vanished while the folder was read) is skipped, and the skips are counted in a warning
with the first reason.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from dataio import folder_cache
from dataio.folder_cache import DecodedFolder, ReadSettings
from dataio.image_file import DEFAULT_BACKGROUND, DEFAULT_TRANSPARENCY, TRANSPARENCY_MODES, decode, parse_colour
from dataio.registry import DATASETS, DataError, ImageSet
from dataio.sources import env_root
from studio.files import regular_file

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
DEFAULT_SIZE = 64
# Below this many files decoding takes well under a second: no cache entry (nor hashing) is worth it.
CACHE_MIN_FILES = 200


@DATASETS.register("folder", description="Your own images (one subfolder per class when labelled), "
                   "scaled to image_size while read; transparency composited or kept as alpha",
                   fields=("data_root", "image_size", "transparency", "background"))
def read(root: Path | None, split: str, image_size: int | None = None, transparency: str | None = None,
         background: str | None = None) -> ImageSet:
    root = _find_root(root)
    settings = read_settings(image_size, transparency, background)
    paths, outside = _image_files(root)
    if not paths:
        raise DataError(f"no images in {root} or its subfolders (looked for {', '.join(EXTENSIONS)})"
                        + (f"; {outside} links pointing outside it were not followed" if outside else ""))
    decoded = None
    if len(paths) >= CACHE_MIN_FILES:
        key = folder_cache.combine(_digests(root, paths), settings)
        decoded = folder_cache.load(root, settings, key)
    if decoded is None:
        decoded, digests = _decode_all(root, paths, settings)
        if len(paths) >= CACHE_MIN_FILES:
            # Keyed by the bytes actually decoded: a file edited mid-read gives the entry its new key.
            folder_cache.save(root, settings, folder_cache.combine(digests, settings), decoded)
    if decoded.failures:
        warnings.warn(f"{root}: skipped {len(decoded.failures)} of {decoded.files} files that are not readable "
                      f"images (first: {decoded.failures[0]})", stacklevel=2)
    if outside:
        warnings.warn(f"{root}: skipped {outside} links that point outside it", stacklevel=2)
    return ImageSet(images=decoded.images, labels=decoded.labels, class_names=decoded.class_names,
                    name="folder", source=str(root))


def read_settings(image_size: int | None = None, transparency: str | None = None,
                  background: str | None = None) -> ReadSettings:
    """The settings as the reader uses them (defaults filled in), checked: a DataError says what is wrong."""
    transparency = transparency or DEFAULT_TRANSPARENCY
    background = background or DEFAULT_BACKGROUND
    if transparency not in TRANSPARENCY_MODES:
        raise DataError(f"transparency must be one of {', '.join(TRANSPARENCY_MODES)}, not {transparency!r}")
    try:
        parse_colour(background)
    except ValueError as error:
        raise DataError(f"background: {error}") from None
    return ReadSettings(image_size or DEFAULT_SIZE, transparency, background.lower())


def fingerprint(root: str | Path, image_size: int | None = None, transparency: str | None = None,
                background: str | None = None) -> str:
    """SHA-256 hex of the folder's image files (paths and bytes) and the read settings: equal
    exactly when reading the folder with these settings gives the same images and labels."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    paths, _ = _image_files(root)
    return folder_cache.combine(_digests(root, paths), read_settings(image_size, transparency, background))


def _find_root(root: Path | None) -> Path:
    if root is None:
        env = env_root()
        root = env / "folder" if env is not None and (env / "folder").is_dir() else None
    if root is None:
        raise DataError("the folder dataset reads your own images: pass --data-root DIR (one subfolder "
                        "per class if they are labelled), or put them in $GAN_STUDIO_DATA/folder/")
    if not root.is_dir():
        raise DataError(f"--data-root {root} is not a folder")
    return root


def _digests(root: Path, paths: list[Path]) -> dict[str, str]:
    """{path relative to root: SHA-256 of its bytes}; a file that vanished since it was listed is left out."""
    digests = {}
    for path in paths:
        try:
            digests[path.relative_to(root).as_posix()] = folder_cache.file_digest(path)
        except OSError:  # gone or unreadable: the decode pass skips it with its reason
            continue
    return digests


def _decode_all(root: Path, paths: list[Path], settings: ReadSettings) -> tuple[DecodedFolder, dict[str, str]]:
    labelled = all(len(path.relative_to(root).parts) > 1 for path in paths)
    background = parse_colour(settings.background)
    arrays, groups, failures, digests = [], [], [], {}
    for path in paths:
        name = path.relative_to(root).as_posix()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            failures.append(f"{name}: vanished while the folder was being read")
            continue
        except OSError as error:
            failures.append(f"{name}: cannot be read ({error.strerror or error})")
            continue
        digests[name] = hashlib.sha256(data).hexdigest()
        try:
            arrays.append(decode(data, settings.size, settings.transparency, background))
        except Exception as error:  # one bad file must not stop thousands of good ones: count, report, go on
            failures.append(f"{name}: {error}")
            continue
        groups.append(path.relative_to(root).parts[0] if labelled else "")
    if not arrays:
        raise DataError(f"none of the {len(paths)} image files in {root} could be read (first: {failures[0]})")
    return DecodedFolder(_stack(arrays), *_labels(groups, labelled), failures, len(paths)), digests


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    """[N, C, H, W]: gray only when every image is gray; otherwise gray ones are repeated into RGB.
    (Under transparency=alpha every array is already RGBA.)"""
    if any(a.ndim == 3 for a in arrays):
        arrays = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
        return np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))
    return np.ascontiguousarray(np.stack(arrays)[:, None])


def _labels(groups: list[str], labelled: bool) -> tuple[np.ndarray, list[str]]:
    # One subfolder is just where the images live, not a labelling.
    class_names = sorted(set(groups)) if labelled and len(set(groups)) > 1 else []
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index.get(group, 0) for group in groups], dtype=np.int64), class_names


def _image_files(root: Path) -> tuple[list[Path], int]:
    """Image files below ``root`` in sorted order, and how many links pointing outside were skipped."""
    resolved_root = root.resolve()
    paths, outside = [], 0
    for folder, subfolders, files in os.walk(root):  # does not enter symlinked folders
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if name.startswith(".") or not name.lower().endswith(EXTENSIONS):
                continue
            path = Path(folder) / name
            if not regular_file(path):  # a pipe or a device named x.png: reading it would wait, or never end
                continue
            if path.resolve().is_relative_to(resolved_root):
                paths.append(path)
            else:
                outside += 1
    return sorted(paths), outside
