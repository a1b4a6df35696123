"""The 2-D targets of the playground: what "real" means, how to sample it and how to score a fake.

Numpy only (the app draws the target before any process starts). Every target has *modes*:
centres with a spread ``std``, so that ``evaluation.metrics.toy_metrics`` scores any of them the
same way (a sample is high quality within 3 std of its nearest centre; a mode is covered when
one high-quality sample is nearest to it). For the ring and the grid these are the benchmark's
Gaussians (VEEGAN/PacGAN). The two moons and the spiral are curves: their modes are points spaced
evenly along the curve, with ``std`` such that 3 std reaches half-way to the next point plus the
curve's noise, so "modes covered" reads "stretches of the curve reached". Points the user draws
or types are the centres of a mixture with the std the user picks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from training.config import ConfigError

TARGETS = {
    "ring": "8 Gaussians on a circle of radius 2 (std 0.02), the VEEGAN/PacGAN benchmark",
    "grid": "25 Gaussians on a 5x5 grid, spacing 2 (std 0.05), the PacGAN benchmark",
    "moons": "two interleaving half circles (noise 0.05); modes: 16 stretches of the curves",
    "spiral": "a spiral of 1.75 turns (noise 0.05); modes: 16 stretches of the curve",
    "points": "a Gaussian around each point you draw or type (at least 2 points)",
}
MIN_POINTS, MAX_POINTS = 2, 200
POINT_LIMIT = 10.0       # drawn points must lie within [-10, 10] in both axes
CURVE_NOISE = 0.05
CURVE_MODES = 16


@dataclass(frozen=True)
class Target:
    name: str
    centres: np.ndarray      # [M, 2] the modes the metrics count
    std: float               # their spread (high quality: within 3 std)
    curve: np.ndarray | None = None   # [K, 2] dense points of a curve target, sampled with noise

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` real points, float32 ``[n, 2]``."""
        if self.curve is not None:
            base = self.curve[rng.integers(0, len(self.curve), n)]
            return (base + CURVE_NOISE * rng.standard_normal((n, 2))).astype(np.float32)
        which = rng.integers(0, len(self.centres), n)
        return (self.centres[which] + self.std * rng.standard_normal((n, 2))).astype(np.float32)

    def bounds(self, margin: float = 0.25) -> tuple[float, float, float, float]:
        """A square view (x0, x1, y0, y1) holding every mode with some room around it."""
        lo, hi = self.centres.min(0) - 3 * self.std, self.centres.max(0) + 3 * self.std
        half = max(float((hi - lo).max()) / 2 * (1 + margin), 0.5)
        cx, cy = (lo + hi) / 2
        return cx - half, cx + half, cy - half, cy + half


def _moons_curve(k: int = 2000) -> np.ndarray:
    t = np.linspace(0, np.pi, k // 2)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    # centred on the origin and scaled to the ring's size, so the same knobs suit both
    return (np.concatenate([upper, lower]) - [0.5, 0.25]) * 1.6


def _spiral_curve(k: int = 2000) -> np.ndarray:
    t = np.linspace(0.25, 1.0, k) ** 0.5 * 1.75 * 2 * np.pi   # denser at the centre, even by arc length
    r = t / (1.75 * 2 * np.pi) * 2.4
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _curve_modes(curve: np.ndarray, pieces: list[np.ndarray], per_piece: int) -> tuple[np.ndarray, float]:
    """Modes evenly spaced by arc length along each piece of a curve, and the std that makes
    3 std reach half-way to the next one plus the curve's noise."""
    centres, spacing = [], []
    for piece in pieces:
        steps = np.linalg.norm(np.diff(piece, axis=0), axis=1)
        arc = np.concatenate([[0], np.cumsum(steps)])
        at = (np.arange(per_piece) + 0.5) / per_piece * arc[-1]
        centres.append(np.stack([np.interp(at, arc, piece[:, 0]), np.interp(at, arc, piece[:, 1])], 1))
        spacing.append(arc[-1] / per_piece)
    return np.concatenate(centres), (max(spacing) / 2 + 3 * CURVE_NOISE) / 3


def parse_points(text: str) -> np.ndarray:
    """Points typed as ``x, y`` one a line (or ``x y``), checked (``check_points``)."""
    return check_points(read_points(text))


def read_points(text: str) -> list[tuple[float, float]]:
    """The points typed as ``x, y`` one a line (or ``x y``), however few; ConfigError naming the
    line that is not a point."""
    points = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        try:
            x, y = (float(v) for v in parts)
        except ValueError:
            raise ConfigError(f"point line {number} is {line!r}: write two numbers, x and y, like '1.5, -0.5'.") from None
        points.append((x, y))
    return points


def check_points(points) -> np.ndarray:
    """The user's points as float64 ``[M, 2]``, or ConfigError saying what is wrong with them."""
    try:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    except (TypeError, ValueError):
        raise ConfigError("points must be pairs of numbers [[x, y], ...].") from None
    if not np.isfinite(array).all():
        raise ConfigError("points must be finite numbers (no NaN or infinity).")
    if len(array) < MIN_POINTS:
        raise ConfigError(f"draw at least {MIN_POINTS} points for the target (there {'is' if len(array) == 1 else 'are'} "
                          f"{len(array)}): draw them on the canvas, or type them as 'x, y', one a line.")
    if len(array) > MAX_POINTS:
        raise ConfigError(f"at most {MAX_POINTS} points (there are {len(array)}): draw fewer.")
    if np.abs(array).max() > POINT_LIMIT:
        raise ConfigError(f"points must lie within -{POINT_LIMIT:g} and {POINT_LIMIT:g} on both axes; "
                          f"one is at {array[np.abs(array).max(1).argmax()].round(2).tolist()}.")
    return array


def make_target(name: str, points=None, point_std: float = 0.05) -> Target:
    """The target called ``name``; ``points`` (and ``point_std``) only for ``points``."""
    # evaluation's package loads scipy and onnxruntime (0.3 s): only building a ring or grid needs it,
    # not the CLI's parser nor the app's form
    from evaluation.metrics.toy import grid_modes, ring_modes

    if name == "ring":
        centres, std = ring_modes()
        return Target(name, centres, std)
    if name == "grid":
        centres, std = grid_modes()
        return Target(name, centres, std)
    if name == "moons":
        curve = _moons_curve()
        half = len(curve) // 2
        centres, std = _curve_modes(curve, [curve[:half], curve[half:]], CURVE_MODES // 2)
        return Target(name, centres, std, curve)
    if name == "spiral":
        curve = _spiral_curve()
        centres, std = _curve_modes(curve, [curve], CURVE_MODES)
        return Target(name, centres, std, curve)
    if name == "points":
        if not (isinstance(point_std, (int, float)) and math.isfinite(point_std) and 0 < point_std <= 1):
            raise ConfigError(f"point_std is {point_std!r}: give a spread between 0 (exclusive) and 1.")
        return Target(name, check_points(points if points is not None else []), float(point_std))
    raise ConfigError(f"unknown target {name!r}: pick one of {', '.join(TARGETS)}.")
