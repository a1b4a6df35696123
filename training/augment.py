"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of everything the discriminator sees.

The same random transformations go on real and fake images, before D, in D's step and in G's: D
never sees an unaugmented image, so it cannot learn the augmentations as a sign of "real", and G's
gradient passes through them (every operation is differentiable in the image). Augmenting only
the reals would leak the augmentation into G's samples.

``augment: "translation,cutout,color"`` picks the operations (config.AUGMENTATIONS), applied in the
order given. Unlike the paper's code, which pads, cuts out and shifts brightness around 0, these
stay inside the generator's output range: padding and cut-out squares are the range's low end
(the background of MNIST-like data), and colour changes are clamped to the range, so the
augmented images are images of the same kind. The random numbers come from torch's global RNG on
the images' device, which every checkpoint saves, so a resumed run draws what it would have drawn.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from training.config import AUGMENTATIONS, augment_policy

Augmentation = Callable[[torch.Tensor, float, float], torch.Tensor]


def color(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Brightness (+-25% of the range), saturation (x0 to x2, colour images only) and contrast (x0.5 to x1.5)."""
    if x.shape[1] == 4:  # alpha is coverage, not colour: the colour channels alone are changed
        return torch.cat([color(x[:, :3], lo, hi), x[:, 3:]], dim=1)
    u = (x - lo) / (hi - lo)
    n = x.shape[0]
    u = u + (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5) * 0.5
    if x.shape[1] > 1:
        mean = u.mean(dim=1, keepdim=True)
        u = (u - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean
    mean = u.mean(dim=(1, 2, 3), keepdim=True)
    u = (u - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean
    return u.clamp(0.0, 1.0) * (hi - lo) + lo


def translation(x: torch.Tensor, lo: float, hi: float, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in each direction, filling with ``lo``."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    batch, rows, cols = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                       torch.arange(w, device=x.device), indexing="ij")
    rows = (rows + dy + sh).clamp(0, h + 2 * sh - 1)
    cols = (cols + dx + sw).clamp(0, w + 2 * sw - 1)
    padded = F.pad(x, (sw, sw, sh, sh), value=lo)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, lo: float, hi: float, ratio: float = 0.5) -> torch.Tensor:
    """Set a square of ``ratio`` of the size, at a random place (partly outside the image too), to ``lo``."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    keep = (~inside).unsqueeze(1).to(x.dtype)
    return x * keep + lo * (1 - keep)


OPERATIONS: dict[str, Augmentation] = {"translation": translation, "cutout": cutout, "color": color}
assert tuple(sorted(OPERATIONS)) == tuple(sorted(AUGMENTATIONS)), "config.AUGMENTATIONS lists what is here"


class DiffAugment:
    """``augment(images)``: the policy's operations in order; the identity for an empty policy."""

    def __init__(self, policy: str, output_range: tuple[float, float]):
        self.names = augment_policy(policy)
        self.operations = [OPERATIONS[name] for name in self.names]
        self.lo, self.hi = float(output_range[0]), float(output_range[1])

    def __bool__(self) -> bool:
        return bool(self.operations)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for operation in self.operations:
            images = operation(images, self.lo, self.hi)
        return images
