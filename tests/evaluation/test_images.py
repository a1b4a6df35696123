"""evaluation/images.py: generator output onto the evaluator's input (range, channels, size) and
the [0, 1] range Inception reads."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.images import bilinear_matrix, resize, to_evaluator_input, to_unit_range


def test_to_evaluator_input_maps_ranges_channels_and_size():
    x = np.zeros((2, 3, 32, 32), np.float32)
    x[1] = 1.0
    out = to_evaluator_input(x, (0.0, 1.0))
    assert out.shape == (2, 1, 28, 28) and out.dtype == np.float32
    assert np.allclose(out[0], -1) and np.allclose(out[1], 1, atol=1e-5)
    u8 = np.full((1, 1, 28, 28), 255, np.uint8)
    assert np.allclose(to_evaluator_input(u8), 1)


def test_colour_becomes_gray_by_itu_r_601():
    rgb = np.zeros((1, 3, 28, 28), np.float32)
    rgb[0, 1] = 1.0  # pure green in [0, 1]
    assert np.allclose(to_evaluator_input(rgb, (0.0, 1.0)), 0.587 * 2 - 1)


def test_bad_shapes_are_refused():
    with pytest.raises(EvaluationError, match="N, C, H, W"):
        to_evaluator_input(np.zeros((28, 28)))
    with pytest.raises(EvaluationError, match="1 or 3 channels"):
        to_evaluator_input(np.zeros((1, 2, 28, 28)))


def test_unit_range_clips():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 3.0], np.float32).reshape(1, 1, 1, 5)
    assert to_unit_range(x).ravel().tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("shape", [(32, 32), (64, 64), (20, 20), (28, 40), (100, 17)])
def test_resize_equals_pillows_bilinear(shape):
    from PIL import Image  # the reference only

    x = np.random.default_rng(0).random((3, 1, *shape), dtype=np.float32)
    ref = np.stack([np.asarray(Image.fromarray(img, mode="F").resize((28, 28), Image.BILINEAR, reducing_gap=None))
                    for img in x[:, 0]])[:, None]
    assert np.abs(resize(x, (28, 28)) - ref).max() < 1e-6
    assert np.allclose(bilinear_matrix(shape[0], 28).sum(1), 1)


def test_a_colour_evaluator_gets_rgb_with_alpha_composited_over_black_and_gray_repeated():
    rgba = np.zeros((2, 4, 32, 32), np.uint8)
    rgba[:, 0], rgba[0, 3], rgba[1, 3] = 255, 255, 0  # red, opaque in the first image, clear in the second
    x = to_evaluator_input(rgba, input_shape=(3, 16, 16))
    assert x.shape == (2, 3, 16, 16) and np.allclose(x[0, 0], 1) and np.allclose(x[0, 1:], -1) and np.allclose(x[1], -1)
    gray = to_evaluator_input(np.full((1, 1, 16, 16), 255, np.uint8), input_shape=(3, 16, 16))
    assert gray.shape == (1, 3, 16, 16) and np.allclose(gray, 1)
    assert to_evaluator_input(rgba[:, :3]).shape == (2, 1, 28, 28)  # the MNIST evaluators' input, as before
