"""Explore's Morph slider as a person uses it: key press to new pixels, in headless Chromium.

Starts `streamlit run` on localhost with one model (default the shipped exported/mnist-dcgan.onnx),
opens Explore in Debian's Chromium (Playwright, tests/helpers.CHROMIUM_FLAGS), focuses the Morph
slider and presses an arrow key N times, a pause between presses (a person's key repeat is ~30/s;
we wait for each frame, then 60 ms more, so presses never collapse into one frame).

- in the browser (the component, app/morph_web): the page's own clock, from the input event's
  timeStamp to the animation frame after the new pixels are on the canvas (window.ganMorph.latencies);
  the outside clock (Playwright's press to the canvas's frame counter moving) is printed beside it;
- on the server (the fallback: the same page with WebAssembly removed): press to the new <img> src,
  outside clock, and the wait for the script run to end.

    python bench/morph_latency.py [MODEL.onnx] [--presses N]
    python bench/morph_latency.py --random-dcgan 3     # a 64x64 RGB DCGAN (4: RGBA), randomly initialised
Goals (issues 14 and 32): in the browser, median <= 40 ms and p90 <= 60 ms, for a 64x64 colour or
transparent model too. --random-dcgan C exports the dcgan-folder preset's generator (64x64, width 64,
latent 100: the size a real run on your images has) untrained, through training's own export, so its
graph and its cost are a trained one's.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.app.browser import IDLE, App  # noqa: E402
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, REPO_ROOT  # noqa: E402

FRAME_IMG = "[data-testid='stImage']:has-text('morph') img"


def summary(ms: list[float]) -> str:
    s = sorted(ms)
    return (f"median {statistics.median(s):.1f} ms, p90 {s[int(0.9 * (len(s) - 1))]:.1f} ms, "
            f"max {s[-1]:.1f} ms over {len(s)} presses")


def key_for(i: int, steps_each_way: int = 40) -> str:
    """Right 40 times, left 40 times, ...: the slider never sits at an end, where a press moves nothing."""
    return "ArrowRight" if (i // steps_each_way) % 2 == 0 else "ArrowLeft"


def in_browser(page, url: str, presses: int) -> tuple[list[float], list[float], int]:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("iframe[src*='gan_studio_morph']", timeout=180_000)
    frame = next(f for f in page.frames if "gan_studio_morph" in f.url)
    frame.wait_for_selector("body[data-state='ready'] canvas:not([data-generation='0'])", timeout=180_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_timeout(1500)
    page.wait_for_selector(IDLE, timeout=120_000)
    frame.focus("#morph")
    for i in range(10):  # warm-up: the first runs allocate
        page.keyboard.press(key_for(i))
        page.wait_for_timeout(60)
    frame.evaluate("() => { window.ganMorph.latencies.length = 0; }")
    runs_before = frame.evaluate("() => document.body.dataset.serverRun")
    outside = []
    for i in range(presses):
        gen = frame.evaluate("() => Number(document.getElementById('image').dataset.generation)")
        start = time.perf_counter()
        page.keyboard.press(key_for(i))
        frame.wait_for_function(f"() => Number(document.getElementById('image').dataset.generation) > {gen}",
                                polling="raf", timeout=30_000)
        outside.append((time.perf_counter() - start) * 1000)
        page.wait_for_timeout(60)
    page.wait_for_timeout(200)
    inside = frame.evaluate("() => window.ganMorph.latencies.slice()")
    runs_after = frame.evaluate("() => document.body.dataset.serverRun")
    return inside, outside, int(runs_after) - int(runs_before)


def on_server(page, url: str, presses: int) -> list[float]:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("text=This browser cannot run the generator", timeout=180_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    slider = page.locator("[data-testid='stSlider']").filter(has_text="Morph").locator("input[type='range']")
    slider.focus()
    times = []
    for i in range(presses):
        src = page.locator(FRAME_IMG).first.get_attribute("src")
        start = time.perf_counter()
        page.keyboard.press(key_for(i))
        page.wait_for_function("""(before) => { const i = [...document.querySelectorAll("[data-testid='stImage']")]
               .find(e => e.innerText.includes('morph')); return i && i.querySelector('img').src !== before; }""",
                               arg=src, polling="raf", timeout=60_000)
        times.append((time.perf_counter() - start) * 1000)
        page.wait_for_selector(IDLE, timeout=60_000)
        page.wait_for_timeout(60)
    return times


def describe(model: Path) -> str:
    from inference import Generator

    g = Generator.load(model, device="cpu")
    c, h, w = g.image_shape
    return f"{w}x{h}, {({1: 'grey', 3: 'RGB', 4: 'RGBA'}).get(c, f'{c} channels')}, {model.stat().st_size / 1e6:.1f} MB"


def random_dcgan(out: Path, channels: int) -> Path:
    """The dcgan-folder preset's generator with C ``channels``, randomly initialised, exported by
    training.export as a run's would be (its check against PyTorch included)."""
    import torch

    from training import config as configs
    from training.checkpoint import save_checkpoint
    from training.export.generator import export_run
    from training.models import build_models
    from training.runfolder.folder import create_run

    torch.manual_seed(0)
    alpha = {"transparency": "alpha"} if channels == 4 else {}
    config = configs.resolve("dcgan-folder", [], {"channels": channels, "data_root": str(out.parent)} | alpha)
    generator = build_models(config, 0).generator.eval()
    run = create_run(out.parent / "export-runs", f"random-dcgan-{channels}", config.to_dict())
    save_checkpoint(run, {"generator": generator.state_dict(), "ema": None, "num_classes": 0, "step": 0,
                          "elapsed": 0.0, "images_seen": 0}, step=0, keep=0)
    return export_run(run, out, metrics={})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(REPO_ROOT / "exported" / "mnist-dcgan.onnx"))
    ap.add_argument("--random-dcgan", type=int, choices=(1, 3, 4), metavar="C",
                    help="measure a randomly initialised 64x64 DCGAN with C channels (1, 3 RGB or 4 RGBA) instead")
    ap.add_argument("--presses", type=int, default=100)
    ap.add_argument("--server-presses", type=int, default=40, help="presses for the server fallback (0: skip)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from app.morph_view import runtime_problem
    if runtime_problem():
        sys.exit(f"error: {runtime_problem()}")
    tmp = Path(tempfile.mkdtemp(prefix="morph-bench-"))
    models = tmp / "models"
    models.mkdir()
    model = Path(args.model)
    if args.random_dcgan:
        model = random_dcgan(tmp / f"random-dcgan-64x64x{args.random_dcgan}.onnx", args.random_dcgan)
    for f in (model, model.with_suffix(".json")):
        if f.is_file():
            shutil.copy(f, models / f.name)
    env = {**os.environ, "GAN_STUDIO_MODELS": str(models), "GAN_STUDIO_RUNS": str(tmp / "runs")}
    app = App(env, tmp / "streamlit.log")
    app.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 1300}).new_page()
            inside, outside, reruns = in_browser(page, app.url, args.presses)
            print(f"model: {model.name} ({describe(model)}); Chromium {browser.version}, headless; {os.cpu_count()} CPUs")
            print(f"in the browser, key press to pixels (page clock): {summary(inside)}; goal median <= 40, p90 <= 60")
            print(f"in the browser, key press to pixels (Playwright clock): {summary(outside)}")
            print(f"server script runs during the {args.presses} presses: {reruns}")
            if args.server_presses:
                context = browser.new_context(viewport={"width": 1440, "height": 1300})
                context.add_init_script("delete window.WebAssembly;")
                server = on_server(context.new_page(), app.url, args.server_presses)
                print(f"on the server (no WebAssembly: the fallback), key press to pixels: {summary(server)}")
            browser.close()
    finally:
        app.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
