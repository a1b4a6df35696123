"""The training loop: one GAN step at a time, everything a run needs written to its folder.

A step is ``n_critic`` discriminator updates, each on a fresh real batch, then ``g_steps``
generator updates (usually one). Everything that decides what happens next (weights, optimiser
moments, EMA, the data order, every RNG, the log accumulators) goes into each checkpoint, so a
resumed run continues exactly where the checkpoint was; in deterministic mode it logs the very
numbers an uninterrupted run logs.
"""
from __future__ import annotations

import copy
import io
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import Config
from training.data import ImageDataset, load_dataset, normalize
from training.losses import build_loss, r1_penalty
from training.models import build_models
from training.runs import RunFolder, atomic_write_bytes, now_iso

log = logging.getLogger("training")

GRID_SIZE = 64


# ----------------------------------------------------------------------------- processes
@dataclass(frozen=True)
class Processes:
    """Where this process stands among the torchrun workers (one process: rank 0 of 1)."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("device=cuda, but PyTorch sees no usable GPU here; use --device cpu or auto.")
    return torch.device("cuda", local_rank)


def init_processes(device_preference: str) -> tuple[Processes, torch.device]:
    """Join torchrun's process group when launched under it (gloo on CPU, NCCL on GPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Processes(), pick_device(device_preference)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), local_rank), device


# ----------------------------------------------------------------------------- data order
class BatchOrder:
    """Shuffled epochs without replacement, the same order on every process, each taking its shard."""

    def __init__(self, size: int, batch_size: int, seed: int, processes: Processes):
        self.size, self.batch_size, self.processes = size, batch_size, processes
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position, self.order = 0, 0, torch.empty(0, dtype=torch.int64)
        self.permutation = self.order  # the whole epoch's order, which every process shares

    def next(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self.order):
            self.permutation = torch.randperm(self.size, generator=self.generator)
            self.order = self._shard(self.permutation)
            if len(self.order) < self.batch_size:
                raise ValueError(f"batch_size {self.batch_size} is larger than the {len(self.order)} images "
                                 "each process gets; lower --set batch_size.")
            self.epoch, self.position = self.epoch + 1, 0
        indices = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return indices

    def _shard(self, permutation: torch.Tensor) -> torch.Tensor:
        return permutation[self.processes.rank::self.processes.world_size].contiguous()

    def state_dict(self) -> dict[str, Any]:
        state = {"epoch": self.epoch, "position": self.position, "order": self.order,
                 "generator": self.generator.get_state()}
        if self.processes.distributed:  # rank 0 saves; every rank must find its own shard in it
            state["permutation"] = self.permutation
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position, self.order = state["epoch"], state["position"], state["order"]
        if "permutation" in state and len(state["permutation"]):
            self.permutation = state["permutation"]
            self.order = self._shard(self.permutation)
        self.generator.set_state(state["generator"])


# ----------------------------------------------------------------------------- EMA
class EMA:
    """An exponential moving average of the generator's weights (Karras et al. 2018).

    Before ``start`` it just copies the weights, so early samples are not dragged toward init.
    Buffers (batch-norm statistics) are copied, not averaged.
    """

    def __init__(self, generator: nn.Module, decay: float, start: int):
        self.model = copy.deepcopy(generator).eval().requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, generator: nn.Module, step: int) -> None:
        weight = 1.0 if step < self.start else 1.0 - self.decay
        for average, current in zip(self.model.parameters(), generator.parameters()):
            average.lerp_(current, weight)
        for average, current in zip(self.model.buffers(), generator.buffers()):
            average.copy_(current)


# ----------------------------------------------------------------------------- latents
def sample_latents(config: Config, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """z from the config's distribution; noise is drawn here and never inside a model's forward."""
    if config.latent_distribution == "uniform":
        z = torch.rand(n, config.latent_dim, device=device, generator=generator) * 2 - 1
        return z * config.latent_bound
    z = torch.randn(n, config.latent_dim, device=device, generator=generator)
    return z.clamp_(-config.latent_bound, config.latent_bound) if config.latent_bound else z


def image_grid_png(images: torch.Tensor, output_range: tuple[float, float], nrow: int) -> bytes:
    lo, hi = output_range
    pixels = ((images.float().clamp(lo, hi) - lo) / (hi - lo) * 255).round().to(torch.uint8).cpu()
    n, c, h, w = pixels.shape
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + 2) + 2, nrow * (w + 2) + 2, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        grid[:, 2 + r * (h + 2):2 + r * (h + 2) + h, 2 + k * (w + 2):2 + k * (w + 2) + w] = pixels[i]
    array = grid.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[:, :, 0] if c == 1 else array)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def grad_norm(module: nn.Module) -> float:
    norms = [p.grad.detach().norm(2) for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm(2).item() if norms else 0.0


class Diverged(Exception):
    pass


# ----------------------------------------------------------------------------- trainer
class Trainer:
    def __init__(self, config: Config, run: RunFolder | None, processes: Processes = Processes(),
                 device: torch.device | None = None, dataset: ImageDataset | None = None):
        self.config, self.processes = config, processes
        self.run = run if processes.is_main else None  # only rank 0 writes the run folder
        self.device = device or pick_device(config.device)
        c = config
        if c.deterministic:
            torch.use_deterministic_algorithms(True)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        self.data = dataset or load_dataset(c.dataset, c.data_root, "train", c.image_size, c.channels)
        self.num_classes = len(self.data.class_names) if c.conditional else 0
        if c.conditional and self.num_classes < 2:
            raise ValueError(f"conditional=true needs a labelled dataset; {c.dataset} has "
                             f"{len(self.data.class_names)} classes here (a folder needs one subfolder per class).")
        self.images = self.data.images.to(self.device)
        self.labels = self.data.labels.to(self.device)

        torch.manual_seed(c.seed)  # the same initial weights on every process
        models = build_models(c, self.num_classes)
        self.G, self.D = models.generator.to(self.device), models.discriminator.to(self.device)
        self.loss = build_loss(c)
        self.loss.check_models(self.D)
        self.ema = EMA(self.G, c.ema_decay, c.ema_start) if c.ema else None
        self.G_train, self.D_train = self.G, self.D
        if processes.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_train = DistributedDataParallel(self.G, device_ids=ids)
            self.D_train = DistributedDataParallel(self.D, device_ids=ids)
        self.opt_g = self._optimizer(self.G, c.lr_g)
        self.opt_d = self._optimizer(self.D, c.lr_d)
        self.order = BatchOrder(len(self.images), c.batch_size, c.seed, processes)
        torch.manual_seed(c.seed + 1 + processes.rank)  # each process draws its own noise

        grid_rng = torch.Generator().manual_seed(c.seed + 2)
        n_grid = 10 * self.num_classes if self.num_classes else GRID_SIZE
        self.grid_nrow = self.num_classes or 8
        self.grid_z = sample_latents(c, n_grid, torch.device("cpu"), grid_rng).to(self.device)
        self.grid_labels = (torch.arange(n_grid, device=self.device) % self.num_classes) if self.num_classes else None

        self.step, self.elapsed, self.images_seen = 0, 0.0, 0
        self.sums: dict[str, float] = {}
        self.count = 0
        self.stop_requested = False
        self.best_fid: float | None = None  # the lowest FID of this run's evaluations so far
        self.eval_off = False  # set when evaluation failed once (e.g. no evaluator network for the dataset)

    def _optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(self.config.beta1, self.config.beta2))

    # ------------------------------------------------------------------ one step
    def _real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        indices = self.order.next().to(self.device)
        real = normalize(self.images[indices], self.G.output_range)
        return real, (self.labels[indices] if self.num_classes else None)

    def _fake_labels(self, n: int) -> torch.Tensor | None:
        return torch.randint(0, self.num_classes, (n,), device=self.device) if self.num_classes else None

    def train_step(self, measure_grads: bool = False) -> dict[str, torch.Tensor | float]:
        c, G, D = self.config, self.G_train, self.D_train
        stats: dict[str, torch.Tensor | float] = {}
        # Without DDP, D's weights need no gradients while G learns; DDP wants the same set every time.
        freeze_d = not self.processes.distributed
        for critic_step in range(c.n_critic):
            real, real_labels = self._real_batch()
            fake_labels = self._fake_labels(len(real))
            # The last critic step's fakes keep their graph and serve the generator's step too,
            # which saves one generator forward per step (a third of the work at n_critic=1).
            last = critic_step == c.n_critic - 1
            with torch.set_grad_enabled(last):
                fake_for_g = G(sample_latents(c, len(real), self.device), fake_labels)
            fake = fake_for_g.detach()
            if c.r1_gamma:
                real.requires_grad_(True)
            real_scores, fake_scores = D(real, real_labels), D(fake, fake_labels)
            loss_d, d_stats = self.loss.discriminator_loss(real_scores, fake_scores)
            penalty, reg_stats = self.loss.regularizer(D, real, fake, real_labels)
            if penalty is not None:
                loss_d = loss_d + penalty
            if c.r1_gamma:
                r1 = r1_penalty(real_scores, real)
                loss_d = loss_d + c.r1_gamma / 2 * r1
                reg_stats["r1"] = r1.detach()
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            if measure_grads:
                stats["grad_norm_d"] = grad_norm(self.D)
            self.opt_d.step()
            self.loss.after_discriminator_step(self.D)
        stats.update(loss_d=loss_d.detach(), **d_stats, **reg_stats)

        if freeze_d:
            self.D.requires_grad_(False)
        for g_step in range(c.g_steps):
            if g_step:  # the first update reuses the critic's fakes; later ones draw fresh latents
                fake_labels = self._fake_labels(len(fake_for_g))
                fake_for_g = G(sample_latents(c, len(fake_for_g), self.device), fake_labels)
            loss_g, g_stats = self.loss.generator_loss(D(fake_for_g, fake_labels))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            if measure_grads:
                stats["grad_norm_g"] = grad_norm(self.G)
            self.opt_g.step()
        if freeze_d:
            self.D.requires_grad_(True)
        if self.ema:
            self.ema.update(self.G, self.step)
        stats.update(loss_g=loss_g.detach(), **g_stats)
        self.images_seen += c.n_critic * c.batch_size * self.processes.world_size
        return stats

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "epoch": self.order.epoch, "elapsed": self.elapsed, "images_seen": self.images_seen,
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "order": self.order.state_dict(), "log_sums": dict(self.sums), "log_count": self.count,
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
        self.order.load_state_dict(state["order"])
        self.step, self.elapsed, self.images_seen = state["step"], state["elapsed"], state["images_seen"]
        self.sums, self.count = dict(state["log_sums"]), state["log_count"]
        if self.processes.is_main:  # other ranks keep their own noise streams, seeded per rank
            torch.set_rng_state(state["rng_cpu"])
            if state["rng_cuda"] and self.device.type == "cuda":
                torch.cuda.set_rng_state_all(state["rng_cuda"])

    def resume_from(self, run: RunFolder) -> None:
        self.load_state_dict(load_checkpoint(run.last_checkpoint, self.device))

    # ------------------------------------------------------------------ writing the run folder
    @property
    def sampling_generator(self) -> nn.Module:
        return self.ema.model if self.ema else self.G

    @torch.no_grad()
    def write_samples(self) -> None:
        g = self.sampling_generator
        was_training = g.training
        g.eval()  # batch norm from running statistics, as at export time
        images = g(self.grid_z, self.grid_labels)
        g.train(was_training)
        atomic_write_bytes(self.run.sample_path(self.step), image_grid_png(images, self.G.output_range, self.grid_nrow))

    def write_checkpoint(self) -> None:
        save_checkpoint(self.run, self.state_dict(), self.step, self.config.keep_checkpoints)

    def evaluate(self) -> float:
        """Score ``sampling_generator`` (``eval_samples`` samples, fixed latents from their own RNG, so
        the training RNG stream is untouched), append a ``kind: eval`` row and keep the best-FID
        checkpoint as checkpoints/best.pt. Returns the seconds spent. A dataset without an evaluator
        network turns evaluation off with one warning; it never stops training."""
        start = time.perf_counter()
        if self.eval_off:
            return 0.0
        try:
            from training import evaluation

            report = evaluation.evaluate_torch(self.sampling_generator, self.config, self.config.eval_samples,
                                               seed=self.config.seed + 3, source=f"step {self.step}",
                                               data_root=self.config.data_root, kid_subsets=10)
        except Exception as error:  # noqa: BLE001 - evaluation is an extra, never a reason to fail a run
            log.warning("evaluation turned off for this run: %s", error)
            self.eval_off = True
            return time.perf_counter() - start
        row = {"kind": "eval", "step": self.step, "epoch": self.order.epoch, "time": round(self.elapsed, 3),
               **evaluation.chart_row(report), "n_generated": report["n_generated"],
               "feature_network": report["feature_network"], "reference": report["reference"],
               "eval_seconds": round(time.perf_counter() - start, 2)}
        if self.best_fid is None:  # after a resume: the best of the rows already written
            fids = [r["fid"] for r in self.run.read_metrics() if r.get("kind") == "eval" and r.get("fid") is not None
                    and r.get("step", 0) < self.step]
            self.best_fid = min(fids, default=float("inf"))
        fid = row.get("fid")
        if fid is not None and fid < self.best_fid:
            self.best_fid = fid
            buffer = io.BytesIO()
            torch.save(self.state_dict(), buffer)
            atomic_write_bytes(self.run.checkpoints_dir / "best.pt", buffer.getvalue())
            row["best"] = True
        self.run.append_metrics(row)
        log.info("step %d eval: FID %.3f, coverage %.3f, %d classes (%.1f s)", self.step, fid if fid is not None
                 else float("nan"), row.get("coverage") or 0.0, row.get("classes_covered") or 0, row["eval_seconds"])
        return time.perf_counter() - start

    def _accumulate(self, stats: dict[str, torch.Tensor | float]) -> None:
        for key, value in stats.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.count += 1

    def _flush_metrics(self, interval_s: float, interval_images: int) -> dict[str, Any]:
        row = {"step": self.step, "epoch": self.order.epoch, "time": round(self.elapsed, 3)}
        grad_keys = ("grad_norm_d", "grad_norm_g")
        row.update({k: v / self.count for k, v in self.sums.items() if k not in grad_keys})
        row.update({k: self.sums[k] for k in grad_keys if k in self.sums})  # measured once per row
        row["images_per_s"] = round(interval_images / interval_s, 2) if interval_s > 0 else None
        self.sums, self.count = {}, 0
        if self.run:
            self.run.append_metrics(row)
        return row

    # ------------------------------------------------------------------ the loop
    def _agree(self, stop: bool, nonfinite: bool) -> tuple[bool, bool]:
        """All processes must stop or declare divergence at the same step, or DDP would hang."""
        if not self.processes.distributed:
            return stop, nonfinite
        flags = torch.tensor([float(stop), float(nonfinite)], device=self.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return bool(flags[0]), bool(flags[1])

    def _request_stop(self, signum, frame) -> None:
        if not self.stop_requested and self.run:
            self.run.write_status(state="stopping", message=f"{signal.Signals(signum).name}: finishing the step")
        self.stop_requested = True

    def train(self, progress: Callable[[int, dict], None] | None = None) -> str:
        """Train to ``config.steps``; returns the final state (finished, stopped or diverged)."""
        c = self.config
        previous = {s: signal.signal(s, self._request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        if self.run:
            self.run.write_status(state="running", pid=os.getpid(), step=self.step, total_steps=c.steps,
                                  epoch=self.order.epoch, started=self.run.read_status().get("started") or now_iso(),
                                  message=f"training on {self.device}")
            if self.step == 0:
                self.write_samples()
        try:
            interval_start, interval_images = time.perf_counter(), self.images_seen
            step_start = time.perf_counter()
            while self.step < c.steps:
                log_step = (self.step + 1) % c.log_every == 0 or self.step + 1 == c.steps
                stats = self.train_step(measure_grads=log_step)
                losses = {k: stats[k] for k in ("loss_d", "loss_g")}
                nonfinite = not all(math.isfinite(float(v)) for v in losses.values())
                stop, nonfinite = self._agree(self.stop_requested, nonfinite)
                if nonfinite:
                    raise Diverged(", ".join(f"{k}={float(v)}" for k, v in losses.items()))
                self.step += 1
                now = time.perf_counter()
                self.elapsed += now - step_start
                step_start = now
                self._accumulate(stats)
                if log_step:
                    row = self._flush_metrics(now - interval_start, self.images_seen - interval_images)
                    interval_start, interval_images = now, self.images_seen
                    self._report(row, progress)
                if self.run and self.step % c.sample_every == 0:
                    self.write_samples()
                if self.run and (self.step % c.checkpoint_every == 0 or stop or self.step == c.steps):
                    self.write_checkpoint()
                if self.run and c.eval_every and (self.step % c.eval_every == 0 or self.step == c.steps):
                    spent = self.evaluate()  # its time is not training time
                    step_start += spent
                    interval_start += spent
                if stop:
                    break
        except Diverged as error:
            message = (f"diverged at step {self.step + 1}: {error}. The last good checkpoint is kept; "
                       "lower the learning rates and resume, e.g. `python -m training resume RUN --set lr_d=...`.")
            log.error(message)
            if self.run:
                self.run.write_status(state="diverged", step=self.step, message=message)
            return "diverged"
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        state = "stopped" if self.step < c.steps else "finished"
        if self.run:
            if state == "finished" and self.step % c.sample_every:
                self.write_samples()
            self.run.write_status(state=state, step=self.step, epoch=self.order.epoch,
                                  message=f"{state} at step {self.step} of {c.steps}")
        return state

    def _report(self, row: dict[str, Any], progress) -> None:
        if progress:
            progress(self.step, row)
        if self.run:
            speed = row.get("images_per_s") or 0
            c = self.config
            remaining = (c.steps - self.step) * c.n_critic * c.batch_size * self.processes.world_size
            eta = remaining / speed if speed else None
            self.run.write_status(step=self.step, epoch=self.order.epoch, images_per_s=speed,
                                  eta_s=round(eta) if eta is not None else None,
                                  message=f"step {self.step}: loss_d {row.get('loss_d', float('nan')):.4f}, "
                                          f"loss_g {row.get('loss_g', float('nan')):.4f}")
