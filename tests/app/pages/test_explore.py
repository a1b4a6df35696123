"""The Explore page through AppTest: the sample grid, the morph, directions, classes, bad files.

Models are small real ONNX generators (tests/helpers.py: make_onnx_generator).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app import images
from tests.helpers import (
    app_images,
    frame_url,
    grid_urls,
    make_onnx_generator,
    new_app,
    no_errors,
)


def test_explore_grid_morph_and_directions(app_env):
    at = new_app()
    no_errors(at)
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)
    assert len(grid_urls(at)) >= 16                                     # the sample grid
    assert any(m.label == "Dataset" for m in at.metric)                 # the card
    first = frame_url(at)
    at.slider(key="morph").set_value(0.5).run()
    no_errors(at)
    assert frame_url(at) != first                                       # the morph moved the image
    half = frame_url(at)
    at.slider(key="dir-0").set_value(2.0).run()
    assert frame_url(at) != half                                        # a direction moves it too
    # a new seed draws a new grid; picking a grid image makes it a key
    grid = grid_urls(at)
    at.number_input(key="seed").set_value(7).run()
    assert grid_urls(at) != grid
    at.button(key="pick-3").click().run()
    at.button(key="pick-5").click().run()
    assert at.session_state["keys"] == [(7, 3, None), (7, 5, None)]
    assert any(c.startswith("seed 7 #5") for c, _ in app_images(at))
    assert {b.label for b in at.get("download_button")} >= {"Frame PNG", "Strip PNG", "GIF"}
    no_errors(at)


def test_conditional_model_draws_the_chosen_class(app_env):
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "toy-cond.onnx")).run()
    no_errors(at)
    at.selectbox(key="class_pick").select("3").run()
    three = grid_urls(at)
    at.selectbox(key="class_pick").select("5").run()
    five = grid_urls(at)
    assert three[0] != five[0] and len(three) == len(five)              # same seed, other class
    at.selectbox(key="class_pick").select("3").run()
    assert grid_urls(at) == three                                       # and deterministic


def test_a_corrupt_model_is_a_message_not_a_traceback(app_env):
    (app_env["models"] / "broken.onnx").write_bytes(b"\x00 not a model")
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "broken.onnx")).run()
    assert not at.exception
    assert "This model cannot be used" in at.error[0].value
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)                                                        # and the way out works


def test_a_transparent_colour_model_is_shown_crisply_over_a_checkerboard_with_class_names(app_env, monkeypatch):
    """A 4-channel 64x64 conditional toy with class names: the grid tiles are RGB PNGs (alpha over
    the checkerboard), each pixel an exact square; the class picker and captions show names."""
    shown = []

    def recording_shown_png(image, size=0):
        shown.append((image.shape, size, real_shown_png(image, size)))
        return shown[-1][2]
    real_shown_png = images.shown_png
    monkeypatch.setattr(images, "shown_png", recording_shown_png)   # the page imports it at each run
    names = ["cats", "dogs", "birds"]
    path = make_onnx_generator(app_env["models"] / "icons.onnx", shape=(4, 64, 64), num_classes=3,
                               meta={"class_names": names, "dataset": "folder"})
    at = new_app()
    at.selectbox(key="model").select(str(path)).run()
    no_errors(at)
    assert list(at.selectbox(key="class_pick").options) == ["every class in turn", *names]
    shown.clear()
    at.selectbox(key="class_pick").select("dogs").run()
    no_errors(at)
    assert any(" · dogs" in caption for caption, _ in app_images(at))    # the keys name their class
    tiles = [data for shape, size, data in shown if shape == (64, 64, 4) and size == 128]   # Explore's BIG_TILE_PX
    assert len(tiles) == 16                                              # four a row, four rows
    with Image.open(io.BytesIO(tiles[0])) as png:
        pixels = np.asarray(png)
    assert png.mode == "RGB" and png.size == (128, 128)                   # 64 px, each 2x2: crisp
    assert (pixels[::2, ::2].repeat(2, 0).repeat(2, 1) == pixels).all()
