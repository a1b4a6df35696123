"""``init_from``: the weights a fine-tuning run starts from, found, checked and loaded.

``init_from`` names a ``NAME.generator.safetensors`` file (``export`` and ``upgrade --weights``
write them), or a model by name: ``exported/NAME`` or a shipped model's bare ``NAME``. The
discriminator's file ``NAME.discriminator.safetensors`` is loaded too when it lies beside the
generator's (the shipped models keep none: their D starts from the seed's weights).

``train`` checks the files before a run folder exists (``check_source``: every tensor's name and
shape against the nets this run builds, a mismatch explained by the settings that differ) and
records their SHA-256 in the config (``init_from_sha256``, ``init_from_d_sha256``); the session
loads them (``load_into``) before step 0, before the EMA copies G, and refuses a file whose bytes
changed since. ``resume`` never reads them: the checkpoint holds the weights.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from studio.errors import UserError
from training.config import Config
from training.export.safetensors_io import WeightsFile, read_weights, weights_path
from training.models import build_models

EXPORTED = Path(__file__).resolve().parents[2] / "exported"  # the shipped models
SUFFIX = ".generator.safetensors"
# The settings that shape the nets: named when a file does not fit, with the value that would fit.
SHAPING = {"generator": ("model", "latent_dim", "image_size", "channels", "conditional", "g_width"),
           "discriminator": ("model", "image_size", "channels", "conditional", "d_width", "pack")}


class InitFromError(UserError):
    """Weights that cannot start this run (the message says why and what to use instead)."""


@dataclass(frozen=True)
class InitSource:
    generator: WeightsFile
    discriminator: WeightsFile | None
    generator_sha256: str
    discriminator_sha256: str  # "" without a discriminator file


def generator_file(init_from: str) -> Path:
    """The generator's weights file that ``init_from`` names."""
    given = Path(init_from).expanduser()
    if init_from.endswith(".safetensors"):
        return given
    if given.suffix == ".onnx":
        return _found(weights_path(given, "generator"), init_from,
                      f"; `python -m training upgrade {init_from} --weights` recovers it from the graph")
    beside = given.with_name(given.name + SUFFIX)
    if given.parts[:1] == ("exported",) and len(given.parts) == 2 and not beside.is_file():
        beside = EXPORTED / beside.name  # exported/NAME from any folder: the shipped model
    if beside.is_file() or "/" in init_from or "\\" in init_from:
        return _found(beside, init_from, "")
    if given.name != init_from or init_from.startswith("."):
        raise InitFromError(f"init_from {init_from!r} is neither a file nor a model's name")
    return _found(EXPORTED / (init_from + SUFFIX), init_from, "")


def _found(path: Path, init_from: str, hint: str) -> Path:
    if path.is_file():
        return path
    shipped = sorted(p.name[:-len(SUFFIX)] for p in EXPORTED.glob("*" + SUFFIX))
    raise InitFromError(f"init_from {init_from!r}: no {path}{hint}. Give a NAME.generator.safetensors written by "
                        f"python -m training export, or a shipped model ({', '.join(shipped) or 'none has weights yet'})")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_source(config: Config) -> InitSource:
    """The files ``config.init_from`` names, their headers read, their bytes those the config recorded."""
    path = generator_file(config.init_from)
    generator = read_weights(path, "generator")
    d_path = Path(str(path)[:-len(SUFFIX)] + ".discriminator.safetensors") if path.name.endswith(SUFFIX) else None
    discriminator = read_weights(d_path, "discriminator") if d_path is not None and d_path.is_file() else None
    source = InitSource(generator, discriminator, _sha256(path), _sha256(d_path) if discriminator else "")
    for name, recorded, found, what in (
            ("init_from_sha256", config.init_from_sha256, source.generator_sha256, path),
            ("init_from_d_sha256", config.init_from_d_sha256, source.discriminator_sha256, d_path)):
        if recorded and recorded != found:
            now = f"has sha256 {found}" if found else "is missing"
            raise InitFromError(f"{what} {now}, but this run's config records {recorded} ({name}): the weights it "
                                f"started from changed. Put the file back, or drop {name} to start from the new one.")
    if config.freeze_d and discriminator is None:
        raise InitFromError(f"freeze_d={config.freeze_d} keeps D's first layers as they were trained, but {path.name} has "
                            "no discriminator's file beside it (a shipped model keeps none: its D starts from scratch); "
                            "set freeze_d=0, or start from an export of your own run (it writes both)")
    return source


def recorded(config: Config, source: InitSource) -> Config:
    """``config`` with where it starts: the generator file's path (absolute) and both files' SHA-256."""
    return config.replace(init_from=str(source.generator.path.resolve()), init_from_sha256=source.generator_sha256,
                          init_from_d_sha256=source.discriminator_sha256)


def check_source(config: Config, num_classes: int) -> InitSource:
    """Read ``config.init_from``'s files and check every tensor against the nets this run builds."""
    source = read_source(config)
    models = build_models(config, num_classes)
    nets = [(source.generator, models.generator)]
    if source.discriminator is not None:
        nets.append((source.discriminator, models.discriminator))
    for weights, net in nets:
        problem = _mismatch(weights, net)
        if problem:
            raise InitFromError(f"--init-from {config.init_from}: its {weights.role} does not fit this run's "
                                f"({problem}). {_advice(weights, config, num_classes)}")
    return source


def _mismatch(weights: WeightsFile, net: nn.Module) -> str | None:
    expected = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    for name, shape in expected.items():
        if name not in weights.shapes:
            return f"this run's net has {name}, the file has not"
        if weights.shapes[name] != shape:
            return f"{name} is {list(weights.shapes[name])} in the file, {list(shape)} here"
    extra = sorted(set(weights.shapes) - set(expected))
    return f"the file has {extra[0]}, this run's net has not" if extra else None


def _advice(weights: WeightsFile, config: Config, num_classes: int) -> str:
    theirs = weights.config()
    fixes = [f"--set {key}={str(getattr(theirs, key)).lower() if isinstance(getattr(theirs, key), bool) else getattr(theirs, key)}"
             for key in SHAPING[weights.role] if getattr(theirs, key) != getattr(config, key)]
    if fixes:
        return (f"Its net was built with other settings: {' '.join(fixes)} trains from it; or start from weights "
                "made for this run's settings.")
    if weights.num_classes != num_classes:
        return (f"It draws {weights.num_classes} classes and this run's data has {num_classes}: fine-tune on data with "
                f"{weights.num_classes} classes, or start from an unconditional model.")
    return "Start from weights exported by this version of GAN Studio for this architecture."


def load_into(config: Config, generator: nn.Module, discriminator: nn.Module) -> InitSource:
    """Load ``config.init_from``'s weights into the nets (D only when its file exists)."""
    source = read_source(config)
    for weights, net in ((source.generator, generator), (source.discriminator, discriminator)):
        if weights is None:
            continue
        problem = _mismatch(weights, net)
        if problem:
            raise InitFromError(f"init_from {config.init_from}: its {weights.role} does not fit this run's ({problem})")
        net.load_state_dict(weights.tensors())
    return source
