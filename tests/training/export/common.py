"""What the export tests share (not a test module): a small generator as export sees it."""
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
