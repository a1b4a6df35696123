"""MNIST and Fashion-MNIST from their IDX files: the real sets, the accepted layouts, and broken files."""
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from dataio import DataError, read_split, sources

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray) -> None:
    data = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_tiny_mnist(folder: Path, suffix: str = ".gz", n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 28, 28)), np.arange(n) % 10
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


def test_mnist_train_is_the_real_set(mnist_root):
    data = read_split("mnist", mnist_root)
    assert data.images.shape == (60000, 1, 28, 28)
    assert data.images.dtype == np.uint8 and data.images.flags.c_contiguous
    assert data.labels.dtype == np.int64
    assert np.bincount(data.labels).tolist() == MNIST_TRAIN_COUNTS
    assert data.class_names == [str(d) for d in range(10)]
    assert (data.name, data.source) == ("mnist", str(mnist_root))
    assert 0.125 < data.images.mean() / 255 < 0.135  # MNIST's well-known mean 0.1307


def test_mnist_test_split_as_stored(mnist_root):
    data = read_split("mnist", str(mnist_root), split="test", image_size=32)  # the size is not the reader's job
    assert data.images.shape == (10000, 1, 28, 28) and len(data) == 10000 and data.num_classes == 10


@pytest.mark.skipif(not (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_system_package():
    data = read_split("fashion-mnist", split="test")
    assert data.source == str(FASHION_SYSTEM_DIR)
    assert data.images.shape == (10000, 1, 28, 28)
    assert np.bincount(data.labels).tolist() == [1000] * 10
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"


def test_idx_in_torchvision_layout_uncompressed(tmp_path):
    images, labels = write_tiny_mnist(tmp_path / "FashionMNIST" / "raw", suffix="")
    data = read_split("fashion-mnist", tmp_path)
    assert data.source == str(tmp_path / "FashionMNIST" / "raw")
    assert np.array_equal(data.images[:, 0], images)
    assert np.array_equal(data.labels, labels)


def test_env_variable_and_its_shared_folder(tmp_path, monkeypatch):
    env = tmp_path / "datasets"
    monkeypatch.setenv("GAN_STUDIO_DATA", str(env))
    write_tiny_mnist(env / "mnist")
    assert read_split("mnist").source == str(env / "mnist")
    # IDX files lying directly in $GAN_STUDIO_DATA could be MNIST or Fashion-MNIST (same
    # names), so they are not taken from there; torchvision's sub-folder names which it is.
    write_tiny_mnist(env)
    monkeypatch.setattr(sources, "SYSTEM_DIRS", [tmp_path / "no-system"])
    with pytest.raises(DataError):
        read_split("fashion-mnist")
    write_tiny_mnist(env / "FashionMNIST" / "raw")
    assert read_split("fashion-mnist").source == str(env / "FashionMNIST" / "raw")


def test_truncated_idx_file_is_named(tmp_path):
    write_tiny_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    with pytest.raises(DataError, match="truncated"):
        read_split("mnist", tmp_path)


def test_unknown_split_names_the_valid_ones():
    with pytest.raises(DataError, match="'train' and 'test'"):
        read_split("mnist", split="validation")
