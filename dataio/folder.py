"""Your own images: any folder, searched recursively.

When the images sit in two or more of the root's immediate subfolders (and none directly in the
root), each subfolder is a class, in sorted order; otherwise the set is unlabelled. Every image is scaled so
that its short side is ``image_size`` (64 when not given) and centre-cropped while it is read, so
a folder of large photos never sits in memory at full size. A folder has no splits: every split
returns all its images.

Hidden files and folders (``.ipynb_checkpoints``...) are ignored; symlinked folders are not
entered, and linked files that resolve outside the root are skipped, so a dataset cannot read
beyond the folder it was pointed at.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from dataio.registry import DATASETS, DataError, ImageSet
from dataio.sources import env_root

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
DEFAULT_SIZE = 64
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


@DATASETS.register("folder", description="Your own images (one subfolder per class when labelled), "
                   "scaled to image_size while read", fields=("data_root", "image_size"))
def read(root: Path | None, split: str, image_size: int | None = None) -> ImageSet:
    size = image_size or DEFAULT_SIZE
    if root is None:
        env = env_root()
        root = env / "folder" if env is not None and (env / "folder").is_dir() else None
    if root is None:
        raise DataError("the folder dataset reads your own images: pass --data-root DIR (one subfolder "
                        "per class if they are labelled), or put them in $GAN_STUDIO_DATA/folder/")
    if not root.is_dir():
        raise DataError(f"--data-root {root} is not a folder")

    paths, outside = _image_files(root)
    if not paths:
        raise DataError(f"no images in {root} or its subfolders (looked for {', '.join(EXTENSIONS)})"
                        + (f"; {outside} links pointing outside it were not followed" if outside else ""))
    labelled = all(len(path.relative_to(root).parts) > 1 for path in paths)

    arrays, groups, failures = [], [], []
    for path in paths:
        try:
            arrays.append(_read(path, size))
        except Exception as error:  # one bad file must not stop thousands of good ones: count, report, go on
            failures.append(f"{path.relative_to(root)}: {error}")
            continue
        groups.append(path.relative_to(root).parts[0] if labelled else "")
    if failures:
        warnings.warn(f"{root}: skipped {len(failures)} of {len(paths)} files that are not readable images "
                      f"(first: {failures[0]})", stacklevel=2)
    if outside:
        warnings.warn(f"{root}: skipped {outside} links that point outside it", stacklevel=2)
    if not arrays:
        raise DataError(f"none of the {len(paths)} image files in {root} could be read (first: {failures[0]})")

    # Gray only when every image is gray; otherwise gray ones are repeated into RGB.
    if any(a.ndim == 3 for a in arrays):
        arrays = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
        images = np.stack(arrays).transpose(0, 3, 1, 2)
    else:
        images = np.stack(arrays)[:, None]
    # One subfolder is just where the images live, not a labelling.
    class_names = sorted(set(groups)) if labelled and len(set(groups)) > 1 else []
    index = {name: i for i, name in enumerate(class_names)}
    labels = [index.get(group, 0) for group in groups]
    return ImageSet(
        images=np.ascontiguousarray(images),
        labels=np.array(labels, dtype=np.int64),
        class_names=class_names,
        name="folder",
        source=str(root),
    )


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
            if path.resolve().is_relative_to(resolved_root):
                paths.append(path)
            else:
                outside += 1
    return sorted(paths), outside


def _read(path: Path, size: int) -> np.ndarray:
    """[size, size] for a gray image, [size, size, 3] otherwise."""
    with Image.open(path) as image:
        # JPEGs can decode at 1/2, 1/4 or 1/8 scale directly: much faster for large photos.
        image.draft(None, (size, size))
        palette = image.mode == "P"
        image = image.convert("L" if image.mode in _GRAY_MODES else "RGB")  # a GIF's first frame
        image = ImageOps.fit(image, (size, size), method=Image.Resampling.BICUBIC)
        pixels = np.asarray(image)
    # GIFs are always palette images: one whose colours are all gray counts as gray.
    if palette and (pixels == pixels[:, :, :1]).all():
        return np.ascontiguousarray(pixels[:, :, 0])
    return pixels
