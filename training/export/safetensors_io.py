"""A net's weights as safetensors, the file the model hubs expect and ``train --init-from`` reads.

Beside ``NAME.onnx`` an export writes ``NAME.generator.safetensors`` (the generator it exported: the
EMA weights where the run keeps them) and ``NAME.discriminator.safetensors``; each holds the net's
``state_dict`` (batch-norm statistics included) and, as safetensors' string metadata, what rebuilds
the net: the role, the architecture, the full config (JSON), the classes and where the weights come
from. safetensors stores raw tensors and a JSON header, never code, so reading a file from anywhere
runs nothing of it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as serialize

from inference import contract
from studio.errors import UserError
from studio.files import FileRefused, parse_json
from training import config as configs
from training.runfolder.files import atomic_write_bytes

FORMAT = "gan-studio-weights/1"
ROLES = ("generator", "discriminator")
MAX_BYTES = 2 << 30  # a GAN of this project is a few MB; a file this big is not one of its nets


class WeightsError(UserError):
    """A weights file that is missing, unreadable or not a GAN Studio net (the message says which)."""


def weights_path(model_path: Path, role: str) -> Path:
    """``NAME.generator.safetensors`` (or ``.discriminator``) beside ``NAME.onnx``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}.{role}.safetensors")


def weights_metadata(role: str, config: configs.Config, num_classes: int, class_names: list[str], source: str,
                     **extra: Any) -> dict[str, str]:
    """The header entries every weights file carries; ``extra`` adds more (strings, or JSON of anything else)."""
    meta = {"format": FORMAT, "role": role, "architecture": config.model, "config": json.dumps(config.to_dict()),
            "num_classes": str(num_classes), "class_names": json.dumps(list(class_names)), "source": source}
    for key, value in extra.items():
        if value is not None:
            meta[key] = value if isinstance(value, str) else json.dumps(value)
    return meta


def save_weights(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write ``state`` (a state_dict) with ``metadata`` to ``path`` in one rename: a reader sees the old
    file or the new one, never half of one."""
    # safetensors refuses tensors that share memory or are views; a state_dict may hold both
    tensors = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}
    atomic_write_bytes(Path(path), serialize(tensors, metadata))
    return Path(path)


@dataclass(frozen=True)
class WeightsFile:
    """A weights file's header: its metadata and the shape of each tensor (no tensor is read)."""

    path: Path
    metadata: dict[str, str]
    shapes: dict[str, tuple[int, ...]]

    @property
    def role(self) -> str:
        return self.metadata.get("role", "")

    @property
    def num_classes(self) -> int:
        try:
            return contract.FIELDS["num_classes"][0](self.metadata.get("num_classes", "0"))  # bounded as a model's
        except ValueError as error:
            raise WeightsError(f"{self.path}: its num_classes {self.metadata.get('num_classes')[:40]!r} {error}") from None

    def config(self) -> configs.Config:
        """The config the net was built from, read with today's rules (a field added since takes its default)."""
        try:
            return configs.build_config(parse_json(self.metadata["config"], what="the recorded config"))
        except (KeyError, ValueError, FileRefused) as error:
            raise WeightsError(f"{self.path}: its recorded config cannot be read ({error}); was it written by "
                               "python -m training export or upgrade --weights?") from None

    def tensors(self) -> dict[str, torch.Tensor]:
        try:
            with safe_open(str(self.path), framework="pt", device="cpu") as handle:
                return {name: handle.get_tensor(name) for name in handle.keys()}
        except (SafetensorError, OSError) as error:
            raise WeightsError(f"{self.path}: cannot read its tensors ({error})") from None


def read_weights(path: Path, role: str | None = None) -> WeightsFile:
    """The header of a GAN Studio weights file; ``role`` (when given) must be the file's."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise WeightsError(f"{path} {what}; give a NAME.generator.safetensors written by python -m training export "
                           "(or upgrade --weights), or a shipped model's name")
    if path.stat().st_size > MAX_BYTES:
        raise WeightsError(f"{path} is {path.stat().st_size:,} bytes, more than any net of this project "
                           f"({MAX_BYTES:,}); is it the right file?")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable safetensors file ({' '.join(str(error).split())})") from None
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{path} holds no GAN Studio weights (its header has format "
                           f"{metadata.get('format')!r}, not {FORMAT!r}): this project rebuilds a net from the config "
                           "its own export records")
    found = WeightsFile(path, metadata, shapes)
    if role is not None and found.role != role:
        raise WeightsError(f"{path} holds {found.role or 'unnamed'} weights, not a {role}'s")
    return found
