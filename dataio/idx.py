"""MNIST and Fashion-MNIST: the IDX files, read with numpy in one go (a full split in well under a second).

Accepted layouts in a folder: the four files directly in it, gzip-compressed or not (as the
official mirrors, Debian's package and /work/shared/data/mnist have them), or torchvision's
``MNIST/raw/`` / ``FashionMNIST/raw/`` below it.
"""
from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from dataio.registry import DATASETS, DataError, ImageSet
from dataio.sources import locate

_PREFIX = {"train": "train", "test": "t10k"}
_TORCHVISION_DIR = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
_EXPECTED = (
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz (or uncompressed, or torchvision's {dir}/raw/ folder)"
)


def _split_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    prefix = _PREFIX[split]
    images = _first_file(folder, [f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"])
    labels = _first_file(folder, [f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte"])
    return (images, labels) if images and labels else None


def _first_file(folder: Path, stems: list[str]) -> Path | None:
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes as a (writable) array of its declared shape."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"{path} cannot be read ({error}); delete it and fetch it again") from None
    zero, dtype_code, dims = struct.unpack(">HBB", data[:4]) if len(data) >= 4 else (None, None, None)
    if zero != 0 or dtype_code != 0x08 or dims != ndim:
        raise DataError(f"{path} is not an IDX file of {ndim}-D unsigned bytes; is it the right file?")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        raise DataError(f"{path} holds {body.size} bytes where its header promises {math.prod(shape)}; "
                        "it is truncated or corrupt: fetch it again")
    return body.reshape(shape).copy()  # copy: frombuffer's view of bytes is read-only


def _reader(name: str):
    tv_dir = _TORCHVISION_DIR[name]

    def read(root: Path | None, split: str) -> ImageSet:
        if split not in _PREFIX:
            raise DataError(f"{name} has the splits 'train' and 'test', not {split!r}")

        def find(folder: Path, shared: bool) -> Path | None:
            # Both datasets use the same file names, so in a shared folder only the
            # torchvision sub-folder tells which one the files are.
            for candidate in [folder / tv_dir / "raw"] + ([] if shared else [folder]):
                if _split_files(candidate, split):
                    return candidate
            return None

        folder, source = locate(name, root, split, find, _EXPECTED.format(dir=tv_dir))
        images_path, labels_path = _split_files(folder, split)
        images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
        if len(images) != len(labels) or labels.max(initial=0) >= 10:
            raise DataError(f"{images_path} and {labels_path} do not belong together "
                            f"({len(images)} images, {len(labels)} labels, largest label {labels.max(initial=0)})")
        return ImageSet(
            images=images[:, None],
            labels=labels.astype(np.int64),
            class_names=list(_CLASS_NAMES[name]),
            name=name,
            source=source,
        )

    return read


DATASETS.register("mnist", description="MNIST handwritten digits: 28x28 gray, 10 classes, 60,000 train / 10,000 test",
                  fields=("data_root",))(_reader("mnist"))
DATASETS.register("fashion-mnist", description="Fashion-MNIST (Zalando) clothing photos: 28x28 gray, 10 classes, "
                  "60,000 train / 10,000 test", fields=("data_root",))(_reader("fashion-mnist"))
