"""Images from an exported generator (``inference.Generator``), drawn the way every score assumes:
latents from its seeded sampler (``Generator.sample_latent``, reproducible across machines), and a
conditional generator gets the labels 0, 1, ..., C-1 in turn (a uniform class mix), except one
whose classes are clusters of its images (``class_prior``): it draws them in their proportions,
as it would be sampled without being asked for a class."""
from __future__ import annotations

import numpy as np

from inference import Generator

BATCH = 500


def cycled_labels(n: int, num_classes: int) -> np.ndarray | None:
    """0, 1, ..., C-1, 0, 1, ... (int64 [n]); None for an unconditional generator."""
    return (np.arange(n) % num_classes).astype(np.int64) if num_classes else None


def prior_labels(n: int, prior: list[float], seed: int = 0) -> np.ndarray:
    """n labels (int64), each class as near to its share of ``prior`` as whole counts allow
    (largest remainders), in an order shuffled by ``seed``, so that no latent is tied to a class."""
    shares = np.asarray(prior, dtype=np.float64) * n
    counts = np.floor(shares).astype(np.int64)
    counts[np.argsort(counts - shares, kind="stable")[:n - counts.sum()]] += 1
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(prior)), counts)).astype(np.int64)


def sampled_labels(n: int, num_classes: int, prior: list[float] | None, seed: int = 0) -> np.ndarray | None:
    """The labels every score gives ``n`` samples of a generator (exported or torch): a prior's
    proportions, else cycled; None for an unconditional one."""
    return prior_labels(n, prior, seed) if prior else cycled_labels(n, num_classes)


def asked_labels(n: int, num_classes: int, prior: list[float] | None) -> np.ndarray | None:
    """The labels scores may hold samples to (label accuracy): a cluster is not a class of the data."""
    return None if prior else cycled_labels(n, num_classes)


def describe(generator: Generator, name: str) -> str:
    """How a report names the images' source, e.g. "mnist-cgan.onnx (conditional, labels cycled)"."""
    if generator.class_prior:
        return f"{name} (clusters drawn in the training images' proportions)"
    return f"{name} ({'conditional, labels cycled' if generator.conditional else 'unconditional'})"


def sample_images(generator: Generator, n: int, seed: int = 0, batch: int = BATCH) -> np.ndarray:
    """n images, the raw output float32 [N, C, H, W] in the generator's output_range."""
    z = generator.sample_latent(n, seed=seed)
    labels = sampled_labels(n, generator.num_classes, generator.class_prior, seed)
    parts = []
    for start in range(0, n, batch):
        parts.append(generator.run(z[start:start + batch], None if labels is None else labels[start:start + batch]))
    return np.concatenate(parts)
