"""The evaluator CNN and its training: a small classifier for MNIST, Fashion-MNIST or a labelled folder whose
penultimate layer is the feature space of FID, KID, precision/recall and density/coverage, and
whose class probabilities give the classifier score and class coverage.

``python -m training train-evaluator`` (``training.auxiliary.train_evaluator``) trains one and exports it
(``training.export.evaluator``) as ONNX with two outputs, ``logits`` [N, 10] and ``features``
[N, 128], so evaluation itself (``evaluation``) needs onnxruntime only.

Input: float32 ``[N, 1, 28, 28]`` in ``[-1, 1]`` (-1 black background, 1 white stroke: the pixel
``p`` in 0..255 maps to ``p / 127.5 - 1``), the range the metadata ``input_range`` names. A folder's
evaluator (``folder_evaluator``) reads ``[N, 3, S, S]`` the same way, its images composited over black;
the metadata ``input_shape`` says which.

Training is resumable: a checkpoint with the model, optimiser, schedule and RNG state is written
after every epoch (atomically) and picked up by the next invocation with the same settings.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evaluation.evaluators import cache_dir
from studio.errors import UserError
from training.runfolder.files import atomic_write_bytes

log = logging.getLogger("training")

EVALUATOR_DATASETS = ("mnist", "fashion-mnist", "folder")
FEATURE_DIM = 128
TARGET_ACCURACY = {"mnist": 0.993, "fashion-mnist": 0.92}
DEFAULT_EPOCHS = {"mnist": 4, "fashion-mnist": 5, "folder": 30}


class EvaluatorError(UserError):
    """An evaluator network that cannot be trained or exported as asked; the message says why."""


def pooled_size(image_size: int) -> int:
    """The side of the last feature map: three 2x2 max-pools, the last rounding up (28 -> 14 -> 7 -> 4)."""
    return -(-(image_size // 2 // 2) // 2)


class EvaluatorCNN(nn.Module):
    """Three 3x3 conv-BN-ReLU-maxpool blocks (32, 64, 128 channels: 28 -> 14 -> 7 -> 4), a 128-unit
    layer (BN, ReLU: the features), dropout, logits. About 5 M multiply-adds an image, so a busy CPU
    trains it in minutes an epoch (channels-last memory: about 25% faster on CPU). ``in_channels`` and
    ``image_size`` (a folder's colour images) change only the first convolution and the width of the
    128-unit layer: at 1x28x28 it is the network the shipped evaluators were trained as."""

    def __init__(self, num_classes: int = 10, feature_dim: int = FEATURE_DIM, dropout: float = 0.3,
                 in_channels: int = 1, image_size: int = 28):
        super().__init__()
        side = pooled_size(image_size)
        if side < 1:
            raise EvaluatorError(f"images of {image_size}x{image_size} are too small for the evaluator CNN (8 at least)")

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(in_channels, 32), nn.MaxPool2d(2),  # 14x14
            *block(32, 64), nn.MaxPool2d(2),  # 7x7
            *block(64, 128), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout2d(0.05),  # 4x4
            nn.Flatten(),
            nn.Linear(128 * side * side, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(self.dropout(features)), features


@dataclass
class TrainSettings:
    dataset: str
    epochs: int
    batch_size: int = 128
    max_lr: float = 3e-3
    weight_decay: float = 5e-4
    shift: int = 2  # random translation in pixels, both axes
    rotate: float = 0.0  # degrees
    hflip: bool = False
    label_smoothing: float = 0.0
    seed: int = 0


def default_settings(dataset: str, epochs: int | None = None) -> TrainSettings:
    if dataset not in EVALUATOR_DATASETS:
        raise EvaluatorError(f"no evaluator recipe for dataset {dataset!r}; choose from {', '.join(EVALUATOR_DATASETS)} "
                             "(a labelled folder: --dataset folder --data-root DIR)")
    epochs = epochs or DEFAULT_EPOCHS[dataset]
    if dataset == "mnist":
        return TrainSettings(dataset, epochs, shift=2, rotate=5.0)
    if dataset == "folder":
        # Light augmentation (icons, logos, photos alike): no flips, which would change what a class means
        # where it is drawn facing one way; small batches, as a folder may hold only hundreds of images.
        return TrainSettings(dataset, epochs, batch_size=64, shift=2, rotate=5.0, label_smoothing=0.05)
    return TrainSettings(dataset, epochs, shift=1, rotate=0.0, hflip=True)


def to_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] -> float32 in [-1, 1]."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def _augment(x: torch.Tensor, s: TrainSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    if s.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if s.shift or s.rotate:
        angle = (torch.rand(n, generator=gen) * 2 - 1) * (s.rotate * np.pi / 180)
        shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * s.shift / x.shape[-1])
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # Background is -1: sample x + 1 with zero padding, then shift back.
        x = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    return x


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        logits, _ = model(to_input(images[i : i + batch]))
        correct += int((logits.argmax(1) == labels[i : i + batch]).sum())
    return correct / len(images)


def checkpoint_path(name: str) -> Path:
    """Where an interrupted training of the evaluator ``name`` (e.g. "mnist-cnn") is picked up."""
    return cache_dir() / "evaluator-training" / f"{name}.ckpt.pt"


def _atomic_save(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)  # the cache folder; atomic writes never make folders
    atomic_write_bytes(path, buffer.getvalue())


def _train_epoch(model, opt, sched, gen, settings: TrainSettings, train, steps_per_epoch: int) -> float:
    model.train()
    order = torch.randperm(len(train), generator=gen)
    total = 0.0
    for i in range(steps_per_epoch):
        idx = order[i * settings.batch_size : (i + 1) * settings.batch_size]
        x = _augment(to_input(train.images[idx]), settings, gen).contiguous(memory_format=torch.channels_last)
        logits, _ = model(x)
        loss = F.cross_entropy(logits, train.labels[idx], label_smoothing=settings.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach())
    return total / steps_per_epoch


@dataclass
class Fitted:
    model: nn.Module  # eval mode, contiguous memory
    test_accuracy: float
    elapsed_s: float  # training time over every invocation, resumed ones included
    history: list[dict] = field(default_factory=list)  # one row an epoch


def fit(settings: TrainSettings, train, test, checkpoint: Path, fresh: bool = False, progress=None,
        polish: int = 0) -> Fitted:
    """Train on ``train`` (uint8 [N, C, S, S] ImageDataset) by ``settings``, resuming from
    ``checkpoint`` when it holds a training with the same settings (``fresh``: start over)."""
    torch.manual_seed(settings.seed)
    model = EvaluatorCNN(num_classes=len(train.class_names) or 10, in_channels=train.images.shape[1],
                         image_size=train.images.shape[-1]).to(memory_format=torch.channels_last)
    steps_per_epoch = -(-len(train) // settings.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.max_lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.max_lr, epochs=settings.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    gen = torch.Generator().manual_seed(settings.seed)
    start_epoch, elapsed, history, polished = 0, 0.0, [], 0
    if checkpoint.exists() and not fresh:
        state = torch.load(checkpoint, weights_only=True)
        if state["settings"] == asdict(settings):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            gen.set_state(state["gen"])
            start_epoch, elapsed, history = state["epoch"], state["elapsed"], state["history"]
            polished = state.get("polished", 0)
            log.info("resuming evaluator training at epoch %d/%d from %s", start_epoch, settings.epochs, checkpoint)
        else:
            log.info("ignoring %s: it was made with other settings", checkpoint)

    def save(epoch: int, polished: int) -> None:
        _atomic_save({"settings": asdict(settings), "model": model.state_dict(), "opt": opt.state_dict(),
                      "sched": sched.state_dict(), "gen": gen.get_state(), "epoch": epoch, "polished": polished,
                      "elapsed": elapsed, "history": history}, checkpoint)

    def one_epoch(label: str, optimizer, scheduler) -> None:
        nonlocal elapsed
        t0 = time.monotonic()
        loss = _train_epoch(model, optimizer, scheduler, gen, settings, train, steps_per_epoch)
        acc = accuracy(model, test.images, test.labels)
        elapsed += time.monotonic() - t0
        history.append({"epoch": label, "loss": round(loss, 5), "test_accuracy": acc, "elapsed_s": round(elapsed, 1)})
        log.info("epoch %s: loss %.4f, test accuracy %.4f, %.0f s", label, loss, acc, elapsed)
        if progress:
            progress(history[-1])

    for epoch in range(start_epoch, settings.epochs):
        one_epoch(f"{epoch + 1}/{settings.epochs}", opt, sched)
        save(epoch + 1, 0)
    if polish > polished:
        # Extra epochs at a small, decaying learning rate from the finished weights (not resumable mid-way).
        popt = torch.optim.AdamW(model.parameters(), lr=settings.max_lr / 20, weight_decay=settings.weight_decay)
        psched = torch.optim.lr_scheduler.CosineAnnealingLR(popt, T_max=(polish - polished) * steps_per_epoch)
        for k in range(polished, polish):
            one_epoch(f"polish {k + 1}/{polish}", popt, psched)
        save(settings.epochs, polish)
    model = model.to(memory_format=torch.contiguous_format).eval()
    return Fitted(model, accuracy(model, test.images, test.labels), elapsed, history)
