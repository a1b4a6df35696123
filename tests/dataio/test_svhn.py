"""SVHN from its MATLAB file: the axis order and the digit 0 stored as 10."""
import numpy as np
import pytest
import scipy.io

from dataio import DataError, read_split


def test_svhn_mat_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)  # SVHN writes the digit 0 as 10
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    data = read_split("svhn", tmp_path)
    assert data.images.shape == (5, 3, 32, 32) and data.images.flags.c_contiguous
    assert np.array_equal(data.images[3], x[..., 3].transpose(2, 0, 1))
    assert data.labels.tolist() == [0, 1, 2, 0, 9] and data.labels.dtype == np.int64
    with pytest.raises(DataError, match="test"):
        read_split("svhn", tmp_path, split="test")
