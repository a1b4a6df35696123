"""Images from an exported generator (``inference.Generator``), drawn the way every score assumes:
latents from its seeded sampler (``Generator.sample_latent``, reproducible across machines), and a
conditional generator gets the labels 0, 1, ..., C-1 in turn (a uniform class mix)."""
from __future__ import annotations

import numpy as np

from inference import Generator

BATCH = 500


def cycled_labels(n: int, num_classes: int) -> np.ndarray | None:
    """0, 1, ..., C-1, 0, 1, ... (int64 [n]); None for an unconditional generator."""
    return (np.arange(n) % num_classes).astype(np.int64) if num_classes else None


def describe(generator: Generator, name: str) -> str:
    """How a report names the images' source, e.g. "mnist-cgan.onnx (conditional, labels cycled)"."""
    return f"{name} ({'conditional, labels cycled' if generator.conditional else 'unconditional'})"


def sample_images(generator: Generator, n: int, seed: int = 0, batch: int = BATCH) -> np.ndarray:
    """n images, the raw output float32 [N, C, H, W] in the generator's output_range."""
    z = generator.sample_latent(n, seed=seed)
    labels = cycled_labels(n, generator.num_classes)
    parts = []
    for start in range(0, n, batch):
        parts.append(generator.run(z[start:start + batch], None if labels is None else labels[start:start + batch]))
    return np.concatenate(parts)
