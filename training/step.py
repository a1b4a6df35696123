"""One training step of a GAN, as the textbook writes it: (1) update D ``n_critic`` times, each on a
fresh real batch, (2) update G ``g_steps`` times, (3) move G's moving average (EMA).

``training_step`` reads top to bottom; what precision and several processes ask of a step is in
the helpers below it. The forward passes run under the precision's autocast (``generate``,
``discriminate``, ``score``); the losses see fp32 scores; the penalties run outside autocast, since
their gradients of gradients need fp32 (training/precision.py); ``update`` goes through the
gradient scaler where fp16 has one.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, NamedTuple

import torch
from torch import nn

from training.session import Batch, Session

StepStats = dict[str, torch.Tensor | float]


def training_step(s: Session, step: int, measure_grads: bool = False) -> StepStats:
    """The step numbered ``step`` (from 0). Returns its rates (when they vary), the last updates'
    losses and their loss's figures (D(x), Wasserstein estimate, penalties), and both gradient
    norms when ``measure_grads``."""
    c = s.config
    stats: StepStats = dict(s.rates.apply(step))  # the step decides the rates

    # (1) Update D: score real images up and fakes down
    for critic_step in range(c.n_critic):
        real, real_labels = s.real_batch()
        # The last critic step's fakes keep their graph and serve the generator's step too,
        # which saves one generator forward per step (a third of the work at n_critic=1).
        fakes = generate(s, len(real), keep_graph=critic_step == c.n_critic - 1)
        seen = discriminate(s, real, real_labels, fakes)
        s.augment.observe(seen.real_scores)
        loss_d, d_stats = s.loss.discriminator_loss(seen.real_scores.float(), seen.fake_scores.float())
        penalty, penalty_stats = s.loss.regularizer(s.D_train, seen.real, seen.fake.float(), real_labels,
                                                    seen.real_scores)
        if penalty is not None:
            loss_d = loss_d + penalty
        if seen.reconstruction is not None:  # a self-supervised D (FastGAN) also rebuilds the reals it saw
            loss_d = loss_d + seen.reconstruction
            d_stats["reconstruction"] = seen.reconstruction.detach()
        update(s.opt_d, s.scaler_d, loss_d, s.D, stats, "grad_norm_d" if measure_grads else None)
        s.loss.after_discriminator_step(s.D)  # e.g. WGAN clips the weights after every critic update
    stats.update(loss_d=loss_d.detach(), **d_stats, **penalty_stats)
    stats.update(s.augment.adjust(c.n_critic * c.batch_size))

    # (2) Update G: make D score its fakes up
    with discriminator_frozen(s):
        for g_step in range(c.g_steps):  # the first update reuses the critic's fakes; later ones draw fresh latents
            fake, fake_labels = generate(s, c.batch_size, keep_graph=True) if g_step else fakes
            loss_g, g_stats = s.loss.generator_loss(score(s, fake, fake_labels).float())
            update(s.opt_g, s.scaler_g, loss_g, s.G, stats, "grad_norm_g" if measure_grads else None)
    stats.update(loss_g=loss_g.detach(), **g_stats)

    # (3) Average G's weights
    if s.ema:
        s.ema.update(s.G, step)
    return stats


# ---------------------------------------------------------------- forward passes, under autocast
class Seen(NamedTuple):
    """What D saw in its step, and its scores (in autocast's dtype)."""
    real: torch.Tensor  # augmented, and requiring gradients where R1 differentiates D by it
    fake: torch.Tensor  # augmented, and cut from G's graph: D's step leaves G alone
    real_scores: torch.Tensor
    fake_scores: torch.Tensor
    reconstruction: torch.Tensor | None = None  # a self-supervised D's error rebuilding the reals (fp32)


def generate(s: Session, n: int, keep_graph: bool) -> Batch:
    """``n`` fakes; without their graph unless G is to learn from them."""
    with s.precision.autocast(), torch.set_grad_enabled(keep_graph):
        return s.fake_batch(n)


def discriminate(s: Session, real: torch.Tensor, real_labels: torch.Tensor | None, fakes: Batch) -> Seen:
    fake, fake_labels = fakes
    with s.precision.autocast():
        fake = s.augment(fake.detach())
        real = s.loss.prepare_real(s.augment(real))
        if getattr(s.D, "self_supervised", False):
            real_scores, reconstruction = s.D_train(real, real_labels, reconstruct=True)
        else:
            real_scores, reconstruction = s.D_train(real, real_labels), None
        return Seen(real, fake, real_scores, s.D_train(fake, fake_labels), reconstruction)


def score(s: Session, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """D's scores of ``fake``, through which G's gradient flows."""
    with s.precision.autocast():
        return s.D_train(s.augment(fake), labels)


# ---------------------------------------------------------------- updates
@contextlib.contextmanager
def discriminator_frozen(s: Session) -> Iterator[None]:
    """D's weights need no gradients while G learns, which saves their computation. Under DDP, D's
    passes in G's step also run outside gradient sync: otherwise DDP would wait for gradients of
    parameters G's step never touches (FastGAN's decoder works in D's step only)."""
    learning = [p for p in s.D.parameters() if p.requires_grad]  # FreezeD's frozen layers stay frozen after
    s.D.requires_grad_(False)
    try:
        with s.D_train.no_sync() if s.processes.distributed else contextlib.nullcontext():
            yield
    finally:
        for parameter in learning:
            parameter.requires_grad_(True)


def update(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None, loss: torch.Tensor,
           module: nn.Module, stats: StepStats, grad_key: str | None) -> None:
    """One optimiser step down ``loss``; ``grad_key``, when given, names the stat that gets
    ``module``'s gradient norm."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        if grad_key:
            stats[grad_key] = grad_norm(module)
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # so the logged gradient norm is the true one
    if grad_key:
        stats[grad_key] = grad_norm(module)
    scaler.step(optimizer)  # skipped when fp16 overflowed; the scaler then lowers its scale
    scaler.update()


def grad_norm(module: nn.Module) -> float:
    norms = [p.grad.detach().norm(2) for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm(2).item() if norms else 0.0
