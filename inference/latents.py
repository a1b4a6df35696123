"""Latent vectors: reproducible sampling and interpolation paths (numpy only)."""

from __future__ import annotations

import secrets

import numpy as np

from . import philox
from .errors import InferenceError
from .limits import check_bytes

METHODS = ("slerp", "lerp")


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InferenceError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def sample(
    n: int,
    latent_dim: int,
    *,
    seed: int | None = None,
    distribution: str = "normal",
    bound: float | None = None,
    truncation: float = 1.0,
    scheme: str = "philox",
) -> np.ndarray:
    """Draw `n` latents, float32 [n, latent_dim].

    `scheme` is the file's `latent_scheme` (see contract.LATENT_SCHEMES):
    "philox" (every file exported since it existed): element (row, column) is a pure function of
    (seed, row, column), Philox-4x32-10 then Box-Muller (inference/philox.py, spelled out in
    docs/inference.md), so Python, the browser and Node draw the same float32 latents.
    "pcg64" (older files without the field): numpy's PCG64 seeded with `seed`, filled row by
    row; kept so a seed noted for an old model keeps giving its image.
    Both work in float64 and cast to float32 last, give the same latents on every machine, and
    the first k rows of sample(n, ...) equal sample(k, ...) (a bigger grid keeps the images it
    already showed). `seed=None` draws a fresh random seed.

    normal: N(0, 1), clipped to [-bound, bound] when a bound is set.
    uniform: U(-bound, bound).

    truncation psi in [0, 1] scales every latent toward the mean (z * psi): 1 is the plain
    distribution, smaller trades variety for typical, cleaner images, 0 gives the "average"
    image. Scaling (rather than resampling values beyond a threshold) keeps each seed's image
    changing smoothly as psi moves, which is what a slider wants, and keeps bounded latents
    inside their bounds.
    """
    n = _check_count("n", n, 1)
    latent_dim = _check_count("latent_dim", latent_dim, 1)
    if seed is not None:
        seed = _check_count("seed", seed, 0)
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float, np.floating)) \
            or not 0.0 <= float(truncation) <= 1.0:
        raise InferenceError(f"truncation must be a number in [0, 1], got {truncation!r}")
    check_bytes(f"{n:,} latents", (n, latent_dim), 8)  # drawn in float64
    if distribution not in ("normal", "uniform"):
        raise InferenceError(f"unknown latent distribution {distribution!r} (normal or uniform)")
    if distribution == "uniform" and bound is None:
        raise InferenceError("a uniform latent needs a bound")
    if scheme == "philox":
        if seed is None:
            seed = secrets.randbelow(philox.MAX_SEED + 1)
        if seed > philox.MAX_SEED:
            raise InferenceError(f"seed must be at most {philox.MAX_SEED} (2**53 - 1, the largest integer "
                                 f"every runtime holds exactly), got {seed}")
        z = philox.draw(seed, n, latent_dim, distribution, bound)
        return (z * float(truncation)).astype(np.float32)
    if scheme != "pcg64":
        raise InferenceError(f"unknown latent scheme {scheme!r} (philox or pcg64)")
    rng = np.random.Generator(np.random.PCG64(seed))
    if distribution == "normal":
        z = rng.standard_normal((n, latent_dim))
        if bound is not None:
            z = np.clip(z, -bound, bound)
    elif distribution == "uniform":
        if bound is None:
            raise InferenceError("a uniform latent needs a bound")
        z = rng.uniform(-bound, bound, (n, latent_dim))
    else:
        raise InferenceError(f"unknown latent distribution {distribution!r} (normal or uniform)")
    return (z * float(truncation)).astype(np.float32)


def sample_labels(n: int, num_classes: int, prior: list[float] | None = None, seed: int | None = None) -> np.ndarray:
    """int64 [n] classes drawn in ``prior``'s proportions (uniformly without one), seeded."""
    rng = np.random.default_rng(seed)
    return rng.choice(num_classes, size=_check_count("n", n, 0), p=prior or None).astype(np.int64)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Straight line from a to b: [len(t), D]. Exact at t=0 and t=1."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    return (1.0 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Spherical interpolation from a to b along the great circle: [len(t), D].

    Gaussian latents concentrate near a sphere of radius sqrt(D); a straight line between two
    of them cuts through the low-density middle (dull, washed-out images), the arc does not.
    When a and b are (anti)parallel or zero the arc is undefined, so this falls back to lerp.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return lerp(a, b, t)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    so = np.sin(omega)
    if so < eps:
        return lerp(a, b, t)
    t = np.asarray(t, np.float64)[:, None]
    return (np.sin((1.0 - t) * omega) / so) * a + (np.sin(t * omega) / so) * b


def interpolate(keys: np.ndarray, steps: int = 9, method: str = "slerp") -> np.ndarray:
    """Path through key latents [K, D] (K >= 2), float32 [(K-1)*(steps-1)+1, D].

    Each segment has `steps` frames including both of its keys; a key shared by two segments
    appears once, so the path plays without a stutter at the joins.
    """
    keys = np.asarray(keys)
    if keys.ndim != 2 or keys.shape[0] < 2:
        raise InferenceError(f"interpolation needs key latents [K >= 2, D], got shape {keys.shape}")
    steps = _check_count("steps", steps, 2)
    check_bytes(f"an interpolation of {steps:,} steps per segment", ((len(keys) - 1) * (steps - 1) + 1, keys.shape[1]),
                8, "ask for fewer steps")
    if method not in METHODS:
        raise InferenceError(f"unknown interpolation method {method!r} (slerp or lerp)")
    f = slerp if method == "slerp" else lerp
    t = np.linspace(0.0, 1.0, steps)
    segments = [f(keys[i], keys[i + 1], t)[(1 if i else 0):] for i in range(len(keys) - 1)]
    return np.concatenate(segments).astype(np.float32)
