"""inference/target_image.py: a user's image as a projection's target. What cannot be used is refused
with a message that says why; what has an obvious fix is fitted, and each fix is named."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference import InferenceError
from inference.target_image import MAX_PIXELS, read_target
from tests.inference.common import png


@pytest.mark.parametrize("data, message", [
    (png(np.full((64, 64), 255, np.uint8)), r"is blank \(one flat colour"),
    (b"GIF89a but not really", "is not an image GAN Studio can read"),
    (b"", "is empty"),
    (png(np.random.default_rng(0).integers(0, 255, (12, 12), dtype=np.uint8)), r"12x12 pixels, smaller than the generator's 28x28"),
    (png(np.random.default_rng(0).integers(0, 255, (30, 300), dtype=np.uint8)), "too long and thin"),
    (b"\x89PNG" + bytes(21 * 2**20), r"21.0 MiB; the limit is 20 MiB"),
])
def test_unusable_uploads_are_refused_with_a_clear_message(data, message):
    with pytest.raises(InferenceError, match=message):
        read_target(data, (1, 28, 28), name="upload.png")


def test_a_big_dark_on_light_picture_is_fitted_and_the_fixes_are_named():
    page = np.full((300, 200), 250, np.uint8)
    page[100:200, 90:110] = 10  # a dark stroke on a light page
    target = read_target(png(page), (1, 28, 28))
    assert target.image.shape == (28, 28, 1)
    assert target.image[0, 0, 0] < 20 and target.image[14, 14, 0] > 200   # inverted: light ink on black
    assert any("inverted" in n for n in target.notes) and any("padded" in n for n in target.notes)


def test_an_image_already_at_the_generators_size_and_tones_is_taken_as_it_is():
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    target = read_target(digit, (1, 28, 28))
    assert target.notes == [] and np.array_equal(target.image[..., 0], digit)
    x = target.as_model_input()
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0  # uint8 0..255 onto the generator's [-1, 1]


def test_tones_are_kept_for_a_generator_that_draws_dark_on_light():
    page = np.full((28, 28), 240, np.uint8)
    page[8:20, 10:18] = 20
    target = read_target(page, (1, 28, 28), light_on_dark=False)
    assert target.notes == [] and target.image[0, 0, 0] == 240


def test_a_drawing_on_a_transparent_page_gets_a_page_that_shows_its_ink():
    # Dark ink with transparent pixels around it: composited on white, then inverted for an MNIST generator.
    drawing = np.zeros((56, 56, 4), np.uint8)
    drawing[10:40, 20:30] = (0, 0, 0, 255)
    target = read_target(png(drawing), (1, 28, 28))
    assert target.image[0, 0, 0] == 0 and target.image[12, 12, 0] == 255
    assert target.notes == ["inverted: the generator draws light on dark", "resized from 56x56 to 28x28"]
    # Light ink on a transparent page: composited on black, nothing to invert.
    drawing[10:40, 20:30] = (255, 255, 255, 255)
    target = read_target(png(drawing), (1, 28, 28))
    assert target.image[0, 0, 0] == 0 and target.image[12, 12, 0] == 255
    assert target.notes == ["resized from 56x56 to 28x28"]


def test_colour_targets_keep_three_channels_and_grey_ones_are_converted():
    rgb = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    target = read_target(png(rgb), (3, 32, 32), light_on_dark=False)
    assert target.image.shape == (32, 32, 3) and target.notes == ["resized from 64x64 to 32x32"]
    grey = read_target(rgb, (1, 32, 32), light_on_dark=False)
    assert grey.image.shape == (32, 32, 1)


def test_a_generator_with_transparency_is_matched_in_it_and_an_opaque_image_counts_as_opaque():
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 16:48] = (250, 200, 0, 255)                                # a yellow square on a clear page
    target = read_target(png(rgba), (4, 64, 64))                           # light_on_dark asked: no page to read
    assert target.image.shape == (64, 64, 4) and target.notes == []
    assert (target.image == rgba).all() and target.as_model_input().shape == (1, 4, 64, 64)
    rgb = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    opaque = read_target(png(rgb), (4, 32, 32), light_on_dark=False)
    assert opaque.image.shape == (32, 32, 4) and (opaque.image[..., 3] == 255).all()
    wide = read_target(np.dstack([rgb[:32], np.full((32, 64), 255, np.uint8)]), (4, 32, 32), light_on_dark=False)
    assert (wide.image[:6, :, 3] == 0).all() and (wide.image[10:22, :, 3] == 255).all()  # padded with clear pixels


def test_a_wide_image_is_padded_with_its_own_background_then_resized():
    strip = np.zeros((28, 56), np.uint8)
    strip[4:24, 20:36] = 255
    target = read_target(strip, (1, 28, 28))
    assert target.notes == ["padded to a square from 56x28", "resized from 56x56 to 28x28"]
    assert target.image[:6, :, 0].max() == 0 and target.image[-6:, :, 0].max() == 0  # the padding is the black page


def test_an_image_too_many_pixels_is_refused_before_it_is_decoded():
    buf = io.BytesIO()
    Image.new("L", (6000, 6000)).save(buf, format="PNG")  # small on disk, 36 M pixels decoded
    assert len(buf.getvalue()) < 2**20
    with pytest.raises(InferenceError, match=rf"6,000x6,000 pixels; the limit is {MAX_PIXELS:,} pixels"):
        read_target(buf.getvalue(), (1, 28, 28), name="huge.png")


@pytest.mark.parametrize("array, words", [
    (np.zeros((28, 28), np.float32), "float32"),
    (np.zeros((28, 28, 2), np.uint8), "[28, 28, 2]"),
    (np.zeros((1, 28, 28, 1), np.uint8), "[1, 28, 28, 1]"),
])
def test_arrays_of_the_wrong_type_or_shape_are_refused_naming_what_they_are(array, words):
    with pytest.raises(InferenceError, match=r"must be uint8 \[H, W\] or \[H, W, C\], got") as caught:
        read_target(array, (1, 28, 28))
    assert words in str(caught.value)


def test_a_missing_file_and_a_file_too_big_are_refused_by_path(tmp_path):
    with pytest.raises(InferenceError, match="image file not found: .*nope.png"):
        read_target(tmp_path / "nope.png", (1, 28, 28))
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(21 * 2**20)
    with pytest.raises(InferenceError, match=r"big.png is 21.0 MiB; the limit is 20 MiB"):
        read_target(big, (1, 28, 28))
    good = tmp_path / "digit.png"
    digit = np.zeros((28, 28), np.uint8)
    digit[5:20, 10:14] = 200
    good.write_bytes(png(digit))
    assert np.array_equal(read_target(str(good), (1, 28, 28)).image[..., 0], digit)
