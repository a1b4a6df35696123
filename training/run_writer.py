"""What a training process leaves in its run folder: status, metrics rows, sample grids, checkpoints,
and TensorBoard's copy of the rows and grids (training/runfolder/tensorboard_log.py, config ``tensorboard``).

Only rank 0 writes the folder. The other processes, and trainers built without a folder (tests,
benchmarks), get a writer of ``run=None``: it still keeps the running sums of the log interval,
which every checkpoint carries so that a resumed run logs the rows an uninterrupted run logs, but
it writes nothing.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from inference.contract import LATENT_SCHEME
from inference.images import encode_png, image_grid, to_uint8
from inference.latents import sample as latent_sample
from inference.philox import MAX_SEED
from training.checkpoint import save_checkpoint
from training.config import Config
from training.runfolder.health import grid_diversity
from training.runfolder.health_log import HealthLog
from training.runfolder.tensorboard_log import TensorBoardLog, open_log
from training.latents import sample_latents
from training.precision import Precision
from training.runfolder.files import atomic_write_bytes, now_iso
from training.runfolder.folder import RunFolder

log = logging.getLogger("training")

GRID_SIZE = 64  # images in an unconditional grid (8 x 8); a conditional one has 10 per class
GRAD_KEYS = ("grad_norm_d", "grad_norm_g")  # measured on the row's last step only, so not averaged


@dataclass(frozen=True)
class SampleGrid:
    """The latents (and labels) every sample grid of a run shows, so progress is comparable."""
    z: torch.Tensor
    labels: torch.Tensor | None
    nrow: int


def sample_grid(config: Config, num_classes: int, device: torch.device) -> SampleGrid:
    """The contract's latents of seed ``grid_seed(config)`` (inference.latents, scheme "philox"): image
    #i of a grid is image #i of that seed in the app, `python -m inference` and the examples once the
    run is exported. Not torch's RNG, so the grid is the same after a resume and the training stream
    is untouched; a conditional grid has one column per class, 10 rows (labels cycled, as the app's)."""
    n = 10 * num_classes if num_classes else GRID_SIZE
    z = torch.from_numpy(latent_sample(n, config.latent_dim, seed=grid_seed(config), scheme=LATENT_SCHEME,
                                       distribution=config.latent_distribution, bound=config.latent_bound))
    labels = torch.arange(n, device=device) % num_classes if num_classes else None
    return SampleGrid(z.to(device), labels, num_classes or 8)


def legacy_sample_grid(config: Config, num_classes: int, device: torch.device) -> SampleGrid:
    """The grid of runs started before the grid followed the contract: torch's RNG seeded with seed + 2.
    A resume from a checkpoint that does not carry its grid (``RunWriter.load_state_dict``) keeps it."""
    n = 10 * num_classes if num_classes else GRID_SIZE
    z = sample_latents(config, n, torch.device("cpu"), torch.Generator().manual_seed(config.seed + 2))
    labels = torch.arange(n, device=device) % num_classes if num_classes else None
    return SampleGrid(z.to(device), labels, num_classes or 8)


def grid_seed(config: Config) -> int:
    """The seed whose latents the run's sample grids show: the run's seed (below 2**53, as the contract's)."""
    return config.seed % (MAX_SEED + 1)


def grid_png(images: torch.Tensor, output_range: tuple[float, float], nrow: int) -> bytes:
    """Generator output [N, C, H, W] as one PNG grid, laid out as the app lays out its grids."""
    return encode_png(image_grid(to_uint8(images.float().cpu().numpy(), output_range), nrow=nrow))


class RunWriter:
    def __init__(self, run: RunFolder | None, config: Config, grid: SampleGrid):
        self.run, self.config, self.grid = run, config, grid
        self.sums: dict[str, float] = {}
        self.count = 0
        self.best_fid: float | None = None  # the lowest FID of this run's evaluations so far
        self.health = HealthLog(run, config.to_dict())  # training/runfolder/health.py: findings into health.jsonl
        self.elapsed = 0.0  # of the last row written, for the rows of the sample grids
        self.tensorboard: TensorBoardLog | None = None  # opened by started(): it needs the step a process starts at

    @property
    def writes(self) -> bool:
        return self.run is not None

    # ------------------------------------------------------------------ status.json
    def started(self, step: int, epoch: int, device: torch.device, precision: Precision) -> None:
        log.info("precision: %s", precision)
        self.health.resume(step)
        if self.run and self.config.tensorboard and self.tensorboard is None:
            self.tensorboard = open_log(self.run.path, step)
        if self.run:
            self.run.write_status(state="running", pid=os.getpid(), step=step, total_steps=self.config.steps,
                                  epoch=epoch, started=self.run.read_status().get("started") or now_iso(),
                                  precision=precision.name, precision_reason=precision.reason,
                                  message=f"training on {device} in {precision.name}", health=self.health.line)

    def progress(self, step: int, epoch: int, row: dict[str, Any], remaining_images: int) -> None:
        if not self.run:
            return
        speed = row.get("images_per_s") or 0
        eta = remaining_images / speed if speed else None
        self.run.write_status(step=step, epoch=epoch, images_per_s=speed, eta_s=round(eta) if eta is not None else None,
                              health=self.health.line,
                              message=f"step {step}: loss_d {row.get('loss_d', float('nan')):.4f}, "
                                      f"loss_g {row.get('loss_g', float('nan')):.4f}")

    def stopping(self, signal_name: str) -> None:
        if self.run:
            self.run.write_status(state="stopping", message=f"{signal_name}: finishing the step")

    def diverged(self, step: int, message: str) -> None:
        self.close()
        if self.run:
            self.health.diverged(step, message)
            self.run.write_status(state="diverged", step=step, message=message, health=self.health.line)

    def ended(self, state: str, step: int, epoch: int) -> None:
        self.close()
        if self.run:
            self.run.write_status(state=state, step=step, epoch=epoch, health=self.health.line,
                                  message=f"{state} at step {step} of {self.config.steps}")

    # ------------------------------------------------------------------ metrics.jsonl
    def accumulate(self, stats: dict[str, torch.Tensor | float]) -> None:
        for key, value in stats.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.count += 1

    def flush(self, step: int, epoch: int, elapsed: float, interval_s: float, interval_images: int) -> dict[str, Any]:
        """The interval's row (means of the accumulated figures) appended, and the sums reset."""
        row = {"step": step, "epoch": epoch, "time": round(elapsed, 3)}
        row.update({k: v / self.count for k, v in self.sums.items() if k not in GRAD_KEYS})
        row.update({k: self.sums[k] for k in GRAD_KEYS if k in self.sums})
        row["images_per_s"] = round(interval_images / interval_s, 2) if interval_s > 0 else None
        self.sums, self.count = {}, 0
        self.elapsed = row["time"]
        if self.run:
            self.run.append_metrics(row)
            self.health.observe(row)
            self._to_tensorboard(row)
        return row

    def state_dict(self) -> dict[str, Any]:
        """The interval's sums and the grid itself: a grid is fixed for a run's whole life, so a resume
        shows the latents the run started with, whichever way a newer version would draw them."""
        labels = self.grid.labels
        return {"log_sums": dict(self.sums), "log_count": self.count, "grid_z": self.grid.z.detach().cpu(),
                "grid_labels": None if labels is None else labels.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums, self.count = dict(state["log_sums"]), state["log_count"]
        device, num_classes = self.grid.z.device, self.grid.nrow if self.grid.labels is not None else 0
        if "grid_z" not in state:  # a checkpoint from before checkpoints carried the grid: the grid it showed
            self.grid = legacy_sample_grid(self.config, num_classes, device)
            return
        labels = state.get("grid_labels")
        self.grid = SampleGrid(state["grid_z"].to(device), None if labels is None else labels.to(device),
                               self.grid.nrow)

    def write_evaluation(self, step: int, epoch: int, elapsed: float, scores: dict[str, Any], seconds: float,
                         state: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Append a ``kind: eval`` row; when its FID is the run's lowest so far, ``state()`` becomes
        checkpoints/best.pt and the row says ``best: true``."""
        row = {"kind": "eval", "step": step, "epoch": epoch, "time": round(elapsed, 3), **scores,
               "eval_seconds": round(seconds, 2)}
        if self.best_fid is None:  # after a resume: the best of the rows already written
            fids = [r["fid"] for r in self.run.read_metrics() if r.get("kind") == "eval" and r.get("fid") is not None
                    and r.get("step", 0) < step]
            self.best_fid = min(fids, default=float("inf"))
        fid = row.get("fid")
        if fid is not None and fid < self.best_fid:
            self.best_fid = fid
            save_checkpoint(self.run, state(), step, self.config.keep_checkpoints, which="best")
            row["best"] = True
        self.run.append_metrics(row)
        self.health.observe(row)
        self._to_tensorboard(row)
        log.info("step %d eval: FID %.3f, coverage %.3f, %d classes (%.1f s)", step, fid if fid is not None
                 else float("nan"), row.get("coverage") or 0.0, row.get("classes_covered") or 0, row["eval_seconds"])
        return row

    # ------------------------------------------------------------------ samples/ and checkpoints/
    @torch.no_grad()
    def write_samples(self, generator: nn.Module, step: int) -> None:
        """The grid's latents through ``generator`` in eval mode (batch norm from its running
        statistics, as at export time, and left unchanged), as samples/step_NNNNNNN.png, and a
        ``kind: samples`` metrics row with how different its images are (``grid_diversity``)."""
        if not self.run:
            return
        was_training = generator.training
        generator.eval()
        try:
            images = generator(self.grid.z, self.grid.labels)
        finally:
            generator.train(was_training)
        pixels = to_uint8(images.float().cpu().numpy(), generator.output_range)
        grid = image_grid(pixels, nrow=self.grid.nrow)
        png = encode_png(grid)
        atomic_write_bytes(self.run.sample_path(step), png)
        row = {"kind": "samples", "step": step, "time": self.elapsed, "grid_diversity": round(grid_diversity(pixels), 5)}
        self.run.append_metrics(row)
        self.health.observe(row)
        self._to_tensorboard(row)
        if self.tensorboard:
            self.tensorboard.image(step, png, grid.shape)

    def write_checkpoint(self, state: dict[str, Any], step: int) -> None:
        if self.run:
            save_checkpoint(self.run, state, step, self.config.keep_checkpoints)
        if self.tensorboard:
            self.tensorboard.flush()  # what the checkpoint keeps is on disk; a resume drops what comes after

    # ------------------------------------------------------------------ tensorboard/
    def _to_tensorboard(self, row: dict[str, Any]) -> None:
        if self.tensorboard:
            self.tensorboard.row(row)

    def close(self) -> None:
        """The end of this process's writing: the TensorBoard file flushed and closed (again: harmless)."""
        if self.tensorboard:
            self.tensorboard.close()
            self.tensorboard = None
