"""A 2-D MLP GAN trained with the project's own losses (``training.losses``), optionally packed.

PacGAN (Lin et al. 2018): with ``pack`` > 1 the discriminator judges ``pack`` points at once
(their coordinates side by side), which penalises a generator whose samples look alike. The
losses' regularisers (the gradient penalty, R1) call D on unpacked points, so D is wrapped in
``PackedCritic``, which packs whatever it is given. Used by the playground's trainer and by
``bench/modes_toy.py``.

Each update is counted (``d_steps``, ``g_steps``), so a single step can be shown to be exactly
one update of each player.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from training.config import Config
from training.losses import build_loss
from training.playground.targets import Target

WASSERSTEIN = ("wasserstein", "wgan-gp")


def mlp(n_in: int, n_out: int, width: int, depth: int) -> nn.Sequential:
    layers, d = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, n_out))


class PackedCritic(nn.Module):
    """D over points ``[N, 2]``: groups of ``pack`` consecutive points are one input of D."""

    def __init__(self, net: nn.Module, pack: int):
        super().__init__()
        self.net, self.pack = net, pack

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.net(x.reshape(-1, 2 * self.pack))


class ToyGAN:
    """G: z -> point, D: packed points -> score, their Adam optimisers and the loss."""

    def __init__(self, target: Target, *, loss: str = "non-saturating", lr_g: float = 1e-3, lr_d: float = 1e-3,
                 n_critic: int = 1, g_width: int = 128, d_width: int = 128, depth: int = 3, pack: int = 1,
                 batch_size: int = 256, latent_dim: int = 2, clip_value: float = 0.01, gp_lambda: float = 10.0,
                 seed: int = 0):
        torch.manual_seed(seed)
        self.target, self.pack, self.n_critic, self.latent_dim = target, pack, n_critic, latent_dim
        self.batch_size = batch_size - batch_size % pack
        self.rng = np.random.default_rng(seed)
        self.objective = build_loss(Config(loss=loss, clip_value=clip_value, gp_lambda=gp_lambda))
        self.loss = loss
        self.G = mlp(latent_dim, 2, g_width, depth)
        self.D = mlp(2 * pack, 1, d_width, depth)
        self.critic = PackedCritic(self.D, pack)
        # WGAN-GP's betas (Gulrajani et al.); DCGAN's for the others
        betas = (0.0, 0.9) if loss in WASSERSTEIN else (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas)
        self.d_steps = self.g_steps = 0
        self.last: dict[str, float] = {}

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator)

    def real_batch(self) -> torch.Tensor:
        return torch.from_numpy(self.target.sample(self.batch_size, self.rng))

    def d_step(self) -> None:
        """One update of D on a fresh real batch and a fresh batch of G's samples."""
        real = self.real_batch()
        with torch.no_grad():
            fake = self.G(self.noise(self.batch_size))
        real = self.objective.prepare_real(real)
        real_scores = self.critic(real)
        loss_d, stats = self.objective.discriminator_loss(real_scores, self.critic(fake))
        extra, more = self.objective.regularizer(self.critic, real, fake, None, real_scores)
        if extra is not None:
            loss_d = loss_d + extra
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        self.objective.after_discriminator_step(self.D)
        self.d_steps += 1
        self.last.update(loss_d=float(loss_d.detach()), **{k: float(v) for k, v in {**stats, **more}.items()})

    def g_step(self) -> None:
        """One update of G against the current D."""
        loss_g, _ = self.objective.generator_loss(self.critic(self.G(self.noise(self.batch_size))))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.g_steps += 1
        self.last["loss_g"] = float(loss_g.detach())

    def iteration(self) -> None:
        """``n_critic`` D updates, then one G update: one step of the usual schedule."""
        for _ in range(self.n_critic):
            self.d_step()
        self.g_step()

    def samples(self, n: int, seed: int) -> np.ndarray:
        with torch.no_grad():
            return self.G(self.noise(n, torch.Generator().manual_seed(seed))).numpy()

    def surface(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """D's view of each grid point ``[len(ys), len(xs)]``: the probability "real" for the
        cross-entropy losses, the raw score otherwise. With packing, a point fills every slot
        of a pack (what D says of a pack of that point)."""
        gx, gy = np.meshgrid(xs, ys)
        points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
        with torch.no_grad():
            scores = self.D(points.repeat(1, self.pack)).squeeze(1)
            if self.loss in ("minimax", "non-saturating"):
                scores = torch.sigmoid(scores)
        return scores.numpy().reshape(len(ys), len(xs))

    def generator_pull(self, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """G's samples of ``z`` and the direction G's loss pushes each: minus its gradient with
        respect to the sample (times the batch, so the mean does not shrink it)."""
        x = self.G(z).detach().requires_grad_(True)
        loss_g, _ = self.objective.generator_loss(self.critic(x))
        (grad,) = torch.autograd.grad(loss_g, x)
        return x.detach().numpy(), (-grad * len(x)).numpy()
