"""Explore's "Find your image" through AppTest: an upload becomes a match shown beside it and a key
of the morph; uploads that cannot be used get a message, never a traceback."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from inference import Generator
from tests.helpers import app_images, make_exact_encoder, new_app, no_errors


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def explore_toy(app_env):
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)
    return at


def test_an_upload_is_matched_shown_and_becomes_a_key(app_env):
    at = explore_toy(app_env)
    g = Generator.load(app_env["models"] / "toy.onnx", device="cpu")
    digit = g.generate(g.sample_latent(1, seed=11))[0, ..., 0]
    at.file_uploader(key="find_upload").set_value(("mine.png", png(digit), "image/png")).run()
    no_errors(at)
    captions = [c for c, _ in app_images(at)]
    assert any(c.startswith("yours") for c in captions) and "the match" in captions
    assert any("images tried in" in c.value for c in at.caption)
    at.button(key="use_found").click().run()
    no_errors(at)
    assert at.session_state["keys"] == [(-1, 0, None)]
    assert any(c == "your image 1" for c, _ in app_images(at))          # the found key's thumbnail
    assert at.session_state["found"][0].shape == (g.latent_dim,)


def test_unusable_uploads_get_a_message(app_env):
    at = explore_toy(app_env)
    cases = [("blank.png", png(np.full((40, 40), 7, np.uint8)), "is blank"),
             ("notes.png", b"these are not pixels", "is not an image GAN Studio can read"),
             ("tiny.png", png(np.eye(8, dtype=np.uint8) * 255), "smaller than the generator's 28x28"),
             ("huge.png", b"\x89PNG" + bytes(21 * 2**20), "the limit is 20 MiB")]
    for name, data, message in cases:
        at.file_uploader(key="find_upload").set_value((name, data, "image/png")).run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert any("This image cannot be used" in e and message in e and name in e for e in errors), (name, errors)


def test_an_encoder_beside_the_model_is_where_the_search_starts(app_env):
    make_exact_encoder(app_env["models"] / "toy.onnx")
    at = explore_toy(app_env)
    assert "toy.encoder" not in str([o for o in at.selectbox(key="model").options])  # a side file, not a model
    g = Generator.load(app_env["models"] / "toy.onnx", device="cpu")
    digit = g.generate(g.sample_latent(1, seed=12))[0, ..., 0]
    at.file_uploader(key="find_upload").set_value(("mine.png", png(digit), "image/png")).run()
    no_errors(at)
    assert any("started from the encoder toy.encoder.onnx" in c.value for c in at.caption), [c.value for c in at.caption]
