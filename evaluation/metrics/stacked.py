"""Stacked MNIST (Metz et al., 2017, "Unrolled GANs"; used by VEEGAN and PacGAN): three MNIST
digits stacked as channels give 1000 modes; the mode of a sample is 100*d0 + 10*d1 + d2, each
digit read by the MNIST evaluator from its channel. Reported: modes captured (>= 1 sample) and
KL(p_gen_modes || uniform over 1000).
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

from .registry import HIGHER, LOWER, METRICS, Samples, Score

__all__ = ["stacked_mnist_modes", "mode_histogram", "stacked_mnist_metrics"]


def stacked_mnist_modes(digit_predictions) -> np.ndarray:
    """Mode ids 0..999 from per-channel digits ``[N, 3]`` (ints) or digit scores ``[N, 3, 10]``."""
    d = np.asarray(digit_predictions)
    if d.ndim == 3:
        if d.shape[1:] != (3, 10):
            raise ValueError(f"digit scores must be [N, 3, 10], got {d.shape}")
        d = d.argmax(axis=2)
    if d.ndim != 2 or d.shape[1] != 3:
        raise ValueError(f"digit predictions must be [N, 3], got {d.shape}")
    if not np.issubdtype(d.dtype, np.integer) and not np.array_equal(d, np.round(d)):
        raise ValueError("digit predictions must be integers 0..9")
    d = d.astype(np.int64)
    if d.size and (d.min() < 0 or d.max() > 9):
        raise ValueError("digit predictions must be integers 0..9")
    return d @ np.array([100, 10, 1])


def mode_histogram(mode_ids, num_modes: int = 1000) -> np.ndarray:
    """Counts per mode, ``[num_modes]`` (int64)."""
    return np.bincount(np.asarray(mode_ids, dtype=np.int64), minlength=num_modes)


def stacked_mnist_metrics(digit_predictions) -> dict[str, float]:
    """``modes_captured`` (modes with >= 1 sample, of 1000) and ``mode_kl`` = KL(p_gen || U_1000)."""
    counts = mode_histogram(stacked_mnist_modes(digit_predictions), 1000)
    if counts.sum() == 0:
        raise ValueError("no samples")
    p_gen = counts / counts.sum()
    # rel_entr handles empty modes (0 log 0 = 0); the uniform side is never 0, so no smoothing.
    kl = rel_entr(p_gen, np.full(1000, 1e-3)).sum()
    return {"modes_captured": int(np.count_nonzero(counts)), "mode_kl": float(kl)}


@METRICS.register("stacked-mnist-modes", Score("modes_captured", "Stacked MNIST modes captured (of 1,000)", HIGHER,
                                               on_card=True),
                  Score("mode_kl", "Stacked MNIST mode KL (generated || uniform)", LOWER, on_card=True),
                  needs=("logits", "stacked_images"), when="stacked-mnist only")
def _stacked_modes(samples: Samples) -> dict[str, float]:
    # rows 3i, 3i+1, 3i+2 are the three channels of stacked image i
    return stacked_mnist_metrics(samples.logits.argmax(1).reshape(samples.stacked_images, 3))
