"""Classes a run finds in its images without labels (``clusters``: self-conditioning).

Telling G which class to draw moved MNIST's FID* from 8.4 to 1.0 (docs/results.md, "A first
run"): G then spends its capacity on drawing, not on choosing, and a projection D judges each class
apart. Clusters of the images bring most of that gain to data without labels (a user's folder, or
MNIST scored as unconditional), as Self-Conditioned GANs (Liu et al., CVPR 2020) do with D's
features; here the clusters are fixed before training, k-means on the images' principal components,
so that a resumed run finds exactly the same ones.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dataio import DataError

# Pixels are compared at this size at most: clusters follow shapes and colours, not fine detail,
# and PCA on a 64x64x4 folder stays cheap.
_SIDE = 32
_COMPONENTS = 50
_PCA_ROWS = 20_000  # the basis is fitted on this many images (evenly spaced); every image is assigned
_ITERATIONS = 100


def find_clusters(images: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Cluster ids int64 [N] in 0..k-1 of uint8 ``images`` [N, C, H, W], numbered by size (0 the
    largest); the same images and seed give the same ids."""
    n = len(images)
    if n < k:
        raise DataError(f"clusters={k} needs at least {k} images; the data has {n}. Use fewer clusters.")
    features = _principal_components(_pixels(images))
    generator = torch.Generator().manual_seed(int(seed))
    centres = _kmeans_plus_plus(features, k, generator)
    assigned = None
    for _ in range(_ITERATIONS):
        nearest = _nearest(features, centres)
        if assigned is not None and torch.equal(nearest, assigned):
            break
        assigned = nearest
        centres = _update(features, assigned, centres)
    return _by_size(assigned, k)


def cluster_proportions(labels: torch.Tensor, k: int) -> list[float]:
    """Each cluster's share of the images, as the exported model's ``class_prior``."""
    counts = torch.bincount(labels, minlength=k).double()
    return [float(c) for c in counts / counts.sum()]


def _pixels(images: torch.Tensor) -> torch.Tensor:
    x = images.float() / 255
    if x.shape[-1] > _SIDE:
        x = F.adaptive_avg_pool2d(x, _SIDE)
    return x.flatten(1)


def _principal_components(x: torch.Tensor) -> torch.Tensor:
    rows = x[torch.linspace(0, len(x) - 1, min(len(x), _PCA_ROWS)).long()].double()
    mean = rows.mean(0)
    covariance = (rows - mean).T @ (rows - mean)
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues: the last columns lead
    basis = vectors[:, -min(_COMPONENTS, vectors.shape[1]):].float()
    return (x - mean.float()) @ basis


def _nearest(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x, centres).argmin(1)


def _kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """Arthur & Vassilvitskii's seeding: each new centre drawn in proportion to squared distance."""
    centres = x[torch.randint(len(x), (1,), generator=generator)]
    closest = torch.cdist(x, centres).squeeze(1) ** 2
    for _ in range(k - 1):
        weights = closest if closest.sum() > 0 else torch.ones_like(closest)
        pick = torch.multinomial(weights.double(), 1, generator=generator)
        centres = torch.cat([centres, x[pick]])
        closest = torch.minimum(closest, torch.cdist(x, x[pick]).squeeze(1) ** 2)
    return centres


def _update(x: torch.Tensor, assigned: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Each centre moves to its images' mean; an emptied one takes the image farthest from its centre."""
    k = len(centres)
    sums = torch.zeros_like(centres).index_add_(0, assigned, x)
    counts = torch.bincount(assigned, minlength=k)
    updated = sums / counts.clamp(min=1).unsqueeze(1).float()
    for empty in (counts == 0).nonzero().flatten().tolist():
        distance = (x - updated[assigned]).square().sum(1)
        updated[empty] = x[distance.argmax()]
    return updated


def _by_size(assigned: torch.Tensor, k: int) -> torch.Tensor:
    counts = torch.bincount(assigned, minlength=k)
    order = sorted(range(k), key=lambda c: (-int(counts[c]), c))
    renumber = torch.empty(k, dtype=torch.long)
    renumber[torch.tensor(order)] = torch.arange(k)
    return renumber[assigned]
