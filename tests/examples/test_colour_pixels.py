"""Colour and alpha draw the same everywhere: for the same seed, an RGB and an RGBA generator give the
same bytes in Python (the API and `python -m inference`), the Node example, the web example and the
app's in-page morph component (app/morph_web); a grey one too, byte for byte.

The output-to-byte step is checked on its own first, on the values where a port goes wrong (exact
halves, their float32 neighbours, out of range, NaN, infinities), against inference.images.to_uint8;
then end to end, on tiny RGB and RGBA generators written by the test (tests/helpers.py). The pages'
exact pixels come from the bytes they draw (window.ganExample.pixels, window.ganMorph.pixels): a
canvas premultiplies colour by alpha, so its own pixels lose the colour of transparent ones. Last,
the app's drawing pad (app/draw_web, "Find your image") sends colour ink on a transparent page.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inference import Generator
from inference.images import image_grid, to_uint8

from tests.examples.common import ARTIFACTS, NODE, REPO, canvas_pixels, open_page, wait_generation
from tests.helpers import make_philox_generator

SEED = 11
RANGES = [(-1.0, 1.0), (0.0, 1.0), (-1.5, 2.25)]
MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels -> the PNG's (Pillow's) mode


def _tricky_values() -> np.ndarray:
    """float32 values that land on a half after scaling for (-1, 1), their neighbours, random ones and
    the ones a clip or a NaN check must catch."""
    halves = ((np.arange(256) + 0.5) / 127.5 - 1).astype(np.float32)
    rng = np.random.default_rng(0)
    return np.concatenate([halves, np.nextafter(halves, np.float32(9)), np.nextafter(halves, np.float32(-9)),
                           rng.uniform(-1.6, 2.4, 4000).astype(np.float32),
                           np.array([np.nan, np.inf, -np.inf, -0.0, 1e30, -1e30], np.float32)])


def _node(script: str, stdin: bytes = b"") -> dict:
    p = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=REPO, input=stdin, capture_output=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


def test_javascript_maps_every_output_value_to_pythons_byte():
    if NODE is None:
        pytest.skip("no `node` on PATH")
    values = _tricky_values()
    shapes = [(1, 4, 5), (3, 4, 5), (4, 4, 5)]
    script = ("import {byteMapper, imagePixels, imageToRGBA} from './examples/common/gan.mjs';"
              "import {readFileSync} from 'node:fs';"
              "const x = new Float32Array(readFileSync(0).buffer.slice(0));"
              f"const ranges = {json.dumps(RANGES)}, shapes = {json.dumps(shapes)};"
              "const bytes = ranges.map(([lo, hi]) => Array.from(x, byteMapper(lo, hi)));"
              "const images = shapes.map((s) => { const meta = {imageShape: s, outputRange: [-1, 1]};"
              "  return [Array.from(imagePixels(x, 1, meta)), Array.from(imageToRGBA(x, 1, meta))]; });"
              "process.stdout.write(JSON.stringify({bytes, images}));")
    got = _node(script, values.tobytes())
    for (lo, hi), js in zip(RANGES, got["bytes"]):
        expected = to_uint8(values.reshape(1, 1, 1, -1), (lo, hi)).ravel()
        np.testing.assert_array_equal(np.array(js, np.uint8), expected, err_msg=f"output range {lo}, {hi}")
    for (c, h, w), (pixels, rgba) in zip(shapes, got["images"]):
        # image 1 of a batch [N, C, H, W] read straight from the flat values
        expected = to_uint8(values[c * h * w:2 * c * h * w].reshape(1, c, h, w), (-1.0, 1.0))[0]
        np.testing.assert_array_equal(np.array(pixels, np.uint8).reshape(h, w, c), expected)
        rgba = np.array(rgba, np.uint8).reshape(h, w, 4)
        np.testing.assert_array_equal(rgba[..., :3], np.repeat(expected, 3, axis=2) if c == 1 else expected[..., :3])
        np.testing.assert_array_equal(rgba[..., 3], expected[..., 3] if c == 4 else 255)


@pytest.fixture(scope="module")
def colour_models() -> dict[int, object]:
    """{1: a grey, 3: an RGB, 4: an RGBA} philox generator of 24x20 (not square: a swapped axis would
    show) with directions, under the served root so the pages can open them."""
    folder = ARTIFACTS / "colour"
    shutil.rmtree(folder, ignore_errors=True)
    return {c: make_philox_generator(folder / f"{MODES[c].lower()}.onnx", latent_dim=16, shape=(c, 24, 20))
            for c in MODES}


def _python_pixels(model, seed: int = SEED, n: int = 1) -> np.ndarray:
    g = Generator.load(model, device="cpu")
    return g.generate(g.sample_latent(n, seed=seed))


def _assert_same(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    differ = got != expected
    assert not differ.any(), f"{what}: {differ.sum()} of {differ.size} bytes differ from Python's, by up to " \
                             f"{np.abs(got.astype(int) - expected).max()}"


def _assert_rgba(rgba: np.ndarray, expected: np.ndarray, what: str) -> None:
    """A page's RGBA bytes against Python's [H, W, C]: grey in R, G and B; opaque unless C is 4."""
    c = expected.shape[-1]
    _assert_same(rgba[..., :3], np.repeat(expected, 3, axis=2) if c == 1 else expected[..., :3], what)
    _assert_same(rgba[..., 3], expected[..., 3] if c == 4 else np.full(expected.shape[:2], 255, np.uint8), what + " (alpha)")


def test_the_command_lines_write_pythons_colour_and_alpha_pixels(colour_models, node_example, tmp_path):
    for c, model in colour_models.items():
        py, js = tmp_path / f"py{c}.png", tmp_path / f"js{c}.png"
        for cmd, out in (([sys.executable, "-m", "inference"], py), ([NODE, str(REPO / "examples" / "node" / "generate.mjs")], js)):
            p = subprocess.run([*cmd, str(model), "--seed", str(SEED), "--n", "6", "--out", str(out)], cwd=REPO,
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
        mode = MODES[c]
        assert Image.open(py).mode == Image.open(js).mode == mode
        api = image_grid(_python_pixels(model, n=6), nrow=3)
        png = {name: np.asarray(Image.open(f)).reshape(api.shape) for name, f in (("python", py), ("node", js))}
        _assert_same(png["python"], api, f"python -m inference, {mode}")
        _assert_same(png["node"], api, f"the Node example, {mode}")
        if c == 4:
            assert 0 < api[..., 3].mean() < 255 and api[..., 3].std() > 10  # real alpha, not one flat value


@pytest.mark.browser
def test_the_web_example_draws_pythons_colour_and_alpha_pixels(browser, web_server, colour_models):
    for c, model in colour_models.items():
        rel = f"../../{model.relative_to(REPO).as_posix()}"
        page, errors = open_page(browser, f"{web_server}/examples/web/?model={rel}&seed={SEED}")
        wait_generation(page, 1, errors)
        expected = _python_pixels(model)[0]
        raw = np.array(page.evaluate("Array.from(window.ganExample.pixels)"), np.uint8).reshape(24, 20, 4)
        _assert_rgba(raw, expected, f"the web page's bytes, {MODES[c]}")
        if c < 4:  # opaque: the canvas holds the same bytes
            _assert_same(canvas_pixels(page), raw, f"the web page's canvas, {MODES[c]}")
        else:
            assert page.evaluate("document.getElementById('image').classList.contains('alpha')"), "no checkerboard"
        page.screenshot(path=str(ARTIFACTS / "colour" / f"web-{c}.png"))
        assert not errors, errors
        page.close()


@pytest.mark.browser
def test_the_in_page_morph_draws_pythons_colour_and_alpha_pixels(browser, web_server, colour_models):
    """app/morph_web on its own, fed the render message Streamlit would send (app/morph_view.py)."""
    for c, model in colour_models.items():
        g = Generator.load(model, device="cpu")
        keys = g.sample_latent(2, seed=SEED)
        args = {"model_id": model.name, "keys": keys.tolist(), "labels": None, "method": "slerp", "dirs": [],
                "spread": [], "direction_labels": [], "bound": None, "image_shape": list(g.image_shape),
                "output_range": list(g.output_range), "t": 0.0, "amounts": [], "server_run": 1, "px": 240}
        page, errors = open_page(browser, f"{web_server}/app/morph_web/index.html")
        page.evaluate("""async ([url, args]) => {
            const model = new Uint8Array(await (await fetch(url)).arrayBuffer());
            window.postMessage({type: 'streamlit:render', args: {...args, model}}, '*');
        }""", [f"{web_server}/{model.relative_to(REPO).as_posix()}", args])
        page.wait_for_selector("body[data-state='ready'] canvas:not([data-generation='0'])", timeout=60_000)

        def drawn() -> tuple[np.ndarray, np.ndarray]:
            latent = np.array(json.loads(page.evaluate("document.getElementById('image').dataset.latent")), np.float32)
            raw = np.array(page.evaluate("Array.from(window.ganMorph.pixels)"), np.uint8).reshape(24, 20, 4)
            return latent, raw

        z, raw = drawn()  # t = 0: the first key, seed SEED's first latent
        np.testing.assert_array_equal(z, keys[0])
        expected = g.generate(keys[:1])[0]
        _assert_rgba(raw, expected, f"the morph component at t=0, {MODES[c]}")
        if c == 4:
            assert page.evaluate("document.getElementById('image').classList.contains('alpha')"), "no checkerboard"

        page.focus("#morph")
        for _ in range(30):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("Number(document.getElementById('morph').value) === 0.3")
        page.wait_for_timeout(300)
        page.wait_for_function("!window.ganMorph.state.running && !window.ganMorph.state.pending")
        z, raw = drawn()  # somewhere between the keys: whatever latent the page drew, Python's pixels for it
        assert np.abs(z - keys[0]).max() > 0.01
        _assert_rgba(raw, g.generate(z[None])[0], f"the morph component at t=0.3, {MODES[c]}")
        page.screenshot(path=str(ARTIFACTS / "colour" / f"morph-{c}.png"))
        assert not errors, errors
        page.close()


@pytest.mark.browser
def test_the_drawing_pad_sends_colour_ink_on_a_transparent_page(browser, web_server):
    """app/draw_web ("Find your image"): for an RGBA model the drawing keeps its ink colour and its
    transparent page in the PNG it sends; for a grey model neither choice is offered."""
    import base64
    import io

    page, errors = open_page(browser, f"{web_server}/app/draw_web/index.html")
    page.wait_for_selector("#pad")
    page.evaluate("""() => { window.sent = [];
        window.addEventListener('message', (e) => { if (e.data.type === 'streamlit:setComponentValue') window.sent.push(e.data.value); });
        window.postMessage({type: 'streamlit:render', args: {channels: 4}}, '*'); }""")
    page.select_option("#page", "transparent")
    page.evaluate("() => { const ink = document.getElementById('ink'); ink.value = '#ff0000'; ink.dispatchEvent(new Event('input')); }")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 30, steps=10)
    page.mouse.up()
    page.click("#find")
    page.wait_for_function("window.sent.length === 1")
    url = page.evaluate("window.sent[0].png")
    image = Image.open(io.BytesIO(base64.b64decode(url.partition("base64,")[2])))
    rgba = np.asarray(image.convert("RGBA"))
    assert image.mode == "RGBA" and rgba[0, 0, 3] == 0, "the page is not transparent"
    middle = rgba[rgba.shape[0] // 2, rgba.shape[1] // 2]
    assert tuple(middle) == (255, 0, 0, 255), middle

    page.evaluate("() => window.postMessage({type: 'streamlit:render', args: {channels: 1}}, '*')")
    page.wait_for_function("document.getElementById('ink-choice').hidden")
    assert page.evaluate("document.querySelector('#page option[value=transparent]').hidden")
    assert page.input_value("#page") == "#000000" and page.get_attribute("#pad", "data-strokes") == "0"
    assert not errors, errors
    page.close()
