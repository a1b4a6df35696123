"""inference/limits.py: an array past the limit is refused before it is allocated, with a message
that names its size, its shape, the limit and what to do."""
from __future__ import annotations

import numpy as np
import pytest

from inference import Generator, InferenceError
from inference.images import upscale
from inference.latents import interpolate
from inference.limits import MAX_ARRAY_BYTES, check_bytes, gib
from tests.helpers import make_onnx_generator


def test_an_array_at_the_limit_passes_and_one_byte_more_is_refused_with_a_clear_message():
    check_bytes("the grid", (2**30, 2), 1)  # exactly 2 GiB
    with pytest.raises(InferenceError) as caught:
        check_bytes("the grid", (2**30 + 1, 2), 1, "ask for fewer images")
    message = str(caught.value)
    assert message == ("the grid would need 2.0 GiB of memory (1,073,741,825 x 2 x 1 bytes); "
                       "the limit is 2.0 GiB per array: ask for fewer images.")


def test_sizes_are_written_in_mib_below_a_gib_and_in_gib_above():
    assert gib(5 * 2**20) == "5.0 MiB" and gib(1536 * 2**20) == "1.5 GiB" and gib(300 * 2**30) == "300.0 GiB"
    assert MAX_ARRAY_BYTES == 2 * 2**30


def test_a_typo_in_the_count_is_refused_before_anything_is_allocated(tmp_path):
    g = Generator.load(make_onnx_generator(tmp_path / "toy.onnx"), device="cpu")
    with pytest.raises(InferenceError, match=r"100,000,000 latents would need 11\.9 GiB.*the limit is 2\.0 GiB"):
        g.sample_latent(100_000_000, seed=0)
    with pytest.raises(InferenceError, match=r"the limit is 2\.0 GiB per array: run them in smaller batches"):
        g.generate(np.zeros((10_000_000, 16), np.float32))


def test_each_guarded_request_names_what_was_asked_and_what_to_change():
    image = np.zeros((4, 64, 64, 3), np.uint8)
    with pytest.raises(InferenceError, match=r"images enlarged 300x would need 4\.1 GiB.*use a smaller scale"):
        upscale(image, 300)
    assert upscale(image, 2).shape == (4, 128, 128, 3)
    keys = np.zeros((3, 512), np.float32)
    with pytest.raises(InferenceError, match=r"an interpolation of 1,000,000 steps per segment.*ask for fewer steps"):
        interpolate(keys, steps=1_000_000)
    assert interpolate(keys, steps=5).shape == (9, 512)


def test_numpy_integers_from_array_shapes_are_multiplied_without_overflow():
    # int32 * int32 would wrap to 0 here and let a 4 GiB array through.
    with pytest.raises(InferenceError, match=r"4\.0 GiB of memory \(65,536 x 65,536 x 1 bytes\)"):
        check_bytes("the grid", (np.int32(65_536), np.int32(65_536)), np.dtype(np.uint8).itemsize)
