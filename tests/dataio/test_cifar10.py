"""CIFAR-10 from its python batches, and the restricted unpickler that refuses anything but arrays."""
import pickle
from pathlib import Path

import numpy as np
import pytest

from dataio import DataError, read_split


def write_cifar(folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    written = {}
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        batch = {b"batch_label": name.encode(), b"labels": [i, 1, 2, 3], b"data": data}
        raw = pickle.dumps(batch, protocol=2)
        if i == 0:  # the original files were pickled by Python 2 with numpy's old module name
            raw = raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
        (folder / name).write_bytes(raw)
        written[name] = data
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
    return written


def test_cifar10_python_batches(tmp_path):
    written = write_cifar(tmp_path / "cifar-10-batches-py")
    train = read_split("cifar10", tmp_path)
    assert train.images.shape == (20, 3, 32, 32)
    assert train.labels[::4].tolist() == [0, 1, 2, 3, 4]
    pixels = written["data_batch_1"][1]
    assert np.array_equal(train.images[1], pixels.reshape(3, 32, 32))
    assert train.images[1, 0, 0, 1] == pixels[1]  # red plane first, row-major
    assert train.images[1, 2, 31, 31] == pixels[3071]  # blue plane last
    assert train.class_names[3] == "cat"
    test = read_split("cifar10", tmp_path / "cifar-10-batches-py", split="test")  # the folder itself
    assert len(test) == 4 and test.labels.tolist() == [5, 1, 2, 3]


def test_cifar10_refuses_a_pickle_that_runs_code(tmp_path):
    write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DataError, match="refusing"):
        read_split("cifar10", tmp_path, split="test")
