"""Fixtures of the inference tests: generators small enough that every pixel can be checked
(latent of 8, images 1x4x4), built with the shared make_onnx_generator."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_onnx_generator, toy_metadata

LATENT_DIM = 8
SHAPE = (1, 4, 4)


@pytest.fixture
def small_meta() -> dict:
    """The metadata the small generators carry."""
    return toy_metadata(latent_dim=LATENT_DIM, shape=SHAPE)


@pytest.fixture
def small_generator(tmp_path):
    """small_generator("name.onnx", **make_onnx_generator's options) -> a small generator in tmp_path."""
    def build(name: str, **options) -> Path:
        return make_onnx_generator(tmp_path / name, **{"latent_dim": LATENT_DIM, "shape": SHAPE} | options)
    return build


@pytest.fixture
def gen_path(small_generator) -> Path:
    return small_generator("toy.onnx")


@pytest.fixture
def cond_path(small_generator) -> Path:
    return small_generator("cond.onnx", num_classes=3, meta={"class_names": ["a", "b", "c"]})
