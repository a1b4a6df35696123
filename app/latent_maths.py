"""Explore's latent maths: key latents, the sample grid, the morph path, GANSpace-style directions.

Numpy on top of an inference.Generator; nothing here knows about Streamlit.
"""
from __future__ import annotations

import numpy as np

from app.images import png_bytes
from inference import Generator
from inference.latents import lerp, slerp


def latent(g: Generator, seed: int, index: int = 0) -> np.ndarray:
    """Latent number ``index`` of the grid drawn with ``seed`` (the first rows of a bigger draw
    equal a smaller draw, so one (seed, index) names one image whatever the grid size)."""
    return g.sample_latent(index + 1, seed=int(seed))[index]


def labels_for(g: Generator, n: int, label: int | None) -> np.ndarray | None:
    """None for an unconditional model; a fixed class, or (label None) classes in turn."""
    if not g.conditional:
        return None
    if label is None:
        return np.arange(n, dtype=np.int64) % g.num_classes
    return np.full(n, int(label), np.int64)


def grid(g: Generator, seed: int, n: int, truncation: float, label: int | None) -> np.ndarray:
    z = g.sample_latent(n, seed=int(seed), truncation=truncation)
    return g.generate(z, labels_for(g, n, label))


def path_point(keys: np.ndarray, t: float, method: str) -> np.ndarray:
    """The latent at position t in [0, 1] along the path through K >= 2 key latents."""
    segments = len(keys) - 1
    pos = min(max(float(t), 0.0), 1.0) * segments
    i = min(int(pos), segments - 1)
    fn = slerp if method == "slerp" else lerp
    return fn(keys[i], keys[i + 1], np.array([pos - i]))[0].astype(np.float32)


def clip_to_bound(g: Generator, z: np.ndarray) -> np.ndarray:
    bound = g.metadata.get("latent_bound")
    return z if bound is None else np.clip(z, -bound, bound).astype(np.float32)


def frame(g: Generator, keys: np.ndarray, t: float, method: str, label: int | None,
          offset: np.ndarray | None = None) -> np.ndarray:
    """The one image the morph slider shows: a point on the key path, moved along directions."""
    z = path_point(keys, t, method)
    if offset is not None:
        z = z + offset
    z = clip_to_bound(g, z)
    return g.generate(z[None], labels_for(g, 1, label))[0]


def frame_png(g: Generator, keys: np.ndarray, t: float, method: str, label: int | None,
              offset: np.ndarray | None = None, size: int = 256) -> bytes:
    """What one slider update costs on the server (bench/app_update.py times exactly this)."""
    return png_bytes(frame(g, keys, t, method, label, offset), size)


def directions(g: Generator, k: int = 5, n: int = 512, seed: int = 1234) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GANSpace-style latent directions: principal components of the images, regressed onto z.

    GANSpace finds PCA directions in a generator's early features and, where the latent does not
    map linearly to them, regresses the PCA coordinates back onto z. The ONNX file shows us only
    the output, so we do the same on the images: sample n latents, PCA of the generated images,
    then least squares from z to each component's score. Each direction is a unit vector in z
    that moves the image along one of its main modes of variation.

    Returns (directions [k, D], their spread in z (std of z along each) [k], the share of image
    variance each component explains [k]). Cheap: one batch and two small SVD-sized solves.
    """
    z = g.sample_latent(n, seed=seed)
    labels = None
    if g.conditional:
        labels = np.random.default_rng(seed).integers(0, g.num_classes, n)
    x = g.run(z, labels).reshape(n, -1).astype(np.float64)
    x -= x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(k, len(s), g.latent_dim)
    scores = x @ vt[:k].T                          # [n, k] image-space coordinates
    zc = z.astype(np.float64) - z.mean(0)
    coef, *_ = np.linalg.lstsq(zc, scores, rcond=None)  # [D, k]: z -> score
    dirs = (coef / np.maximum(np.linalg.norm(coef, axis=0), 1e-12)).T
    spread = (zc @ dirs.T).std(0)
    explained = (s[:k] ** 2) / max(float((s ** 2).sum()), 1e-12)
    return dirs.astype(np.float32), spread.astype(np.float32), explained
