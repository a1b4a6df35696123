"""Dataset files read into numpy, with no torch: training, evaluation and the app all read data
through here.

    from dataio import DATASETS, DataError, ImageSet, read_split
    split = read_split("mnist", root=None, split="test")  # ImageSet: uint8 [N, C, H, W], int64 labels
    DATASETS.names(); DATASETS.describe("folder").fields   # ("data_root", "image_size")

Each dataset family is one module here that registers its reader (``registry.py`` says how; the
module is imported when its reader is first asked for); ``sources.py`` decides where the files
come from (--data-root, $GAN_STUDIO_DATA, system packages, the download cache). Readers return
the images as stored; resizing and channel conversion for a run happen in ``training.data``.
"""
from __future__ import annotations

from dataio.registry import DATASETS, DataError, ImageSet, read_split

__all__ = ["DATASETS", "DataError", "ImageSet", "read_split"]
