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


def test_transparency_is_shown_over_a_checkerboard_or_a_colour():
    rgba = np.zeros((2, 16, 16, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, ..., 3] = 255  # the first image opaque, the second fully transparent
    rgba[1, 0, 0, 3] = 128
    shown = inference.on_checkerboard(rgba)
    assert shown.shape == (2, 16, 16, 3)
    assert (shown[0] == [200, 0, 0]).all()
    assert shown[1, 0, 8].tolist() == [255] * 3 and shown[1, 8, 8].tolist() == [204] * 3  # 8-pixel squares
    assert shown[1, 0, 0].tolist() == [(200 * 128 + 204 * 127 + 127) // 255, 102, 102]  # rounded blend over gray
    assert inference.on_checkerboard(rgba, square=1)[1, 0, 1].tolist() == [255] * 3
    assert inference.on_background(rgba, "#0000ff")[1, 5, 5].tolist() == [0, 0, 255]
    assert inference.on_background(rgba[0, None], "#0000ff").tolist() == shown[0, None].tolist()
    rgb = rgba[..., :3]
    assert inference.on_checkerboard(rgb) is rgb or (inference.on_checkerboard(rgb) == rgb).all()  # no alpha: as it is
    with pytest.raises(InferenceError, match="#rrggbb"):
        inference.on_background(rgba, "blue")


def test_an_rgba_grid_is_an_rgba_png(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (3, 5, 5, 4), dtype=np.uint8)
    with Image.open(inference.save_png(inference.image_grid(rgba, nrow=3), tmp_path / "g.png")) as im:
        assert im.mode == "RGBA" and np.asarray(im)[2:7, 2:7].tolist() == rgba[0].tolist()
