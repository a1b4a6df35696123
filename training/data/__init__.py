"""Datasets as whole uint8 tensors in memory.

A split is read once, converted once to the run's size and channel count (``load_dataset``), and
kept as uint8: four times smaller than float, so even SVHN's 73k images stay in RAM (or on the
GPU), and an epoch costs no decoding or resizing. ``normalize`` turns one batch into floats in
the model's output range, on whatever device the batch already is.

Each dataset family is one module here that registers a loader ``(root, split, image_size=None)
-> ImageDataset``; ``_sources.py`` decides where the files come from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from training.registry import Registry, import_submodules, unknown_name_message

DATASETS = Registry("dataset")

# Convert this many images at a time, so that the int32 intermediates of the gray conversion
# stay small even for SVHN or an upscale to 128 px.
_CHUNK = 4096


class DataError(Exception):
    """The data is missing or malformed; the message says what is wrong and how to fix it."""


@dataclass
class ImageDataset:
    images: torch.Tensor  # uint8 [N, C, H, W], contiguous
    labels: torch.Tensor  # int64 [N]; all zeros when unlabelled
    class_names: list[str]  # [] when unlabelled
    name: str  # the registry name
    source: str  # where it was read from

    def __post_init__(self):
        # Catch a loader's mistake here rather than as a shape error deep inside training.
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {list(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must be int64 [{len(self.images)}], got {self.labels.dtype} {list(self.labels.shape)}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Read a split (see ``_sources`` for where from) and convert it once to ``image_size``
    square and ``channels``; ``None`` keeps what the data has.

    Non-square images are scaled so that the short side fits, then centre-cropped; square ones
    are just resized (MNIST's 28 -> 32 too: resizing rather than padding keeps one rule for
    every size, and the digits fill the frame as they do at 28).
    """
    if name not in DATASETS:
        raise DataError(unknown_name_message("dataset", name, DATASETS.names()))
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels!r}")
    if image_size is not None and image_size < 1:
        raise DataError(f"image_size must be a positive number of pixels, not {image_size!r}")
    root = Path(root).expanduser() if root is not None else None
    data = DATASETS.get(name)(root, split, image_size=image_size)
    return dataclasses.replace(data, images=convert_images(data.images, image_size, channels))


def normalize(batch_uint8: torch.Tensor, output_range: tuple[float, float]) -> torch.Tensor:
    """uint8 pixels -> float32 in ``output_range``: 0 maps exactly to the low end, 255 to the high."""
    if batch_uint8.dtype != torch.uint8:
        raise TypeError(f"normalize expects a uint8 batch, got {batch_uint8.dtype}")
    low, high = output_range
    # Divide first: 255 / 255 is exactly 1, so the top stays inside the range (no 1.0000001).
    return batch_uint8.float().div_(255).mul_(high - low).add_(low)


def convert_images(images: torch.Tensor, image_size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, image_size, image_size]; a no-op when nothing changes."""
    n, c, h, w = images.shape
    channels = channels or c
    size = (image_size, image_size) if image_size else (h, w)
    if size == (h, w) and channels == c:
        return images.contiguous()
    out = torch.empty((n, channels, *size), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        chunk = images[start : start + _CHUNK]
        # Change channels on whichever side of the resize has fewer of them: less work.
        if channels < c:
            chunk = _to_gray(chunk)
        # Assigning a 1-channel chunk to 3 output channels broadcasts: gray -> RGB by repeating.
        out[start : start + _CHUNK] = _resize(chunk, image_size) if image_size else chunk
    return out


def _to_gray(rgb: torch.Tensor) -> torch.Tensor:
    # ITU-R 601 luma in integer arithmetic, rounded as Pillow's convert("L") does.
    r, g, b = rgb.int().unbind(1)
    return ((r * 299 + g * 587 + b * 114 + 500) // 1000).to(torch.uint8).unsqueeze(1)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Scale so that the short side is ``size``, then take the centre square."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    scale = size / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    # Antialiased bilinear works on uint8 directly (no float copy) and does not alias on the way down.
    images = F.interpolate(images, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return images[..., top : top + size, left : left + size]


import_submodules(__name__)
