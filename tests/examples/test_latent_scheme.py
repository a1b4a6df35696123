"""One seed, one latent, everywhere: the contract's latent scheme in JavaScript (examples/common/gan.mjs)
equals Python's (inference/philox.py) in Node and in headless Chromium, and the same seed (and the
same move along a stored direction) gives the same pixels in onnxruntime-node, onnxruntime-web and
Python's onnxruntime, on a real small ONNX generator."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inference import Generator, latents
from inference.philox import MAX_SEED

from tests.examples.common import ARTIFACTS, NODE, REPO, canvas_pixels, open_page, wait_generation
from tests.helpers import make_philox_generator

# (seed, n, dim, distribution, bound, truncation): every branch of the transform, a seed past 2**32,
# the largest seed, and a batch big enough that a row or column mix-up would show.
CASES = [
    (7, 2, 4, "normal", None, 1.0),
    (7, 1, 4, "uniform", 1.0, 1.0),
    (3, 64, 16, "normal", 1.0, 1.0),
    (3, 64, 16, "normal", None, 0.7),
    (12345, 64, 100, "uniform", 0.25, 0.5),
    (2**32 + 11, 3, 8, "normal", None, 1.0),
    (MAX_SEED, 1, 3, "normal", None, 1.0),
    (0, 400, 128, "normal", None, 1.0),
]
KAT = ("[philox4x32([0,0,0,0],[0,0]), philox4x32([0xffffffff,0xffffffff,0xffffffff,0xffffffff],[0xffffffff,0xffffffff]),"
       " philox4x32([0x243f6a88,0x85a308d3,0x13198a2e,0x03707344],[0xa4093822,0x299f31d0])]")
KAT_EXPECTED = [[0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD],
                [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]]


def _python(case) -> np.ndarray:
    seed, n, dim, distribution, bound, truncation = case
    return latents.sample(n, dim, seed=seed, distribution=distribution, bound=bound, truncation=truncation,
                          scheme="philox")


def _check(js_values: list, case) -> None:
    expected = _python(case)
    got = np.array(js_values, np.float32).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=str(case))
    # float64 log/cos may round differently in the last bit between libms; float32 almost never shows it
    assert (got == expected).mean() > 0.999, case


def test_node_draws_the_same_latents_as_python():
    if NODE is None:
        pytest.skip("no `node` on PATH")
    script = ("import {latents, philox4x32} from './examples/common/gan.mjs';"
              "const cases = JSON.parse(process.argv[1]);"
              f"const kat = {KAT};"
              "const out = cases.map(([s, n, d, dist, b, t]) => Array.from(latents(s, n, d, dist, b, t)));"
              "process.stdout.write(JSON.stringify({kat, out}));")
    p = subprocess.run([NODE, "--input-type=module", "-e", script, json.dumps(CASES)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["kat"] == KAT_EXPECTED
    for case, values in zip(CASES, result["out"]):
        _check(values, case)
    bad = subprocess.run([NODE, "--input-type=module", "-e",
                          "import {latents} from './examples/common/gan.mjs'; latents(2 ** 53, 1, 4);"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "seed must be an integer from 0 to 9007199254740991" in bad.stderr


@pytest.mark.browser
def test_chromium_draws_the_same_latents_as_python(browser, web_server):
    page, errors = open_page(browser, f"{web_server}/examples/web/?model=../../test-artifacts/none.onnx")
    result = page.evaluate(f"""async (cases) => {{
        const {{latents, philox4x32}} = await import(new URL('../common/gan.mjs', location.href).href);
        return {{kat: {KAT}, out: cases.map(([s, n, d, dist, b, t]) => Array.from(latents(s, n, d, dist, b, t)))}};
    }}""", CASES)
    assert result["kat"] == KAT_EXPECTED
    for case, values in zip(CASES, result["out"]):
        _check(values, case)
    page.close()


@pytest.fixture(scope="module")
def philox_model(tmp_path_factory):
    """A real small generator (28x28, latent 16) with latent_scheme philox and stored directions,
    under the served root so the web page can open it."""
    folder = ARTIFACTS / "scheme"
    shutil.rmtree(folder, ignore_errors=True)
    return make_philox_generator(folder / "philox.onnx", latent_dim=16, shape=(1, 28, 28))


def _python_cli(*args) -> None:
    p = subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def _node_cli(*args) -> None:
    p = subprocess.run([NODE, str(REPO / "examples" / "node" / "generate.mjs"), *map(str, args)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


@pytest.mark.slow
def test_the_same_seed_gives_the_same_pixels_in_node_and_python(philox_model, node_example, tmp_path):
    for i, extra in enumerate(([], ["--direction", 1, "--amount=-2.5"])):  # node's parseArgs wants = before a negative value
        py, js = tmp_path / f"py{i}.png", tmp_path / f"js{i}.png"  # outputs refuse an existing file
        _python_cli(philox_model, "--seed", 21, "--n", 9, "--out", py, *extra)
        _node_cli(philox_model, "--seed", 21, "--n", 9, "--out", js, *extra)
        a, b = (np.asarray(Image.open(f), np.int16) for f in (py, js))
        assert a.shape == b.shape and np.abs(a - b).max() <= 1, extra
        assert a.std() > 10  # real images, not a blank grid
    plain = np.asarray(Image.open(tmp_path / "py1.png"))
    _python_cli(philox_model, "--seed", 21, "--n", 9, "--out", tmp_path / "plain.png")
    assert (np.asarray(Image.open(tmp_path / "plain.png")) != plain).any(), "the direction must change the images"


@pytest.mark.browser
def test_the_page_draws_pythons_pixels_for_a_seed_and_a_direction(browser, web_server, philox_model):
    rel = f"../../{philox_model.relative_to(REPO).as_posix()}"
    page, errors = open_page(browser, f"{web_server}/examples/web/?model={rel}&seed=42")
    wait_generation(page, 1, errors)
    assert "seeds as in Python" in page.inner_text("#model-info")
    g = Generator.load(philox_model)
    z = g.sample_latent(1, seed=42)
    assert np.abs(canvas_pixels(page)[..., 0].astype(int) - g.generate(z)[0, ..., 0]).max() <= 1

    slider = page.locator("#directions input[type=range]").first
    assert page.locator("#directions input[type=range]").count() == 4  # the model stores 4
    slider.focus()
    for i in range(5):  # one key press at a time: presses during a run would collapse into one image
        page.keyboard.press("ArrowRight")
        wait_generation(page, 2 + i, errors)
    amount = float(slider.input_value())
    assert amount == pytest.approx(0.5)
    moved = (z.astype(np.float64) + amount * g.direction(0).astype(np.float64)).astype(np.float32)
    pixels = canvas_pixels(page)[..., 0].astype(int)
    assert np.abs(pixels - g.generate(moved)[0, ..., 0]).max() <= 1
    assert (pixels != g.generate(z)[0, ..., 0]).any()
    assert not errors, errors
    page.close()


def test_the_javascript_reader_knows_the_scheme_and_the_directions(philox_model):
    if NODE is None:
        pytest.skip("no `node` on PATH")
    card = json.loads(philox_model.with_suffix(".json").read_text())
    old = {**card["metadata"]}
    del old["latent_scheme"], old["directions"]
    script = ("import {parseMetadata, direction} from './examples/common/gan.mjs';"
              "const [meta, old] = JSON.parse(process.argv[1]);"
              "const m = parseMetadata(meta), o = parseMetadata(old);"
              "const tryIt = (f) => { try { f(); return 'ok'; } catch (e) { return e.message; } };"
              "process.stdout.write(JSON.stringify({scheme: m.latentScheme, oldScheme: o.latentScheme,"
              " oldDirections: o.directions, d1: Array.from(direction(m, 1)), share: m.directions.share,"
              " badK: tryIt(() => direction(m, 4)), none: tryIt(() => direction(o, 0)),"
              " badScheme: tryIt(() => parseMetadata({...meta, latent_scheme: 'xorshift'})),"
              " badVector: tryIt(() => parseMetadata({...meta, directions: {...meta.directions, vectors: [[1, 2]], share: [1]}}))}));")
    p = subprocess.run([NODE, "--input-type=module", "-e", script, json.dumps([card["metadata"], old])], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["scheme"] == "philox" and r["oldScheme"] == "pcg64" and r["oldDirections"] is None
    g = Generator.load(philox_model)
    np.testing.assert_array_equal(np.array(r["d1"], np.float32), g.direction(1))
    np.testing.assert_allclose(r["share"], g.sefa[1])
    assert r["badK"] == "direction 4 does not exist: the model has directions 0..3"
    assert "no stored directions" in r["none"]
    assert "latent_scheme: must be philox or pcg64" in r["badScheme"]
    assert "every vector must be 16 numbers" in r["badVector"]
