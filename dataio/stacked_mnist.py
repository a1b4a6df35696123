"""Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three MNIST digits as the three channels of one
image, so the data has 10^3 = 1,000 modes, and a generator's mode coverage can be counted by
classifying each channel (bench/modes_stacked.py).

Each split stacks MNIST's own images: channel 0 takes the split in order, channels 1 and 2 two fixed
permutations of it, so every digit image appears once per channel and the same triples come back
on every machine. The label is the three-digit mode, 100*d0 + 10*d1 + d2, class name "d0d1d2".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dataio.registry import DATASETS, ImageSet

SEED = 2017  # the triples are part of the dataset's definition: never change it


@DATASETS.register("stacked-mnist", description="Three MNIST digits as the three channels of one 28x28 image: "
                   "1,000 modes, for counting mode coverage", fields=("data_root",))
def read(root: Path | None, split: str) -> ImageSet:
    mnist = DATASETS.get("mnist")(root, split)
    n = len(mnist)
    rng = np.random.default_rng(SEED if split == "train" else SEED + 1)
    order = np.stack([np.arange(n), rng.permutation(n), rng.permutation(n)])
    images = np.concatenate([mnist.images[order[c]] for c in range(3)], axis=1)  # [N, 3, 28, 28]
    digits = mnist.labels[order]  # [3, N]
    return ImageSet(
        images=images,
        labels=digits[0] * 100 + digits[1] * 10 + digits[2],
        class_names=[f"{m:03d}" for m in range(1000)],
        name="stacked-mnist",
        source=f"{mnist.source} (three digits per image, permutations seeded {SEED})",
    )
