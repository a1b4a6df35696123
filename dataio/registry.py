"""What every dataset reader returns, the error it raises, and the table of readers by name.

Each dataset family is one module of this package that registers its reader with
``@DATASETS.register(name, description=..., fields=...)``; ``dataio/__init__`` imports every
module, so a new dataset is one new file. ``fields`` names the config fields the reader uses,
so a front end can show them next to the description without reading the code.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from studio.errors import UserError


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


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str  # one line
    fields: tuple[str, ...]  # the config fields its reader uses, e.g. ("data_root", "image_size")


# reader(root, split) -> ImageSet; a reader whose fields include "image_size" also takes image_size.
Reader = Callable[..., ImageSet]


class DatasetRegistry:
    def __init__(self):
        self._readers: dict[str, Reader] = {}
        self._infos: dict[str, DatasetInfo] = {}

    def register(self, name: str, *, description: str, fields: tuple[str, ...]) -> Callable[[Reader], Reader]:
        def add(reader: Reader) -> Reader:
            if name in self._readers:
                raise ValueError(f"dataset {name!r} is registered twice")
            self._readers[name] = reader
            self._infos[name] = DatasetInfo(name, description, tuple(fields))
            return reader

        return add

    def get(self, name: str) -> Reader:
        """The reader; an unknown name raises the DataError that suggests the nearest one."""
        return self._readers[self.describe(name).name]

    def describe(self, name: str) -> DatasetInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise DataError(unknown_name_message("dataset", name, self.names())) from None

    def names(self) -> list[str]:
        return sorted(self._readers)

    def __contains__(self, name: str) -> bool:
        return name in self._readers


DATASETS = DatasetRegistry()


def read_split(name: str, root: str | Path | None = None, split: str = "train",
               image_size: int | None = None) -> ImageSet:
    """Read one split of a dataset as it is stored (see ``sources`` for where from).

    ``image_size`` reaches only the readers that use it (those listing it in their fields: the
    image folder, which scales each photo while reading it); the others return their native
    size, and the caller resizes.
    """
    info = DATASETS.describe(name)
    if image_size is not None and image_size < 1:
        raise DataError(f"image_size must be a positive number of pixels, not {image_size!r}")
    root = Path(root).expanduser() if root is not None else None
    options = {"image_size": image_size} if "image_size" in info.fields else {}
    return DATASETS.get(name)(root, split, **options)


def unknown_name_message(kind: str, name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Valid: {', '.join(valid)}."
