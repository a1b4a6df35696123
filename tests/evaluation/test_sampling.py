"""evaluation/sampling.py: images from an exported generator, seeded, conditional labels cycled."""
from __future__ import annotations

import numpy as np

from evaluation.sampling import asked_labels, cycled_labels, describe, prior_labels, sample_images, sampled_labels
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


def test_prior_labels_keep_the_shares_and_shuffle_them():
    labels = prior_labels(10, [0.5, 0.26, 0.24])
    assert np.bincount(labels).tolist() == [5, 3, 2]  # 2.6 and 2.4: the larger remainder takes the spare one
    assert labels.dtype == np.int64 and np.array_equal(labels, prior_labels(10, [0.5, 0.26, 0.24]))
    many = prior_labels(10_000, [0.7, 0.2, 0.1], seed=3)
    assert np.bincount(many).tolist() == [7_000, 2_000, 1_000]
    assert 0.6 < (many[:1_000] == 0).mean() < 0.8  # spread over the samples, not in blocks


def test_a_clustered_model_is_sampled_in_its_clusters_proportions(tmp_path):
    prior = [0.6, 0.3, 0.1]
    g = Generator.load(make_onnx_generator(tmp_path / "k.onnx", num_classes=3, meta={"class_prior": prior,
                                                                                   "class_names": ["cluster 1", "cluster 2", "cluster 3"]}),
                       device="cpu")
    assert g.class_prior == prior
    labels = sampled_labels(100, g.num_classes, g.class_prior, seed=2)
    assert np.bincount(labels).tolist() == [60, 30, 10]
    assert np.allclose(sample_images(g, 100, seed=2), g.run(g.sample_latent(100, seed=2), labels))
    assert asked_labels(100, g.num_classes, g.class_prior) is None  # a cluster is no class of the data: no label accuracy
    assert describe(g, "k.onnx") == "k.onnx (clusters drawn in the training images' proportions)"
    drawn = g.sample_labels(5_000, seed=1)
    assert abs((drawn == 0).mean() - 0.6) < 0.03 and abs((drawn == 2).mean() - 0.1) < 0.02
