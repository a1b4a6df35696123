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

Adaptive augmentation (ADA, Karras et al. 2020) steers how often the policy applies: each
operation hits each image with probability ``p``, and ``p`` follows the overfitting signal
r_t = E[sign(D(real))]: when D grows sure of the reals (r_t above ``ada_target``) augmentation
rises, when it does not, augmentation falls. A small dataset gets as much augmentation as it
needs and a large one none, with no search for the strength.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.distributed as dist
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
    """``augment(images)``: the policy's operations in order, each on each image with probability
    ``p`` (1 unless adaptive); the identity for an empty policy."""

    def __init__(self, policy: str, output_range: tuple[float, float], p: float = 1.0):
        self.names = augment_policy(policy)
        self.operations = [OPERATIONS[name] for name in self.names]
        self.lo, self.hi = float(output_range[0]), float(output_range[1])
        self.p = p

    def __bool__(self) -> bool:
        return bool(self.operations)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for operation in self.operations:
            if self.p >= 1:  # no mask drawn, so runs without ADA draw the random numbers they always did
                images = operation(images, self.lo, self.hi)
            elif self.p > 0:
                hit = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < self.p
                images = torch.where(hit, operation(images, self.lo, self.hi), images)
        return images

    def observe(self, real_scores: torch.Tensor) -> None:
        """D's scores of the (augmented) reals of a step: what an adaptive policy steers by."""

    def adjust(self, images_seen: int) -> dict[str, float]:
        """Move ``p`` after ``images_seen`` more real images; the figures to log."""
        return {}

    def state_dict(self) -> dict[str, float]:
        return {}

    def load_state_dict(self, state: dict[str, float]) -> None:
        pass


class AdaptiveAugment(DiffAugment):
    """DiffAugment whose ``p`` starts at 0 and moves by ``images / (ada_kimg * 1000)`` per adjustment,
    up while r_t > target, down while below, as StyleGAN2-ADA does every 4 steps."""

    INTERVAL = 4  # steps between adjustments: r_t averages over them, so one odd batch does not steer

    def __init__(self, policy: str, output_range: tuple[float, float], target: float, kimg: float):
        super().__init__(policy, output_range, p=0.0)
        self.target, self.kimg = target, kimg
        self.signs, self.count, self.images, self.rt = 0.0, 0, 0, float("nan")

    def observe(self, real_scores: torch.Tensor) -> None:
        self.signs += real_scores.detach().float().sign().sum()  # a tensor: no device sync every step
        self.count += real_scores.numel()

    def adjust(self, images_seen: int) -> dict[str, float]:
        self.images += images_seen
        if self.count and self.images >= self.INTERVAL * images_seen:
            signs = torch.as_tensor(self.signs, dtype=torch.float64)  # on the scores' device (NCCL wants it there)
            totals = torch.stack([signs, torch.full_like(signs, self.count)])
            if dist.is_available() and dist.is_initialized():  # every process steers by all of them, to one p
                dist.all_reduce(totals)
            self.rt = (totals[0] / totals[1]).item()
            step = self.images / (self.kimg * 1000)
            self.p = min(1.0, max(0.0, self.p + step * (1 if self.rt > self.target else -1)))
            self.signs, self.count, self.images = 0.0, 0, 0
        # r_t exists from the first adjustment on: no NaN in the metrics rows before it
        return {"ada_p": self.p} if math.isnan(self.rt) else {"ada_p": self.p, "ada_rt": self.rt}

    def state_dict(self) -> dict[str, float]:
        return {"p": self.p, "signs": float(self.signs), "count": self.count, "images": self.images, "rt": self.rt}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.p, self.signs, self.rt = float(state["p"]), float(state["signs"]), float(state["rt"])
        self.count, self.images = int(state["count"]), int(state["images"])


def build_augment(config, output_range: tuple[float, float]) -> DiffAugment:
    """The run's augmentation: adaptive when ``ada_target`` is set, else DiffAugment at full strength."""
    if config.ada_target > 0:
        return AdaptiveAugment(config.augment, output_range, config.ada_target, config.ada_kimg)
    return DiffAugment(config.augment, output_range)
