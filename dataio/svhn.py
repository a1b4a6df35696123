"""SVHN (cropped digits): ``train_32x32.mat`` / ``test_32x32.mat``, as the official site and
torchvision have them. MATLAB stores X as [32, 32, 3, N] and the digit 0 as label 10."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from dataio.registry import DATASETS, DataError, ImageSet
from dataio.sources import locate

_SPLITS = ("train", "test")
_EXPECTED = "train_32x32.mat and test_32x32.mat"


@DATASETS.register("svhn", description="SVHN house-number digits (cropped): 32x32 RGB, 10 classes, "
                   "73,257 train / 26,032 test", fields=("data_root",))
def read(root: Path | None, split: str) -> ImageSet:
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
    labels = y.astype(np.int64) % 10  # 10 means the digit 0
    images = np.ascontiguousarray(x.transpose(3, 2, 0, 1), dtype=np.uint8)
    return ImageSet(images, labels, [str(digit) for digit in range(10)], "svhn", source)
