"""Explore's morph studio in a real headless Chromium: the generator runs in the page.

The shipped MNIST DCGAN in the app's models folder; `streamlit run` on localhost (tests/app/browser.App).
The component reports each Streamlit script run it sees (``data-server-run``, the fragment's own counter),
so "no server round trip" is counted, not assumed.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from app import latent_maths
from app.morph_view import runtime_problem
from inference import Generator
from tests.app.browser import IDLE, App, open_browser
from tests.helpers import CHROMIUM, REPO_ROOT, make_philox_generator

MODEL = REPO_ROOT / "exported" / "mnist-dcgan.onnx"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.skipif(not MODEL.exists(), reason="the shipped exported/mnist-dcgan.onnx is missing"),
]


@pytest.fixture(scope="module")
def runtime():
    """onnxruntime-web beside the app: installed by scripts/install_web_runtime.sh when missing."""
    if runtime_problem() and shutil.which("npm"):
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install_web_runtime.sh")], cwd=REPO_ROOT, check=True,
                       capture_output=True, timeout=600)
    if runtime_problem():
        pytest.skip(runtime_problem())


@pytest.fixture
def server(tmp_path, runtime):
    models, runs = tmp_path / "exported", tmp_path / "runs"
    models.mkdir()
    runs.mkdir()
    for f in (MODEL, MODEL.with_suffix(".json")):
        shutil.copy(f, models / f.name)
    env = {**os.environ, "GAN_STUDIO_RUNS": str(runs), "GAN_STUDIO_MODELS": str(models)}
    app = App(env, tmp_path / "streamlit.log")
    app.start()
    yield app
    app.stop()


def studio_frame(page, timeout: float = 120_000):
    """The component's frame, once its generator has drawn and the page has switched to it."""
    page.wait_for_selector("iframe[src*='gan_studio_morph']", timeout=timeout)
    frame = next(f for f in page.frames if "gan_studio_morph" in f.url)
    frame.wait_for_selector("body[data-state='ready'] canvas[data-generation]:not([data-generation='0'])", timeout=timeout)
    # the first report switches the page to the browser: the server's Morph slider goes away
    page.wait_for_function("""() => ![...document.querySelectorAll("[data-testid='stSlider']")]
                                  .some(e => e.innerText.includes('Morph'))""", timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)
    return frame


def canvas_pixels(frame) -> np.ndarray:
    data = frame.evaluate("""() => { const c = document.getElementById('image');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
    return np.asarray(data, np.uint8).reshape(28, 28, 4)[..., 0]


def state(frame) -> dict:
    return frame.evaluate("""() => ({ generation: Number(document.getElementById('image').dataset.generation),
        serverRun: document.body.dataset.serverRun, morph: Number(document.getElementById('morph').value),
        latent: JSON.parse(document.getElementById('image').dataset.latent) })""")


def python_frame(t: float) -> tuple[np.ndarray, np.ndarray]:
    """Python inference's latent and image for morph position t between the default keys (seed 0, #0 and #1)."""
    g = Generator.load(MODEL, device="cpu")
    keys = np.stack([latent_maths.latent(g, 0, 0), latent_maths.latent(g, 0, 1)]).astype(np.float32)
    z = latent_maths.clip_to_bound(g, latent_maths.path_point(keys, t, "slerp"))
    return z, g.generate(z[None])[0, ..., 0]


def test_morph_runs_in_the_page_matches_python_and_downloads_what_it_shows(server):
    p, browser, page = open_browser()
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        frame = studio_frame(page)
        before = state(frame)
        pixels0 = canvas_pixels(frame)

        # key presses: every one redraws in the page, and no script run happens while they come
        frame.focus("#morph")
        for _ in range(12):
            page.keyboard.press("ArrowRight")
        frame.wait_for_function("() => Number(document.getElementById('morph').value) === 0.12")
        frame.wait_for_function(f"() => Number(document.getElementById('image').dataset.generation) > {before['generation']}")
        moved = state(frame)
        assert moved["serverRun"] == before["serverRun"], "a key press made a server round trip"
        assert not np.array_equal(canvas_pixels(frame), pixels0)

        # the canvas equals Python inference for the same latent, within one grey level
        page.wait_for_timeout(300)
        moved = state(frame)
        z, expected = python_frame(0.12)
        assert np.abs(np.asarray(moved["latent"], np.float32) - z).max() < 1e-6
        diff = np.abs(canvas_pixels(frame).astype(int) - expected.astype(int))
        assert diff.max() <= 1, f"canvas and Python differ by up to {diff.max()} grey levels"

        # once the slider rests, one report reaches the server: the Frame PNG is what the page shows
        frame.wait_for_function(f"() => document.body.dataset.serverRun !== {json.dumps(moved['serverRun'])}", timeout=30_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        page.wait_for_timeout(500)
        page.wait_for_selector(IDLE, timeout=60_000)
        with page.expect_download() as download:
            page.get_by_role("button", name="Frame PNG").click()
        png = np.asarray(Image.open(io.BytesIO(download.value.path().read_bytes())).convert("L"))
        step = png.shape[0] // 28
        assert np.array_equal(png[::step, ::step][:28, :28], canvas_pixels(frame))
        page.wait_for_timeout(500)  # a download button's click reruns the fragment: let that one pass
        page.wait_for_selector(IDLE, timeout=60_000)

        # a mouse drag redraws during the drag, with no script run until the button is released
        box = frame.locator("#morph").bounding_box()
        y = box["y"] + box["height"] / 2
        start = state(frame)
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        seen = set()
        for k in range(1, 21):
            page.mouse.move(box["x"] + 4 + k * (box["width"] - 8) / 20, y)
            page.wait_for_timeout(40)
            seen.add(state(frame)["generation"])
        during = state(frame)
        page.mouse.up()
        assert during["generation"] - start["generation"] >= 5, "the canvas did not redraw during the drag"
        assert len(seen) >= 5
        assert during["serverRun"] == start["serverRun"], "the drag made a server round trip"
        assert during["morph"] > 0.8
        assert page.locator("[data-testid='stException']").count() == 0
        (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO_ROOT / "test-artifacts" / "explore-morph-in-browser.png"), full_page=True)
    finally:
        browser.close()
        p.stop()


def test_without_webassembly_the_server_draws_and_says_so(server):
    p, browser, page = open_browser("delete window.WebAssembly;")
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        page.wait_for_selector("text=This browser cannot run the generator", timeout=120_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        slider = page.locator("[data-testid='stSlider']").filter(has_text="Morph")
        assert slider.count() == 1                                   # today's server-side slider is back
        before = page.locator("[data-testid='stImage']:has-text('morph') img").first.get_attribute("src")
        slider.locator("input[type='range']").focus()
        for _ in range(20):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        page.wait_for_selector(IDLE, timeout=60_000)
        after = page.locator("[data-testid='stImage']:has-text('morph') img").first.get_attribute("src")
        assert after != before
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        browser.close()
        p.stop()


def test_a_drawing_is_found_in_the_latent_space_and_becomes_a_key(server):
    import onnxruntime as ort

    p, browser, page = open_browser()
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        studio_frame(page)
        page.get_by_role("tab", name="Draw").click()
        page.wait_for_selector("iframe[src*='gan_studio_draw']", timeout=60_000)
        pad = next(f for f in page.frames if "gan_studio_draw" in f.url)
        pad.wait_for_selector("#pad")
        box = pad.locator("#pad").bounding_box()
        x = box["x"] + box["width"] / 2
        page.mouse.move(x, box["y"] + box["height"] * 0.15)
        page.mouse.down()
        for k in range(1, 16):  # a one: a straight stroke down the middle
            page.mouse.move(x + k * 0.4, box["y"] + box["height"] * (0.15 + 0.7 * k / 15))
        page.mouse.up()
        pad.click("#find")
        match = page.locator("[data-testid='stImage']").filter(has_text="the match").locator("img")
        match.wait_for(timeout=120_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        png = page.request.get(server.url + match.get_attribute("src").removeprefix(server.url)).body()
        image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        small = image[::image.shape[0] // 28, ::image.shape[1] // 28][:28, :28]
        evaluator = ort.InferenceSession(str(REPO_ROOT / "exported" / "evaluators" / "mnist-cnn.onnx"),
                                         providers=["CPUExecutionProvider"])
        logits = evaluator.run(["logits"], {"image": small[None, None].astype(np.float32) / 127.5 - 1})[0]
        assert logits.argmax() == 1, "the match of a drawn one is not a one"
        page.get_by_role("button", name="Use as a key").click()
        page.wait_for_selector("text=your image 1", timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO_ROOT / "test-artifacts" / "explore-find-your-drawing.png"), full_page=True)
    finally:
        browser.close()
        p.stop()


@pytest.fixture
def rgba_server(tmp_path, runtime):
    """The app with one 64x64 RGBA generator (alpha as a 4th channel) that stores SeFa directions."""
    models, runs = tmp_path / "exported", tmp_path / "runs"
    runs.mkdir()
    make_philox_generator(models / "toy-rgba.onnx", latent_dim=16, shape=(4, 64, 64))
    app = App({**os.environ, "GAN_STUDIO_RUNS": str(runs), "GAN_STUDIO_MODELS": str(models)}, tmp_path / "streamlit.log")
    app.start()
    yield app, models / "toy-rgba.onnx"
    app.stop()


def test_a_transparent_colour_model_morphs_in_the_page_with_pythons_pixels(rgba_server):
    server, model = rgba_server
    g = Generator.load(model, device="cpu")
    p, browser, page = open_browser()
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        frame = studio_frame(page)
        assert frame.evaluate("() => document.getElementById('image').classList.contains('alpha')"), "no checkerboard"

        def drawn() -> tuple[np.ndarray, np.ndarray]:
            frame.wait_for_function("() => !window.ganMorph.state.running && !window.ganMorph.state.pending")
            raw = np.asarray(frame.evaluate("() => Array.from(window.ganMorph.pixels)"), np.uint8).reshape(64, 64, 4)
            return np.asarray(state(frame)["latent"], np.float32), raw

        z0, first = drawn()
        frame.focus("#morph")
        for _ in range(25):
            page.keyboard.press("ArrowRight")
        frame.wait_for_function("() => Number(document.getElementById('morph').value) === 0.25")
        knobs = frame.locator("#directions input[type=range]")
        if knobs.count():  # a direction slider moves the same latent on: still Python's pixels
            knobs.first.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        z, raw = drawn()
        assert np.abs(z - z0).max() > 0.01 and not np.array_equal(raw, first)
        expected = g.generate(z[None])[0]  # RGBA, alpha kept: the page's bytes, not the canvas' premultiplied ones
        assert np.array_equal(raw, expected), f"{(raw != expected).sum()} of {raw.size} bytes differ from Python's"
        assert 10 < expected[..., 3].std() and page.locator("[data-testid='stException']").count() == 0
        (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO_ROOT / "test-artifacts" / "explore-morph-rgba.png"), full_page=True)
    finally:
        browser.close()
        p.stop()
