"""Datasets as whole uint8 tensors in memory.

A split is read once, converted once to the run's size and channel count (``load_dataset``), and
kept as uint8: four times smaller than float, so even SVHN's 73k images stay in RAM (or on the
GPU), and an epoch costs no decoding or resizing. ``normalize`` turns one batch into floats in
the model's output range, on whatever device the batch already is.

The files are read by ``dataio`` (numpy, no torch), which also holds the dataset registry and
``DataError``; both are re-exported here, the very same objects, so ``except DataError`` catches
what either raises.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from dataio import DATASETS, DataError, ImageSet, read_split
from training.data.clusters import find_clusters

__all__ = ["DATASETS", "DataError", "ImageDataset", "convert_images", "data_key", "load_dataset", "load_for_config",
           "normalize"]

# Convert this many images at a time, so that the int32 intermediates of the gray conversion
# stay small even for SVHN or an upscale to 128 px.
_CHUNK = 4096


@dataclass
class ImageDataset(ImageSet):
    """An ``ImageSet`` held as torch tensors; validated the same way."""

    images: torch.Tensor  # uint8 [N, C, H, W], contiguous
    labels: torch.Tensor  # int64 [N]; all zeros when unlabelled


def load_dataset(
    name: str,
    root: str | Path | None = None,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    transparency: str | None = None,
    background: str | None = None,
) -> ImageDataset:
    """Read a split (``dataio.read_split``) and convert it once to ``image_size``
    square and ``channels``; ``None`` keeps what the data has.

    Non-square images are scaled so that the short side fits, then centre-cropped; square ones
    are just resized (MNIST's 28 -> 32 too: resizing rather than padding keeps one rule for
    every size, and the digits fill the frame as they do at 28). ``transparency`` and
    ``background`` reach the readers that have transparency to handle (a folder): 4 channels are
    RGB and alpha, and come only from ``transparency="alpha"``.
    """
    if channels not in (None, 1, 3, 4):
        raise DataError(f"channels must be 1 (grayscale), 3 (RGB) or 4 (RGB and alpha), not {channels!r}")
    data = read_split(name, root, split, image_size, transparency, background)
    images = convert_images(torch.from_numpy(data.images), image_size, channels)
    return ImageDataset(images, torch.from_numpy(data.labels), data.class_names, data.name, data.source)


def load_for_config(config, split: str = "train") -> ImageDataset:
    """The split as ``config`` (a training Config) trains on it: dataset, size, channels, transparency,
    and under ``clusters`` the training images labelled by the clusters found in them."""
    data = load_dataset(config.dataset, config.data_root, split, config.image_size, config.channels,
                        config.transparency, config.background)
    if config.clusters and split == "train":
        labels = find_clusters(data.images, config.clusters)
        data = ImageDataset(data.images, labels, [f"cluster {i + 1}" for i in range(config.clusters)], data.name,
                            data.source)
    return data


def data_key(config) -> tuple:
    """What decides the images ``load_for_config`` returns: configs with equal keys share one dataset."""
    return (config.dataset, config.data_root, config.image_size, config.channels, config.transparency,
            config.background, config.clusters)


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
    if (channels == 4) != (c == 4):
        # Alpha cannot be made up for opaque images, nor dropped without a background to blend over:
        # the folder reader does both, when asked with transparency=alpha or composite.
        raise DataError(f"these images have {c} channels and {channels} were asked for: 4 channels (RGB and "
                        "alpha) come from a folder read with transparency=alpha, and only convert to 4")
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
