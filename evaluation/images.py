"""Generator output -> the input of a feature network (numpy only).

* The evaluator CNN reads float32 [N, 1, 28, 28] in [-1, 1] (a folder's evaluator [N, 3, S, S]: its
  ``input_shape``): generated images are mapped from the generator's ``output_range`` (or uint8
  0..255), transparency composited over black (RGB x alpha, as a folder's reference and its evaluator's
  training images are), colour turned to gray (ITU-R 601) for a gray evaluator or gray repeated into
  RGB for a colour one, and resized with an antialiased bilinear filter when the sizes differ (the
  weights of Pillow's ``Image.resize(BILINEAR)``, as a matrix product).
* Inception-v3 reads [N, 3, 299, 299] (``inception.inception_input``); it takes images in [0, 1]
  from ``to_unit_range``.
"""
from __future__ import annotations

import numpy as np

from .errors import EvaluationError

EVALUATOR_SIZE = (28, 28)


def to_unit_range(images: np.ndarray, output_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """float [N, C, H, W] in ``output_range`` (or uint8 0..255) -> float32 in [0, 1], clipped."""
    x = np.asarray(images)
    if x.ndim != 4:
        raise EvaluationError(f"expected images [N, C, H, W], got shape {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    lo, hi = map(float, output_range)
    return np.clip((x.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def to_evaluator_input(images: np.ndarray, output_range: tuple[float, float] = (-1.0, 1.0),
                       input_shape: tuple[int, int, int] = (1, *EVALUATOR_SIZE)) -> np.ndarray:
    """Generator output float [N, C, H, W] in ``output_range`` (or uint8 0..255) -> float32
    [N, *input_shape] in [-1, 1] (the evaluator's ``input_shape``: 1x28x28, or a folder's 3xSxS)."""
    x = to_unit_range(images, output_range)
    channels, size = input_shape[0], tuple(input_shape[1:])
    if channels == 3 and x.shape[1] in (2, 4):
        x = x[:, :-1] * x[:, -1:]  # the picture on black, as the folder evaluator learned it
    if channels == 1 and x.shape[1] == 3:
        x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    elif channels == 3 and x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    elif x.shape[1] != channels or channels not in (1, 3):
        raise EvaluationError(f"expected 1 or 3 channels, got {x.shape[1]}")
    if x.shape[2:] != size:
        x = resize(x, size)
    return (x * 2.0 - 1.0).astype(np.float32)


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] float64: Pillow's bilinear resample along one axis (a triangle filter widened by
    the scale when shrinking, so it averages rather than skips pixels; each row sums to 1)."""
    scale = n_in / n_out
    support = max(scale, 1.0)  # the triangle's half-width in input pixels
    matrix = np.zeros((n_out, n_in))
    for j in range(n_out):
        centre = (j + 0.5) * scale
        first, stop = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), n_in)
        taps = np.arange(first, stop)
        weights = np.clip(1.0 - np.abs((taps - centre + 0.5) / support), 0.0, None)
        matrix[j, first:stop] = weights / weights.sum()
    return matrix


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float [N, C, H, W] -> float32 [N, C, *size], antialiased bilinear (``bilinear_matrix``)."""
    rows = bilinear_matrix(images.shape[2], size[0])
    cols = bilinear_matrix(images.shape[3], size[1])
    return (rows @ images.astype(np.float64) @ cols.T).astype(np.float32)
