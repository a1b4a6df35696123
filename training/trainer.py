"""The training loop: one GAN step at a time, until the run is finished, stopped or diverged.

A step is ``n_critic`` discriminator updates, each on a fresh real batch, then ``g_steps``
generator updates (usually one). Everything that decides what happens next (weights, optimiser
moments, EMA, the data order, every RNG, the log accumulators) goes into each checkpoint, so a
resumed run continues exactly where the checkpoint was; in deterministic mode it logs the very
numbers an uninterrupted run logs.

The rooms around the loop: ``distributed`` (torchrun processes, DDP), ``batches`` (the data
order), ``ema``, ``losses`` (objectives and every penalty, R1 included), ``augment`` (DiffAugment
on all D sees), ``lr_schedule`` (each step's rates), ``run_writer`` (all that reaches the run
folder) and the live evaluation (``Trainer.score``, through ``evaluate``).
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

import torch
from torch import nn

from training.augment import DiffAugment
from training.data.batches import BatchOrder
from training.checkpoint import load_checkpoint
from training.config import Config
from training.data.dataset import ImageDataset, load_dataset, normalize
from training.distributed import Processes, agree, pick_device, wrap
from training.ema import EMA, ema_decay
from training.evaluate import live_scores
from training.latents import sample_latents
from training.lr_schedule import RateSchedule
from training.losses import Stats, build_loss
from training.models import build_models
from training.precision import allow_tf32, choose
from training.preflight import check_data
from training.run_writer import RunWriter, sample_grid
from training.runfolder.folder import RunFolder
from training.stop_signals import stop_on_signals

log = logging.getLogger("training")


def grad_norm(module: nn.Module) -> float:
    norms = [p.grad.detach().norm(2) for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm(2).item() if norms else 0.0


Fakes = tuple[torch.Tensor, torch.Tensor | None]  # generated images and their labels (None: unconditional)


class Diverged(Exception):
    pass


def channels_last_helps(device: torch.device, discriminator: nn.Module) -> bool:
    """NHWC lets cuDNN's tensor-core convolutions skip layout transposes; on CPUs it measured no gain."""
    return device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in discriminator.modules())


class Trainer:
    def __init__(self, config: Config, run: RunFolder | None, processes: Processes = Processes(),
                 device: torch.device | None = None, dataset: ImageDataset | None = None):
        self.config, self.processes = config, processes
        self.device = device or pick_device(config.device)
        c = config
        if c.deterministic:
            torch.use_deterministic_algorithms(True)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        self.precision = choose(c.precision, self.device)
        if self.precision.mixed:
            allow_tf32(self.device)

        self.data = dataset or load_dataset(c.dataset, c.data_root, "train", c.image_size, c.channels)
        self.num_classes = len(self.data.class_names) if c.conditional else 0
        check_data(c, self.data, processes.world_size)
        self.images = self.data.images.to(self.device)
        self.labels = self.data.labels.to(self.device)

        torch.manual_seed(c.seed)  # the same initial weights on every process
        models = build_models(c, self.num_classes)
        self.G, self.D = models.generator.to(self.device), models.discriminator.to(self.device)
        self.channels_last = channels_last_helps(self.device, self.D)
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.loss = build_loss(c)
        self.loss.check_models(self.D)
        self.ema = EMA(self.G, ema_decay(c, processes.world_size), c.ema_start) if c.ema else None
        self.augment = DiffAugment(c.augment, self.G.output_range)  # on all D sees; identity when off
        self.G_train, self.D_train = wrap(self.G, processes, self.device), wrap(self.D, processes, self.device)
        self.opt_g = self._optimizer(self.G, c.lr_g)
        self.opt_d = self._optimizer(self.D, c.lr_d)
        self.rates = RateSchedule(c, {"lr_g": (self.opt_g, c.lr_g), "lr_d": (self.opt_d, c.lr_d)})
        self.scaler_g, self.scaler_d = self.precision.scaler(), self.precision.scaler()
        self.order = BatchOrder(len(self.images), c.batch_size, c.seed, processes)
        torch.manual_seed(c.seed + 1 + processes.rank)  # each process draws its own noise

        # Only rank 0 writes the run folder; the others' writer writes nothing.
        grid = sample_grid(c, self.num_classes, self.device)
        self.writer = RunWriter(run if processes.is_main else None, c, grid)
        self.images_per_step = c.n_critic * c.batch_size * processes.world_size
        self.step, self.elapsed, self.images_seen = 0, 0.0, 0
        self.stop_requested = False
        self.eval_off = False  # set when evaluation failed once (e.g. no evaluator network for the dataset)

    def _optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(self.config.beta1, self.config.beta2))

    # ------------------------------------------------------------------ one step
    def _real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        indices = self.order.next().to(self.device)
        real = normalize(self.images[indices], self.G.output_range)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real, (self.labels[indices] if self.num_classes else None)

    def _fakes(self, n: int) -> Fakes:
        labels = torch.randint(0, self.num_classes, (n,), device=self.device) if self.num_classes else None
        return self.G_train(sample_latents(self.config, n, self.device), labels), labels

    # The forward passes of a step all run in the two methods below, inside the precision's autocast;
    # the losses see fp32 scores, and the penalties run outside autocast (see training/precision.py).
    def _discriminator_losses(self, keep_fake_graph: bool) -> tuple[torch.Tensor, Stats, Fakes]:
        """D's loss on a fresh real batch and fresh fakes, and the fakes for G's step."""
        real, real_labels = self._real_batch()
        with self.precision.autocast():
            with torch.set_grad_enabled(keep_fake_graph):
                fake_for_g, fake_labels = self._fakes(len(real))
            fake = self.augment(fake_for_g.detach())
            real = self.loss.prepare_real(self.augment(real))
            real_scores, fake_scores = self.D_train(real, real_labels), self.D_train(fake, fake_labels)
        loss_d, stats = self.loss.discriminator_loss(real_scores.float(), fake_scores.float())
        penalty, reg_stats = self.loss.regularizer(self.D_train, real, fake.float(), real_labels, real_scores)
        if penalty is not None:
            loss_d = loss_d + penalty
        return loss_d, {**stats, **reg_stats}, (fake_for_g, fake_labels)

    def _generator_loss(self, fakes: Fakes | None) -> tuple[torch.Tensor, Stats]:
        """G's loss on ``fakes`` (the last critic step's, their graph kept), or on fresh ones."""
        with self.precision.autocast():
            fake, labels = fakes or self._fakes(self.config.batch_size)
            scores = self.D_train(self.augment(fake), labels)
        return self.loss.generator_loss(scores.float())

    def _update(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None, loss: torch.Tensor,
                module: nn.Module, stats: dict[str, Any], grad_key: str | None) -> None:
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

    def train_step(self, measure_grads: bool = False) -> dict[str, torch.Tensor | float]:
        c = self.config
        stats: dict[str, torch.Tensor | float] = dict(self.rates.apply(self.step))  # the step decides the rates
        # Without DDP, D's weights need no gradients while G learns; DDP wants the same set every time.
        freeze_d = not self.processes.distributed
        for critic_step in range(c.n_critic):
            # The last critic step's fakes keep their graph and serve the generator's step too,
            # which saves one generator forward per step (a third of the work at n_critic=1).
            loss_d, d_stats, fakes = self._discriminator_losses(keep_fake_graph=critic_step == c.n_critic - 1)
            self._update(self.opt_d, self.scaler_d, loss_d, self.D, stats, "grad_norm_d" if measure_grads else None)
            self.loss.after_discriminator_step(self.D)
        stats.update(loss_d=loss_d.detach(), **d_stats)

        if freeze_d:
            self.D.requires_grad_(False)
        for g_step in range(c.g_steps):  # the first update reuses the critic's fakes; later ones draw fresh latents
            loss_g, g_stats = self._generator_loss(None if g_step else fakes)
            self._update(self.opt_g, self.scaler_g, loss_g, self.G, stats, "grad_norm_g" if measure_grads else None)
        if freeze_d:
            self.D.requires_grad_(True)
        if self.ema:
            self.ema.update(self.G, self.step)
        stats.update(loss_g=loss_g.detach(), **g_stats)
        self.images_seen += self.images_per_step
        return stats

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "epoch": self.order.epoch, "elapsed": self.elapsed, "images_seen": self.images_seen,
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict() if self.scaler_g else None,
            "scaler_d": self.scaler_d.state_dict() if self.scaler_d else None,
            "precision": str(self.precision),
            "order": self.order.state_dict(), **self.writer.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "config": self.config.to_dict(), "num_classes": self.num_classes,
            "class_names": list(self.data.class_names) if self.num_classes else [],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.ema:  # a run resumed with ema=true for the first time starts its average at G, not at init
            self.ema.model.load_state_dict(state["ema"] if state["ema"] is not None else state["generator"])
        # An optimizer's state dict carries its hyperparameters too: without resetting them, a resume
        # with `--set lr_d=...` (the advice for a diverging run) would silently keep the old rates.
        for optimizer, saved, lr in ((self.opt_g, state["opt_g"], self.config.lr_g),
                                     (self.opt_d, state["opt_d"], self.config.lr_d)):
            optimizer.load_state_dict(saved)
            for group in optimizer.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = (self.config.beta1, self.config.beta2)
        # A checkpoint's tensors are fp32 under any precision; only an fp16 run's loss scale carries over.
        for scaler, key in ((self.scaler_g, "scaler_g"), (self.scaler_d, "scaler_d")):
            if scaler is not None and state.get(key):
                scaler.load_state_dict(state[key])
        self.order.load_state_dict(state["order"])
        self.step, self.elapsed, self.images_seen = state["step"], state["elapsed"], state["images_seen"]
        self.writer.load_state_dict(state)
        if self.processes.is_main:  # other ranks keep their own noise streams, seeded per rank
            torch.set_rng_state(state["rng_cpu"])
            if state["rng_cuda"] and self.device.type == "cuda":
                torch.cuda.set_rng_state_all(state["rng_cuda"])

    def resume_from(self, run: RunFolder) -> None:
        self.load_state_dict(load_checkpoint(run.last_checkpoint, self.device))

    # ------------------------------------------------------------------ samples and evaluation
    @property
    def sampling_generator(self) -> nn.Module:
        return self.ema.model if self.ema else self.G

    def write_samples(self) -> None:
        self.writer.write_samples(self.sampling_generator, self.step)

    def score(self) -> dict[str, Any]:
        """The live evaluation of ``sampling_generator``, flat as an eval row holds it:
        ``eval_samples`` samples from fixed latents with their own RNG (seed + 3; the training RNG
        stream is untouched), scored by the dataset's evaluator network (10 KID subsets: fast)."""
        return live_scores(self.sampling_generator, self.config, self.config.eval_samples, seed=self.config.seed + 3,
                           source=f"step {self.step}", kid_subsets=10)

    def evaluate(self) -> float:
        """Score the generator, append a ``kind: eval`` row and keep the best-FID checkpoint as
        checkpoints/best.pt. Returns the seconds spent. A dataset without an evaluator network
        turns evaluation off with one warning; it never stops training."""
        start = time.perf_counter()
        if self.eval_off:
            return 0.0
        try:
            scores = self.score()
        except Exception as error:  # noqa: BLE001 - evaluation is an extra, never a reason to fail a run
            log.warning("evaluation turned off for this run: %s", error)
            self.eval_off = True
            return time.perf_counter() - start
        self.writer.write_evaluation(self.step, self.order.epoch, self.elapsed, scores,
                                     time.perf_counter() - start, self.state_dict)
        return time.perf_counter() - start

    # ------------------------------------------------------------------ the loop
    def request_stop(self, signal_name: str) -> None:
        """Finish the current step, checkpoint and end as ``stopped`` (SIGTERM, SIGINT)."""
        if not self.stop_requested:
            self.writer.stopping(signal_name)
        self.stop_requested = True

    def train(self, progress: Callable[[int, dict], None] | None = None) -> str:
        """Train to ``config.steps``; returns the final state (finished, stopped or diverged)."""
        c, writer = self.config, self.writer
        with stop_on_signals(self.request_stop):
            writer.started(self.step, self.order.epoch, self.device, self.precision)
            if self.step == 0:
                self.write_samples()
            try:
                self._loop(progress)
            except Diverged as error:
                message = (f"diverged at step {self.step + 1}: {error}. The last good checkpoint is kept; "
                           "lower the learning rates and resume, e.g. `python -m training resume RUN --set lr_d=...`.")
                log.error(message)
                writer.diverged(self.step, message)
                return "diverged"
            # Under our handlers still: a second Stop (SIGTERM) now must not kill the run unfinished.
            state = "stopped" if self.step < c.steps else "finished"
            if state == "finished" and self.step % c.sample_every:
                self.write_samples()
            writer.ended(state, self.step, self.order.epoch)
        return state

    def _loop(self, progress: Callable[[int, dict], None] | None) -> None:
        c, writer = self.config, self.writer
        interval_start, interval_images = time.perf_counter(), self.images_seen
        step_start = time.perf_counter()
        while self.step < c.steps:
            log_step = (self.step + 1) % c.log_every == 0 or self.step + 1 == c.steps
            stats = self.train_step(measure_grads=log_step)
            losses = {k: stats[k] for k in ("loss_d", "loss_g")}
            nonfinite = not all(math.isfinite(float(v)) for v in losses.values())
            stop, nonfinite = agree(self.processes, self.device, self.stop_requested, nonfinite)
            if nonfinite:
                raise Diverged(", ".join(f"{k}={float(v)}" for k, v in losses.items()))
            self.step += 1
            now = time.perf_counter()
            self.elapsed += now - step_start
            step_start = now
            writer.accumulate(stats)
            if log_step:
                row = writer.flush(self.step, self.order.epoch, self.elapsed, now - interval_start,
                                   self.images_seen - interval_images)
                interval_start, interval_images = now, self.images_seen
                if progress:
                    progress(self.step, row)
                writer.progress(self.step, self.order.epoch, row, (c.steps - self.step) * self.images_per_step)
            if self.step % c.sample_every == 0:
                self.write_samples()
            if writer.writes and (self.step % c.checkpoint_every == 0 or stop or self.step == c.steps):
                writer.write_checkpoint(self.state_dict(), self.step)
            if writer.writes and c.eval_every and (self.step % c.eval_every == 0 or self.step == c.steps):
                spent = self.evaluate()  # its time is not training time
                step_start += spent
                interval_start += spent
            if stop:
                break
