"""What the evaluator tests share: a labelled split of real images, shaped as training.data's datasets are."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 1, 28, 28]
    labels: torch.Tensor
    class_names: list

    def __len__(self) -> int:
        return len(self.images)


def mnist_splits(mnist_test, n_train: int, n_test: int) -> tuple[Split, Split]:
    """The first n_train + n_test MNIST test digits as a train and a test split."""
    images = torch.from_numpy(mnist_test.images[:n_train + n_test])
    labels = torch.from_numpy(mnist_test.labels[:n_train + n_test])
    names = [str(i) for i in range(10)]
    return Split(images[:n_train], labels[:n_train], names), Split(images[n_train:], labels[n_train:], names)
