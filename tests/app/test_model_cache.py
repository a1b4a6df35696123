"""app/model_cache.py: a model file is loaded once and shared by the pages until it is rewritten
(re-exported, replaced by an upload), and its GANSpace directions are found once per file and k."""
from __future__ import annotations

import os

import numpy as np
import pytest

from app import latent_maths, model_cache
from inference import Generator, InferenceError

from tests.helpers import make_onnx_generator


@pytest.fixture(autouse=True)
def empty_caches():
    model_cache._load.clear()
    model_cache._directions.clear()
    yield
    model_cache._load.clear()
    model_cache._directions.clear()


def test_one_file_is_loaded_once_and_a_rewritten_file_again(tmp_path):
    path = make_onnx_generator(tmp_path / "m.onnx", latent_dim=8)
    first = model_cache.load_generator(path)
    assert isinstance(first, Generator) and first.latent_dim == 8
    assert model_cache.load_generator(path) is first                      # the pages share one session
    stat = path.stat()
    make_onnx_generator(path, latent_dim=4)                               # re-exported under the same name
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))   # however coarse the clock
    again = model_cache.load_generator(path)
    assert again is not first and again.latent_dim == 4


def test_directions_are_found_once_per_file_and_count(tmp_path, monkeypatch):
    path = make_onnx_generator(tmp_path / "m.onnx", latent_dim=8)
    calls = []

    def counted(g, k):
        calls.append(k)
        return latent_maths.directions(g, k)

    monkeypatch.setattr(model_cache, "directions", counted)
    dirs, spread, share = model_cache.load_directions(path, 3)
    expected = latent_maths.directions(Generator.load(path), 3)
    assert dirs.shape == (3, 8) and np.allclose(dirs, expected[0]) and np.allclose(share, expected[2])
    model_cache.load_directions(path, 3)
    assert calls == [3]                                                   # the second call is the cache's
    assert model_cache.load_directions(path, 2)[0].shape == (2, 8) and calls == [3, 2]


def test_a_file_that_is_not_a_generator_is_the_inference_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(InferenceError):
        model_cache.load_generator(bad)
