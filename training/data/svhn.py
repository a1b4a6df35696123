"""SVHN (cropped digits): ``train_32x32.mat`` / ``test_32x32.mat``, as the official site and
torchvision have them. MATLAB stores X as [32, 32, 3, N] and the digit 0 as label 10."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import torch

from training.data import DATASETS, DataError, ImageDataset
from training.data._sources import locate

_SPLITS = ("train", "test")
_EXPECTED = "train_32x32.mat and test_32x32.mat"


@DATASETS.register("svhn")
def load(root: Path | None, split: str, image_size: int | None = None) -> ImageDataset:
    """``image_size`` is unused: the images are 32x32 and load_dataset resizes them."""
    if split not in _SPLITS:
        raise DataError(f"svhn has the splits 'train' and 'test', not {split!r}")

    def find(folder: Path, shared: bool) -> Path | None:
        path = folder / f"{split}_32x32.mat"
        return path if path.is_file() else None

    path, source = locate("svhn", root, split, find, _EXPECTED)
    try:
        mat = scipy.io.loadmat(path, variable_names=("X", "y"))
        x, y = mat["X"], mat["y"].reshape(-1)
    except Exception as error:  # scipy raises several types for a bad file; all mean the same to the user
        raise DataError(f"{path} is not a readable SVHN .mat file ({error}); fetch it again") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"{path}: X has shape {x.shape} and y {len(y)} labels; expected [32, 32, 3, N] and N")
    labels = torch.from_numpy(y.astype(np.int64) % 10)  # 10 means the digit 0
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(3, 2, 0, 1), dtype=np.uint8))
    return ImageDataset(images, labels, [str(digit) for digit in range(10)], "svhn", source)
