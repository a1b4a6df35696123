"""app/images.py: the PNG and GIF bytes the pages send, enlarged with crisp pixels."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app.images import enlarge, gif_bytes, png_bytes


def test_png_is_enlarged_by_a_whole_factor_with_crisp_pixels():
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1)
    with Image.open(io.BytesIO(png_bytes(image, 256))) as png:
        assert png.size == (252, 252)                                     # 9x: the largest that fits 256
        assert np.array_equal(np.asarray(png)[::9, ::9], image[..., 0])
    with Image.open(io.BytesIO(png_bytes(image))) as png:
        assert png.size == (28, 28)
    assert enlarge(image, 10).shape == (28, 28, 1)                         # never made smaller


def test_gif_loops_forward_then_back():
    frames = np.stack([np.full((8, 8, 3), v, np.uint8) for v in (0, 100, 200, 250)])
    with Image.open(io.BytesIO(gif_bytes(frames, size=16))) as gif:
        assert gif.size == (16, 16) and gif.n_frames == 6 and gif.info["loop"] == 0
