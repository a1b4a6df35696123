"""A modern, stronger recipe: the SNGAN architecture (Miyato et al. 2018), optionally class-conditional.

D: the "standard CNN" of SNGAN with spectral norm on every layer, LeakyReLU 0.1, no batch norm,
global sum pooling; a conditional D adds the projection term <embed(y), h> (Miyato & Koyama 2018).
G: a DCGAN-style stack with 4x4 stride-2 transposed convolutions; a conditional G swaps its batch
norms for class-conditional ones (per-class scale and shift, as in cGANs with projection and BigGAN).
Meant for the hinge loss with an EMA generator (see the sngan-* and cgan-* presets).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.models import MODELS, GANModels
from training.models.layers import GrowingGenerator, batch_norm, projection_score, upsampling_plan


class SNGANGenerator(GrowingGenerator):
    def __init__(self, latent_dim, width, image_shape, num_classes, bn_momentum, bn_eps):
        super().__init__(latent_dim, image_shape, num_classes, bn_momentum, bn_eps)
        steps, channels = self.steps, image_shape[0]
        self.start_channels = width * 2**steps
        self.project = nn.Linear(latent_dim, self.start_channels * self.start**2)
        widths = [self.start_channels // 2**i for i in range(steps + 1)]
        self.ups = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, padding=1) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(batch_norm(c, num_classes, self.bn) for c in widths)
        self.to_image = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def _normalize(self, i, h, labels):
        return self.norms[i](h, labels) if self.num_classes else self.norms[i](h)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(-1, self.start_channels, self.start, self.start)
        for i, up in enumerate(self.ups):
            h = up(torch.relu(self._normalize(i, h, labels)))
        h = torch.relu(self._normalize(len(self.ups), h, labels))
        return torch.tanh(self.to_image(h))


class SNGANDiscriminator(nn.Module):
    def __init__(self, width, image_shape, num_classes):
        super().__init__()
        channels, size, _ = image_shape
        _, steps = upsampling_plan(size)
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(steps):
            c = width * 2**i
            layers += [spectral_norm(nn.Conv2d(c_in, c, 3, 1, 1)), nn.LeakyReLU(0.1),
                       spectral_norm(nn.Conv2d(c, c, 4, 2, 1)), nn.LeakyReLU(0.1)]
            c_in = c
        c_out = width * 2**steps
        layers += [spectral_norm(nn.Conv2d(c_in, c_out, 3, 1, 1)), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers)
        self.linear = spectral_norm(nn.Linear(c_out, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, c_out)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return projection_score(self.linear, self.embed, self.features(x).sum(dim=(2, 3)), labels)


@MODELS.register(
    "sngan",
    description="SNGAN (Miyato et al. 2018): a spectrally normalised CNN critic, 4x4 transposed convolutions; "
                "class-conditional with conditional=true",
    fields=("latent_dim", "g_width", "d_width", "bn_momentum", "bn_eps", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    shape = (config.channels, config.image_size, config.image_size)
    return GANModels(
        SNGANGenerator(config.latent_dim, config.g_width, shape, num_classes, config.bn_momentum, config.bn_eps),
        SNGANDiscriminator(config.d_width, shape, num_classes),
    )
