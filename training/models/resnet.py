"""SNGAN's ResNet pair (Miyato et al. 2018, appendix B, the CIFAR-10 nets), for 28x28 and 32x32.

G: z -> dense to a (start x start x W) block -> one up-sampling residual block per doubling
(BN, ReLU, nearest 2x, 3x3 conv, BN, ReLU, 3x3 conv; the shortcut is 2x then a 1x1 conv) ->
BN, ReLU, 3x3 conv, tanh. 28 = 7*2*2 (two blocks), 32 = 4*2*2*2 (three, as in the paper).
D: spectral norm on every layer; an "optimised" first block, then residual blocks (ReLU, 3x3,
ReLU, 3x3, average-pool 2x on the down-sampling ones, 1x1 shortcut), two of them down-sampling
(28 -> 14 -> 7, 32 -> 16 -> 8) and two that keep the size; ReLU, global sum pooling, one linear
score. Class-conditional with conditional=true: G's batch norms become class-conditional and D
adds the projection term (Miyato & Koyama 2018), as in ``sngan``.
Widths: ``g_width`` and ``d_width`` channels in every block (the paper: 256 and 128).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.models import MODELS, GANModels
from training.models.layers import GrowingGenerator, batch_norm, projection_score, upsampling_plan


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, num_classes: int, bn: dict):
        super().__init__()
        self.num_classes = num_classes
        self.norm1, self.norm2 = batch_norm(c_in, num_classes, bn), batch_norm(c_out, num_classes, bn)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def _normalize(self, norm: nn.Module, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return norm(h, labels) if self.num_classes else norm(h)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(torch.relu(self._normalize(self.norm1, x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(torch.relu(self._normalize(self.norm2, self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResNetGenerator(GrowingGenerator):
    def __init__(self, latent_dim, width, image_shape, num_classes, bn_momentum, bn_eps):
        super().__init__(latent_dim, image_shape, num_classes, bn_momentum, bn_eps)
        self.width = width
        self.project = nn.Linear(latent_dim, width * self.start**2)
        self.blocks = nn.ModuleList(UpBlock(width, width, num_classes, self.bn) for _ in range(self.steps))
        self.norm = nn.BatchNorm2d(width, **self.bn)
        self.to_image = nn.Conv2d(width, image_shape[0], 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(-1, self.width, self.start, self.start)
        for block in self.blocks:
            h = block(h, labels)
        return torch.tanh(self.to_image(torch.relu(self.norm(h))))


class DownBlock(nn.Module):
    """A residual block of the critic; ``first`` is SNGAN's optimised block (no ReLU before the
    first convolution, the shortcut pools before its 1x1)."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.shortcut = spectral_norm(nn.Conv2d(c_in, c_out, 1)) if (down or c_in != c_out) else None

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.down else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else torch.relu(x))
        h = self._pool(self.conv2(torch.relu(h)))
        if self.shortcut is None:
            return h + x
        skip = self.shortcut(self._pool(x)) if self.first else self._pool(self.shortcut(x))
        return h + skip


class ResNetDiscriminator(nn.Module):
    def __init__(self, width, image_shape, num_classes, downsamplings: int = 2, plain_blocks: int = 2):
        super().__init__()
        channels, size, _ = image_shape
        if size % 2**downsamplings:
            raise ValueError(f"image size {size} does not halve {downsamplings} times")
        blocks = [DownBlock(channels, width, down=True, first=True)]
        blocks += [DownBlock(width, width, down=True) for _ in range(downsamplings - 1)]
        blocks += [DownBlock(width, width, down=False) for _ in range(plain_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = spectral_norm(nn.Linear(width, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, width)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.blocks(x)).sum(dim=(2, 3))
        return projection_score(self.linear, self.embed, h, labels)


@MODELS.register(
    "resnet",
    description="SNGAN's ResNet pair (Miyato et al. 2018): residual G and spectral-norm residual critic, "
                "28x28 or 32x32; conditional=true works",
    fields=("latent_dim", "g_width", "d_width", "bn_momentum", "bn_eps", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    shape = (config.channels, config.image_size, config.image_size)
    _, steps = upsampling_plan(config.image_size)
    return GANModels(
        ResNetGenerator(config.latent_dim, config.g_width, shape, num_classes, config.bn_momentum, config.bn_eps),
        ResNetDiscriminator(config.d_width, shape, num_classes, downsamplings=max(2, steps - 1)),
    )
