"""FastGAN (Liu et al., ICLR 2021): a GAN made for a few hundred to a few thousand images.

G: z -> a 4x4 block -> nearest-neighbour upsampling + 3x3 convolution + batch norm + GLU per
doubling; a skip-layer excitation (SLE) lets a small feature map (8x smaller) scale the channels
of a large one: the coarse layout switches the fine texture's channels on and off, a gradient
path from the output to the early layers that costs one pooled 4x4 convolution.
D: spectrally normalised down-sampling blocks (a strided path and an average-pooled skip, mixed)
to an 8x8 map, scored by a sum-pooled linear layer. Its self-supervision: a small decoder
rebuilds each real image at a quarter of its size from that 8x8 map, and the reconstruction
error joins D's loss. D must then keep what describes the image, not only what tells real from
fake, which is what overfits first on little data. The paper compares with LPIPS; an L1 error
here (no perceptual network to download). Unconditional only.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.models import MODELS, GANModels, require_unconditional
from training.models.layers import GrowingGenerator, projection_score, upsampling_plan

EXCITE_FROM = 3  # a level's channels are scaled by the level 2**3 = 8 times smaller, as in the paper


def glu_block(c_in: int, c_out: int, bn: dict) -> nn.Sequential:
    """Double the size, then a 3x3 convolution to 2 * c_out channels gated down to c_out (GLU)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(2 * c_out, **bn), nn.GLU(dim=1))


class SkipExcitation(nn.Module):
    """Channel gates for a large map, from a small one pooled to 4x4 (``size``: the small map's side)."""

    def __init__(self, c_small: int, c_large: int, size: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AvgPool2d(size // 4), nn.Conv2d(c_small, c_large, 4), nn.SiLU(),
                                  nn.Conv2d(c_large, c_large, 1), nn.Sigmoid())

    def forward(self, small: torch.Tensor, large: torch.Tensor) -> torch.Tensor:
        return large * self.gate(small)


class FastGANGenerator(GrowingGenerator):
    def __init__(self, latent_dim, width, image_shape, num_classes, bn_momentum, bn_eps):
        super().__init__(latent_dim, image_shape, num_classes, bn_momentum, bn_eps)
        steps = self.steps
        self.widths = [width * 2 ** min(3, steps - level) for level in range(steps + 1)]
        self.project = nn.Linear(latent_dim, 2 * self.widths[0] * self.start**2, bias=False)
        self.project_norm = nn.BatchNorm1d(2 * self.widths[0] * self.start**2, **self.bn)
        self.ups = nn.ModuleList(glu_block(a, b, self.bn) for a, b in zip(self.widths, self.widths[1:]))
        self.excite = nn.ModuleDict({
            str(level): SkipExcitation(self.widths[level - EXCITE_FROM], self.widths[level],
                                       self.start * 2 ** (level - EXCITE_FROM))
            for level in range(EXCITE_FROM, steps + 1) if self.start * 2 ** (level - EXCITE_FROM) % 4 == 0})
        self.to_image = nn.Conv2d(self.widths[-1], image_shape[0], 3, 1, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.glu(self.project_norm(self.project(z)), dim=1).view(-1, self.widths[0], self.start, self.start)
        levels = [h]
        for level, up in enumerate(self.ups, start=1):
            h = up(h)
            if str(level) in self.excite:
                h = self.excite[str(level)](levels[level - EXCITE_FROM], h)
            levels.append(h)
        return torch.tanh(self.to_image(h))


class DownBlock(nn.Module):
    """Half the size: a strided 4x4 convolution path and an average-pooled 1x1 skip, averaged."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2),
                                  spectral_norm(nn.Conv2d(c_out, c_out, 3, 1, 1)), nn.LeakyReLU(0.2))
        self.skip = nn.Sequential(nn.AvgPool2d(2), spectral_norm(nn.Conv2d(c_in, c_out, 1)), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class FastGANDiscriminator(nn.Module):
    self_supervised = True  # the step asks it for the reconstruction error of the reals (training/step.py)

    def __init__(self, width, image_shape, num_classes, bn_momentum=0.1, bn_eps=1e-5):
        super().__init__()
        channels, size, _ = image_shape
        start, steps = upsampling_plan(size)
        widths = [width * 2 ** min(3, level) for level in range(steps)]  # steps - 1 halvings: a 2*start map
        self.from_image = nn.Sequential(spectral_norm(nn.Conv2d(channels, widths[0], 3, 1, 1)), nn.LeakyReLU(0.2))
        self.downs = nn.Sequential(*(DownBlock(a, b) for a, b in zip(widths, widths[1:])))
        self.score_block = nn.Sequential(spectral_norm(nn.Conv2d(widths[-1], widths[-1], 4, 2, 1)), nn.LeakyReLU(0.2))
        self.linear = spectral_norm(nn.Linear(widths[-1], 1, bias=False))  # under the hinge loss a bias gets no gradient
        bn = dict(momentum=bn_momentum, eps=bn_eps)
        # the decoder: the 2*start map back up to 8*start (a quarter of 64 or 32 px, an eighth of 128)
        self.decoder = nn.Sequential(glu_block(widths[-1], widths[-1] // 2, bn), glu_block(widths[-1] // 2, width, bn),
                                     nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        self.reconstructed_size = 8 * start

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, reconstruct: bool = False):
        """One score per image; with ``reconstruct``, also the mean L1 error of rebuilding the images
        at ``reconstructed_size`` from the features they were scored by."""
        h = self.downs(self.from_image(x))
        score = projection_score(self.linear, None, self.score_block(h).sum(dim=(2, 3)), None)
        if not reconstruct:
            return score
        target = F.adaptive_avg_pool2d(x, self.reconstructed_size)
        return score, F.l1_loss(self.decoder(h).float(), target.float())


@MODELS.register(
    "fastgan",
    description="FastGAN (Liu et al. 2021) for small image sets: skip-layer excitation in G, a D that "
                "also rebuilds the reals it scores",
    fields=("latent_dim", "g_width", "d_width", "bn_momentum", "bn_eps", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    require_unconditional(config, num_classes)
    shape = (config.channels, config.image_size, config.image_size)
    return GANModels(
        FastGANGenerator(config.latent_dim, config.g_width, shape, 0, config.bn_momentum, config.bn_eps),
        FastGANDiscriminator(config.d_width, shape, 0, config.bn_momentum, config.bn_eps),
    )
