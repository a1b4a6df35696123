"""inference/images.py: image grids, PNG and GIF files."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import inference
from inference import InferenceError


def test_grid_png_and_gif(tmp_path):
    images = np.arange(5 * 4 * 3 * 3, dtype=np.uint8).reshape(5, 4, 3, 3)
    grid = inference.image_grid(images, nrow=3, padding=2)
    assert grid.shape == (2 * 6 + 2, 3 * 5 + 2, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[2:6, 2:5], images[0])
    np.testing.assert_array_equal(grid[8:12, 7:10], images[4])
    assert inference.image_grid(images[:2, ..., :1], nrow=8, padding=0).shape == (4, 6, 1)

    png = inference.save_png(grid, tmp_path / "sub" / "grid.png")
    with Image.open(png) as im:
        assert im.size == (17, 14) and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), grid)
    assert inference.to_pil(images[0, ..., :1]).mode == "L"

    frames = np.stack([np.full((6, 6, 1), v, np.uint8) for v in range(0, 250, 50)])
    gif = inference.save_gif(frames, tmp_path / "a.gif", duration_ms=50)
    with Image.open(gif) as im:
        assert im.n_frames == 5 and im.info.get("loop") == 0
    with Image.open(inference.save_gif(frames, tmp_path / "b.gif", boomerang=True)) as im:
        assert im.n_frames == 8  # 0 1 2 3 4 3 2 1: ends not doubled

    with pytest.raises(InferenceError, match="uint8"):
        inference.image_grid(images.astype(np.float32))
    with pytest.raises(InferenceError, match="nrow"):
        inference.image_grid(images, nrow=0)
