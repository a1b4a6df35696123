"""CIFAR-10: the "python version" batches (``cifar-10-batches-py/``), read with a restricted
unpickler: a pickle can run arbitrary code, and these files may come from anywhere, so only the
few numpy names that array pickles need are allowed."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from dataio.registry import DATASETS, DataError, ImageSet
from dataio.sources import locate

_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_FOLDER = "cifar-10-batches-py"
_EXPECTED = f"{_FOLDER}/ (data_batch_1..5, test_batch, batches.meta), or that folder itself"
_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# (module, name) an array pickle refers to. The original files were written by Python 2 with
# numpy.core; numpy 2 moved it to numpy._core (the old name still imports, with a warning).
_ALLOWED = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        module = module.replace("numpy.core.", "numpy._core.")
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as error:  # a corrupt or foreign pickle fails in many ways; all mean "bad file"
        raise DataError(f"{path} is not a CIFAR-10 python batch ({error}); fetch it again") from None


@DATASETS.register("cifar10", description="CIFAR-10 photos: 32x32 RGB, 10 classes, 50,000 train / 10,000 test",
                   fields=("data_root",))
def read(root: Path | None, split: str) -> ImageSet:
    if split not in _FILES:
        raise DataError(f"cifar10 has the splits 'train' and 'test', not {split!r}")

    def find(folder: Path, shared: bool) -> Path | None:
        for candidate in (folder / _FOLDER, folder):
            if all((candidate / name).is_file() for name in _FILES[split]):
                return candidate
        return None

    folder, source = locate("cifar10", root, split, find, _EXPECTED)
    batches = [_unpickle(folder / name) for name in _FILES[split]]
    try:
        data = np.concatenate([np.asarray(batch[b"data"], dtype=np.uint8) for batch in batches])
        labels = np.concatenate([np.asarray(batch[b"labels"], dtype=np.int64) for batch in batches])
    except (KeyError, ValueError) as error:
        raise DataError(f"{folder}: a batch lacks b'data' or b'labels' or has the wrong shape ({error})") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"{folder}: data has shape {data.shape} for {len(labels)} labels; expected [N, 3072]")
    meta = folder / "batches.meta"
    class_names = [n.decode() for n in _unpickle(meta)[b"label_names"]] if meta.is_file() else list(_CLASS_NAMES)
    # Each row is the red plane, then green, then blue, each row-major: exactly [3, 32, 32].
    return ImageSet(data.reshape(-1, 3, 32, 32), labels, class_names, "cifar10", source)
