"""evaluation/sampling.py: images from an exported generator, seeded, conditional labels cycled."""
from __future__ import annotations

import numpy as np

from evaluation.sampling import cycled_labels, describe, sample_images
from inference import Generator

from tests.helpers import make_onnx_generator


def test_labels_cycle_through_the_classes():
    assert cycled_labels(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0] and cycled_labels(7, 3).dtype == np.int64
    assert cycled_labels(5, 0) is None


def test_samples_are_seeded_and_drawn_in_batches(tmp_path):
    g = Generator.load(make_onnx_generator(tmp_path / "c.onnx", num_classes=10), device="cpu")
    images = sample_images(g, 23, seed=4, batch=5)
    assert images.shape == (23, 1, 28, 28) and images.dtype == np.float32
    assert np.array_equal(images, sample_images(g, 23, seed=4, batch=23))  # batching changes nothing
    assert not np.array_equal(images, sample_images(g, 23, seed=5))
    z = g.sample_latent(23, seed=4)
    assert np.allclose(images, g.run(z, cycled_labels(23, 10)))
    assert describe(g, "c.onnx") == "c.onnx (conditional, labels cycled)"
