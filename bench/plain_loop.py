"""The yardstick for the trainer's speed: the textbook PyTorch loop of a preset.

The same nets (with torch's own ``nn.Dropout``: this is the baseline that the project's cheaper
dropout is measured against), batch, latents, loss, ``n_critic``, ``g_steps``, optimiser and EMA
as the preset, in fp32, and none of the trainer's bookkeeping: random-index batches from the
uint8 tensor, nothing logged, D's weights left requiring gradients during G's step. Like the
trainer, the last critic step's fake batch serves G's first update. Prints images/s (real images
through D per second, ``n_critic * batch_size`` per generator step) after a warm-up.

    python -m bench.plain_loop [--preset dcgan-keras-mnist] [--steps 30] [--warmup 5]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from training import config as configs
from training.data.dataset import load_for_config, normalize
from training.ema import EMA
from training.latents import sample_latents
from training.models import build_models
from training.models.layers import Dropout

# The losses the presets train with, written out the textbook way (no stats, no options).
D_LOSSES = {
    "non-saturating": lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
    "hinge": lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
    "wasserstein": lambda real, fake: fake.mean() - real.mean(),
    "wgan-gp": lambda real, fake: fake.mean() - real.mean(),
}
G_LOSSES = {"non-saturating": lambda fake: F.softplus(-fake).mean(), "hinge": lambda fake: -fake.mean(),
            "wasserstein": lambda fake: -fake.mean(), "wgan-gp": lambda fake: -fake.mean()}


def with_torch_dropout(module: nn.Module) -> nn.Module:
    """The module with every project ``Dropout`` swapped for ``nn.Dropout`` of the same p."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Dropout):
                setattr(parent, name, nn.Dropout(child.p))
    return module


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels) -> torch.Tensor:
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed, labels).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class PlainLoop:
    def __init__(self, c: configs.Config, images: torch.Tensor, labels: torch.Tensor | None = None,
                 num_classes: int = 0, device: str = "cpu"):
        if c.loss not in D_LOSSES or c.r1_gamma:
            raise ValueError(f"no textbook loop for loss {c.loss!r}" + (" with R1" if c.r1_gamma else ""))
        self.c, self.device, self.num_classes = c, torch.device(device), num_classes
        self.images = images.to(self.device)
        self.labels = labels.to(self.device) if num_classes else None
        torch.manual_seed(c.seed)
        m = build_models(c, num_classes)
        self.G, self.D = m.generator.to(self.device), with_torch_dropout(m.discriminator).to(self.device)
        self.opt_g, self.opt_d = self._optimizer(self.G, c.lr_g), self._optimizer(self.D, c.lr_d)
        self.ema = EMA(self.G, c.ema_decay, c.ema_start) if c.ema else None
        self.images_per_step = c.n_critic * c.batch_size
        self.step = 0

    def _optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.c.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(self.c.beta1, self.c.beta2))

    def _fakes(self, n: int):
        labels = torch.randint(self.num_classes, (n,), device=self.device) if self.num_classes else None
        return self.G(sample_latents(self.c, n, self.device), labels), labels

    def train_step(self) -> None:
        c, D = self.c, self.D
        for critic_step in range(c.n_critic):
            index = torch.randint(len(self.images), (c.batch_size,), device=self.device)
            real = normalize(self.images[index], self.G.output_range)
            real_labels = self.labels[index] if self.num_classes else None
            with torch.set_grad_enabled(critic_step == c.n_critic - 1):
                fake, fake_labels = self._fakes(c.batch_size)
            loss_d = D_LOSSES[c.loss](D(real, real_labels), D(fake.detach(), fake_labels))
            if c.loss == "wgan-gp":
                loss_d = loss_d + c.gp_lambda * gradient_penalty(D, real, fake.detach(), real_labels)
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
            if c.loss == "wasserstein":
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-c.clip_value, c.clip_value)
        for g_step in range(c.g_steps):
            if g_step:
                fake, fake_labels = self._fakes(c.batch_size)
            loss_g = G_LOSSES[c.loss](D(fake, fake_labels))
            self.opt_g.zero_grad()
            loss_g.backward()
            self.opt_g.step()
        if self.ema:
            self.ema.update(self.G, self.step)
        self.step += 1

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.train_step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="dcgan-keras-mnist")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    c = configs.resolve(args.preset)
    data = load_for_config(c)
    loop = PlainLoop(c, data.images, data.labels, len(data.class_names) if c.conditional else 0)
    loop.run(args.warmup)
    start = time.perf_counter()
    loop.run(args.steps)
    seconds = time.perf_counter() - start
    print(f"plain loop {args.preset}: {args.steps * loop.images_per_step / seconds:.1f} images/s "
          f"(batch {c.batch_size}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
