"""training/data/clusters.py: classes found in unlabelled images (the ``clusters`` setting)."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.data.clusters import cluster_proportions, find_clusters
from training.data.dataset import DataError, data_key, load_for_config


def _three_kinds(sizes=(30, 20, 10), side=28):
    """Bright top halves, bright left halves and dark images with noise: three groups, told by shape."""
    generator = torch.Generator().manual_seed(0)
    kinds = []
    for kind, n in enumerate(sizes):
        images = torch.randint(0, 40, (n, 1, side, side), generator=generator, dtype=torch.uint8)
        if kind == 0:
            images[..., : side // 2, :] += 200
        elif kind == 1:
            images[..., :, : side // 2] += 200
        kinds.append(images)
    truth = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
    order = torch.randperm(len(truth), generator=generator)
    return torch.cat(kinds)[order], truth[order]


def test_clusters_find_the_groups_numbered_by_size_the_same_every_time():
    images, truth = _three_kinds()
    found = find_clusters(images, 3)
    assert torch.equal(found, truth)  # the largest group is cluster 0, the smallest cluster 2
    assert torch.equal(find_clusters(images, 3), found) and found.dtype == torch.int64
    assert cluster_proportions(found, 3) == pytest.approx([0.5, 1 / 3, 1 / 6])


def test_more_clusters_than_groups_still_gives_every_cluster_images():
    images, _ = _three_kinds()
    found = find_clusters(images, 8)
    assert torch.bincount(found, minlength=8).min() >= 1


def test_more_clusters_than_images_is_a_clear_error():
    images, _ = _three_kinds((2, 1, 1))
    with pytest.raises(DataError, match="clusters=5 needs at least 5 images; the data has 4"):
        find_clusters(images, 5)


def test_clusters_need_a_conditional_model_and_two_of_them():
    with pytest.raises(configs.ConfigError, match="set conditional=true"):
        configs.resolve("dcgan-mnist", ["clusters=10"])
    with pytest.raises(configs.ConfigError, match="clusters=1 is one class"):
        configs.resolve("dcgan-mnist", ["clusters=1", "conditional=true"])


def test_a_clustered_config_trains_on_mnist_labelled_by_its_clusters(mnist_root):
    config = configs.resolve("dcgan-mnist-first-run", ["clusters=10", f"data_root={mnist_root}"])
    data = load_for_config(config)
    assert data.class_names == [f"cluster {i}" for i in range(1, 11)]
    counts = torch.bincount(data.labels, minlength=10)
    assert counts.tolist() == sorted(counts.tolist(), reverse=True) and counts.min() > 1_000
    digits = load_for_config(configs.resolve("dcgan-mnist-first-run", [f"data_root={mnist_root}"]))
    assert not torch.equal(data.labels, digits.labels)  # found, not read: k-means groups by shape
    assert data_key(config) != data_key(configs.resolve("dcgan-mnist-first-run", [f"data_root={mnist_root}"]))
