"""The exported generator used from other apps (examples/): the Node CLI (onnxruntime-node) and the
static web page (onnxruntime-web, wasm) in headless Debian Chromium via Playwright.

Both get a real generator: a DCGAN and a class-conditional GAN trained for a few steps on MNIST
by the project's own CLI and exported to ONNX (once per module). The examples' npm packages come
from examples/setup.sh when node_modules is missing. Never `playwright install`: we use
/usr/bin/chromium. Screenshots go to test-artifacts/examples/ (gitignored).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.images import image_grid, to_uint8

from tests.examples.common import ARTIFACTS, EXAMPLES, NODE, REPO, canvas_pixels, open_page, wait_generation
from tests.helpers import SHARED_DATA

GENERATE = EXAMPLES / "node" / "generate.mjs"
DATA = Path(os.environ.get("GAN_STUDIO_DATA") or SHARED_DATA)
TRAIN_SETS = ["steps=5", "batch_size=16", "log_every=5"]


# --- fixtures ------------------------------------------------------------------------------------

def _train_and_export(preset: str, root: Path) -> Path:
    """Train `preset` for a few steps with the training CLI and export it to root/<preset>.onnx."""
    runs = root / f"runs-{preset}"
    env = {**os.environ, "GAN_STUDIO_DATA": str(DATA), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "training", "train", "--preset", preset, "--runs-dir", str(runs)]
    for s in TRAIN_SETS:
        cmd += ["--set", s]
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"training {preset} failed:\n{p.stdout}\n{p.stderr}"
    (run,) = [d for d in runs.iterdir() if d.is_dir()]
    out = root / f"{preset}.onnx"
    p = subprocess.run([sys.executable, "-m", "training", "export", str(run), "--out", str(out)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"exporting {preset} failed:\n{p.stdout}\n{p.stderr}"
    assert out.is_file() and out.with_suffix(".json").is_file()
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """{"dcgan": .onnx, "cgan": .onnx}, each with its card beside it; the two are made in parallel."""
    if not (DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST copy at {DATA / 'mnist'}")
    root = tmp_path_factory.mktemp("example-models")
    with ThreadPoolExecutor(2) as pool:
        jobs = {k: pool.submit(_train_and_export, preset, root)
                for k, preset in (("dcgan", "dcgan-mnist"), ("cgan", "cgan-mnist"))}
        return {k: job.result() for k, job in jobs.items()}


def _card(model: Path) -> dict:
    return json.loads(model.with_suffix(".json").read_text())["metadata"]


def _reference(model: Path, z: np.ndarray, labels=None) -> np.ndarray:
    """What onnxruntime in Python makes of the same latents: uint8 [N, H, W, C]."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feeds = {"z": z.astype(np.float32)}
    if labels is not None:
        feeds["label"] = np.asarray(labels, np.int64)
    return to_uint8(session.run(["image"], feeds)[0], tuple(_card(model)["output_range"]))


# --- the Node CLI --------------------------------------------------------------------------------

def _generate(*args, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run([NODE, str(GENERATE), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"generate.mjs {args} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def _js_latents(model: Path, n: int, seed: int) -> np.ndarray:
    """The latents examples/common/gan.mjs draws for this model's card, seed and count."""
    script = ("import {readFileSync} from 'node:fs';"
              "import {metadataFromCard, sampleLatents} from './examples/common/gan.mjs';"
              "const [card, n, seed] = process.argv.slice(1);"
              "const z = sampleLatents(metadataFromCard(JSON.parse(readFileSync(card, 'utf8'))), +n, +seed);"
              "process.stdout.write(JSON.stringify(Array.from(z)));")
    p = subprocess.run([NODE, "--input-type=module", "-e", script, str(model.with_suffix(".json")), str(n), str(seed)],
                       cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return np.array(json.loads(p.stdout), np.float32).reshape(n, -1)


@pytest.mark.slow
def test_node_cli_writes_a_seeded_png_grid(models, node_example, tmp_path):
    model = models["dcgan"]
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    out = _generate(model, "--seed", 1, "--n", 16, "--out", a).stdout
    assert "wrote" in out and "metadata from" in out
    _generate(model, "--seed", 1, "--n", 16, "--out", b)
    _generate(model, "--seed", 2, "--n", 16, "--out", c)
    assert a.read_bytes() == b.read_bytes(), "the same seed must give the same PNG, byte for byte"
    assert a.read_bytes() != c.read_bytes()

    grid = Image.open(a)
    assert grid.mode == "L" and grid.size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 tiles of 28 px, 2 px padding
    pixels = np.asarray(grid)
    tiles = [pixels[2 + 30 * r:30 + 30 * r, 2 + 30 * k:30 + 30 * k] for r in range(4) for k in range(4)]
    assert all(t.std() > 0 for t in tiles), "a blank tile"
    assert np.ptp(pixels) > 20

    # the pixels are the model's output for the JS sampler's latents, as onnxruntime in Python computes it
    expected = image_grid(_reference(model, _js_latents(model, 16, 1)), nrow=4)[..., 0]
    assert np.abs(pixels.astype(int) - expected).max() <= 1


@pytest.mark.slow
def test_node_cli_conditional_label_and_metadata_without_card(models, node_example, tmp_path):
    model = models["cgan"]
    out = tmp_path / "threes.png"
    _generate(model, "--seed", 3, "--n", 8, "--label", 3, "--out", out, "--scale", 2)
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * (3 * 30 + 2), 2 * (3 * 30 + 2))  # 3x3 grid (8 tiles), doubled
    expected = image_grid(_reference(model, _js_latents(model, 8, 3), [3] * 8), nrow=3)[..., 0]
    assert np.abs(grid[::2, ::2].astype(int) - expected).max() <= 1
    other = tmp_path / "fives.png"
    _generate(model, "--seed", 3, "--n", 8, "--label", 5, "--out", other, "--scale", 2)
    assert other.read_bytes() != out.read_bytes()

    # without --label the classes are cycled, one per column
    _generate(model, "--n", 20, "--out", tmp_path / "all.png")
    assert Image.open(tmp_path / "all.png").size == (10 * 30 + 2, 2 * 30 + 2)

    # a model alone, without its card: the metadata inside the .onnx is read
    alone = tmp_path / "alone" / "model.onnx"
    alone.parent.mkdir()
    shutil.copy(model, alone)
    p = _generate(alone, "--seed", 3, "--n", 8, "--label", 3, "--out", tmp_path / "alone.png", "--scale", 2)
    assert "metadata_props" in p.stdout
    assert (tmp_path / "alone.png").read_bytes() == out.read_bytes()

    # clear errors, never a stack trace
    for args, message in (((model, "--label", 10), "--label must be in 0..9"),
                          ((models["dcgan"], "--label", 1), "not class-conditional"),
                          ((tmp_path / "missing.onnx",), "no such file")):
        p = _generate(*args, "--out", tmp_path / "x.png", check=False)
        assert p.returncode == 1 and message in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


# --- the web page in headless Chromium ----------------------------------------------------------

@pytest.fixture(scope="module")
def web_models(models) -> dict[str, str]:
    """The models copied under the served root; {key: path relative to examples/web/}."""
    folder = ARTIFACTS / "models"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rel = {}
    for key, model in models.items():
        for f in (model, model.with_suffix(".json")):
            shutil.copy(f, folder / f.name)
        rel[key] = f"../../{(folder / model.name).relative_to(REPO).as_posix()}"
    return rel


def _page_latent(page, model_rel: str, seed: int) -> np.ndarray:
    """The latent the page's own sampler draws for this card and seed."""
    card = model_rel.removesuffix(".onnx") + ".json"
    z = page.evaluate("""async ([card, seed]) => {
        const g = await import(new URL('../common/gan.mjs', location.href).href);
        const meta = g.metadataFromCard(await (await fetch(card)).json());
        return Array.from(g.sampleLatents(meta, 1, seed));
    }""", [card, seed])
    return np.array(z, np.float32)[None]


def _move_first_slider(page) -> float:
    """Focus the first latent slider and press an arrow key (the way a user moves it); its new value."""
    slider = page.locator("#sliders input[type=range]").first
    at_max = slider.evaluate("s => +s.value >= +s.max")
    slider.focus()
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    return float(slider.input_value())


@pytest.mark.browser
def test_browser_example_generates_and_a_slider_changes_the_image(browser, web_server, web_models):
    model = web_models["dcgan"]
    page, errors = open_page(browser, f"{web_server}/examples/web/?model={model}&seed=7")
    wait_generation(page, 1, errors)
    assert "dcgan" in page.inner_text("#model-info") and "model card" in page.inner_text("#model-info")
    assert page.locator("#sliders input[type=range]").count() == 8
    assert page.locator("#class-row").is_hidden()
    first = canvas_pixels(page)
    assert first.shape == (28, 28, 4)
    assert (first[..., 3] == 255).all()
    # the image is the model's output for the page's latent (onnxruntime-web wasm vs onnxruntime in Python)
    z = _page_latent(page, model, 7)
    served = REPO / "examples" / "web" / model
    assert np.abs(first[..., 0].astype(int) - _reference(served.resolve(), z)[0, ..., 0]).max() <= 1
    page.screenshot(path=str(ARTIFACTS / "web-dcgan-before.png"), full_page=True)

    value = _move_first_slider(page)
    wait_generation(page, 2, errors)
    second = canvas_pixels(page)
    assert (second != first).any(), "moving a slider must change the image"
    z[0, 0] = value
    assert np.abs(second[..., 0].astype(int) - _reference(served.resolve(), z)[0, ..., 0]).max() <= 1
    page.screenshot(path=str(ARTIFACTS / "web-dcgan-after.png"), full_page=True)
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_browser_example_conditional_class_picker(browser, web_server, web_models):
    model = web_models["cgan"]
    page, errors = open_page(browser, f"{web_server}/examples/web/?model={model}&label=3")
    wait_generation(page, 1, errors)
    assert page.locator("#class-row").is_visible()
    assert page.locator("#label").input_value() == "3"
    three = canvas_pixels(page)
    page.select_option("#label", "5")
    wait_generation(page, 2, errors)
    five = canvas_pixels(page)
    assert (five != three).any(), "another class must give another image"
    served = (REPO / "examples" / "web" / model).resolve()
    assert np.abs(five[..., 0].astype(int) - _reference(served, _page_latent(page, model, 0), [5])[0, ..., 0]).max() <= 1
    _move_first_slider(page)
    wait_generation(page, 3, errors)
    assert (canvas_pixels(page) != five).any()
    page.screenshot(path=str(ARTIFACTS / "web-cgan.png"), full_page=True)
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_browser_example_says_what_is_wrong_with_a_missing_model(browser, web_server):
    page, errors = open_page(browser, f"{web_server}/examples/web/?model=../../test-artifacts/examples/no-such-model.onnx")
    page.wait_for_function("document.body.dataset.state === 'error'", timeout=30_000)
    status = page.inner_text("#status")
    assert "no-such-model.onnx" in status and "404" in status and "python -m training export" in status
    page.close()
