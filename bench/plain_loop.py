"""The yardstick for the trainer's speed: the plainest PyTorch loop of dcgan-keras-mnist.

The same nets and batch as the preset, none of the trainer's bookkeeping: random-index batches
from the uint8 tensor, one D step and one G step, nothing logged. Prints images/s (real images
through D per second) after a warm-up.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from training import config as configs
from training.data import load_dataset, normalize
from training.models import build_models


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="dcgan-keras-mnist")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    c = configs.resolve(args.preset)
    data = load_dataset(c.dataset, c.data_root, "train", c.image_size, c.channels).images
    torch.manual_seed(0)
    m = build_models(c)
    G, D = m.generator, m.discriminator
    opt_g = torch.optim.Adam(G.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start = time.perf_counter()
        real = normalize(data[torch.randint(len(data), (c.batch_size,))], G.output_range)
        fake = G(torch.randn(c.batch_size, c.latent_dim))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    seconds = time.perf_counter() - start
    print(f"plain loop {args.preset}: {args.steps * c.batch_size / seconds:.1f} images/s "
          f"(batch {c.batch_size}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
