"""Mode-collapse metrics for the 2-D Gaussian-mixture benchmarks of VEEGAN (Srivastava et al.,
2017, arXiv:1705.07761) and PacGAN (Lin et al., 2018, arXiv:1712.04086): 8 modes on a ring of
radius 2 with std 0.02 (PacGAN's radius 1 and std 0.01, scaled by 2), and 25 modes on a 5x5 grid
with spacing 2 ({-4,-2,0,2,4}²) and std 0.05, as in PacGAN's released configurations
(github.com/fjxmlzn/PacGAN, synthetic_data_experiments/*/config.py).

Definitions (those of the two papers):
* a sample is *high quality* when its Euclidean distance to the nearest centre is at most
  ``n_std`` (3) standard deviations. For exact samples of an isotropic 2-D Gaussian this
  happens with probability 1 - exp(-n_std²/2) = 0.98889 at n_std = 3, so that, not 1, is the
  share a perfect generator gets;
* a mode is *covered* (captured) when at least ``min_samples`` (default 1) high-quality samples
  have it as their nearest centre;
* the *reverse KL* is KL(p_gen || p_data) between the distribution of high-quality samples over
  modes (nearest centre) and the uniform mixture weights. It is 0 for a balanced generator and
  log(#modes) for a generator stuck on one mode; infinite if no sample is high quality.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import rel_entr

from .registry import HIGHER, LOWER, METRICS, NEITHER, Samples, Score

__all__ = ["ring_modes", "grid_modes", "sample_mixture", "toy_metrics"]


def ring_modes(n: int = 8, radius: float = 2.0, std: float = 0.02) -> tuple[np.ndarray, float]:
    """``n`` centres ``[n, 2]`` evenly spaced on a circle (the first at angle 0), and ``std``."""
    angles = 2.0 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), float(std)


def grid_modes(n: int = 25, spacing: float = 2.0, std: float = 0.05) -> tuple[np.ndarray, float]:
    """``n`` (a square) centres on a square grid centred at the origin, and ``std``."""
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"grid_modes needs a square number of modes, got {n}")
    axis = (np.arange(side) - (side - 1) / 2.0) * spacing
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1), float(std)


def sample_mixture(centres, std: float, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples ``[n, 2]`` (float64) from the equal-weight isotropic Gaussian mixture."""
    centres = np.asarray(centres, dtype=np.float64)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, centres.shape[0], size=n)
    return centres[which] + std * rng.standard_normal((n, centres.shape[1]))


def toy_metrics(samples, centres, std: float, n_std: float = 3.0, min_samples: int = 1) -> dict[str, float]:
    """``modes_covered``, ``num_modes``, ``high_quality_share`` and ``reverse_kl`` (nats)."""
    x = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or centres.ndim != 2 or x.shape[1] != centres.shape[1]:
        raise ValueError(f"samples [N, D] and centres [M, D] expected, got {x.shape} and {centres.shape}")
    if not np.isfinite(x).all():
        raise ValueError("samples contain NaN or infinite values")
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")
    num_modes = centres.shape[0]
    # N x M distances: M is at most a few dozen here, so no chunking is needed.
    dist = np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    high_quality = dist[np.arange(x.shape[0]), nearest] <= n_std * std

    counts = np.bincount(nearest[high_quality], minlength=num_modes)
    n_hq = int(counts.sum())
    if n_hq:
        reverse_kl = float(rel_entr(counts / n_hq, np.full(num_modes, 1.0 / num_modes)).sum())
    else:
        reverse_kl = math.inf
    return {
        "modes_covered": int(np.count_nonzero(counts >= min_samples)),
        "num_modes": int(num_modes),
        "high_quality_share": n_hq / x.shape[0],
        "reverse_kl": reverse_kl,
    }


@METRICS.register("toy-modes", Score("modes_covered", "Modes covered", HIGHER, charted=False),
                  Score("num_modes", "Modes of the mixture", NEITHER, charted=False),
                  Score("high_quality_share", "High-quality share", HIGHER, charted=False),
                  Score("reverse_kl", "Reverse KL (generated || mixture)", LOWER, charted=False),
                  needs=("points", "mixture"), when="2-D mixtures only: bench/modes_toy.py")
def _toy_modes(samples: Samples) -> dict[str, float]:
    centres, std = samples.mixture
    return toy_metrics(samples.points, centres, std)
