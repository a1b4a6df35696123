"""What every dataset reader returns, the error it raises, and the table of readers by name.

Each dataset family is one module of this package that registers its reader with
``@DATASETS.register(name, description=..., fields=...)`` (``studio.registry``: listed from the
source, the module imported when its reader is asked for), so a new dataset is one new file.
``fields`` names the config fields the reader uses, so a front end can show them next to the
description without reading the code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from studio.errors import UserError
from studio.registry import Registry


class DataError(UserError):
    """The data is missing or malformed; the message says what is wrong and how to fix it."""


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 [N, C, H, W] at the files' own size and channel count
    labels: np.ndarray  # int64 [N]; all zeros when unlabelled
    class_names: list[str]  # [] when unlabelled
    name: str  # the registry name
    source: str  # where it was read from

    def __post_init__(self):
        # Catch a reader's mistake here rather than as a shape error deep inside training. Dtypes
        # are compared by name ("uint8", "torch.uint8"), so that training's ImageDataset, this
        # class holding torch tensors, shares the check without dataio knowing torch.
        if _dtype_name(self.images) != "uint8" or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {list(self.images.shape)}")
        if _dtype_name(self.labels) != "int64" or tuple(self.labels.shape) != (len(self.images),):
            raise ValueError(f"labels must be int64 [{len(self.images)}], got {self.labels.dtype} {list(self.labels.shape)}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _dtype_name(array) -> str:
    return str(array.dtype).removeprefix("torch.")


# reader(root, split) -> ImageSet; a reader whose fields include "image_size" (or "transparency",
# "background") also takes it as a keyword.
Reader = Callable[..., ImageSet]
# An unknown name is the user's to fix: a DataError naming the nearest dataset.
DATASETS: Registry[Reader] = Registry("dataset", "dataio", "DATASETS", unknown=DataError)


def read_split(name: str, root: str | Path | None = None, split: str = "train",
               image_size: int | None = None, transparency: str | None = None,
               background: str | None = None) -> ImageSet:
    """Read one split of a dataset as it is stored (see ``sources`` for where from).

    ``image_size``, ``transparency`` and ``background`` reach only the readers that use them
    (those listing them in their fields: the image folder, which scales each photo while reading
    it and blends or keeps its transparency); the others return their native size and channels,
    and the caller converts.
    """
    info = DATASETS.describe(name)
    if image_size is not None and image_size < 1:
        raise DataError(f"image_size must be a positive number of pixels, not {image_size!r}")
    root = Path(root).expanduser() if root is not None else None
    given = {"image_size": image_size, "transparency": transparency, "background": background}
    options = {key: value for key, value in given.items() if key in info.fields and value is not None}
    return DATASETS.get(name)(root, split, **options)
