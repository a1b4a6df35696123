"""What the fine-tuning tests share (not a test module): a small DCGAN config on a folder of images,
and weights files written from the nets such a config builds."""
from __future__ import annotations

from pathlib import Path

from training import config as configs
from training.export.safetensors_io import save_weights, weights_metadata, weights_path
from training.models import build_models


def small_dcgan(images: Path, **changes) -> configs.Config:
    """A width-8 DCGAN on a folder of 28x28 gray images: a few milliseconds a step."""
    return configs.resolve("dcgan-mnist", [], dict(
        dataset="folder", data_root=str(images), image_size=28, channels=1, batch_size=8, steps=3, g_width=8,
        d_width=8, latent_dim=12, sample_every=1000, checkpoint_every=1000, log_every=1, health_check=False,
        tensorboard=False) | changes)


def write_weights(folder: Path, config: configs.Config, discriminator: bool = True, name: str = "pretrained") -> Path:
    """NAME.generator.safetensors (and NAME.discriminator.safetensors) of freshly built nets; returns G's file."""
    models = build_models(config)
    Path(folder).mkdir(parents=True, exist_ok=True)
    model = Path(folder) / f"{name}.onnx"
    roles = {"generator": models.generator, **({"discriminator": models.discriminator} if discriminator else {})}
    for role, net in roles.items():
        save_weights(weights_path(model, role), net.state_dict(), weights_metadata(role, config, 0, [], "a test"))
    return weights_path(model, "generator")
