"""The app in a real browser: `streamlit run` on localhost, headless Debian Chromium via Playwright
(tests/app/browser.py). Screenshots go to test-artifacts/; the README's come from here (docs/screenshots/)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.morph_view import runtime_problem
from tests.app.browser import App, open_browser, settle, shot
from tests.helpers import (
    CHROMIUM,
    REPO_ROOT,
    SHARED_DATA,
    make_onnx_generator,
    only_run,
    stop_training_processes,
)

EMOJI = SHARED_DATA / "emoji-google"
# Every text the page cuts short: an element that hides its overflow (with or without "…") whose
# text is wider than its box, and inputs (a selectbox shows its value in one) whose value is.
CUT_OFF = """() => [...document.querySelectorAll("[data-testid='stMain'] *, [data-testid='stSidebar'] *")]
  .filter(el => {
    const text = el.tagName === 'INPUT' ? el.value : el.innerText;
    if (!el.offsetParent || !text || !text.trim() || el.children.length > 3) return false;
    const style = getComputedStyle(el);
    return el.scrollWidth > el.clientWidth + 1
      && (el.tagName === 'INPUT' || style.textOverflow === 'ellipsis' || style.overflowX === 'hidden');
  }).map(el => (el.tagName === 'INPUT' ? el.value : el.innerText).slice(0, 80))"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture
def server(tmp_path, mnist_root):
    """The app on a free localhost port, with its own runs folder and models folder (the shipped
    models when there are some, for real-looking screenshots, else a small stand-in)."""
    models, runs = tmp_path / "exported", tmp_path / "runs"
    models.mkdir()
    runs.mkdir()
    # GAN_STUDIO_SCREENSHOT_MODELS: another folder of models to show (e.g. for the README's shots)
    sources = [REPO_ROOT / "exported", *[Path(p) for p in os.environ.get("GAN_STUDIO_SCREENSHOT_MODELS", "").split(os.pathsep) if p]]
    for onnx in sorted(o for folder in sources for o in folder.glob("*.onnx")):
        for f in (onnx, onnx.with_suffix(".json")):
            if f.is_file():
                shutil.copy(f, models / f.name)
    if not any(models.glob("*.onnx")):
        make_onnx_generator(models / "stand-in.onnx")
    images = tmp_path / "images"   # the Train page's image folders: the emoji folder, linked, where there is one
    images.mkdir()
    if EMOJI.is_dir():
        (images / "emoji").symlink_to(EMOJI)
    env = {**os.environ, "GAN_STUDIO_RUNS": str(runs), "GAN_STUDIO_MODELS": str(models),
           "GAN_STUDIO_DATA": str(mnist_root.parent), "GAN_STUDIO_IMAGES": str(images)}
    app = App(env, tmp_path / "streamlit.log")
    app.start()
    yield {"app": app, "runs": runs}
    stop_training_processes(runs)  # gracefully, then the server
    app.stop()


@pytest.fixture
def page():
    p, browser, page = open_browser()
    yield page
    browser.close()
    p.stop()


def move_morph(page) -> None:
    """The morph slider, moved with the keyboard, changes the image: drawn in the page by its own
    generator (app/morph_web), or on the server where onnxruntime-web is not installed beside the app."""
    if runtime_problem():
        img = "[data-testid='stImage']:has-text('morph') img"
        before = page.locator(img).first.get_attribute("src")
        page.locator("[data-testid='stSlider']").filter(has_text="Morph").locator("input[type='range']").focus()
        for _ in range(30):
            page.keyboard.press("ArrowRight")
        settle(page)
        assert page.locator(img).first.get_attribute("src") != before
        return
    page.wait_for_selector("iframe[src*='gan_studio_morph']", timeout=60_000)
    studio = next(f for f in page.frames if "gan_studio_morph" in f.url)
    studio.wait_for_selector("body[data-state='ready'] canvas:not([data-generation='0'])", timeout=120_000)
    settle(page)
    before = studio.evaluate("() => document.getElementById('image').toDataURL()")
    studio.focus("#morph")
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    studio.wait_for_function("(before) => document.getElementById('image').toDataURL() !== before", arg=before,
                             timeout=30_000)
    settle(page)


def test_landing_slider_and_live_run(server, page):
    page.goto(server["app"].url, wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stImage']", timeout=90_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Explore").first.is_visible()
    shot(page, "explore")

    move_morph(page)
    assert page.locator("[data-testid='stException']").count() == 0
    shot(page, "explore-morph")

    # start a run from the Train page: its live chart appears
    page.goto(server["app"].url + "/train", wait_until="domcontentloaded")
    page.wait_for_selector("text=New run", timeout=60_000)
    settle(page)
    preset = page.locator("[data-testid='stSelectbox']").filter(has_text="Preset")
    preset.click()
    page.keyboard.type("gan-mlp-mnist")
    page.keyboard.press("Enter")
    settle(page)
    steps = page.get_by_label("Steps", exact=True)
    steps.fill("3000")
    steps.press("Enter")
    settle(page)
    assert "--preset gan-mlp-mnist" in page.locator("[data-testid='stCode']").first.inner_text()
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=180_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_timeout(2500)  # let the fragment redraw once more with a few more points
    shot(page, "train-live")

    # the run outlives the app: stop the server, start it again, the run is listed, still live
    run = only_run(server["runs"])
    server["app"].stop()
    server["app"].start()
    page.goto(server["app"].url + "/runs", wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    header = page.locator("[data-testid='stMarkdownContainer']").filter(has_text=run.id).filter(has_text="step")
    assert header.count() >= 1
    assert run.live_status()["state"] == "running" and "running" in header.first.inner_text()
    shot(page, "runs")

    page.goto(server["app"].url + "/models", wait_until="domcontentloaded")
    page.wait_for_selector("text=Open in Explore", timeout=60_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    shot(page, "models")


def test_nothing_a_person_reads_is_cut_off_at_1400x1000(server, page):
    """Explore's card (once "fashion-…" and "70,000 st…") and the Train form (once "Cl…" and "E…"
    for its checkboxes, "non-satur" for the loss), with its expander open and your images shown."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(server["app"].url, wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stMetricValue']", timeout=90_000)
    page.wait_for_selector("[data-testid='stImage']", timeout=90_000)
    settle(page)
    assert page.evaluate(CUT_OFF) == []
    page.goto(server["app"].url + "/train", wait_until="domcontentloaded")
    page.wait_for_selector("text=Class-conditional", timeout=60_000)   # the widgets, not their placeholders
    settle(page)
    page.get_by_text("Logging and checkpoints").click()
    settle(page)
    assert page.evaluate(CUT_OFF) == []
    page.get_by_role("button", name="Train on your own images").click()
    page.wait_for_selector("text=Your images", timeout=60_000)
    if EMOJI.is_dir():
        page.wait_for_selector("text=3,786 images", timeout=60_000)
    settle(page)
    assert page.evaluate(CUT_OFF) == []
    assert page.locator("[data-testid='stException']").count() == 0
    page.set_viewport_size({"width": 1400, "height": 2000})   # the page scrolls inside: a tall window shows it all
    settle(page)
    shot(page, "train-images")
