"""Building blocks that several architectures share."""
from __future__ import annotations

import torch
from torch import nn

from training.config import ConfigError

# Dropout's keep mask is 16 random bits per element compared against an integer threshold, so
# the keep probability is k / 2**16 with k = round((1 - p) * 2**16): within 2**-17 of 1 - p.
MASK_BITS = 16
MASK_LEVELS = 1 << MASK_BITS


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of stride-2 steps) with a start block between 3 and 7 pixels: how the
    generators that grow a small block by doubling (dcgan, sngan, resnet) reach ``image_size``."""
    size, steps = image_size, 0
    while size > 7 and size % 2 == 0:
        size, steps = size // 2, steps + 1
    if size < 3 or size > 7 or steps == 0:
        raise ConfigError(
            f"image_size {image_size} does not halve down to a 3-7 pixel block; "
            "the dcgan, sngan and resnet generators need sizes like 28, 32, 48, 64 or 128."
        )
    return size, steps


class GrowingGenerator(nn.Module):
    """A generator that projects z to a ``start`` x ``start`` block and doubles it ``steps`` times to
    the image's size (``upsampling_plan``); ``bn`` holds its batch norms' settings."""

    output_range = (-1.0, 1.0)

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], num_classes: int,
                 bn_momentum: float, bn_eps: float):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, num_classes, image_shape
        self.start, self.steps = upsampling_plan(image_shape[1])
        self.bn = dict(momentum=bn_momentum, eps=bn_eps)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm with a per-class scale and shift (cGANs with projection, BigGAN): how a conditional
    generator is told the class in every block."""

    def __init__(self, channels: int, num_classes: int, **bn):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False, **bn)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.scale(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


def batch_norm(channels: int, num_classes: int, bn: dict) -> nn.Module:
    """A generator's batch norm: class-conditional when ``num_classes`` (then it takes the labels too)."""
    return ConditionalBatchNorm2d(channels, num_classes, **bn) if num_classes else nn.BatchNorm2d(channels, **bn)


def projection_score(linear: nn.Module, embed: nn.Module | None, h: torch.Tensor,
                     labels: torch.Tensor | None) -> torch.Tensor:
    """A discriminator's score from its last features ``h`` [B, F]; a conditional one adds the
    projection term <embed(y), h> (Miyato & Koyama 2018)."""
    score = linear(h).squeeze(1)
    return score if embed is None else score + (embed(labels) * h).sum(1)


def random_int16(like: torch.Tensor) -> torch.Tensor:
    """Uniform int16 bits shaped like ``like``, from torch's global RNG of its device (so the
    trainer's saved RNG state replays them). Drawn as int64 words and viewed four to a word:
    one 64-bit draw instead of the float sample per element that bernoulli_ pays for. The range
    [-2**63, 2**63) matters: a plain ``random_()`` leaves each word's top bit 0."""
    n = like.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=like.device).random_(-2**63, None)
    return words.view(torch.int16)[:n].view(like.shape)


class Dropout(nn.Dropout):
    """``nn.Dropout(p)`` with a cheaper mask: on CPU the float bernoulli_ of the stock module is
    most of its cost (3-4x this module's forward + backward on dcgan-keras's D activations,
    bench/dropout_speed.py).

    Each element is kept with probability k / 65536 (k = round((1 - p) * 65536), so p is met to
    within 2**-17) and scaled by exactly 65536 / k, so the output's mean is the input's. Identity
    in eval mode and at p = 0, like ``nn.Dropout``; a subclass of it, so code that looks for
    dropout modules still finds this one, and state dicts are unchanged (there is nothing in them).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = round((1 - self.p) * MASK_LEVELS)  # here, not in __init__: p may be changed later, as on nn.Dropout
        if not self.training or keep == MASK_LEVELS:
            return x
        if keep == 0:
            return x.mul_(0) if self.inplace else x * 0
        scale = MASK_LEVELS / keep
        # Signed bits in [-32768, 32768): below k - 32768 with probability k / 65536. Comparing
        # straight into x's dtype gives a 0/1 mask without a bool tensor: multiplying by a bool
        # tensor, torch.where and masked_fill all take a slow mixed-dtype path on CPU.
        mask = torch.lt(random_int16(x), keep - MASK_LEVELS // 2, out=torch.empty_like(x))
        if torch.finfo(x.dtype).bits >= 32:
            # fp32 holds the scale to 2**-24: fold it into the mask (one multiply each way).
            mask.mul_(scale)
            return x.mul_(mask) if self.inplace else x * mask
        # bf16/fp16 would round the scale itself (by up to 0.4%: a bias on every kept element);
        # a Python scalar multiplies in fp32 and rounds each product instead.
        return (x.mul_(mask) if self.inplace else x * mask).mul_(scale)
