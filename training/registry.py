"""The model and loss tables, and every table a config names by one of its fields.

Each is a ``studio.registry.Registry`` over its package's source, so the names, descriptions and
the config fields each entry reads are listed without importing torch; a variant is one new file
that decorates its factory::

    @MODELS.register("dcgan", description="one line", fields=("g_width", "d_width"))
"""
from __future__ import annotations

from dataio import DATASETS
from studio.registry import Registry

MODELS: Registry = Registry("model", "training.models", "MODELS")
LOSSES: Registry = Registry("loss", "training.losses", "LOSSES")
# Every table a config names by a field of the same name; all list themselves without torch.
REGISTRIES = {"dataset": DATASETS, "model": MODELS, "loss": LOSSES}
