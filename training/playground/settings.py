"""The playground's knobs: their defaults, their ranges, and one clear message for each bad value.

Torch-free: the app checks the knobs before it starts a process, and the process checks them
again (``python -m training playground`` can be typed by hand). The defaults are the settings
with which a ring of 8 reaches all eight modes in well under a minute on one CPU core (measured:
docs/app-tour.md, "2-D playground").
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from training.config import ConfigError
from training.playground.targets import TARGETS, make_target

LOSSES = {
    "non-saturating": "-log D(G(z)) for G, cross-entropy for D (Goodfellow et al. 2014's fix)",
    "minimax": "log(1 - D(G(z))) for G: the game as written, whose gradient vanishes where D is sure",
    "wasserstein": "WGAN: a critic kept Lipschitz by clipping its weights to +-clip_value",
    "wgan-gp": "WGAN-GP: a gradient penalty pushes the critic's gradient norm to 1",
    "hinge": "hinge loss for D, -D(G(z)) for G (SNGAN, BigGAN)",
}
KIND = "playground"   # config.json's "kind": how the app tells a playground run from an image run
STARTS = ("play", "pause")

# name: (low, high, whole number?, what it is)
RANGES = {
    "lr_g": (1e-6, 1.0, False, "G's Adam learning rate"),
    "lr_d": (1e-6, 1.0, False, "D's Adam learning rate"),
    "n_critic": (1, 20, True, "D steps per G step"),
    "g_width": (4, 512, True, "units in each hidden layer of G"),
    "d_width": (4, 512, True, "units in each hidden layer of D"),
    "depth": (1, 6, True, "hidden layers of G and of D"),
    "pack": (1, 8, True, "PacGAN packing: samples D judges together"),
    "batch_size": (8, 4096, True, "points per batch"),
    "latent_dim": (1, 16, True, "size of G's input noise"),
    "clip_value": (1e-4, 10.0, False, "weight-clipping bound (wasserstein)"),
    "gp_lambda": (0.0, 1000.0, False, "gradient-penalty weight (wgan-gp)"),
    "point_std": (1e-3, 1.0, False, "spread of each drawn point's Gaussian"),
    "steps": (1, 1_000_000, True, "G steps before the process ends by itself"),
    "snapshot_every": (1, 10_000, True, "G steps between snapshots"),
    "seed": (0, 2**31 - 1, True, "random seed"),
}


@dataclass
class Settings:
    # the target and the nets
    target: str = "ring"
    points: list | None = None
    point_std: float = 0.05
    latent_dim: int = 2
    g_width: int = 64
    d_width: int = 64
    depth: int = 3
    pack: int = 2
    # how they learn
    loss: str = "non-saturating"
    clip_value: float = 0.01
    gp_lambda: float = 0.1
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    n_critic: int = 1
    batch_size: int = 256
    # the session
    steps: int = 20_000
    snapshot_every: int = 50
    seed: int = 0
    start: str = "play"
    kind: str = field(default=KIND)

    def to_dict(self) -> dict:
        return {**asdict(self), "preset": KIND}


def _number(name: str, value):
    lo, hi, whole, what = RANGES[name]
    ok_type = isinstance(value, int) if whole else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise ConfigError(f"{name} ({what}) is {value!r}: give a {'whole number' if whole else 'number'} "
                          f"between {lo:g} and {hi:g}.")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} ({what}) is {value:g}: it must lie between {lo:g} and {hi:g}.")
    return value if whole else float(value)


def check_settings(values: dict) -> Settings:
    """A Settings from a dict of knobs (a run's config.json, the app's form, the CLI's options);
    ConfigError naming the first knob that is wrong and what it may be."""
    known = {f.name for f in fields(Settings)} | {"preset"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown playground setting {unknown[0]!r}; the settings are "
                          f"{', '.join(sorted(known - {'kind', 'preset'}))}.")
    settings = Settings(**{k: v for k, v in values.items() if k != "preset"})
    if settings.kind != KIND:
        raise ConfigError(f"this is not a playground config (kind {settings.kind!r}, not {KIND!r}).")
    if settings.target not in TARGETS:
        raise ConfigError(f"unknown target {settings.target!r}: pick one of {', '.join(TARGETS)}.")
    if settings.loss not in LOSSES:
        raise ConfigError(f"unknown loss {settings.loss!r} for the playground: pick one of {', '.join(LOSSES)}.")
    if settings.start not in STARTS:
        raise ConfigError(f"start is {settings.start!r}: 'play' (train at once) or 'pause' (wait for Play or Step).")
    for name in RANGES:
        setattr(settings, name, _number(name, getattr(settings, name)))
    if settings.batch_size % settings.pack:
        raise ConfigError(f"batch_size {settings.batch_size} is not a multiple of pack {settings.pack}: D judges "
                          f"packs of {settings.pack} points; try batch_size "
                          f"{settings.batch_size - settings.batch_size % settings.pack or settings.pack}.")
    if settings.target == "points":
        settings.points = make_target("points", settings.points, settings.point_std).centres.tolist()
    elif settings.points is not None:
        raise ConfigError(f"points are only for the 'points' target, not {settings.target!r}.")
    return settings
