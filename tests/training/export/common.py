"""What the export tests share (not a test module): a small generator as export sees it, and a small
trained DCGAN run."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.config import Config, ConfigError
from training.export.graph import optimize_for_export
from training.models import build_models

LATENT_DIM = 12


def export_ready_generator(model: str, conditional: bool) -> tuple[Config, torch.nn.Module]:
    """A width-8 ``model`` generator (10 classes when ``conditional``) whose batch-norm statistics have
    left their start, so export's folding shows, rewritten for export; skips a model with no
    conditional version."""
    config = configs.resolve("dcgan-mnist", [], {"model": model, "g_width": 8, "d_width": 8, "latent_dim": LATENT_DIM})
    torch.manual_seed(0)
    try:
        g = build_models(config, 10 if conditional else 0).generator
    except ConfigError as error:
        if conditional and "no class-conditional version" in str(error):
            pytest.skip(f"{model} has no class-conditional version")
        raise
    g.train()
    with torch.no_grad():
        g(torch.randn(32, LATENT_DIM), torch.arange(32) % 10 if conditional else None)
    return config, optimize_for_export(g.eval())


def trained_dcgan_run(runs, images, **changes):
    """A finished 3-step width-8 DCGAN run on a folder of 28x28 gray ``images`` (its batch norms'
    statistics have moved, and it keeps a discriminator): what export and fine-tuning start from."""
    from training.runfolder.folder import create_run
    from training.session import build_session
    from training.trainer import Trainer

    config = configs.resolve("dcgan-mnist", [], dict(
        dataset="folder", data_root=str(images), image_size=28, channels=1, batch_size=8, steps=3, g_width=8,
        d_width=8, latent_dim=LATENT_DIM, checkpoint_every=3, sample_every=1000, log_every=1, ema=True,
        health_check=False, tensorboard=False) | changes)
    run = create_run(runs, "dcgan", config.to_dict())
    assert Trainer(build_session(config), run).train() == "finished"
    return run
