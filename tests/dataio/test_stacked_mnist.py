"""Stacked MNIST: three MNIST digits per image, every digit image once per channel, the same triples every time."""
import numpy as np

from dataio import read_split


def test_stacked_mnist_stacks_every_digit_once_per_channel(mnist_root):
    mnist = read_split("mnist", mnist_root, split="test")
    data = read_split("stacked-mnist", mnist_root, split="test")
    assert data.images.shape == (10000, 3, 28, 28) and data.images.flags.c_contiguous
    assert data.labels.dtype == np.int64
    assert len(data.class_names) == 1000 and data.class_names[407] == "407"
    assert np.array_equal(data.images[:, 0:1], mnist.images)  # channel 0 in order
    digits = np.stack([data.labels // 100, data.labels // 10 % 10, data.labels % 10])
    for c in range(3):  # each channel is a permutation of the split: every digit image once
        assert np.array_equal(np.bincount(digits[c], minlength=10), np.bincount(mnist.labels, minlength=10))
        # and each channel's image is an MNIST image carrying the digit its label names
        i = int(np.flatnonzero(digits[c] == 7)[0])
        matches = (mnist.images[:, 0] == data.images[i, c]).reshape(len(mnist), -1).all(1)
        assert (mnist.labels[matches] == 7).all() and matches.any()
    assert len(np.unique(data.labels)) > 990  # 10,000 random triples cover nearly all 1,000 modes
    again = read_split("stacked-mnist", mnist_root, split="test")
    assert np.array_equal(again.images, data.images)  # the same triples every time
